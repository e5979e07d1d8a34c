"""Re-checks of single-replica results (adaptive replication) once their voter is at fault.

A result verified on one replica rests on one established operator's word. When that
operator is found at fault (outvoted, a refused attestation, a failed spot check), its
single-replica results of the last `WINDOW` seconds are run again in full, R replicas on
other operators, as new tasks linked to the original (``tasks.recheck_of``). When a re-check
is verified, its answer is compared with the original's: the same, and the original's
assurance records that it was re-checked; different, and the original is revoked, its state
``dead`` with the reason, a dead letter (`shardy dlq replay` runs it again), and one more
fault for the operator. A client that already read the revoked result is not recalled:
`TaskHandle.status()` shows the revocation.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import numpy as np
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shardy import arrivals, deadletter, routing
from shardy.blobs import BlobRef
from shardy.celery_app import ShardyCelery
from shardy.errors import BlobError, KernelError
from shardy.kernels import catalog
from shardy.orchestrator import dispatch, quorum, standing
from shardy.store import DeadLetter, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: How far back (s) a faulted voter's single-replica results are re-checked.
WINDOW = 86_400
#: Re-checks sent per faulted voter at most.
LIMIT = 100


def schedule(app: ShardyCelery, voters: set[str]) -> int:
    """Send re-checks of ``voters``' recent single-replica results; returns how many. Call
    it outside any write transaction of the store."""
    since = utcnow() - timedelta(seconds=WINDOW)
    with app.store.read() as session:
        rows = session.scalars(
            select(Task).where(Task.single_voter.in_(sorted(voters)), Task.state == "verified",
                               Task.settled_at >= since)
            .order_by(Task.settled_at.desc()).limit(LIMIT * len(voters))
        ).all()  # fmt: skip
        due = [t for t in rows if "recheck" not in (t.assurance or {})]
    if not due:
        return 0
    live = routing.live_workers(app.redis)
    exclude = tuple(sorted(w for w, info in live.items() if info.voter in voters))
    s = app.settings
    sent = 0
    for original in due:
        try:
            ref = dispatch.payload_ref(app, original)
        except BlobError as exc:  # the payload expired: nothing left to run it on
            log.warning("task %s cannot be re-checked: %s", original.id, exc)
            continue
        check = Task(
            id=str(uuid.uuid4()), kernel=original.kernel, seed=original.seed,
            output_len=original.output_len, params=dict(original.params),
            payload_sha256=original.payload_sha256, payload_size=original.payload_size,
            redundancy=s.redundancy_factor, quorum=s.effective_quorum,
            max_replicas=s.effective_max_replicas, replicas_sent=s.redundancy_factor,
            rounds_sent=1, rounds_settled=0, sweeps=0, state="running", agreeing=0,
            published=False, updated_at=utcnow(), recheck_of=original.id,
            platform=original.platform,
        )  # fmt: skip
        planned = dispatch.plan_round(app, check, ref, range(check.replicas_sent), 1, exclude)
        with app.store.session() as session:
            session.add(check)
            session.flush()
            session.add_all(planned.assignments())
            row = session.get(Task, original.id, with_for_update=True)
            row.assurance = {**(row.assurance or {}), "recheck": check.id}
        dispatch.send_planned(app, planned)
        sent += 1
    log.warning("re-checking %d single-replica results of %s", sent, ", ".join(sorted(voters)))
    return sent


def conclude(app: ShardyCelery, session: Session, check: Task, follow_up: list) -> None:
    """A re-check was verified: confirm or revoke its original (in settle's transaction)."""
    original = session.get(Task, check.recheck_of, with_for_update=True)
    if original is None or original.state != "verified":
        return
    voter = original.single_voter
    if original.digest == check.digest or _within_tolerance(app, original, check):
        original.assurance = {**(original.assurance or {}), "rechecked": True}
        return
    reason = (
        f"revoked: a re-check by {check.agreeing} operators (task {check.id}) verified digest "
        f"{check.digest}, not {original.digest} of {voter}'s single replica; run it again "
        "with `shardy dlq replay`"
    )
    original.state, original.error, original.settled_at = "dead", reason, utcnow()
    entry = deadletter.new_entry("task", reason, task_id=original.id,
                                 attempts=original.replicas_sent)  # fmt: skip
    session.add(DeadLetter(id=entry["id"], kind="task", task_id=original.id, reason=reason,
                           attempts=original.replicas_sent))  # fmt: skip
    follow_up.append(("dead", entry))
    follow_up.append(("announce", original.id))
    try:  # else workers skip its replayed replicas as "decided" for a day (DECIDED_TTL)
        app.redis.delete(arrivals.decided_key(original.id))
    except RedisError as exc:
        log.warning("task %s: could not clear its decided mark (%s)", original.id, exc)
    log.error("task %s %s", original.id, reason)
    if voter and standing.judge(session, app.settings, voter, "disagree", reason):
        session.info["quarantined"] = True


def _within_tolerance(app: ShardyCelery, original: Task, check: Task) -> bool:
    """Whether a float kernel's original output lies within the kernel's tolerance of the
    re-check's (a verified float output is its cluster's median: other GPUs' bits differ).
    An output that can no longer be read is not held against the original."""
    try:
        kernel = catalog.lookup(app, original.kernel)
        if kernel.determinism.mode != "tolerance":
            return False
        dtype = kernel.make_plan(original.payload_size, original.params, original.seed).dtype
        ours, theirs = (
            np.frombuffer(app.blobs.get(BlobRef(t.output_sha256, t.output_size)), dtype=dtype)
            for t in (original, check)
        )
    except (KernelError, BlobError, ValueError, TypeError) as exc:
        log.warning("task %s: re-check outputs not comparable (%s); kept", original.id, exc)
        return True
    det = kernel.determinism
    return quorum.close(ours, theirs, det.atol, det.rtol)
