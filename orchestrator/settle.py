"""Settle: the chord body. Records replica results, decides quorum, and acts on the decision."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shardy import arrivals, deadletter, routing, settled
from shardy.blobs import BlobRef
from shardy.celery_app import ShardyCelery
from shardy.errors import BlobError, KernelError
from shardy.kernels import Determinism, catalog
from shardy.orchestrator import (
    dispatch,
    evidence,
    intake,
    judging,
    quorum,
    recheck,
    standing,
)
from shardy.store import Assignment, DeadLetter, Replica, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: Outcome action of a round that waits for its speculative replica.
SPECULATING = "waiting for a speculative replica"


@dataclass
class Outcome:
    """What settle decided for one call (returned as the chord body's result)."""

    task_id: str
    state: str
    action: str
    digest: str | None = None


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
    app: ShardyCelery, results: list[Any], task_id: str, round_no: int, *, partial: bool = False
) -> dict:
    """Record ``results`` of round ``round_no`` and decide the task. Idempotent.

    Running settle twice for the same round records each replica once and takes the
    decision once; later rounds (extras, replays) merge with what is already recorded.

    ``partial``: the results read so far (`shardy.orchestrator.early`), before the round's
    chord completes. They are recorded, and the task is verified if a quorum already agrees;
    any other decision waits for the chord. Once the chord has settled the round (a
    speculative replica came back after it), a partial settle decides like a full one.
    """
    with app.store.session() as session, session.no_autoflush:
        task = session.get(Task, task_id, with_for_update=True)
        done = _record(app, session, task, task_id, results, round_no, partial=partial)
        evidence.announce(app, session)
        back = session.info.pop("back", [])
    try:
        _after(app, task_id, done, partial)
    finally:  # committed; after the waiters are woken
        _untrack(app, back)
    return done.outcome.__dict__


def settle_many(app: ShardyCelery, rounds: Sequence[tuple[str, int, list[Any]]]) -> list[dict]:
    """Full settles of several rounds (``(task id, round, results)``, the rounds of a collect)
    in one transaction: the tasks are locked and their replicas read in one query each, in id
    order, and the workers, keys and batch proofs they share are loaded once. The rounds'
    writes are flushed together, once, at the end (`evidence.announce`); what a later round's
    checks must see of an earlier one's (accepted attestations, batch proofs, commitment
    bindings, new standings) they find in the session (`evidence._pending`), as separate
    settles would find it in the store. Should the shared transaction fail, each round is
    settled alone."""
    if len(rounds) < 2:
        return [settle(app, results, t, n) for t, n, results in rounds]
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
                if task is not None and (task.spot_digest or task.recheck_of) is not None:
                    session.flush()  # rare kinds whose judging reads other tasks' rows
                done.append(_record(app, session, task, task_id, results, round_no,
                                    rows=replicas[task_id], shared=shared))  # fmt: skip
            evidence.announce(app, session)  # one flush for every round
    except Exception:  # noqa: BLE001 - one bad round must not hold the others back
        log.warning("settling %d rounds together failed; settling each alone", len(rounds),
                    exc_info=True)  # fmt: skip
        return [settle(app, results, t, n) for t, n, results in rounds]
    _untrack(app, shared.back)
    closing: list = []
    try:
        for (task_id, _, _), one in zip(rounds, done, strict=True):
            _after(app, task_id, one, False, closing)
    finally:
        if closing:
            _close_all(app, closing)
    return [one.outcome.__dict__ for one in done]


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
        rows = list(session.scalars(select(Replica).where(Replica.task_id == task.id)))
    known = len(rows)
    fresh, receipts = intake.admit(app, session, task, rows, results, round_no, shared)
    fresh, batches = evidence.judge(app, session, task, fresh, receipts)
    refused = [r for r in rows[known:] if r.verdict == "invalid"]
    judging.record(app, session, task, refused)
    early = partial and round_no > task.rounds_settled  # the round's chord is still out
    if task.state in ("verified", "dead") or (not partial and round_no <= task.rounds_settled):
        if task.state == "verified":
            _judge_late(app, session, task, rows, fresh)
            _announce(app, session, task, rows, batches)
        if not partial:
            task.rounds_settled = max(task.rounds_settled, round_no)
        outcome = Outcome(task_id, task.state, "recorded", task.digest)
    else:
        if not partial:
            task.rounds_settled = round_no
        outcome = _decide(app, session, task, rows, round_no, follow_up, early=early)
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
        evidence.publish(app, session, task, rows, batches, _tolerance(app, task) is not None)


