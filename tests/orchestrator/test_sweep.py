"""A task whose round vanished (never sent, or its chord failed) is re-sent by the sweeper."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import numpy as np
import pytest
from cluster_support import make_settings, record_assignments, short_home, start_cluster, with_votes
from sqlalchemy import select

from shardy import routing
from shardy.celery_app import WORK_EXCHANGE, ShardyCelery
from shardy.kernels import registry
from shardy.orchestrator.sweep import MAX_RESENDS, sweep
from shardy.store import DeadLetter, Task
from shardy.store.models import utcnow

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    yield from start_cluster(make_settings(short_home(), stale_after=5), workers=3)


def test_a_task_whose_round_vanished_is_resent_and_verified(cluster):
    data = np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    kernel = registry.get("histogram")
    # warm every worker up first (device, shaders, prover: ~4 s on the 2-core VM), so the fresh
    # round below takes well under the 5 s silence window and is not re-sent for being slow
    cluster.client.submit("histogram", data[:100]).get(timeout=120)
    ref = cluster.app.blobs.put(data)
    task_id = str(uuid.uuid4())
    with cluster.app.store.session() as s:  # as dispatch writes it, but no chord ever sent
        s.add(
            Task(
                id=task_id,
                kernel="histogram",
                seed=0,
                output_len=1024,
                params={},
                payload_sha256=ref.sha256,
                payload_size=ref.size,
                redundancy=3,
                quorum=2,
                max_replicas=6,
                replicas_sent=3,
                rounds_sent=1,
                rounds_settled=0,
                state="running",
                agreeing=0,
                published=False,
                updated_at=utcnow() - timedelta(seconds=60),
            )  # fmt: skip
        )
    res = with_votes(cluster.client, cluster.client.handle(task_id).get(timeout=120), 3)
    assert np.array_equal(res.output, kernel.reference(data, {}, 0))
    with cluster.app.store.session() as s:
        task = s.get(Task, task_id)
        assert task.rounds_sent == 2 and task.replicas_sent == 6  # one fresh round, no more
    assert sorted(a.replica for a in res.attestations) == [3, 4, 5]


@pytest.fixture(scope="module")
def patient():
    """A cluster whose own sweeper never fires (stale_after 1 h), and an app that sweeps with
    a 5 s window on the same Redis and store."""
    for rc in start_cluster(make_settings(short_home(), stale_after=3600), workers=2):
        rc.sweeper_app = ShardyCelery(rc.settings.replace(stale_after=5))
        yield rc


def _silent_task(rc, silent_s: float, **fields) -> str:
    data = np.random.default_rng(len(fields)).integers(0, 256, 500, dtype=np.uint8).tobytes()
    ref = rc.app.blobs.put(data)
    task_id = str(uuid.uuid4())
    row = {"kernel": "histogram", "seed": 0, "output_len": 1024, "params": {},
           "payload_sha256": ref.sha256, "payload_size": ref.size, "redundancy": 3, "quorum": 2,
           "max_replicas": 6, "replicas_sent": 3, "rounds_sent": 1, "rounds_settled": 0,
           "state": "running", "agreeing": 0, "published": False,
           "updated_at": utcnow() - timedelta(seconds=silent_s), **fields}  # fmt: skip
    with rc.app.store.session() as s:
        s.add(Task(id=task_id, **row))
    return task_id


def test_resends_back_off_and_stop(patient):
    """A task re-sent k times must be silent stale_after × 2^k before the next; after
    MAX_RESENDS it is dead-lettered (replay resumes it) instead of re-sent forever."""
    app = patient.sweeper_app
    once = _silent_task(patient, 8, sweeps=1)  # needs 10 s after one re-send
    twice = _silent_task(patient, 25, sweeps=2)  # needs 20 s after two
    given_up = _silent_task(patient, 10_000, sweeps=MAX_RESENDS)
    sent = sweep(app)
    assert once not in sent and twice in sent and given_up not in sent
    with patient.app.store.session() as s:
        assert s.get(Task, twice).sweeps == 3
        dead = s.get(Task, given_up)
        assert dead.state == "dead" and "silent after" in dead.error
        assert s.scalars(select(DeadLetter).where(DeadLetter.task_id == given_up)).one()
    assert patient.client.handle(twice).get(timeout=120).digest


def test_a_round_queued_behind_a_backlog_is_not_silent(patient):
    """Time a replica spends queued behind a live worker's backlog is not silence; a live
    worker that still holds the replica with nothing queued has lost it."""
    app = patient.sweeper_app
    worker, queue = "gpu-busy@test", "shardy.test.backlog"
    routing.beat(app.redis, worker, queue=queue, slots=1, voter=worker)
    task_id = _silent_task(patient, 600)
    record_assignments(patient.app, task_id, [0], worker_id=worker)
    key = routing.assignment_key(task_id, 1, 0)
    routing.track(app.redis, [(worker, key)], time.time() + 600)
    with app.producer_or_acquire() as producer:  # someone else's replica ahead of ours
        producer.publish({"ahead": 1}, routing_key=queue, exchange=WORK_EXCHANGE,
                         declare=[app.queue(queue)])  # fmt: skip
    try:
        assert routing.queue_depths(app, [queue]) == {queue: 1}
        assert task_id not in sweep(app)
        _purge(app, queue)  # the backlog drained and the replica never came back: lost
        assert task_id in sweep(app)
    finally:
        routing.leave(app.redis, worker)
        _purge(app, queue)


def _purge(app, queue: str) -> None:
    with app.connection_for_write() as conn:
        app.queue(queue).bind(conn.default_channel).purge()
