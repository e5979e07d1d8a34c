"""A round's decision from its recorded rows (settle's last step, `shardy.orchestrator.settle`):
quorum over distinct voters (bit for bit, or within a float kernel's tolerance), a known-answer
check's verdict, an extension or a dead letter; and the verdicts of replicas that come back
after their task was verified."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from shardy import deadletter
from shardy.blobs import BlobRef
from shardy.celery_app import ShardyCelery
from shardy.errors import BlobError, KernelError
from shardy.kernels import Determinism, catalog
from shardy.orchestrator import dispatch, judging, quorum, recheck
from shardy.store import Assignment, DeadLetter, Replica, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: Outcome action of a round that waits for its speculative replica.
SPECULATING = "waiting for a speculative replica"
#: Outcome action of a collected round that the store shows is not complete (or not open).
NOT_READY = "not ready"


@dataclass
class Outcome:
    """What settle decided for one call (returned as the chord body's result)."""

    task_id: str
    state: str
    action: str
    digest: str | None = None


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


def tolerance(app: ShardyCelery, task: Task) -> Determinism | None:
    """The kernel's tolerance, or None for exact (or unknown) kernels and for tasks run on one
    platform (homogeneous redundancy: bit for bit)."""
    if task.platform is not None:
        return None
    try:
        det = catalog.lookup(app, task.kernel).determinism
    except (KernelError, BlobError):
        return None
    return det if det.mode == "tolerance" else None


def decide(
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
    tol = tolerance(app, task)
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


def judge_late(
    app: ShardyCelery, session: Session, task: Task, rows: list[Replica], fresh: list[Replica]
) -> None:
    """Give late replicas of an already verified task their verdict."""
    tol = tolerance(app, task)
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
