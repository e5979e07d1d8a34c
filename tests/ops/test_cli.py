"""The `shardy` command line as a user runs it: up (per adapter), submit, status, dlq, keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cluster_support import short_home

from shardy.api import Client
from shardy.config import Settings
from shardy.embedded import ping
from shardy.workers.gpu import compute_adapters, worker_name

pytestmark = pytest.mark.cluster
SHARDY = [sys.executable, "-m", "shardy.ops.cli"]


def shardy(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SHARDY, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_up_per_adapter_then_submit_status_keys_and_dlq(tmp_path):
    home = short_home()
    # one adapter here: one worker, so one replica suffices for a quorum of one; every
    # submit draws a known-answer copy, which the status counts apart from the user's tasks
    env = {**os.environ, "SHARDY_HOME": str(home), "SHARDY_REDUNDANCY_FACTOR": "1",
           "SHARDY_SPOT_CHECK_RATE": "1"}  # fmt: skip
    up = subprocess.Popen(
        [*SHARDY, "up", "--per-adapter"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        settings = Settings(home=home)
        deadline = time.monotonic() + 120
        while not ping(settings.embedded_socket) or not (home / "logs").exists():
            assert up.poll() is None and time.monotonic() < deadline, up.stdout.read()
            time.sleep(0.2)
        payload = tmp_path / "payload.bin"
        payload.write_bytes(bytes(range(256)) * 40)
        out = shardy(env, "submit", "histogram", str(payload), "--wait", "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        result = json.loads(out.stdout)
        names = {worker_name(a) for a in compute_adapters()}
        assert {w.split("@")[0] for w in result["agreeing"]} <= names  # adapter in worker id
        status = json.loads(shardy(env, "status", "--json").stdout)
        assert status["tasks"] == {"verified": 1}
        assert sum(status["spot_checks"].values()) == 1
        assert {w["id"].split("@")[0] for w in status["workers"]} == names
        task = json.loads(shardy(env, "status", result["task_id"], "--json").stdout)
        assert task["state"] == "verified"
        keys = shardy(env, "keys", "list").stdout
        assert "active" in keys
        assert json.loads(shardy(env, "dlq", "list", "--json").stdout) == []
        bad = shardy(env, "submit", "nope", str(payload))
        assert bad.returncode != 0 and "unknown kernel 'nope'" in bad.stdout + bad.stderr
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        assert up.wait(60) == 0
    assert not ping(Settings(home=home).embedded_socket)  # shut down cleanly
    Client(Settings(home=home))  # nothing left half-open
