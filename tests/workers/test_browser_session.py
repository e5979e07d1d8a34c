"""Headless Chromium tabs as remote workers: each opens the gateway's worker page with an
operator's enrollment link, enrolls (proving its attestation secret in the page), says a signed
hello, and verifies tasks in a real cluster where the quorum needs it: one Python remote worker
plus two tabs, then three tabs alone (R = 3, quorum 3: no task settles without every one)."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import chromium, page_state, wait_joined
from cluster_support import make_settings, start_cluster

from shardy import routing
from shardy.kernels import registry
from shardy.orchestrator import operators

pytestmark = pytest.mark.cluster

CASES = [("histogram", {}, 5000), ("sha256", {"block": 1000}, 7001)]


@pytest.fixture(scope="module")
def rc():
    # No speculative replicas: a slow tab (a shader compiled on first use) must not change who
    # votes, and a closed tab's replica must be reassigned, not raced. Operators on probation
    # may fill the quorum: tabs join one after another here, and a newcomer's vote must count
    # beside established ones at once (standing has its own tests). No known-answer copies at
    # random: the tab closed mid-replica must be running the test's task, not a spot check.
    home = Path(tempfile.mkdtemp(prefix="sbw", dir="/tmp"))  # short: a unix socket lives there
    settings = make_settings(home, redundancy_factor=3, quorum=3, task_time_limit=120,
                             speculate_factor=0.0, probation_share=1.0,
                             spot_check_rate=0.0)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=1)


class Tabs:
    """Browser tabs joined to the cluster's gateway, each under an operator of its own."""

    def __init__(self, rc, stack: contextlib.ExitStack) -> None:
        self.rc, self.stack = rc, stack
        self.ids: dict[str, Any] = {}  # worker id -> driver

    def join(self, operator: str, query: str = "") -> str:
        """Open a tab with a fresh operator's enrollment link; returns its worker id."""
        with self.rc.app.store.session() as s:
            token = str(operators.add(s, operator))
        driver = self.stack.enter_context(chromium())
        port = self.rc.cluster.remote.port
        driver.get(f"http://127.0.0.1:{port}/worker/{query}#token={token}")
        state = wait_joined(driver, operator)
        assert "#token" not in driver.current_url  # the token leaves the address bar
        self.ids[state["workerId"]] = driver
        return state["workerId"]


@pytest.fixture(scope="module")
def tabs(rc) -> Iterator[Tabs]:
    with contextlib.ExitStack() as stack:
        yield Tabs(rc, stack)


def close_tab(driver: Any) -> None:
    """Close the page's tab (the browser stays, with a blank tab, for its teardown)."""
    page = driver.current_window_handle
    driver.switch_to.new_window("tab")
    blank = driver.current_window_handle
    driver.switch_to.window(page)
    driver.close()
    driver.switch_to.window(blank)


def live_remote(rc) -> set[str]:
    live = routing.live_workers(rc.cluster.client_app().redis)
    return {w for w, info in live.items() if info.kind == "remote"}


def votes_including(rc, res, workers: set[str], timeout: float = 120.0) -> dict:
    """``res``'s votes by worker once those of ``workers`` are recorded: an early quorum
    verifies a task before its slowest replicas, whose votes settle records as they come."""
    deadline = time.monotonic() + timeout
    votes = {a.worker_id: a for a in res.attestations}
    while not workers <= set(votes) and time.monotonic() < deadline:
        time.sleep(0.5)
        votes = {a.worker_id: a for a in rc.client.handle(res.task_id).get().attestations}
    return votes


def verify_with(rc, tabs: Tabs, expected_voters: set[str]) -> None:
    """Each case verifies, with exactly ``expected_voters`` attesting validly and agreeing."""
    for kernel, params, n in CASES:
        payload = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
        seed = 2**62 + n  # above 2**53: the page reads it as a BigInt
        res = rc.client.submit(kernel, payload, params=params, seed=seed).get(timeout=240)
        k = registry.get(kernel)
        assert np.asarray(res.output).tobytes() == k.reference(payload, k.resolve_params(params),
                                                               seed).tobytes()  # fmt: skip
        voters = votes_including(rc, res, expected_voters)
        assert set(voters) == expected_voters, {w: page_state(d) for w, d in tabs.ids.items()}
        assert all(a.valid and a.agrees for a in voters.values())
        for wid, driver in tabs.ids.items():  # who ran it: a remote worker on its WebGPU adapter
            if wid in voters:
                a = voters[wid]
                assert a.worker_kind == "remote" and a.operator and a.adapter
                assert page_state(driver)["adapter"] in a.adapter and "WebGPU" in a.adapter
    for driver in tabs.ids.values():
        state = page_state(driver)
        assert state["done"] >= len(CASES) and state["errors"] == [], state


