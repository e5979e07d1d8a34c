"""A payload larger than several chunks streams from a real gateway to a headless Chromium tab
(and a Python remote worker) in ``order_chunk`` messages: the tab, opened with ``?spill=1048576``,
writes it to OPFS from its compute worker as it arrives, checks its sha256, uploads it to the
GPU in chunks, and its vote agrees with the Python worker's (R = 2, quorum 2: both must vote).
In a Chromium without OPFS (Blink's origin private file system switched off) the same payload
stays in the tab's memory, the page says so, and it still verifies."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import NO_OPFS_FLAGS, chromium, page_state, wait_joined
from cluster_support import make_settings, start_cluster
from sqlalchemy import select

from shardy.orchestrator import operators
from shardy.store import Replica

pytestmark = pytest.mark.cluster

MiB = 1 << 20


@pytest.fixture(scope="module")
def rc():
    home = Path(tempfile.mkdtemp(prefix="sbs", dir="/tmp"))  # short: a unix socket lives there
    # no spot checks: a known-answer copy of a task sent to the tab spills its payload too
    settings = make_settings(home, redundancy_factor=2, quorum=2, task_time_limit=180,
                             speculate_factor=0.0, probation_share=1.0, spot_check_rate=0.0,
                             max_payload=64 * MiB)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=1,
                             remote_env={0: {"SHARDY_STREAM_THRESHOLD": str(MiB)}})  # fmt: skip


def _verify_chunked(rc, driver: Any, name: str, seed: int) -> tuple[dict, dict[str, Replica]]:
    """Open the worker page in ``driver`` as operator ``name`` (``?spill=1 MiB``), submit a
    5 MiB histogram (it streams in chunks) and wait for both votes; (the tab's state when it
    joined, the task's replicas by worker id)."""
    with rc.app.store.session() as s:
        token = str(operators.add(s, name))
    port = rc.cluster.remote.port
    driver.get(f"http://127.0.0.1:{port}/worker/?spill={MiB}#token={token}")
    state = wait_joined(driver, name)
    tab, python = state["workerId"], rc.cluster.remote.worker_id(0)
    deadline = time.monotonic() + 60  # only this tab and the Python worker (an earlier tab left)
    while rc.cluster.remote.wait_sessions(2, 60) != {tab, python}:
        assert time.monotonic() < deadline, "an earlier tab's session did not end"
        time.sleep(0.5)

    data = np.random.default_rng(seed).integers(0, 256, 5 * MiB + 777, dtype=np.uint8)
    res = rc.client.submit("histogram", data.tobytes()).get(timeout=300)
    assert np.array_equal(res.output, np.bincount(data, minlength=256))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rc.app.store.session() as s:
            rows = {r.worker_id: r for r in s.scalars(
                select(Replica).where(Replica.task_id == res.task_id))}  # fmt: skip
        if {tab, python} <= set(rows):
            break
        time.sleep(0.5)
    assert set(rows) == {tab, python}, rows
    assert all(r.status == "ok" and r.verdict == "agree" for r in rows.values())
    assert "fetch" in rows[tab].timings, rows[tab].timings
    assert "spool" in rows[python].timings, rows[python].timings
    return state, rows


def test_a_tab_spills_a_large_payload_to_opfs_and_verifies(rc) -> None:
    with contextlib.ExitStack() as stack:
        driver = stack.enter_context(chromium())
        state, rows = _verify_chunked(rc, driver, "tab-opfs", 9)
        assert state["spill"] == f"OPFS from {MiB} bytes", state  # this Chromium has OPFS
        assert "spool" in rows[state["workerId"]].timings, rows[state["workerId"]].timings
        state = page_state(driver)
        assert state["spilled"] >= 1 and state["errors"] == [], state
        shown = driver.execute_script("return document.getElementById('spill').textContent")
        assert shown.startswith("OPFS from") and "1 spilled" in shown, shown


def test_without_opfs_a_tab_keeps_a_large_payload_in_memory_and_verifies(rc) -> None:
    with contextlib.ExitStack() as stack:
        driver = stack.enter_context(chromium(NO_OPFS_FLAGS))
        assert driver.execute_script("return typeof navigator.storage.getDirectory") == "undefined"
        state, rows = _verify_chunked(rc, driver, "tab-no-opfs", 10)
        # the page says where large payloads go, and why
        assert state["spill"].startswith("memory (no OPFS here: "), state
        assert "getDirectory" in state["spill"], state
        assert "spool" not in rows[state["workerId"]].timings, rows[state["workerId"]].timings
        state = page_state(driver)
        assert state["spilled"] == 0 and state["errors"] == [], state
        shown = driver.execute_script("return document.getElementById('spill').textContent")
        assert shown.startswith("memory (no OPFS here") and "0 spilled" in shown, shown
