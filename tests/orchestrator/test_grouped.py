"""Grouped orders on a real cluster: a burst's replicas go to each fleet worker in a few
``shardy.execute_many`` messages and are settled by collects, with the per-replica behaviour
of chords (retries, dead letters, early verdicts) unchanged."""

from __future__ import annotations

import re
import time

import kernels_faults  # noqa: F401 - registers the test-only kernels in this process too
import numpy as np
import orjson
import pytest
from cluster_support import make_settings, short_home, start_cluster
from sqlalchemy import select

from shardy import arrivals, collects
from shardy.kernels import registry
from shardy.orchestrator import collector, grouped, precheck
from shardy.store import Assignment, Replica, Task

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def rc():
    home = short_home()
    env = {"SHARDY_TEST_FAULT_FILE": str(home / "fault"),
           "SHARDY_TEST_NO_COLLECT_FILE": str(home / "no-collect")}  # fmt: skip
    settings = make_settings(home, max_replicas=3, group_orders=4, retry_max=8,
                             spot_check_rate=0.0, probation_votes=10**6)  # fmt: skip
    modules = {i: ["kernels_faults", "behaviour_no_collect"] for i in range(3)}
    yield from start_cluster(settings, workers=3, worker_env={i: env for i in range(3)},
                             worker_modules=modules)  # fmt: skip


def payloads(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, 2000, dtype=np.uint8).tobytes() for _ in range(n)]


def oracle(data: bytes) -> np.ndarray:
    return registry.get("histogram").reference(data, {}, 0)


def received(rc) -> str:
    """Everything the workers logged (Celery logs each task message it receives)."""
    return "".join(p.read_text(errors="replace") for p in rc.cluster.logdir.glob("gpu*.log"))


def replica_ids(task_ids: list[str], rounds: int = 1) -> list[str]:
    return [arrivals.replica_task_id(t, n, r) for t in task_ids
            for n in range(1, rounds + 1) for r in range(3)]  # fmt: skip


def check_verified(rc, handles, datas) -> None:
    for h, data in zip(handles, datas, strict=True):
        res = h.get(timeout=180)
        assert np.array_equal(res.output, oracle(data))
        agreeing = [a for a in res.attestations if a.agrees]
        assert len({a.worker_id for a in agreeing}) >= 2


def test_a_map_goes_out_grouped_and_verifies(rc):
    datas = payloads(12, 1)
    handles = rc.client.map("histogram", datas)
    check_verified(rc, handles, datas)
    logs = received(rc)
    # 12 tasks x 3 replicas over 3 workers in groups of at most 4: a few messages, and no
    # replica ran as a Celery task of its own
    assert len(re.findall(r"Task shardy\.execute_many\[[^\]]+\] received", logs)) >= 9
    alone = [i for i in replica_ids([h.id for h in handles]) if i in logs]
    assert not alone, [x for x in logs.splitlines() if any(i in x for i in alone)][:8]
    with rc.app.store.read() as s:
        tasks = s.scalars(select(Task).where(Task.id.in_([h.id for h in handles]))).all()
        assert {t.state for t in tasks} == {"verified"}
        assert all(t.rounds_settled == 1 for t in tasks)
    members = {arrivals.member(h.id, 1).encode() for h in handles}
    deadline = time.monotonic() + 10  # closed just after the waiters are woken
    while rc.app.redis.smembers(arrivals.GROUPED_KEY) & members:
        assert time.monotonic() < deadline, "grouped rounds were left marked"
        time.sleep(0.05)


def collects_of(rc, task_id: str) -> int:
    """How many collects naming ``task_id`` first the orchestrator's collectors have taken
    (each logs one line as it takes an entry, before it settles)."""
    log = (rc.cluster.logdir / "orchestrator.log").read_text(errors="replace")
    return len(re.findall(rf"collect of \d+ rounds taken \(first \['{task_id}', ", log))


def test_a_lone_submit_goes_out_grouped_and_is_collected_once(rc):
    data = payloads(1, 2)[0]
    handle = rc.client.submit("histogram", data)
    check_verified(rc, [handle], [data])
    assert not any(i in received(rc) for i in replica_ids([handle.id]))  # no chord members
    # the worker whose replica completed the round asked for its collect, the others not
    assert collects_of(rc, handle.id) == 1
    assert rc.app.redis.hget(arrivals.SIZE_KEY, arrivals.member(handle.id, 1)) is None
    # the workers noted their proofs and the orchestrator's prechecker verified them
    deadline = time.monotonic() + 10
    while not any(rc.app.redis.scan_iter(precheck.TAG_PREFIX + "*")):
        assert time.monotonic() < deadline, "no proof was prechecked"
        time.sleep(0.05)


