"""Early quorum, straggler speculation and the extend path, on a real cluster.

Three fleet workers; gpu2 is Byzantine for `histogram` (every non-empty bin counts one more:
a valid proof of a wrong output). A hung worker is a stopped process (SIGSTOP): it holds its
replicas and answers nothing until it is continued.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from sqlalchemy import select

from shardy import arrivals
from shardy.kernels import registry
from shardy.orchestrator.early import (
    COLLECT_WAIT,
    DEFAULT_GRACE,
    Watch,
    _Round,
    could_decide,
    grace_of,
    speculate,
)
from shardy.store import Assignment, Replica, Task
from shardy.store.models import utcnow

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def rc():
    # standing stays out of the way here (tests/orchestrator/test_standing.py, test_collusion.py)
    settings = make_settings(
        short_home(),
        max_replicas=4,
        max_payload=1 << 20,
        spot_check_rate=0.0,
        probation_votes=10**6,
        quarantine_faults=1e6,
    )
    yield from start_cluster(settings, workers=3, worker_modules={2: ["kernels_byzantine"]})


def payload(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def reference(kernel: str, data: bytes) -> np.ndarray:
    k = registry.get(kernel)
    return k.reference(data, k.resolve_params(None), 0)


@contextlib.contextmanager
def hung(rc, name: str):
    """Worker ``name`` stopped (it keeps its replicas and answers nothing) until the end."""
    pid = rc.cluster.procs[name].pid
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield rc.cluster.node(name)
    finally:
        os.killpg(pid, signal.SIGCONT)


def rows(rc, task_ids: list[str]) -> list[Replica]:
    with rc.app.store.read() as s:
        return list(s.scalars(select(Replica).where(Replica.task_id.in_(task_ids))))


def wait_rows(rc, task_ids: list[str], done, timeout: float = 120.0) -> list[Replica]:
    end = time.monotonic() + timeout
    while True:
        got = rows(rc, task_ids)
        if done(got) or time.monotonic() > end:
            return got
        time.sleep(0.5)


def test_grace_is_the_p95_spread_within_bounds():
    assert grace_of([0.1] * 5, ceiling=30.0) == DEFAULT_GRACE  # too few samples
    assert grace_of([0.01] * 100, ceiling=30.0) == 0.25  # floor
    assert grace_of([float(i) for i in range(100)], ceiling=300.0) == pytest.approx(94.05)
    spreads = [0.5] * 95 + [3.0] * 5
    assert 0.5 <= grace_of(spreads, ceiling=30.0) <= 3.0
    assert grace_of([100.0] * 50, ceiling=7.5) == 7.5  # ceiling


def test_a_partial_settle_is_tried_only_when_it_could_verify():
    assert could_decide(2, quorum=2, pending=1, probation=False)  # a bare quorum decides
    assert not could_decide(2, quorum=2, pending=1, probation=True)  # not past one still out
    assert could_decide(3, quorum=2, pending=1, probation=True)
    assert not could_decide(1, quorum=2, pending=0, probation=False)

    def looked(task: Task, results: list[dict], recorded=None, probation=True) -> _Round:
        assigned = [(0, "w0", False), (1, "w1", False), (2, "w2", False)]
        return _Round(task, 1, 0.0, 0.3, assigned, recorded or {}, probation, results)

    ok = {"status": "ok"}
    task = Task(id="t", quorum=2, rounds_settled=0, rounds_sent=1, spot_digest=None)
    assert not looked(task, []).settleable(early_quorum=True)
    assert not looked(task, [ok, ok]).settleable(early_quorum=True)  # the third may dissent
    assert looked(task, [ok, ok], probation=False).settleable(early_quorum=True)
    assert not looked(task, [ok, ok], probation=False).settleable(early_quorum=False)
    assert looked(task, [ok], {0: ("ok", "w0", True), 1: ("ok", "w1", True)}).settleable(True)
    spot = Task(id="s", quorum=2, rounds_settled=0, rounds_sent=1, spot_digest="00" * 32)
    assert looked(spot, [ok]).settleable(early_quorum=True)  # every vote of a check is judged
    settled = Task(id="l", quorum=2, rounds_settled=1, rounds_sent=1, spot_digest=None)
    assert looked(settled, [ok]).settleable(early_quorum=False)  # late: recorded anyway


def test_an_open_round_is_looked_at_half_as_often_each_time_but_never_past_a_deadline():
    """A burst's rounds wait seconds for their last replica: each look doubles the wait to
    the next (up to MAX_RELOOK), but never past the round's speculation deadline or, once
    whole, its collect's."""
    from types import SimpleNamespace

    settings = SimpleNamespace(speculate_factor=4.0, early_quorum=True)
    watch = Watch(SimpleNamespace(settings=settings), interval=0.1)  # type: ignore[arg-type]
    task = Task(id="t", quorum=2, rounds_settled=0, rounds_sent=1, spot_digest=None)
    out = [(0, "w0", False), (1, "w1", False)]
    r = _Round(task, 1, 100.0, 0.5, out, {}, False)  # nothing back; speculation at 102.0
    now, gaps = 100.5, []
    for _ in range(4):
        assert watch._pass([r], now) == 0
        gaps.append(round(watch._next[r.key] - now, 6))
        now = watch._next[r.key]
    assert gaps == [0.25, 0.5, 0.75, 1.0]  # 0.25 doubling, the third cut at 102.0
    whole = _Round(task, 2, 100.0, 0.5, out, {}, False, [{"status": "ok"}] * 2, grouped=True)
    watch._looks[whole.key] = 8  # looked at often: its wait is MAX_RELOOK
    watch._whole[whole.key] = 101.0  # whole since 101.0: its collect is due by 103.0
    assert watch._pass([whole], 102.6) == 0
    assert round(watch._next[whole.key], 6) == 101.0 + COLLECT_WAIT


