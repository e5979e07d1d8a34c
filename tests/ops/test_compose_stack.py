"""compose/'s stack, started for real: images built here (no registry), Redis with AOF,
PostgreSQL, the orchestrator, the gateway, two remote workers of two operators on lavapipe,
Flower, the metrics exporter and two sidecars. A client on the host submits through the
published ports.

Slow (building images from a debootstrapped base): marked ``compose``, run by `.ci/run` as a
step after the README's test command (``./dev.sh test -m compose``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from compose_stack import (
    Stack,
    base_image,
    docker_engine,
    host_settings,
    install_tools,
    sh,
    wheelhouse,
)
from ops_support import http_get, wait_for

from shardy.api import Client

pytestmark = [pytest.mark.compose, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="shardy-compose-"))
    install_tools()
    with docker_engine(tmp):
        base_image()
        wheelhouse()
        s = Stack(tmp)
        s.down(volumes=True)  # a stack left over by an interrupted run
        try:
            s.up()
            yield s
        except BaseException:
            print(s.logs())
            raise
        finally:
            s.down(volumes=True)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[Client]:
    home = Path(tempfile.mkdtemp(prefix="shc", dir="/tmp"))
    c = Client(host_settings(home))
    wait_for("two remote workers to join", lambda: len(_remote_ids(c)) == 2, timeout=180)
    yield c
    c.close()
    shutil.rmtree(home, ignore_errors=True)


def _remote_ids(c: Client) -> set[str]:
    from shardy import routing

    return {w for w in routing.alive(c.app.redis) if w.startswith("remote-")}


def _histogram(c: Client, seed: int, size: int = 4096):
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    return data, c.submit("histogram", data)


def test_a_task_from_the_host_verifies_with_both_remote_workers(client):
    data, handle = _histogram(client, 1)
    result = handle.get(timeout=180)
    assert np.array_equal(result.output, np.bincount(data, minlength=256))
    voters = {a.worker_id for a in result.attestations if a.agrees}
    assert voters == _remote_ids(client) and len(voters) == 2
    assert {w.split("@")[1] for w in voters} == {"box-a", "box-b"}  # two operators


def test_flower_and_the_metrics_exporter_see_the_stack(client, stack):
    client.submit("histogram", b"flower").get(timeout=180)
    wait_for("flower to list the orchestrator and the gateway", lambda: all(
        f'flower_worker_online{{worker="{w}"}} 1.0' in http_get("http://127.0.0.1:5555/metrics")
        for w in ("orchestrator@orchestrator", "gateway-gw0@gateway")), timeout=120)  # fmt: skip
    metrics = http_get("http://127.0.0.1:9100/metrics")
    verified = float(metrics.split('shardy_tasks{state="verified"} ')[1].split()[0])
    assert verified >= 1


def test_the_sidecars_gossip_the_verified_record(client, stack):
    result = client.submit("histogram", b"gossip me").get(timeout=180)
    query = ("from shardy.p2p.store import RecordStore; "
             "print(sorted(RecordStore('/var/lib/shardy/p2p').task_ids()))")  # fmt: skip

    def seen(service: str) -> bool:
        out = stack.compose("exec", "-T", service, "python3", "-c", query, check=False)
        return result.task_id in out.stdout

    wait_for("sidecar-a to publish and sidecar-b to accept the record",
             lambda: seen("sidecar-a") and seen("sidecar-b"), timeout=120)  # fmt: skip


def test_a_remote_worker_killed_mid_task_loses_nothing(client, stack):
    """The container's process is killed from the host (a crash: Docker's restart policy
    brings it back); every task submitted around it verifies."""
    handles = [_histogram(client, 100 + i, 200_000) for i in range(8)]
    pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", stack.container("gpu0")).stdout.strip()
    subprocess.run(["kill", "-9", pid], check=True)
    handles += [_histogram(client, 200 + i, 200_000) for i in range(4)]
    for data, handle in handles:
        assert np.array_equal(handle.get(timeout=300).output, np.bincount(data, minlength=256))
    restarts = sh("docker", "inspect", "-f", "{{.RestartCount}}", stack.container("gpu0"))
    assert int(restarts.stdout) >= 1


def test_state_survives_down_and_up(client, stack):
    data, handle = _histogram(client, 7)
    before = handle.get(timeout=180)
    stack.down()  # containers go, volumes stay
    stack.compose("up", "-d")
    wait_for("the database to answer again", lambda: _answers(client, before.task_id), timeout=180)
    # the workers first: a task dispatched while no worker is eligible waits in the shared
    # fleet queue, which a remote-only stack does not consume, until the sweeper re-sends it
    # (SHARDY_STALE_AFTER, 10 min)
    wait_for("the remote workers to rejoin", lambda: len(_remote_ids(client)) == 2, timeout=180)
    again = client.submit("histogram", data)  # same payload, a new task, same digest
    assert again.get(timeout=180).digest == before.digest
    assert client.handle(before.task_id).get(timeout=30).digest == before.digest


def _answers(c: Client, task_id: str) -> bool:
    try:
        return c.handle(task_id).status().state == "verified"
    except Exception:  # noqa: BLE001 - the stack is still coming up
        time.sleep(1)
        return False
