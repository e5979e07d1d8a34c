"""Chaos runs shared by tests/chaos and bench/chaos.py: real clusters, injected faults, and a
ledger of what happened to every task (verified, dead-lettered, lost, wrong)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest
from cluster_support import RunningCluster, make_settings, short_home, start_cluster
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from shardy.celery_app import CONTROL_QUEUE
from shardy.config import Settings
from shardy.kernels import registry
from shardy.orchestrator import dlq
from shardy.store import Replica, Task, Worker

LONG = os.environ.get("SHARDY_CHAOS_LONG") == "1"
long_only = pytest.mark.skipif(not LONG, reason="long chaos form: set SHARDY_CHAOS_LONG=1")

#: Worker behaviours of the Byzantine fleet: index → (label, test module the worker imports,
#: SHARDY_TEST_* environment).
BYZANTINE = {
    3: ("wrong digests", "kernels_byzantine", {}),
    4: ("forged proofs", "behaviour_forger", {}),
    5: ("replayed attestation", "behaviour_replayer", {}),
    6: ("re-randomised proof", "behaviour_replayer", {"SHARDY_TEST_REPLAY": "rerandomise"}),
    7: ("malformed frames/results", "behaviour_malformed", {}),
}
HONEST = 3


@dataclass
class Ledger:
    """The outcome of one chaos run (one row of the results table)."""

    scenario: str
    faults: Counter = field(default_factory=Counter)
    tasks: int = 0
    verified_first: int = 0
    dead_lettered: int = 0
    verified_after_replay: int = 0
    lost: int = 0
    wrong_accepted: int = 0
    duplicate_rows: int = 0
    duplicate_votes: int = 0
    byzantine_accepted: int = 0
    chord_errors: int = 0
    #: rounds the sweeper re-sent, and seconds from the first submit to the last settle
    resent_rounds: int = 0
    settle_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def fault_text(self) -> str:
        """Faults as ``kind xN`` items."""
        return ", ".join(f"{k} x{v}" for k, v in sorted(self.faults.items())) or "none"


def payloads(n: int, seed: int) -> list[tuple[str, bytes, dict]]:
    """``n`` small distinct tasks: (kernel, payload, params), histogram and sha256 mixed."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        data = rng.integers(0, 256, int(rng.integers(200, 3000)), dtype=np.uint8).tobytes()
        out.append(("histogram", data, {}) if i % 2 else ("sha256", data, {"block": 256}))
    return out


def oracle(kernel: str, data: bytes, params: dict) -> np.ndarray:
    """The numpy reference output."""
    k = registry.get(kernel)
    return k.reference(data, k.resolve_params(params), 0)


@contextmanager
def cluster(settings: Settings, **kw: object) -> Iterator[RunningCluster]:
    """A started cluster for the duration of the block (stopped and removed after)."""
    gen = start_cluster(settings, **kw)
    try:
        yield next(gen)
    finally:
        gen.close()


def _read(rc: RunningCluster, query):
    """``query(session)``, retried while SQLite is locked by the orchestrator."""
    for attempt in range(60):
        try:
            with rc.app.store.session() as s:
                return query(s)
        except OperationalError:
            time.sleep(0.2 * (attempt % 5 + 1))
    raise AssertionError("the SQL store stayed locked for about a minute")


def states(rc: RunningCluster, ids: list[str]) -> dict[str, str]:
    """Task id → state, read from SQL."""
    return _read(
        rc, lambda s: dict(s.execute(select(Task.id, Task.state).where(Task.id.in_(ids))).all())
    )


def replicas_recorded(rc: RunningCluster, ids: list[str]) -> int:
    """Replica results settle has recorded for these tasks (grows while work still lands)."""
    query = select(func.count()).select_from(Replica).where(Replica.task_id.in_(ids))
    return _read(rc, lambda s: s.scalar(query))


def restart_redis(rc: RunningCluster) -> None:
    """Stop the embedded Redis (SIGTERM: AOF flushed) and start it again on the same files."""
    assert rc.cluster.redis is not None
    rc.cluster.redis.stop()
    time.sleep(0.5)
    rc.cluster.redis.start(timeout=30)


def restart_orchestrator(rc: RunningCluster) -> None:
    """SIGKILL the process running settle, then start a fresh one."""
    rc.cluster.kill("orchestrator")
    rc.cluster.start_process("orchestrator", CONTROL_QUEUE, concurrency=2)