def _running_task(rc, data: bytes, *, sent: int, most: int) -> Task:
    """A task row that is running with ``sent`` of ``most`` replicas used (none in flight)."""
    k = registry.get("sha256")
    ref = rc.app.blobs.put(data, inline=False)
    task = Task(id=str(uuid.uuid4()), kernel="sha256", seed=0, params={},
                output_len=k.make_plan(len(data), k.resolve_params(None), 0).output_len,
                payload_sha256=ref.sha256, payload_size=ref.size, redundancy=2, quorum=2,
                max_replicas=most, replicas_sent=sent, rounds_sent=1, rounds_settled=0, sweeps=0,
                state="running", agreeing=0, published=False, updated_at=utcnow())  # fmt: skip
    with rc.app.store.session() as s:
        s.add(task)
    return task


def test_speculative_replicas_go_out_together_within_each_budget(rc):
    """`speculate` sends one replica per round that has budget left, each to a worker outside
    its exclusions, records it as speculative and counts it against its task."""
    gpu0, gpu1, gpu2 = (rc.cluster.node(f"gpu{i}") for i in range(3))
    spent = _running_task(rc, payload(500, 40), sent=2, most=2)
    one = _running_task(rc, payload(500, 41), sent=2, most=4)
    two = _running_task(rc, payload(500, 42), sent=2, most=4)
    try:
        sent = speculate(rc.app, [(spent, 1, ()), (one, 1, (gpu0,)), (two, 1, (gpu0, gpu1))])
        assert sent == [False, True, True]
        with rc.app.store.read() as s:
            rows = {t.id: s.get(Task, t.id).replicas_sent for t in (spent, one, two)}
            got = s.scalars(select(Assignment).where(
                Assignment.task_id.in_([spent.id, one.id, two.id]))).all()  # fmt: skip
        assert rows == {spent.id: 2, one.id: 3, two.id: 3}
        by_task = {a.task_id: a for a in got}
        assert set(by_task) == {one.id, two.id} and all(a.speculative for a in got)
        assert by_task[one.id].worker_id in (gpu1, gpu2) and by_task[two.id].worker_id == gpu2
        assert {a.replica for a in got} == {2}
        ids = [arrivals.replica_task_id(t.id, 1, 2) for t in (one, two)]
        end = time.monotonic() + 90
        while None in (results := arrivals.stored_results(rc.app, ids)) and time.monotonic() < end:
            time.sleep(0.5)
        assert [r["status"] for r in results] == ["ok", "ok"], results
        assert [r["worker_id"] for r in results] == [by_task[one.id].worker_id, gpu2]
    finally:
        with rc.app.store.session() as s:  # no chord will settle them: out of the sweeper's way
            for t in (spent, one, two):
                s.get(Task, t.id).state = "dead"


def test_a_hung_replica_does_not_delay_an_agreeing_quorum(rc):
    data = [payload(4000, i) for i in range(4)]
    rc.client.submit("sha256", payload(100, 99)).get(timeout=120)  # everyone warm
    with hung(rc, "gpu0") as stopped:
        handles = [rc.client.submit("sha256", d) for d in data]
        # without an early verdict these would wait for gpu0 until it is continued
        results = [h.get(timeout=90) for h in handles]
    ids = [h.id for h in handles]
    for res, d in zip(results, data, strict=True):
        assert np.array_equal(res.output, reference("sha256", d))
        assert len(res.attestations) == 2
    # continued, gpu0 skips the replicas of decided tasks instead of computing them
    got = wait_rows(rc, ids, lambda g: sum(r.worker_id == stopped for r in g) == len(ids))
    mine = [r for r in got if r.worker_id == stopped]
    assert len(mine) == len(ids), [(r.task_id, r.worker_id, r.status) for r in got]
    assert all(r.status == "skipped" and "decided" in (r.error or "") for r in mine)
    with rc.app.store.read() as s:
        assert all(s.get(Task, i).state == "verified" for i in ids)


