"""Worker records and reputation: agreement with verified results, failures, registrations."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shardy.store import Worker
from shardy.store.models import utcnow

_WORKERS = select(Worker).where(Worker.id.in_(bindparam("ids", expanding=True)))


def preload(session: Session, worker_ids: Iterable[object]) -> list[Worker]:
    """Load these workers' rows in one query. Keep the returned list while the session works:
    the session's identity map holds rows weakly, and while they live, `worker_row` finds
    them without a query."""
    ids = {w for w in worker_ids if isinstance(w, str) and w}
    return list(session.scalars(_WORKERS, {"ids": sorted(ids)})) if ids else []


def worker_row(session: Session, worker_id: str) -> Worker:
    """The worker's row, created on first sight."""
    w = session.get(Worker, worker_id)
    if w is None:
        w = Worker(
            id=worker_id,
            kind="fleet",
            hostname="",
            adapter="",
            replicas_ok=0,
            replicas_failed=0,
            agreed=0,
            disagreed=0,
            invalid=0,
            reputation=0.5,
        )
        session.add(w)
        session.flush()
    return w


def register(session: Session, info: dict) -> Worker | None:
    """Upsert a fleet worker from its registration record (id, hostname, operator, adapter,
    commitment). Returns None, changing nothing, for the id of an enrolled remote worker:
    a registration through the broker never speaks for one."""
    w = worker_row(session, str(info["id"])[:255])
    if w.kind != "fleet":
        return None
    operator = info.get("operator")
    w.operator = str(operator)[:64] if operator else None
    w.hostname = str(info.get("hostname", ""))[:255]
    adapter = str(info.get("adapter", ""))[:255]
    if adapter:  # the main process registers before its pool opens the GPU
        w.adapter = adapter
    commitment = str(info.get("commitment") or "")[:80]
    if commitment and w.commitment is None:  # the first registration binds it, once
        owner = session.scalars(select(Worker.id).where(Worker.commitment == commitment)).first()
        if owner is None:
            w.commitment = commitment
    w.last_seen = utcnow()
    return w


def record(session: Session, worker_id: str, *, status: str, verdict: str | None) -> None:
    """Count one replica outcome against its worker and refresh its reputation.

    Reputation is the Laplace-smoothed share of judged results that agreed with the verified
    digest: (agreed + 1) / (agreed + disagreed + invalid + 2); a refused attestation counts
    as a disagreement.
    """
    w = worker_row(session, worker_id)
    w.last_seen = utcnow()
    if status == "ok":
        w.replicas_ok += 1
    elif status == "failed":
        w.replicas_failed += 1
    if verdict == "agree":
        w.agreed += 1
    elif verdict == "disagree":
        w.disagreed += 1
    elif verdict == "invalid":
        w.invalid += 1
    w.reputation = (w.agreed + 1) / (w.agreed + w.disagreed + w.invalid + 2)
