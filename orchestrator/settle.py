"""Settle: the chord body. Records replica results, decides quorum, and acts on the decision."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import RedisError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shardy import arrivals, deadletter, routing, settled
from shardy.celery_app import ShardyCelery
from shardy.orchestrator import (
    decide,
    dispatch,
    evidence,
    grouped,
    intake,
    judging,
    recheck,
    standing,
)
from shardy.orchestrator.decide import NOT_READY, SPECULATING, Outcome
from shardy.store import Replica, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: A task's replicas (statements built once: building one costs about as much as running it)
TASK_REPLICAS = select(Replica).where(Replica.task_id == bindparam("task"))
LOCK_TASK = select(Task).where(Task.id == bindparam("task")).with_for_update()


@dataclass
class _Settled:
    """What one round's settle leaves for after its commit."""

    outcome: Outcome
    round_no: int
    kernel: str = ""
    follow_up: list = field(default_factory=list)
    quarantined: bool = False
    faulted: set = field(default_factory=set)


def settle(
    app: ShardyCelery,
    results: list[Any],
    task_id: str,
    round_no: int,
    *,
    partial: bool = False,
    found: set[int] | None = None,
) -> dict:
    """Record ``results`` of round ``round_no`` and decide the task. Idempotent.

    Running settle twice for the same round records each replica once and takes the
    decision once; later rounds (extras, replays) merge with what is already recorded.

    ``partial``: the results read so far (`shardy.orchestrator.early`), before the round's
    chord completes. They are recorded, and the task is verified if a quorum already agrees;
    any other decision waits for the chord. Once the chord has settled the round (a
    speculative replica came back after it), a partial settle decides like a full one.

    ``found``: a collect judged the round ready from Redis alone (`grouped._staged_ready`),
    these replicas' results being stored; the round is settled only if, under the task's
    lock, every replica assigned to it is recorded or among them (`grouped.whole`), and is
    left alone ("not ready", nothing recorded) otherwise.
    """
    rows = shared = None
    with app.store.session() as session, session.no_autoflush:
        task = session.scalars(LOCK_TASK, {"task": task_id}).first()
        if found is not None:
            rows = list(session.scalars(TASK_REPLICAS, {"task": task_id}))
            shared = intake.Shared.read(session, [task_id], results)
            if not _whole(task, task_id, round_no, rows, shared, found):
                return Outcome(task_id, task.state if task else "unknown", NOT_READY).__dict__
        done = _record(app, session, task, task_id, results, round_no, partial=partial,
                       rows=rows, shared=shared)  # fmt: skip
        evidence.announce(app, session)
        back = session.info.pop("back", []) if shared is None else shared.back
    try:
        _after(app, task_id, done, partial)
    finally:  # committed; after the waiters are woken
        _untrack(app, back)
    return done.outcome.__dict__