def _after(
    app: ShardyCelery, task_id: str, done: _Settled, partial: bool, closing: list | None = None
) -> None:
    """A round's side effects once its decision committed: routing's copy of quarantined
    voters, re-checks, extensions and dead letters, and waking the task's waiters (with
    ``closing``, the round is added to it for the caller to close: `_close_all`)."""
    outcome = done.outcome
    if outcome.action == "ignored":
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


def _outputs(app: ShardyCelery, task: Task, refs: dict[int, BlobRef]) -> dict[int, np.ndarray]:
    """Outputs by replica as arrays of the kernel's dtype (tolerance kernels only)."""
    kernel = catalog.lookup(app, task.kernel)
    dtype = kernel.make_plan(task.payload_size, task.params, task.seed).dtype
    out = {}
    for replica, ref in refs.items():
        try:
            out[replica] = np.frombuffer(app.blobs.get(ref), dtype=dtype)
        except BlobError as exc:  # expired or tampered: this vote cannot be weighed
            log.warning("task %s replica %d: output unavailable: %s", task.id, replica, exc)
    return out


def _output_refs(rows: list[Replica]) -> dict[int, BlobRef]:
    return {r.replica: BlobRef(r.output_sha256, r.output_size) for r in rows}


def _tolerance(app: ShardyCelery, task: Task) -> Determinism | None:
    """The kernel's tolerance, or None for exact (or unknown) kernels and for tasks run on one
    platform (homogeneous redundancy: bit for bit)."""
    if task.platform is not None:
        return None
    try:
        det = catalog.lookup(app, task.kernel).determinism
    except (KernelError, BlobError):
        return None
    return det if det.mode == "tolerance" else None