def test_a_straggler_gets_a_speculative_replica(rc):
    data = [payload(3000, 10 + i) for i in range(6)]
    with hung(rc, "gpu1") as stopped:
        handles = [rc.client.submit("sha256", d, redundancy=2, quorum=2) for d in data]
        results = [h.get(timeout=90) for h in handles]
    ids = [h.id for h in handles]
    for res, d in zip(results, data, strict=True):
        assert np.array_equal(res.output, reference("sha256", d))
        assert len(res.attestations) == 2
    with rc.app.store.read() as s:
        assigned = s.scalars(select(Assignment).where(Assignment.task_id.in_(ids))).all()
    held = {a.task_id for a in assigned if a.worker_id == stopped and not a.speculative}
    spec = [a for a in assigned if a.speculative]
    assert held, "gpu1 got no replica (six tasks of R=2 over three workers)"
    # every task that waited on gpu1 got one speculative replica, on another worker (a round
    # of two live workers, one lagging by the grace, may get one too: on any worker)
    mine = [a for a in spec if a.task_id in held]
    assert {a.task_id for a in mine} == held and len(mine) == len(held)
    assert all(a.worker_id not in (stopped, None) for a in mine)
    voted = {(r.task_id, r.replica) for r in rows(rc, ids) if r.verdict == "agree"}
    assert all((a.task_id, a.replica) in voted for a in spec)


def test_a_disagreement_at_quorum_extends_then_verifies(rc):
    """R=2, quorum 2, max 4: a task that drew the Byzantine gpu2 splits 1:1, gets one extra
    replica on the third worker, and is verified by the two honest workers."""
    data = [payload(5000, 20 + i) for i in range(8)]
    handles = [rc.client.submit("histogram", d, redundancy=2, quorum=2) for d in data]
    results = [h.get(timeout=120) for h in handles]
    for res, d in zip(results, data, strict=True):
        assert np.array_equal(res.output, reference("histogram", d))
    ids = [h.id for h in handles]
    with rc.app.store.read() as s:
        tasks = {i: s.get(Task, i) for i in ids}
    byz = rc.cluster.node("gpu2")
    got = rows(rc, ids)
    split = {r.task_id for r in got if r.worker_id == byz and r.status == "ok"}
    assert split, "gpu2 drew no replica of eight tasks"
    for task_id in split:
        t = tasks[task_id]
        # the extra replica: a second round, or a speculative one when a round's second
        # replica lagged by the grace (the third worker either way)
        assert t.state == "verified" and t.replicas_sent >= 3, task_id
        verdicts = {r.worker_id: r.verdict for r in got if r.task_id == task_id}
        assert verdicts[byz] == "disagree"
        assert sorted(v for w, v in verdicts.items() if w != byz) == ["agree", "agree"]


def test_homogeneous_redundancy_runs_a_float_kernel_on_one_platform_bit_for_bit(rc):
    """SHARDY_HOMOGENEOUS: matmul_f32 (a tolerance kernel) on workers of one platform class,
    whose digests must be equal; the verified output is theirs, not a median."""
    import dataclasses

    from shardy.api import Client
    from shardy.orchestrator import homogeneous

    m, n, k = 16, 12, 8
    rng = np.random.default_rng(3)
    data = rng.standard_normal(m * k + k * n).astype("<f4").tobytes()
    client = Client(dataclasses.replace(rc.settings, homogeneous=True))
    try:
        res = client.submit("matmul_f32", data, params={"m": m, "n": n, "k": k}).get(timeout=90)
    finally:
        client.close()
    with rc.app.store.read() as s:
        task = s.get(Task, res.task_id)
        platform = task.platform
    adapters = homogeneous.adapters(rc.app, [a.worker_id for a in res.attestations])
    assert platform and "llvmpipe" in platform and set(adapters.values()) == {platform}
    assert res.assurance["platform"] == platform
    agreeing = [a for a in res.attestations if a.agrees]
    assert len(agreeing) >= 2 and {a.digest for a in agreeing} == {res.digest}


def test_homogeneous_redundancy_picks_the_largest_class_or_says_why_not():
    from shardy.errors import ConfigError
    from shardy.orchestrator.homogeneous import choose

    by = {
        "w1": "NVIDIA H100 (Vulkan; 550)",
        "w2": "llvmpipe (Vulkan; Mesa)",
        "w3": "llvmpipe (Vulkan; Mesa)",
    }
    assert choose(by, 2) == "llvmpipe (Vulkan; Mesa)"
    with pytest.raises(ConfigError, match="3 live operators of one platform"):
        choose(by, 3)
