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