def test_a_python_worker_and_two_tabs_verify_tasks_together(rc, tabs) -> None:
    (python,) = live_remote(rc)
    a, b = tabs.join("tab-a"), tabs.join("tab-b")
    rc.cluster.remote.wait_sessions(3, 60)
    verify_with(rc, tabs, {python, a, b})


def test_three_tabs_alone_verify_tasks(rc, tabs) -> None:
    tabs.join("tab-c")
    rc.cluster.kill("rw0")  # the Python worker leaves: only tabs remain
    deadline = time.monotonic() + 60
    while live_remote(rc) != set(tabs.ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert live_remote(rc) == set(tabs.ids)
    verify_with(rc, tabs, set(tabs.ids))


def test_a_tab_closed_mid_replica_loses_nothing(rc, tabs) -> None:
    params, seed = {"samples": 1 << 27, "offset": 0}, 3  # a replica of seconds on SwiftShader
    handle = rc.client.submit("montecarlo_pi", bytes(4), params=params, seed=seed,
                              redundancy=2, quorum=2)  # fmt: skip
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        for worker_id, driver in tabs.ids.items():
            if "montecarlo_pi" in (page_state(driver).get("task") or ""):
                victim = worker_id
                break
        else:
            time.sleep(0.1)
    assert victim is not None, "no tab took a replica"
    close_tab(tabs.ids.pop(victim))  # the tab goes away mid-replica
    res = handle.get(timeout=300)
    k = registry.get("montecarlo_pi")
    assert np.asarray(res.output).tobytes() == k.reference(b"", params, seed).tobytes()
    voters = {a.worker_id for a in res.attestations}
    assert len(voters) == 2 and victim not in voters and voters <= set(tabs.ids)


#: Turns a tab into a liar: its outputs get one bit flipped after the GPU (its proofs still
#: attest the honest digest).
_LIE = """
const client = shardy.session.client, run = client.run.bind(client);
client.run = async (order) => { const r = await run(order); r.output[0] ^= 1; return r; };
"""


def test_a_tab_attests_in_batches(rc, tabs) -> None:
    batching = tabs.join("tab-batch", "?batch=4&wait=3000")  # a proof per 4 replicas
    deadline = time.monotonic() + 60
    while live_remote(rc) != set(tabs.ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    payloads = [bytes([i]) * (1000 + i) for i in range(8)]
    handles = [rc.client.submit("histogram", p, seed=i) for i, p in enumerate(payloads)]
    sizes = []
    for i, h in enumerate(handles):
        res = h.get(timeout=240)
        assert int(np.asarray(res.output)[i]) == 1000 + i
        votes = {a.worker_id: a for a in res.attestations}
        assert set(votes) == set(tabs.ids) and all(a.valid and a.agrees for a in votes.values())
        batch = votes[batching].batch
        assert batch is not None and votes[batching].proof is not None
        sizes.append(batch.size)
    assert max(sizes) > 1, sizes  # replicas that arrived together shared a proof


def test_a_tab_that_returns_a_wrong_output_is_refused(rc, tabs) -> None:
    honest = set(tabs.ids)
    liar = tabs.join("tab-liar")
    tabs.ids[liar].execute_script(_LIE)
    payload = bytes(range(256)) * 40
    everyone = len(tabs.ids)  # every live tab gets a replica
    res = rc.client.submit("histogram", payload, seed=5, redundancy=everyone,
                           quorum=2).get(timeout=240)  # fmt: skip
    assert np.asarray(res.output).tobytes() == (np.full(256, 40, "<u4")).tobytes()
    votes = votes_including(rc, res, honest | {liar})
    assert {w for w, a in votes.items() if a.valid and a.agrees} == honest
    assert liar in votes and not votes[liar].valid  # its proof is not for what it sent


def test_a_tab_put_away_leaves_and_comes_back(rc, tabs) -> None:
    """pagehide closes the session at once (close code 1000: browsers refuse 1001 from a
    page); pageshow from the back-forward cache joins again, with one serving loop."""
    wid = tabs.join("tab-away")
    driver = tabs.ids[wid]

    def wait(present: bool) -> None:
        deadline = time.monotonic() + 60
        while (wid in live_remote(rc)) != present and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (wid in live_remote(rc)) == present

    wait(True)
    driver.execute_script(
        "window.__errors = []; addEventListener('error', (e) => __errors.push(e.message));"
        "dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}));"
    )
    wait(False)
    assert driver.execute_script("return shardy.session.stopped") is True
    driver.execute_script("dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    wait(True)
    driver.execute_script("dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    assert driver.execute_script("return shardy.session.running && !shardy.session.stopped")
    assert driver.execute_script("return window.__errors") == []
    res = rc.client.submit("histogram", bytes(range(256)) * 4, seed=9,
                           redundancy=len(tabs.ids), quorum=2).get(timeout=240)  # fmt: skip
    votes = votes_including(rc, res, {wid})
    assert votes[wid].valid and votes[wid].agrees