def _decide(
    app: ShardyCelery,
    session: Session,
    task: Task,
    rows: list[Replica],
    round_no: int,
    follow_up: list,
    *,
    early: bool = False,
) -> Outcome:
    """Decide ``task`` from its recorded rows. ``early``: the round's chord is still out, so
    only a verification is acted on."""
    if task.spot_digest is not None:  # a known-answer check: no quorum, every vote judged
        action = judging.spot(app, session, task, rows, early)
        return Outcome(task.id, task.state, action, task.digest)
    valid = judging.counted(app, session, rows)
    votes = [quorum.Vote(r.replica, _voter(app, session, r.worker_id), r.digest) for r in valid]
    senior = judging.established(app, session, {v.voter for v in votes})
    tol = _tolerance(app, task)
    if tol is not None:  # float kernels: agree within tolerance, not bit for bit
        outputs = _outputs(app, task, _output_refs(valid))
        votes = quorum.tolerance_votes(votes, outputs, tol.atol, tol.rtol)
    in_flight = 1 if task.rounds_sent > round_no else 0  # a later round will settle again
    decide = functools.partial(
        quorum.decide,
        quorum=task.quorum,
        replicas_sent=task.replicas_sent,
        max_replicas=task.max_replicas,
        in_flight=in_flight,
        established=senior,
        probation_share=app.settings.probation_share,
        # an early look: replicas still out may dissent (quorum.decide's ``pending``)
        pending=task.replicas_sent - len({r.replica for r in rows}) if early else 0,
    )
    d = decide(votes)
    if d.kind == "verified" and judging.vetoed(app, session, task, rows, d.digest):
        d = decide([v for v in votes if v.digest != d.digest])  # the kernel's answer differs
    if d.kind in ("extend", "dead") and (early or _speculating(session, task, rows)):
        return Outcome(task.id, task.state, "waiting" if early else SPECULATING)
    by_replica = {r.replica: r for r in rows}
    for idx, verdict in d.verdicts.items():
        by_replica[idx].verdict = verdict if verdict != "counted" else "none"
    if d.kind == "verified":
        winner = next(r for r in rows if r.proof_valid and r.digest == d.digest)
        task.state, task.digest, task.agreeing = "verified", d.digest, len(d.agreeing)
        task.output_sha256, task.output_size = winner.output_sha256, winner.output_size
        if tol is not None:  # the verified output is the cluster's, not one worker's
            agreeing = [outputs[r] for r, v in d.verdicts.items() if v == "agree"]
            ref = app.blobs.put(quorum.median_output(agreeing).tobytes(), inline=False)
            task.digest = task.output_sha256 = ref.sha256
            task.output_size = ref.size
        task.settled_at = utcnow()
        task.assurance = judging.assurance(task, d.agreeing, senior)
        judging.record(app, session, task, rows)
        if task.recheck_of is not None:
            recheck.conclude(app, session, task, follow_up)
        return Outcome(task.id, "verified", "verified", d.digest)
    if d.kind == "wait":
        return Outcome(task.id, task.state, "waiting")
    if d.kind == "extend":
        start = dispatch.next_replica(session, task)
        task.replicas_sent = start + d.extra
        task.rounds_sent += 1
        follow_up.append(("extend", (range(start, start + d.extra), task.rounds_sent)))
        return Outcome(task.id, task.state, f"extended by {d.extra}")
    task.state, task.error, task.settled_at = "dead", d.reason, utcnow()
    entry = deadletter.new_entry("task", d.reason, task_id=task.id, attempts=task.replicas_sent)
    session.add(
        DeadLetter(
            id=entry["id"],
            kind="task",
            task_id=task.id,
            reason=d.reason,
            attempts=task.replicas_sent,
        )
    )
    follow_up.append(("dead", entry))
    return Outcome(task.id, "dead", "dead-lettered")


def _speculating(session: Session, task: Task, rows: list[Replica]) -> bool:
    """Whether a speculative replica of ``task`` is still out (its result not recorded)."""
    have = {r.replica for r in rows}
    extra = session.scalars(
        select(Assignment.replica).where(
            Assignment.task_id == task.id, Assignment.speculative.is_(True)
        )
    )
    return any(replica not in have for replica in extra)


_voter = judging.voter


def _judge_late(
    app: ShardyCelery, session: Session, task: Task, rows: list[Replica], fresh: list[Replica]
) -> None:
    """Give late replicas of an already verified task their verdict."""
    tol = _tolerance(app, task)
    if tol is not None and fresh:
        verified = {-1: BlobRef(task.output_sha256, task.output_size)}
        outs = _outputs(app, task, {**verified, **_output_refs(fresh)})
    seen = {_voter(app, session, r.worker_id) for r in rows if r.verdict != "none"}
    counted = {r.replica for r in judging.counted(app, session, fresh)}
    for row in fresh:
        if row.replica not in counted:  # revoked or quarantined since: its vote is ignored
            continue
        voter = _voter(app, session, row.worker_id)
        if voter in seen:
            row.verdict = "duplicate"
            continue
        seen.add(voter)
        if tol is None:
            agrees = row.digest == task.digest
        else:
            agrees = row.replica in outs and -1 in outs
            agrees = agrees and quorum.close(outs[-1], outs[row.replica], tol.atol, tol.rtol)
        row.verdict = "agree" if agrees else "disagree"
        task.agreeing += agrees  # one more distinct worker confirms the verified result
    judging.record(app, session, task, [r for r in fresh if r.verdict in ("agree", "disagree")])


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
