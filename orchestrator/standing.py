"""Standing: how much a voter's word counts. Judged votes decayed over time, probation for
newcomers, automatic and manual quarantine.

A voter is the unit a vote counts for: an operator (SHARDY_DISTINCT=operator, and always for
remote workers), or a worker. Each judged vote adds to ``good`` (it agreed with the verified
result or a known answer) or ``bad`` (it was outvoted, its attestation was refused, or it
failed a spot check); both halve every SHARDY_STANDING_HALFLIFE seconds. The score is the
smoothed share of good votes, (good + 1) / (good + bad + 2). Its agreeing replicas' time
is kept as a moving average (``latency``). Each worker's own counts stay in ``workers``
(`shardy.orchestrator.reputation`).

- **Probation.** A voter is established after SHARDY_PROBATION_VOTES judged votes with a
  score of at least `ESTABLISHED_SCORE`, while not quarantined. Once any voter is
  established, voters on probation fill at most SHARDY_PROBATION_SHARE of a quorum: a
  quorum needs established voters beside them (`shardy.orchestrator.quorum.decide`).
- **Quarantine.** At SHARDY_QUARANTINE_FAULTS decayed faults (a failed spot check is enough
  on its own) a voter is quarantined: routing gives it no orders and settle ignores its
  votes. An admin lifts or imposes quarantine with ``shardy operators quarantine|lift``.

SQL holds the truth; the set of quarantined voters is mirrored in Redis for routing
(`shardy.routing.QUARANTINED_KEY`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import redis
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shardy import routing
from shardy.config import Settings
from shardy.errors import ConfigError
from shardy.store import Standing
from shardy.store.db import read_once
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

_STANDINGS = select(Standing).where(Standing.voter.in_(bindparam("voters", expanding=True)))

#: Score an established voter keeps.
ESTABLISHED_SCORE = 0.8


def score(st: Standing) -> float:
    """The smoothed share of good votes, in (0, 1)."""
    return (st.good + 1.0) / (st.good + st.bad + 2.0)


def established(st: Standing | None, s: Settings) -> bool:
    """Whether ``st``'s voter is past probation (and not quarantined)."""
    return (
        st is not None
        and st.quarantined_at is None
        and st.judged >= s.probation_votes
        and score(st) >= ESTABLISHED_SCORE
    )


def load(session: Session, voters: Iterable[str]) -> dict[str, Standing]:
    """The standings of ``voters`` that exist, in one query."""
    names = sorted({v for v in voters if v})
    if not names:
        return {}
    found = read_once(session, "standings", names, lambda wanted: {
        st.voter: st for st in session.scalars(_STANDINGS, {"voters": wanted})
    })  # fmt: skip
    made = session.info.get("new_standings", {})  # created in this transaction, not flushed
    found.update((v, made[v]) for v in names if v in made and v not in found)
    return found


def any_established(session: Session, s: Settings) -> bool:
    """Whether any voter is established (probation applies only from then on: a fresh
    deployment's first voters all start on it)."""
    rows = session.scalars(
        select(Standing).where(
            Standing.quarantined_at.is_(None), Standing.judged >= s.probation_votes
        )
    )
    return any(score(st) >= ESTABLISHED_SCORE for st in rows)


def row(session: Session, voter: str) -> Standing:
    """``voter``'s standing, created on first sight (a new row is held in the session's info
    until the flush: settle judges without autoflush, and `Session.get` sees no pending row)."""
    made = session.info.setdefault("new_standings", {})
    st = made.get(voter) or session.get(Standing, voter)
    if st is None:
        now = utcnow()
        st = made[voter] = Standing(voter=voter, good=0.0, bad=0.0, judged=0, faults=0,
                                    first_seen=now, updated_at=now)  # fmt: skip
        session.add(st)
    return st


def _decay(st: Standing, now: datetime, halflife: float) -> None:
    elapsed = max(0.0, (now - st.updated_at).total_seconds())
    if elapsed > 0:
        f = 0.5 ** (elapsed / halflife)
        st.good, st.bad = st.good * f, st.bad * f
    st.updated_at = now


def judge(
    session: Session,
    s: Settings,
    voter: str,
    verdict: str,
    reason: str = "",
    seconds: float | None = None,
) -> bool:
    """Count one judged vote of ``voter``: ``agree``, ``disagree``, ``invalid`` or ``spot``
    (a failed known-answer check, a fault on its own); ``seconds``: how long an agreeing
    replica took. Returns True if this quarantined it (call `mirror` after the commit)."""
    st = row(session, voter)
    _decay(st, utcnow(), s.standing_halflife)
    st.judged += 1
    if verdict == "agree":
        st.good += 1.0
        if seconds is not None and seconds >= 0:
            st.latency = seconds if st.latency is None else 0.9 * st.latency + 0.1 * seconds
        return False
    st.faults += 1
    st.bad += s.quarantine_faults if verdict == "spot" else 1.0
    if st.quarantined_at is None and st.bad >= s.quarantine_faults - 1e-3:  # decay: ~equal
        _quarantine(st, "auto", reason or f"{st.faults} faults, the last: {verdict}")
        return True
    return False


def _quarantine(st: Standing, by: str, reason: str) -> None:
    st.quarantined_at, st.quarantined_by, st.reason = utcnow(), by, reason[:500]
    log.warning("voter %s quarantined (%s): %s", st.voter, by, reason)


def impose(session: Session, voter: str, reason: str) -> Standing:
    """Quarantine ``voter`` by an admin's decision (call `mirror` after the commit)."""
    st = row(session, voter)
    _quarantine(st, "admin", reason or "imposed by an admin")
    return st


def lift(session: Session, voter: str) -> Standing:
    """Lift ``voter``'s quarantine; it starts again on probation with its faults forgiven.

    Raises:
        ConfigError: ``voter`` is not quarantined.
    """
    st = session.get(Standing, voter)
    if st is None or st.quarantined_at is None:
        raise ConfigError(f"{voter!r} is not quarantined; `shardy operators standing` lists voters")
    st.quarantined_at, st.quarantined_by, st.reason = None, None, None
    st.good, st.bad, st.judged = 0.0, 0.0, 0
    return st


def quarantined(session: Session) -> set[str]:
    """The quarantined voters (SQL)."""
    return set(session.scalars(select(Standing.voter).where(Standing.quarantined_at.is_not(None))))


def mirror(client: redis.Redis, session: Session) -> None:
    """Copy the quarantined set to Redis for routing (after a commit that changed it)."""
    names = quarantined(session)
    pipe = client.pipeline(transaction=True)
    pipe.delete(routing.QUARANTINED_KEY)
    if names:
        pipe.sadd(routing.QUARANTINED_KEY, *sorted(names))
    pipe.execute()


def listing(session: Session, s: Settings) -> list[dict]:
    """Every voter's standing, for `shardy status` and `shardy operators standing`."""
    out = []
    for st in session.scalars(select(Standing).order_by(Standing.voter)):
        state = "quarantined" if st.quarantined_at else (
            "established" if established(st, s) else "probation"
        )  # fmt: skip
        latency = None if st.latency is None else round(st.latency, 4)
        out.append({"voter": st.voter, "state": state, "score": round(score(st), 3),
                    "judged": st.judged, "faults": st.faults, "latency": latency,
                    "reason": st.reason})  # fmt: skip
    return out
