"""Judging votes by standing (settle's helpers): which votes count, how much voters on
probation weigh, known-answer spot checks, what each verdict does to its voter, and the
assurance a verified result records."""

from __future__ import annotations

import logging
import time
import weakref

from sqlalchemy.orm import Session

from shardy.celery_app import ShardyCelery
from shardy.orchestrator import reputation, standing
from shardy.orchestrator import spot as spots
from shardy.store import Replica, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: Seconds a process reuses a yes to "is any voter established?" (probation applies).
PROBATION_TTL = 5.0
#: app → (valid until, True)
_probation: weakref.WeakKeyDictionary[ShardyCelery, tuple[float, bool]] = (
    weakref.WeakKeyDictionary()
)


def voter(app: ShardyCelery, session: Session, worker_id: str) -> str:
    """The unit a worker's vote counts for (its operator, SHARDY_DISTINCT)."""
    w = reputation.worker_row(session, worker_id)
    return app.settings.voter(worker_id, w.operator, w.kind)


def counted(app: ShardyCelery, session: Session, rows: list[Replica]) -> list[Replica]:
    """The ok, proven votes that count: not of a revoked worker (revoking an operator revokes
    its workers) nor of a quarantined voter; from then on their votes no longer count."""
    valid = [r for r in rows if r.status == "ok" and r.proof_valid]
    valid = [r for r in valid if reputation.worker_row(session, r.worker_id).revoked_at is None]
    voters = {r.replica: voter(app, session, r.worker_id) for r in valid}
    standings = standing.load(session, voters.values())
    # held while the session works: its identity map keeps rows weakly, and `standing.row`
    # then finds them without a query
    session.info.setdefault("standings_held", []).extend(standings.values())
    return [
        r for r in valid
        if (st := standings.get(voters[r.replica])) is None or st.quarantined_at is None
    ]  # fmt: skip


def established(app: ShardyCelery, session: Session, voters: set[str]) -> frozenset[str] | None:
    """Which of ``voters`` are established, or None while probation does not apply (no
    voter is established yet: a fresh deployment)."""
    s = app.settings
    now = time.monotonic()
    cached = _probation.get(app)
    if cached is None or cached[0] < now:  # a yes is kept a while (it stays yes); a no is not:
        applies = standing.any_established(session, s)  # it may turn any moment
        if not applies:
            return None
        _probation[app] = (now + PROBATION_TTL, True)
    standings = {st.voter: st for st in session.info.get("standings_held", [])}
    missing = voters - standings.keys()
    if missing:
        standings.update(standing.load(session, missing))
    return frozenset(v for v in voters if standing.established(standings.get(v), s))


def record(
    app: ShardyCelery, session: Session, task: Task, rows: list[Replica], *, known: bool = False
) -> None:
    """Count each row's verdict against its worker and its voter: ``agree`` and
    ``disagree`` (once, when the task is decided), ``invalid`` (once, as it is admitted).
    ``known``: a disagreement is with a known answer (a spot check's fault: quarantine)."""
    for r in rows:
        if r.verdict not in ("agree", "disagree", "invalid") or not r.worker_id:
            continue
        if r.verdict != "invalid":  # intake and evidence count refusals against the worker
            reputation.record(session, r.worker_id, status="", verdict=r.verdict)
        if r.verdict == "disagree":
            log.warning("worker %s disagreed on task %s", r.worker_id, task.id)
        spotted = (task.spot_digest or known) and r.verdict == "disagree"
        kind = "spot" if spotted else r.verdict
        reason = f"{kind} on task {task.id} (worker {r.worker_id})"
        who = voter(app, session, r.worker_id)
        seconds = _seconds(r.timings) if r.verdict == "agree" else None
        if standing.judge(session, app.settings, who, kind, reason, seconds):
            session.info["quarantined"] = True
        if kind != "agree":  # its single-replica results are re-checked (recheck.py)
            session.info.setdefault("faulted", set()).add(who)


def vetoed(
    app: ShardyCelery, session: Session, task: Task, rows: list[Replica], digest: str
) -> bool:
    """Whether a quorum's ``digest`` contradicts the answer the orchestrator computed itself
    for this task (a known-answer copy of it was sent: `shardy.orchestrator.spot.twin`).
    Then the quorum colluded or shares a fault: each of its votes is judged as a failed spot
    check (quarantine), and the task may not verify on it (settle decides without them)."""
    known = spots.confirmation(task, digest)
    if known is None or known["agrees"]:
        return False
    liars = [r for r in rows if r.status == "ok" and r.digest == digest and r.verdict == "none"]
    for r in liars:
        r.verdict = "disagree"
    record(app, session, task, liars, known=True)
    return True


def _seconds(timings: object) -> float | None:
    """A replica's stage times added up, as its worker reported them (numbers only)."""
    if not isinstance(timings, dict):
        return None
    values = [v for v in timings.values() if type(v) in (int, float) and 0 <= v < 86_400]
    return float(sum(values)) if values else None


def spot(app: ShardyCelery, session: Session, task: Task, rows: list[Replica], early: bool) -> str:
    """Judge a known-answer spot check: every counted vote against the answer the
    orchestrator computed itself, no quorum needed. The check ends (``verified``, with that
    answer) once its chord has settled. Returns the action taken."""
    fresh = [r for r in counted(app, session, rows) if r.verdict == "none"]
    for r in fresh:
        r.verdict = "agree" if r.digest == task.spot_digest else "disagree"
    record(app, session, task, fresh)
    for r in rows:  # a failed check is a fault too: else declining a suspected check is free
        if r.status == "failed" and r.verdict == "none" and r.worker_id:
            r.verdict = "check-failed"
            who = voter(app, session, r.worker_id)
            reason = f"failed a spot check, task {task.id} (worker {r.worker_id})"
            if standing.judge(session, app.settings, who, "failed", reason):
                session.info["quarantined"] = True
    if early:
        return "waiting"
    agree = sum(r.verdict == "agree" for r in rows)
    task.state, task.digest, task.agreeing = "verified", task.spot_digest, agree
    task.output_sha256 = task.spot_digest
    task.settled_at = utcnow()
    task.assurance = {"spot_check": True, "agreeing": agree,
                      "faults": sum(r.verdict == "disagree" for r in rows)}  # fmt: skip
    return "spot-checked"


def assurance(
    task: Task, agreeing: tuple[str, ...], senior: frozenset[str] | None
) -> dict[str, object]:
    """What a verified result rests on (recorded with the task; `VerifiedResult.assurance`).
    A single-replica result also records its voter (``tasks.single_voter``: re-checks)."""
    if task.redundancy == 1 and len(agreeing) == 1:
        task.single_voter = agreeing[0]
    return {
        # a known-answer copy of this task was sent: did its answer confirm this result?
        "spot_checked": spots.confirmation(task, task.digest),
        "quorum": task.quorum,
        "redundancy": task.redundancy,
        "voters": sorted(agreeing),
        "established": None if senior is None else sorted(v for v in agreeing if v in senior),
        "replication": "single" if task.redundancy == 1 else "full",
        "platform": task.platform,
    }