def wait_settled(rc: RunningCluster, ids: list[str], timeout: float) -> dict[str, str]:
    """Poll until no task is running or ``timeout`` passes; returns the last states."""
    deadline = time.monotonic() + timeout
    while True:
        st = states(rc, ids)
        if all(v in ("verified", "dead") for v in st.values()) or time.monotonic() > deadline:
            return st
        time.sleep(0.5)


def audit(rc: RunningCluster, ledger: Ledger, jobs: dict[str, tuple[str, bytes, dict]]) -> None:
    """Fill outputs and SQL checks into ``ledger``: wrong outputs, duplicate rows and votes."""
    ids = list(jobs)
    for tid, (kernel, data, params) in jobs.items():
        st = rc.client.handle(tid).status().state
        if st != "verified":
            continue
        res = rc.client.handle(tid).get(timeout=10)
        if not np.array_equal(np.asarray(res.output), oracle(kernel, data, params)):
            ledger.wrong_accepted += 1
            ledger.notes.append(f"wrong output accepted for {tid}")
    with rc.app.store.session() as s:
        dup = s.execute(
            select(Replica.task_id, Replica.replica, func.count())
            .where(Replica.task_id.in_(ids))
            .group_by(Replica.task_id, Replica.replica)
            .having(func.count() > 1)
        ).all()
        ledger.duplicate_rows = len(dup)
        votes = s.execute(
            select(Replica.task_id, Replica.worker_id, func.count())
            .where(Replica.task_id.in_(ids), Replica.verdict == "agree")
            .group_by(Replica.task_id, Replica.worker_id)
            .having(func.count() > 1)
        ).all()
        ledger.duplicate_votes = len(votes)
        for task in s.scalars(select(Task).where(Task.id.in_(ids), Task.state == "verified")):
            agree = s.scalars(
                select(Replica.worker_id).where(
                    Replica.task_id == task.id, Replica.verdict == "agree"
                )
            ).all()
            if task.agreeing != len(set(agree)) or task.agreeing < task.quorum:
                ledger.duplicate_votes += 1
                ledger.notes.append(f"task {task.id}: agreeing={task.agreeing}, rows {agree}")


def kill_worker(rc: RunningCluster, i: int, ledger: Ledger) -> None:
    """SIGKILL worker ``i`` and start it again."""
    rc.cluster.kill(f"gpu{i}")
    rc.cluster.start_worker(i)
    ledger.faults["worker SIGKILL"] += 1


def run_crash(
    n_tasks: int = 100,
    workers: int = 4,
    kill_every: float = 3.0,
    seed: int = 0,
    settle_timeout: float = 240.0,
    stall_s: float = 40.0,
    redis_restart: bool = True,
) -> Ledger:
    """Crash faults: SIGKILL random workers every ``kill_every`` s (and restart them), restart
    Redis once, SIGKILL the orchestrator once; then replay the DLQ and audit every task."""
    rnd = random.Random(seed)
    ledger = Ledger(f"crash faults ({workers} workers, R=3)")
    # the sweeper re-sends rounds silent for 15 s (within the 40 s stall window below); a
    # stall is 40 s with no task settled and no replica result recorded, so rounds re-sent
    # under load (results still landing) are not taken for lost tasks
    settings = make_settings(short_home(), visibility_timeout=4, task_time_limit=60, stale_after=15)
    with cluster(settings, workers=workers) as rc:
        jobs, t0 = {}, time.monotonic()
        for kernel, data, params in payloads(n_tasks, seed):
            jobs[rc.client.submit(kernel, data, params=params).id] = (kernel, data, params)
        ids = list(jobs)
        ledger.tasks = len(ids)
        deadline = time.monotonic() + settle_timeout
        next_kill = time.monotonic() + kill_every
        redis_done = orch_done = False
        last_seen, last_change = None, time.monotonic()
        while time.monotonic() < deadline:
            st = states(rc, ids)
            done = sum(v in ("verified", "dead") for v in st.values())
            seen = (done, replicas_recorded(rc, ids))
            if seen != last_seen:
                last_seen, last_change = seen, time.monotonic()
            # the faults come first: a fast run must not settle everything between two polls
            # and skip them (the first worker kill fires at a sixth of the tasks settled if its
            # timer has not fired yet, Redis's restart at a quarter, the orchestrator's at a third)
            if not ledger.faults["worker SIGKILL"] and done >= len(ids) // 6:
                kill_worker(rc, rnd.randrange(workers), ledger)
                next_kill = time.monotonic() + kill_every * rnd.uniform(0.5, 1.5)
            elif not redis_done and redis_restart and done >= len(ids) // 4:
                restart_redis(rc)
                ledger.faults["Redis restart"] += 1
                redis_done = True
            elif not orch_done and done >= len(ids) // 3:
                restart_orchestrator(rc)
                ledger.faults["orchestrator SIGKILL"] += 1
                orch_done = True
            elif done == len(ids) or time.monotonic() - last_change > stall_s:
                ledger.settle_s = time.monotonic() - t0
                break  # all settled, or nothing moved for stall_s (lost tasks)
            elif time.monotonic() >= next_kill and done < len(ids) * 0.9:
                kill_worker(rc, rnd.randrange(workers), ledger)
                next_kill = time.monotonic() + kill_every * rnd.uniform(0.5, 1.5)
            time.sleep(0.3)
        st = states(rc, ids)
        ledger.verified_first = sum(v == "verified" for v in st.values())
        dead = [t for t, v in st.items() if v == "dead"]
        ledger.dead_lettered = len(dead)
        if dead:
            dlq.replay(rc.app)
            wait_settled(rc, dead, 120.0)
        st = states(rc, ids)
        ledger.verified_after_replay = sum(v == "verified" for v in st.values())
        ledger.lost = len(ids) - ledger.verified_after_replay
        ledger.notes += [f"task {t} ended {v}" for t, v in st.items() if v != "verified"]
        logs = [log.read_text(errors="replace") for log in rc.cluster.logdir.glob("*.log")]
        ledger.chord_errors = sum(text.count("raised: ChordError") for text in logs)
        ledger.resent_rounds = sum(text.count("was silent; sent round") for text in logs)
        audit(rc, ledger, jobs)
    return ledger


