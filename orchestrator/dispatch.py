"""Dispatch: write the task row, store the payload once, send the chord of R replicas + settle."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery import chord
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, object_session

from shardy import arrivals, routing
from shardy.blobs import BlobRef
from shardy.celery_app import CONTROL_QUEUE, ShardyCelery
from shardy.kernels import catalog
from shardy.kernels.shipped import WgslKernel, is_shipped
from shardy.messages import ReplicaOrder
from shardy.orchestrator import adaptive, grouped, homogeneous, keys, spot, submission
from shardy.store import Assignment, Replica, Standing, Task
from shardy.store.db import columns_of
from shardy.store.models import utcnow


def dispatch(
    app: ShardyCelery,
    kernel: str | WgslKernel,
    payload: bytes | bytearray | memoryview | Mapping[str, Any],
    **kw: Any,
) -> Task:
    """Validate, record and send one task (`dispatch_many` of one). Returns the task row."""
    return dispatch_many(app, kernel, [payload], **kw)[0]


def dispatch_many(
    app: ShardyCelery,
    kernel: str | WgslKernel,
    payloads: Sequence[bytes | bytearray | memoryview | Mapping[str, Any]],
    *,
    seed: int = 0,
    output_len: int | None = None,
    params: Mapping[str, Any] | None = None,
    redundancy: int | None = None,
    quorum: int | None = None,
    send: Callable[..., None] | None = None,
) -> list[Task]:
    """Validate, record and send one task per payload. Returns the task rows, in order.

    The tasks share their round trips: the payloads go to the blob store in one pipeline, the
    live workers are read once, every task row and assignment is written in one SQL
    transaction, and the in-flight counts in one pipeline; then each task's chord is sent.
    Every payload is validated before anything is stored (`shardy.orchestrator.submission`),
    so an invalid one sends nothing. Per-task retries, rounds and dead letters are unchanged.
    ``send(*rounds)`` sends the recorded rounds (default: `send_planned` now; a client passes
    its `shardy.orchestrator.sender.Sender`, which batches bursts of submits).

    A `WgslKernel` is recorded (SQL and blob store, once per hash) and travels with the task;
    its payload may be given as its inputs (name -> values), packed by `WgslKernel.pack`.

    Raises:
        KernelError: unknown kernel, bad params, a seed outside [0, 2**63), or ``output_len``
            disagrees with the kernel.
        PayloadError: a payload exceeds SHARDY_MAX_PAYLOAD.
        ConfigError: redundancy/quorum out of range.
    """
    s = app.settings
    k, resolved, seed, (r, q), datas, plans = submission.check(
        app, kernel, payloads, seed, output_len, params, redundancy, quorum
    )
    if not datas:
        return []
    live, platform = routing.alive(app.redis), None
    if s.homogeneous and k.determinism.mode == "tolerance":  # one platform, bit for bit
        by_worker = homogeneous.adapters(app, live)
        voter_of = {w: x.voter for w, x in routing.live_workers(app.redis, live).items()}
        platform = homogeneous.choose(by_worker, q, voter_of)
        live = {w for w, a in by_worker.items() if a == platform}
    # known-answer spot checks ride along, indistinguishable from the submitted tasks
    checks = spot.draw(k, resolved, seed, datas, s.spot_check_rate)
    plans += [k.make_plan(len(c.data), resolved, seed) for c in checks]
    expected = [None] * len(datas) + [c.digest for c in checks]
    refs = app.blobs.put_many([*datas, *(c.data for c in checks)])
    if k.spec is not None:  # fleet workers read it from the blob store: keep it there
        catalog.publish(app, k)
    if s.replication == "adaptive" and redundancy is None and quorum is None:
        with app.store.read() as session:
            standings = {st.voter: st for st in session.scalars(select(Standing))}
        reps = adaptive.plan(app.redis, s, standings, len(refs), (r, q), live)
    else:
        reps = [adaptive.Replication(r, q)] * len(refs)
    tasks = [
        _task(s, k.name, seed, resolved, ref, plan, rep, len(live), digest)
        for ref, plan, rep, digest in zip(refs, plans, reps, expected, strict=True)
    ]
    for task in tasks:
        task.platform = platform
    spot.twin(checks, tasks)
    firsts = [replicas(task, rep) for task, rep in zip(tasks, reps, strict=True)]
    drawn = iter(routing.assign_many(  # one read of the live workers and loads for all
        app.redis, [len(n) for n, rep in zip(firsts, reps, strict=True) if rep.single is None],
        live=live,
    ))  # fmt: skip
    planned = [
        plan_round(
            app,
            task,
            ref,
            n,
            1,
            live=live,
            targets=next(drawn) if rep.single is None else [rep.single],
        )  # fmt: skip
        for task, ref, n, rep in zip(tasks, refs, firsts, reps, strict=True)
    ]
    with app.store.session() as session:  # the tasks and their assignments, in one commit
        # bulk inserts (one executemany each), not the unit of work: each submit's write is
        # a turn at SQLite's one write lock, so it must be short
        session.execute(insert(Task), [columns_of(t) for t in tasks])
        assigned = [columns_of(a) for p in planned for a in p.assignments()]
        session.execute(insert(Assignment), assigned)
    if checks:
        random.shuffle(planned)  # checks go out among the tasks, not after them
    if send is None:
        send_planned(app, *planned)
    else:
        send(*planned)
    return tasks[: len(datas)]


def _task(
    s: Any,
    kernel: str,
    seed: int,
    params: dict,
    ref: BlobRef,
    plan: Any,
    rep: adaptive.Replication,
    live: int,
    spot_digest: str | None,
) -> Task:
    """A new task row. No more replicas are sent than live workers can run distinctly (at
    least the quorum): a replica without a distinct worker would only be handed back."""
    r, q = rep.redundancy, rep.quorum
    return Task(
        id=str(uuid.uuid4()),
        kernel=kernel,
        seed=seed,
        output_len=plan.output_len,
        params=params,
        payload_sha256=ref.sha256,
        payload_size=ref.size,
        redundancy=r,
        quorum=q,
        max_replicas=max(s.effective_max_replicas, s.redundancy_factor, r),
        replicas_sent=min(r, live) if live >= q else r,
        rounds_sent=1,
        rounds_settled=0,
        sweeps=0,
        state="running",
        agreeing=0,
        published=False,
        created_at=utcnow(),
        updated_at=utcnow(),
        spot_digest=spot_digest,
    )


def replicas(task: Task, rep: adaptive.Replication) -> range:
    """The replica numbers of a new task's first round: 0.. for a full round, the drawn
    number alone for a single replica (`shardy.orchestrator.adaptive`)."""
    return range(task.replicas_sent) if rep.single is None else range(rep.index, rep.index + 1)


def next_replica(session: Session, task: Task) -> int:
    """The first replica number not used yet by ``task``: its count of replicas sent, or past
    the highest number assigned (a single replica may carry a number above its count). A
    caller that sends replicas from here sets ``replicas_sent`` past the last it sends (so a
    single-replica task that needs more counts the numbers below its first as used)."""
    top = session.scalar(select(func.max(Assignment.replica)).where(Assignment.task_id == task.id))
    return task.replicas_sent if top is None else max(task.replicas_sent, top + 1)


@dataclass(frozen=True)
class PlannedRound:
    """One round's replicas with their assignees, ready to record and send."""

    task_id: str
    round_no: int
    kernel: str
    orders: tuple[tuple[ReplicaOrder, routing.Target], ...]

    def assignments(self) -> list[Assignment]:
        """The rows that record who got which replica (before any order leaves)."""
        return [
            Assignment(
                task_id=self.task_id,
                round=self.round_no,
                replica=o.replica,
                worker_id=t.worker_id,
                kind=t.kind,
                assigned_at=utcnow(),
            )  # fmt: skip
            for o, t in self.orders
        ]


