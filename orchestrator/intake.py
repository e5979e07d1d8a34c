"""Settle's intake: which replica results are admitted and how each is recorded.

A result is admitted only for a replica dispatch assigned in this round, and only once: a
remote assignment only from its assignee (the gateway stamps the session's worker id), a
fleet assignment only from a registered fleet worker (the shared queue and hand-backs move
replicas among them). An ok result must carry an output that hashes to its digest. A dead-letter row
gets an id of the trusted side's own; the worker's entry id is kept only as a reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shardy import routing
from shardy.attestations import BatchReceipt
from shardy.celery_app import ShardyCelery
from shardy.messages import ReplicaResult
from shardy.orchestrator import reputation
from shardy.store import Assignment, DeadLetter, Replica, Task, Worker

log = logging.getLogger("shardy.orchestrator")

_ASSIGNED = select(Assignment).where(Assignment.task_id.in_(bindparam("tasks", expanding=True)))


def admit(
    app: ShardyCelery,
    session: Session,
    task: Task,
    rows: list[Replica],
    results: list[Any],
    round_no: int,
    shared: Shared | None = None,
) -> tuple[list[Replica], dict[int, BatchReceipt]]:
    """Add rows for the admitted results of replicas not seen before (to the session and to
    ``rows``, the task's replicas); returns the new ok rows and their batch receipts.

    ``shared``: what `settle_many` read once for all the rounds of a collect (their
    assignments and workers). The finished replicas' in-flight marks are dropped by the
    caller after the commit, once for all rounds: ``shared.back`` lists them, or, for a
    settle of its own, the session's ``info["back"]``."""
    have = {r.replica for r in rows}
    alone = shared is None  # a settle of its own: it reads for itself
    if shared is None:
        shared = Shared.read(session, [task.id], results)
        # held while the session lives (see reputation.preload)
        session.info.setdefault("workers", []).extend(shared.workers.values())
    assigned = shared.assigned.get((task.id, round_no), {})
    workers, back = shared.workers, shared.back
    fresh, receipts = [], {}
    for raw in results:
        r = ReplicaResult.from_dict(raw)
        if r.task_id not in (task.id, None) or r.replica is None or r.replica in have:
            continue
        refusal = _refusal(r, assigned.get(r.replica), workers.get(r.worker_id or ""))
        if refusal is not None:
            log.warning("task %s replica %s from %s refused: %s", task.id, r.replica,
                        r.worker_id, refusal)  # fmt: skip
            continue
        have.add(r.replica)
        assignment = assigned[r.replica]
        if assignment.worker_id is not None:
            key = routing.assignment_key(task.id, round_no, r.replica)
            back.append((assignment.worker_id, key))
        row = _row(session, task, r, round_no, workers.get(r.worker_id or ""))
        rows.append(row)
        if r.batch is not None and row.status == "ok":
            receipts[r.replica] = r.batch
        if row.status == "ok" and row.proof_valid is None:
            fresh.append(row)
    if alone:
        session.info.setdefault("back", []).extend(back)
    return fresh, receipts


@dataclass
class Shared:
    """What the rounds of one collect share, read once (`Shared.read`)."""

    #: (task id, round) → replica → its assignment
    assigned: dict[tuple[str, int], dict[int, Assignment]]
    #: worker id → its row (held: the session's identity map keeps rows weakly)
    workers: dict[str, Worker]
    #: (worker id, assignment key) of the replicas admitted, to untrack after the commit
    back: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, session: Session, task_ids: Sequence[str], results: Iterable[Any]) -> Shared:
        """The assignments of these tasks and the rows of the workers ``results`` name."""
        assigned: dict[tuple[str, int], dict[int, Assignment]] = {}
        for a in session.scalars(_ASSIGNED, {"tasks": list(task_ids)}):
            assigned.setdefault((a.task_id, a.round), {})[a.replica] = a
        named = [raw.get("worker_id") for raw in results if isinstance(raw, dict)]
        return cls(assigned, {w.id: w for w in reputation.preload(session, named)})


def _refusal(r: ReplicaResult, assignment: Assignment | None, worker: Worker | None) -> str | None:
    """Why a result may not count for its replica, or None."""
    if assignment is None:
        return "no such replica was assigned in this round"
    if assignment.kind == "remote":
        if r.worker_id != assignment.worker_id:
            return f"the replica was assigned to {assignment.worker_id}"
    elif worker is None or worker.kind != "fleet":
        return "a fleet assignment answered by no registered fleet worker"
    return None


def _row(
    session: Session, task: Task, r: ReplicaResult, round_no: int, worker: Worker | None
) -> Replica:
    """Record one admitted result: the row, its worker's counts, its dead-letter row."""
    status, error, valid = r.status, r.error, None
    if status == "ok" and r.output_sha256 != r.digest:
        status, valid = "failed", False
        error = "the output does not hash to the attested digest"
    elif status == "ok" and worker is not None and worker.revoked_at is not None:
        valid, error = False, f"worker {worker.id} is revoked: its votes do not count"
    row = Replica(task_id=task.id, replica=r.replica, round=round_no, status=status,
                  worker_id=r.worker_id, digest=r.digest, output_sha256=r.output_sha256,
                  output_size=r.output_size, attempts=r.attempts, error=error,
                  verdict="invalid" if valid is False else "none", key_id=r.key_id,
                  proof=r.proof, public_signals=r.public_signals, proof_valid=valid,
                  timings=r.timings)  # fmt: skip
    if r.batch is not None:
        part = r.batch.part
        row.batch_id = part.id[:36]
        row.batch_index, row.batch_path = part.index, [list(step) for step in part.path]
    if status == "failed" and r.status == "failed" and r.dead_letter_id:
        row.dead_letter_id = str(uuid.uuid4())  # ours; the worker's id is only a reference
        session.add(DeadLetter(id=row.dead_letter_id, ref=_canonical(r.dead_letter_id),
                               kind="replica", task_id=task.id, replica=r.replica,
                               worker_id=r.worker_id, reason=r.error or "",
                               attempts=r.attempts))  # fmt: skip
    session.add(row)
    if r.worker_id and r.status != "skipped":
        reputation.record(session, r.worker_id, status=status,
                          verdict="invalid" if valid is False else None)  # fmt: skip
    return row


def _canonical(text: str) -> str | None:
    """``text`` if it is a UUID in its one canonical spelling, else None."""
    try:
        return text if str(uuid.UUID(text)) == text else None
    except (ValueError, TypeError, AttributeError):
        return None