@dataclass
class Fleet:
    """A running Byzantine fleet and the tasks it verified."""

    rc: RunningCluster
    jobs: dict[str, tuple[str, bytes, dict]]
    ledger: Ledger


def byzantine_settings() -> Settings:
    """Eight workers (three honest), every task on all of them, three honest votes decide.
    One proof per replica: the forger and the replayer forge and steal replica statements
    (batch statements are attacked in tests/test_batch_attestation.py)."""
    return make_settings(
        short_home(),
        redundancy_factor=8,
        quorum=3,
        visibility_timeout=10,
        task_time_limit=90,
        attest_batch=1,
        # every Byzantine replica runs and is judged: no early verdict skips it, and no
        # quarantine silences it (tests/orchestrator/test_collusion.py covers those)
        early_quorum=False,
        spot_check_rate=0.0,
        probation_votes=10**6,
        quarantine_faults=1e6,
    )


def byzantine_workers() -> dict[str, dict]:
    """`Cluster` arguments of the Byzantine workers: their test modules and environment."""
    return {
        "worker_env": {i: env for i, (_, _, env) in BYZANTINE.items()},
        "worker_modules": {i: [module] for i, (_, module, _) in BYZANTINE.items()},
    }


def run_byzantine_tasks(rc: RunningCluster, n_tasks: int, seed: int = 1) -> Fleet:
    """Submit ``n_tasks`` histogram tasks to a Byzantine fleet, wait, and audit them."""
    ledger = Ledger("Byzantine fleet (3 honest + 5 Byzantine workers)")
    for label, _, _ in BYZANTINE.values():
        ledger.faults[label] += 1
    jobs = {}
    for _, data, _ in payloads(n_tasks, seed):
        jobs[rc.client.submit("histogram", data).id] = ("histogram", data, {})
    ids = list(jobs)
    ledger.tasks = len(ids)
    st = wait_settled(rc, ids, 240.0 + 10.0 * n_tasks)
    ledger.verified_first = ledger.verified_after_replay = sum(v == "verified" for v in st.values())
    ledger.dead_lettered = sum(v == "dead" for v in st.values())
    ledger.lost = len(ids) - ledger.verified_first
    audit(rc, ledger, jobs)
    with rc.app.store.session() as s:
        for i in BYZANTINE:
            ledger.byzantine_accepted += s.scalar(
                select(func.count())
                .select_from(Replica)
                .where(
                    Replica.task_id.in_(ids),
                    Replica.worker_id.like(f"gpu{i}@%"),
                    Replica.verdict == "agree",
                )
            )
    return Fleet(rc, jobs, ledger)


def worker_stats(rc: RunningCluster) -> dict[str, tuple[int, int, int]]:
    """``gpuN`` → (agreed, disagreed, invalid) from the workers table."""
    with rc.app.store.session() as s:
        return {
            w.id.split("@")[0]: (w.agreed, w.disagreed, w.invalid)
            for w in s.scalars(select(Worker))
        }