def plan_round(
    app: ShardyCelery,
    task: Task,
    payload: BlobRef,
    replicas: range,
    round_no: int,
    exclude: tuple[str, ...] = (),
    live: set[str] | None = None,
    targets: list[routing.Target] | None = None,
) -> PlannedRound:
    """Choose an assignee for each replica of a round (`shardy.routing.assign`: distinct live
    workers but ``exclude``, weighted by the free slots the server counts; ``live``: the live
    workers if the caller has just read them; ``targets``: chosen already). The replicas
    prove with the key active now (`shardy.orchestrator.keys.active_key`)."""
    key_id = keys.active_key(app)
    if targets is None and task.platform is not None and live is None:  # homogeneous
        live = homogeneous.members(app, task.platform)
    if targets is None:
        targets = routing.assign(app.redis, len(replicas), exclude, live)
    orders = tuple(
        (
            ReplicaOrder(
                task_id=task.id,
                replica=i,
                round=round_no,
                kernel=task.kernel,
                seed=task.seed,
                output_len=task.output_len,
                params=dict(task.params),
                payload=payload,
                key_id=key_id,
                exclude=exclude,
                assignee=target.worker_id,
            ),  # fmt: skip
            target,
        )
        for i, target in zip(replicas, targets, strict=True)
    )
    return PlannedRound(task.id, round_no, task.kernel, orders)