def settle_many(
    app: ShardyCelery,
    rounds: Sequence[tuple[str, int, list[Any]]],
    *,
    found: Mapping[tuple[str, int], set[int]] | None = None,
) -> list[dict]:
    """Full settles of several rounds (``(task id, round, results)``, the rounds of a collect)
    in one transaction: the tasks are locked and their replicas read in one query each, in id
    order, and the workers, keys and batch proofs they share are loaded once. The rounds'
    writes are flushed together, once, at the end (`evidence.announce`); what a later round's
    checks must see of an earlier one's (accepted attestations, batch proofs, commitment
    bindings, new standings) they find in the session (`evidence._pending`), as separate
    settles would find it in the store. Should the shared transaction fail, each round is
    settled alone. ``found``: for rounds a collect judged ready from Redis, the replicas
    found stored (`settle`'s ``found``: each such round is checked under its task's lock)."""
    found = found or {}
    if len(rounds) < 2:
        return [settle(app, results, t, n, found=found.get((t, n))) for t, n, results in rounds]
    try:
        done = []
        with app.store.session() as session, session.no_autoflush:
            ids = sorted({t for t, _, _ in rounds})
            locked = select(Task).where(Task.id.in_(ids)).order_by(Task.id).with_for_update()
            tasks = {t.id: t for t in session.scalars(locked)}
            replicas: dict[str, list[Replica]] = {t: [] for t in ids}
            for row in session.scalars(select(Replica).where(Replica.task_id.in_(ids))):
                replicas[row.task_id].append(row)
            shared = intake.Shared.read(session, ids, (r for *_, rs in rounds for r in rs))
            for task_id, round_no, results in rounds:
                task = tasks.get(task_id)
                seen = found.get((task_id, round_no))
                if seen is not None and not _whole(task, task_id, round_no, replicas[task_id],
                                                   shared, seen):  # fmt: skip
                    state = task.state if task else "unknown"
                    done.append(_Settled(Outcome(task_id, state, NOT_READY), round_no))
                    continue
                if task is not None and (task.spot_digest or task.recheck_of) is not None:
                    session.flush()  # rare kinds whose judging reads other tasks' rows
                done.append(_record(app, session, task, task_id, results, round_no,
                                    rows=replicas[task_id], shared=shared))  # fmt: skip
            evidence.announce(app, session)  # one flush for every round
    except Exception:  # noqa: BLE001 - one bad round must not hold the others back
        log.warning("settling %d rounds together failed; settling each alone", len(rounds),
                    exc_info=True)  # fmt: skip
        return [settle(app, results, t, n, found=found.get((t, n))) for t, n, results in rounds]
    _untrack(app, shared.back)
    closing: list = []
    try:
        for (task_id, _, _), one in zip(rounds, done, strict=True):
            _after(app, task_id, one, False, closing)
    finally:
        if closing:
            _close_all(app, closing)
    return [one.outcome.__dict__ for one in done]


def _whole(
    task: Task | None,
    task_id: str,
    round_no: int,
    rows: list[Replica],
    shared: intake.Shared,
    found: set[int],
) -> bool:
    """`grouped.whole` from what settle read under the task's lock."""
    assigned = shared.assigned.get((task_id, round_no), {})
    return grouped.whole(task, round_no, {r.replica for r in rows}, assigned, found)


def _untrack(app: ShardyCelery, back: list[tuple[str, str]]) -> None:
    """Drop the in-flight marks of replicas whose results committed (best effort: the marks
    also expire on their own, so a failure only delays that)."""
    try:
        routing.untrack(app.redis, back)
    except RedisError as exc:
        log.warning("could not drop %d in-flight marks (%s)", len(back), exc)


def _record(
    app: ShardyCelery,
    session: Session,
    task: Task | None,
    task_id: str,
    results: list[Any],
    round_no: int,
    *,
    partial: bool = False,
    rows: list[Replica] | None = None,
    shared: intake.Shared | None = None,
) -> _Settled:
    """Record and decide one round of ``task`` (locked) in ``session``; written at the flush.

    ``rows``: the task's replicas, when the caller read them already; ``shared``: what the
    rounds of a collect share (`intake.Shared`)."""
    # rows are judged and decided in memory (the task's replicas are loaded once), so each
    # row is written once, and each worker and the task updated once
    if task is None:
        log.error("settle for unknown task %s ignored", task_id)
        return _Settled(Outcome(task_id, "unknown", "ignored"), round_no)
    if not 1 <= round_no <= task.rounds_sent:  # a round never dispatched: forged or stale
        log.error("settle of task %s for round %s it never sent; ignored", task_id, round_no)
        return _Settled(Outcome(task_id, task.state, "ignored"), round_no)
    follow_up: list[tuple[str, Any]] = []
    task.updated_at = utcnow()
    if rows is None:
        rows = list(session.scalars(TASK_REPLICAS, {"task": task.id}))
    known = len(rows)
    fresh, receipts = intake.admit(app, session, task, rows, results, round_no, shared)
    fresh, batches = evidence.judge(app, session, task, fresh, receipts)
    refused = [r for r in rows[known:] if r.verdict == "invalid"]
    judging.record(app, session, task, refused)
    early = partial and round_no > task.rounds_settled  # the round's chord is still out
    if task.state in ("verified", "dead") or (not partial and round_no <= task.rounds_settled):
        if task.state == "verified":
            decide.judge_late(app, session, task, rows, fresh)
            _announce(app, session, task, rows, batches)
        if not partial:
            task.rounds_settled = max(task.rounds_settled, round_no)
        outcome = Outcome(task_id, task.state, "recorded", task.digest)
    else:
        if not partial:
            task.rounds_settled = round_no
        outcome = decide.decide(app, session, task, rows, round_no, follow_up, early=early)
        if task.state == "verified":
            _announce(app, session, task, rows, batches)
    return _Settled(outcome, round_no, task.kernel, follow_up,
                    session.info.pop("quarantined", False),
                    session.info.pop("faulted", set()))  # fmt: skip