def test_transient_faults_in_a_group_retry_alone_then_verify(rc):
    fault = rc.settings.home / "fault"
    fault.touch()
    datas = payloads(6, 3)
    try:
        handles = rc.client.map("flaky_histogram", datas)
        deadline = time.monotonic() + 60
        ids = replica_ids([h.id for h in handles])
        while not any(i in received(rc) for i in ids):  # a replica was re-sent alone
            assert time.monotonic() < deadline, "no replica was retried"
            time.sleep(0.2)
    finally:
        fault.unlink()
    check_verified(rc, handles, datas)
    with rc.app.store.read() as s:
        rows = s.scalars(select(Replica).where(Replica.task_id.in_([h.id for h in handles])))
        assert max(r.attempts for r in rows) > 1  # counted as retries of the replica


def test_rounds_whose_collect_is_lost_are_settled_by_the_watch(rc):
    flag = rc.settings.home / "no-collect"
    flag.touch()
    try:
        datas = payloads(8, 4)
        handles = rc.client.map("histogram", datas)
        check_verified(rc, handles, datas)
    finally:
        flag.unlink()
    with rc.app.store.read() as s:
        tasks = s.scalars(select(Task).where(Task.id.in_([h.id for h in handles]))).all()
        assert all(t.rounds_settled == 1 for t in tasks)  # a full settle, not only an early one


def test_forged_collects_settle_nothing_and_break_nothing(rc):
    # a round not complete (no result stored), unknown tasks, malformed pairs: nothing settles
    flag = rc.settings.home / "no-collect"
    datas = payloads(4, 5)
    handles = rc.client.map("histogram", datas)
    junk = [["no-such-task", 1], [handles[0].id, 99], [handles[0].id, "1"], 7, "x", [True, 1]]
    assert grouped.collect(rc.app, junk)["settled"] == 0
    rc.app.send_task("shardy.collect", args=(junk,), queue="shardy.control")
    rc.app.send_task("shardy.collect", args=("not a list",), queue="shardy.control")
    oversized = orjson.dumps([[handles[0].id, 1]] * (collector.MAX_ENTRY // 40))
    for raw in (orjson.dumps(junk), b"not json", b'{"a": 1}', oversized):  # on the list too
        rc.app.redis.lpush(collects.COLLECTS_KEY, raw)
    check_verified(rc, handles, datas)
    deadline = time.monotonic() + 10
    while rc.app.redis.llen(collects.COLLECTS_KEY):  # the collectors took the junk and serve on
        assert time.monotonic() < deadline, "the junk collects were not taken"
        time.sleep(0.05)
    # once settled, a collect naming the rounds again changes nothing
    assert grouped.collect(rc.app, [[h.id, 1] for h in handles])["settled"] == 0
    assert not flag.exists()
    more = payloads(4, 6)
    served = rc.client.map("histogram", more)
    check_verified(rc, served, more)  # the orchestrator still serves, its collectors too
    assert any(collects_of(rc, h.id) for h in served)


def test_a_round_that_redis_calls_complete_settles_only_if_the_store_agrees(rc):
    """A collect judges a noted round ready from Redis (where every fleet worker may write);
    settle checks it against the round's assignments under the task's lock. A forged note
    that leaves a replica out, with a forged result stored for the rest, records nothing."""
    from shardy.orchestrator.dispatch import dispatch_many

    (task,) = dispatch_many(rc.app, "histogram", [payloads(1, 7)[0]], send=lambda *r: None)
    with rc.app.store.read() as s:
        assigned = sorted(s.scalars(select(Assignment.replica).where(
            Assignment.task_id == task.id)))  # fmt: skip
    assert len(assigned) == 3  # recorded, never sent: the round stays open
    forged = {"status": "ok", "task_id": task.id, "replica": assigned[0],
              "worker_id": "gpu0@test", "digest": "0" * 64, "output_sha256": "0" * 64,
              "output_size": 1}  # fmt: skip
    collects.store_results(rc.app, [(arrivals.replica_task_id(task.id, 1, assigned[0]), forged)])
    pipe = rc.app.redis.pipeline(transaction=False)
    arrivals.stage_grouped(pipe, [(task.id, 1, assigned[:1])])  # "one replica, back"
    pipe.execute()
    assert arrivals.staged(rc.app.redis, [(task.id, 1)]) == {(task.id, 1): assigned[:1]}
    assert grouped.collect(rc.app, [[task.id, 1]]) == {"named": 1, "settled": 0}
    with rc.app.store.read() as s:
        assert s.get(Task, task.id).rounds_settled == 0
        assert not s.scalars(select(Replica).where(Replica.task_id == task.id)).all()
    # a note naming every assigned replica, one of them with no result stored: not ready
    pipe = rc.app.redis.pipeline(transaction=False)
    arrivals.stage_grouped(pipe, [(task.id, 1, assigned)])
    pipe.execute()
    assert grouped.collect(rc.app, [[task.id, 1]]) == {"named": 1, "settled": 0}
    with rc.app.store.read() as s:
        assert not s.scalars(select(Replica).where(Replica.task_id == task.id)).all()