def send_planned(app: ShardyCelery, *rounds: PlannedRound) -> None:
    """Count the assignments against their workers (one pipeline for all rounds) and send each
    round: one chord of the replicas (fleet: ``shardy.execute``; remote: ``shardy.relay`` on
    the gateway's queue) whose body settles it, or, for many rounds at once that go to named
    fleet workers, grouped orders (`shardy.orchestrator.grouped`). Call after the assignments
    are committed."""
    deadline = time.time() + 2 * app.settings.task_time_limit
    marks = app.redis.pipeline(transaction=False)  # one round trip before the first send
    routing.stage_track(
        marks,
        [
            (t.worker_id, routing.assignment_key(o.task_id, o.round, o.replica))
            for planned in rounds
            for o, t in planned.orders
            if t.worker_id is not None
        ],  # fmt: skip
        deadline,
    )
    together, rounds = grouped.split(app, rounds)
    grouped.send(app, together, marks)
    for planned in rounds:
        header = [replica_signature(app, planned.kernel, o, t) for o, t in planned.orders]
        body = app.signature(
            "shardy.settle", args=(planned.task_id, planned.round_no), queue=CONTROL_QUEUE
        )
        chord(header, body, app=app).apply_async()  # settle's outcome lands in SQL


def replica_signature(app: ShardyCelery, kernel: str, o: ReplicaOrder, t: routing.Target):
    """One replica's Celery task (fleet: ``shardy.execute``; remote: ``shardy.relay`` on the
    gateway's queue), under the id `shardy.arrivals.replica_task_id` gives it, so the trusted
    side can read its result before the round's chord completes."""
    return app.signature(
        "shardy.execute" if t.kind == "fleet" else "shardy.relay",
        args=(o.encode(),),
        queue=app.queue(t.queue),
        task_id=arrivals.replica_task_id(o.task_id, o.round, o.replica),
        argsrepr=f"({o.summary()})",
        shadow=f"shardy.execute[{kernel}]",
    )


def send_round(
    app: ShardyCelery,
    task: Task,
    payload: BlobRef,
    replicas: range,
    round_no: int,
    exclude: tuple[str, ...] = (),
    live: set[str] | None = None,
) -> None:
    """Plan a round, record its assignments (their own transaction) and send it. Call it
    outside any write transaction of the store (SQLite has one write lock)."""
    if is_shipped(task.kernel):  # fleet workers read it from the blob store: keep it there
        catalog.publish(app, catalog.lookup(app, task.kernel))
    planned = plan_round(app, task, payload, replicas, round_no, exclude, live)
    with app.store.session() as session:
        session.add_all(planned.assignments())
    send_planned(app, planned)


def voters(session: Session, task: Task) -> tuple[str, ...]:
    """Workers whose valid votes on ``task`` are recorded (they step aside in later rounds)."""
    rows = session.scalars(
        select(Replica.worker_id).where(
            Replica.task_id == task.id, Replica.status == "ok", Replica.proof_valid.is_(True)
        )
    )
    return tuple(sorted({w for w in rows if w}))


def new_round(app: ShardyCelery, task: Task) -> tuple:
    """Open a fresh round of R replicas on ``task`` (in the caller's transaction), with a
    fresh replica budget, and return the arguments of `send_round` for after the commit.

    Used by `shardy dlq replay` and by the sweeper for tasks whose round went missing.
    """
    s = app.settings
    session = object_session(task)
    start = task.replicas_sent if session is None else next_replica(session, task)
    task.replicas_sent = start + task.redundancy
    task.rounds_sent += 1
    task.max_replicas = task.replicas_sent + max(0, s.effective_max_replicas - s.redundancy_factor)
    task.state, task.error, task.settled_at = "running", None, None
    task.updated_at = utcnow()
    exclude = voters(session, task) if session is not None else ()
    return (
        task,
        payload_ref(app, task),
        range(start, start + task.redundancy),
        task.rounds_sent,
        exclude,
    )


def payload_ref(app: ShardyCelery, task: Task) -> BlobRef:
    """The payload reference of a stored task (inline again when small)."""
    ref = BlobRef(task.payload_sha256, task.payload_size)
    if task.payload_size <= app.settings.inline_limit:
        ref = BlobRef(ref.sha256, ref.size, app.blobs.get(ref))
    return ref