def _announce(
    app: ShardyCelery, session: Session, task: Task, rows: list[Replica], batches: dict
) -> None:
    """Publish a verified task once (`evidence.publish`); a spot check is the orchestrator's
    own, never published."""
    if not task.published and task.spot_digest is None:
        evidence.publish(app, session, task, rows, batches, decide.tolerance(app, task) is not None)


def _after(
    app: ShardyCelery, task_id: str, done: _Settled, partial: bool, closing: list | None = None
) -> None:
    """A round's side effects once its decision committed: routing's copy of quarantined
    voters, re-checks, extensions and dead letters, and waking the task's waiters (with
    ``closing``, the round is added to it for the caller to close: `_close_all`)."""
    outcome = done.outcome
    if outcome.action in ("ignored", NOT_READY):
        return
    if done.quarantined:  # routing's copy of the quarantined voters
        with app.store.read() as session:
            standing.mirror(app.redis, session)
    if done.faulted:  # rare: a voter at fault has its single-replica results re-checked
        _recheck(app, done.faulted)
    try:
        for action, arg in done.follow_up:
            _follow(app, task_id, action, arg)
    finally:  # committed (and dead-lettered): wake clients waiting on the task
        decided = outcome.state in ("verified", "dead")
        if decided or (not partial and outcome.action != SPECULATING):
            closed = (task_id, done.round_no, done.kernel, outcome.state == "verified",
                      not partial, decided)  # fmt: skip
            if closing is None:
                _close_all(app, [closed])
            else:
                closing.append(closed)


def _recheck(app: ShardyCelery, voters: set[str]) -> None:
    """`shardy.orchestrator.recheck.schedule`, best effort (the decision is committed)."""
    try:
        recheck.schedule(app, voters)
    except Exception:  # noqa: BLE001 - a re-check lost here is not a wrong result
        log.exception("could not schedule re-checks for %s", ", ".join(sorted(voters)))


def _close_all(app: ShardyCelery, rounds: list[tuple[str, int, str, bool, bool, bool]]) -> None:
    """Rounds (task id, round, kernel, verified, complete, decided) whose decision committed:
    a decided task's waiters are woken first (they read the committed decision), then the
    rounds need no early look any more, and a verified task no more replicas
    (`shardy.arrivals.close_many`, best effort)."""
    settled.announce(app.redis, *(r[0] for r in rounds if r[5]))  # never raises
    try:
        arrivals.close_many(app.redis, [r[:5] for r in rounds])
    except RedisError as exc:  # the marks only speed things up: the decision is committed
        log.warning("task %s: could not clear its arrival marks (%s)", rounds[0][0], exc)


def _follow(app: ShardyCelery, task_id: str, action: str, arg: Any) -> None:
    """Side effects after the decision committed: extend, or dead-letter."""
    if action == "dead":
        deadletter.publish(app, arg)
        return
    if action == "announce":  # a revoked task (recheck.py): wake its waiters
        settled.announce(app.redis, arg)
        return
    replicas, round_no = arg
    with app.store.read() as session:
        task = session.get(Task, task_id)
        exclude = dispatch.voters(session, task)
    # planned outside any write transaction: SQLite's write lock is one (BEGIN IMMEDIATE), and
    # choosing the key may itself write (seeding a fresh store)
    dispatch.send_round(app, task, dispatch.payload_ref(app, task), replicas, round_no, exclude)
