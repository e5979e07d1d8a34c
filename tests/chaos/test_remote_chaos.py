"""Remote workers when things break: one SIGKILLed mid-replica, the gateway restarted
mid-round, a session dropped and resumed. No task is lost, none is verified twice, no
replica counts twice (real gateway, real remote worker processes, real Celery)."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from sqlalchemy import func, select

from shardy.celery_app import VERIFIED_STREAM
from shardy.store import Assignment, Replica, Task

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def rc():
    # 4 remote workers, R=2: a lost worker's replica has somewhere to go; Redis redelivers an
    # unacknowledged relay in 4 s (a killed gateway's)
    # a restarted worker process is back in ~3 s: a session grace of 8 s lets it resume
    settings = make_settings(short_home(), redundancy_factor=2, quorum=2, session_grace=8,
                             visibility_timeout=4, stale_after=30)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=4)


def _submit(rc, n: int, seed: int, size: int = 200_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for _ in range(n):
        data = rng.integers(0, 256, size, dtype=np.uint8)
        out[rc.client.submit("histogram", data).id] = np.bincount(data, minlength=256)
    return out


def _audit(rc, jobs: dict[str, np.ndarray]) -> None:
    """Every task verified with the right output, each replica recorded once, each worker
    counted once per task, each task announced on the verified stream once."""
    for task_id, expected in jobs.items():
        res = rc.client.handle(task_id).get(timeout=240)
        assert np.array_equal(res.output, expected)
        agree = [a.worker_id for a in res.attestations if a.agrees]
        assert len(agree) == len(set(agree)) >= 2
    with rc.app.store.session() as s:
        dupes = s.execute(
            select(Replica.task_id, Replica.replica).where(Replica.task_id.in_(jobs))
            .group_by(Replica.task_id, Replica.replica).having(func.count() > 1)
        ).all()  # fmt: skip
        assert dupes == []
        assert all(s.get(Task, t).published for t in jobs)
    announced = [e[1][b"task_id"].decode() for e in rc.app.redis.xrange(VERIFIED_STREAM)]
    assert all(announced.count(t) == 1 for t in jobs)


def _process_of(rc, worker_id: str) -> str:
    fleet = rc.cluster.remote
    return next(f"rw{i}" for i in range(fleet.n) if fleet.worker_id(i) == worker_id)


def test_a_remote_worker_killed_mid_replica_loses_nothing(rc):
    jobs = _submit(rc, 1, seed=1)
    (task_id,) = jobs
    with rc.app.store.session() as s:
        victim = s.scalars(
            select(Assignment.worker_id).where(Assignment.task_id == task_id)
        ).first()
    name = _process_of(rc, victim)
    rc.cluster.kill(name)  # while its order is on the way or in its hands
    try:
        jobs |= _submit(rc, 3, seed=2)
        _audit(rc, jobs)
        with rc.app.store.session() as s:
            moved = s.scalars(select(Assignment).where(Assignment.task_id == task_id)).all()
        # its replica went elsewhere: reassigned by the gateway after the session grace, or
        # covered first by a speculative replica on another worker (orchestrator/early.py)
        assert victim not in {a.worker_id for a in moved} or any(a.speculative for a in moved)
        res = rc.client.handle(task_id).get(timeout=10)
        assert victim not in {a.worker_id for a in res.attestations if a.agrees}
    finally:
        rc.cluster.restart(name)
        rc.cluster.remote.wait_sessions(4)


def test_a_gateway_restarted_mid_round_loses_nothing(rc):
    jobs = _submit(rc, 4, seed=3)
    rc.cluster.kill("gateway", signal.SIGKILL)  # relays in flight: Redis redelivers them
    time.sleep(1)
    rc.cluster.restart("gateway")
    rc.cluster.remote.wait_sessions(4, timeout=120)  # the workers reconnect with backoff
    jobs |= _submit(rc, 2, seed=4)
    _audit(rc, jobs)


def test_a_dropped_session_resumes_and_keeps_its_replica(rc):
    jobs = _submit(rc, 1, seed=5, size=2_000_000)
    (task_id,) = jobs
    with rc.app.store.session() as s:
        held = s.scalars(select(Assignment.worker_id).where(Assignment.task_id == task_id)).first()
    name = _process_of(rc, held)
    rc.cluster.kill(name, signal.SIGKILL)  # the session drops ...
    rc.cluster.restart(name)  # ... and the same worker comes back within the grace
    _audit(rc, jobs)
    with rc.app.store.session() as s:
        kept = s.scalars(select(Assignment.worker_id).where(Assignment.task_id == task_id)).all()
    assert held in kept  # it resumed its replica: nothing was reassigned
    rc.cluster.remote.wait_sessions(4)
