"""A worker SIGKILLed mid-task (main process and pool child) loses nothing and counts once."""

from __future__ import annotations

import time

import kernels_faults  # noqa: F401 - registers slow_histogram in this process
import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from sqlalchemy import select

from shardy.kernels import registry
from shardy.store import Replica
from shardy.workers.runtime import claim_key

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    # short visibility timeout so Redis redelivers the killed worker's message quickly
    # and no early verdict: the killed replica is redone and counted, not cut by two others
    settings = make_settings(short_home(), visibility_timeout=4, max_replicas=3,
                             early_quorum=False)  # fmt: skip
    env = {"SHARDY_TEST_SLOW": "3"}
    yield from start_cluster(
        settings,
        workers=3,
        worker_env={i: env for i in range(3)},
        worker_modules={i: ["kernels_faults"] for i in range(3)},
    )


def test_sigkill_mid_task_is_redelivered_and_not_double_counted(cluster):
    data = np.random.default_rng(5).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    handle = cluster.client.submit("slow_histogram", data)
    key = claim_key(handle.id, 1)
    deadline = time.monotonic() + 60
    while cluster.app.redis.hlen(key) < 3:  # every worker is inside its replica
        assert time.monotonic() < deadline, "replicas never started"
        time.sleep(0.05)
    cluster.cluster.kill("gpu0")  # SIGKILL to the worker's main process and pool child
    cluster.cluster.start_worker(0)
    res = handle.get(timeout=120)
    k = registry.get("histogram")
    assert np.array_equal(res.output, k.reference(data, {}, 0))
    with cluster.app.store.session() as s:
        rows = s.scalars(select(Replica).where(Replica.task_id == handle.id)).all()
    ok = [r for r in rows if r.status == "ok"]
    assert len(rows) == 3 and len(ok) == 3
    assert len({r.worker_id for r in ok}) == 3
    assert any(r.worker_id.startswith("gpu0@") for r in ok)  # the killed replica was redone


def test_sigkill_mid_group_is_redelivered_and_counted_once(cluster):
    # a map's replicas go to each worker as grouped orders (one message, several replicas)
    rng = np.random.default_rng(6)
    datas = [rng.integers(0, 256, 4000, dtype=np.uint8).tobytes() for _ in range(4)]
    handles = cluster.client.map("slow_histogram", datas)
    deadline = time.monotonic() + 60
    keys = [claim_key(h.id, 1) for h in handles]
    while not all(cluster.app.redis.hlen(k) == 3 for k in keys):  # every group is running
        assert time.monotonic() < deadline, "replicas never started"
        time.sleep(0.05)
    cluster.cluster.kill("gpu1")
    cluster.cluster.start_worker(1)
    k = registry.get("histogram")
    for handle, data in zip(handles, datas, strict=True):
        res = handle.get(timeout=120)
        assert np.array_equal(res.output, k.reference(data, {}, 0))
    with cluster.app.store.session() as s:
        rows = s.scalars(select(Replica).where(Replica.task_id.in_([h.id for h in handles])))
        by_task: dict[str, list[Replica]] = {}
        for r in rows:
            by_task.setdefault(r.task_id, []).append(r)
    for task_rows in by_task.values():
        ok = [r for r in task_rows if r.status == "ok"]
        assert len(task_rows) == 3 and len({r.worker_id for r in ok}) == len(ok) == 3
        assert any(r.worker_id.startswith("gpu1@") for r in ok)  # its group was redone
