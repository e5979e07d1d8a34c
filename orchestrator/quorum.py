"""Quorum: a pure decision on the replica results of one task (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Vote:
    """One ok replica result as quorum sees it."""

    replica: int
    worker_id: str
    digest: str


@dataclass(frozen=True)
class Decision:
    """What settle should do next.

    ``verified``: ``digest`` won with ``agreeing`` distinct workers. ``extend``: dispatch
    ``extra`` more replicas. ``wait``: replicas of a later round are still out. ``dead``:
    quorum is out of reach; ``reason`` says why.
    """

    kind: Literal["verified", "extend", "wait", "dead"]
    digest: str | None = None
    agreeing: tuple[str, ...] = ()
    extra: int = 0
    reason: str = ""
    verdicts: dict[int, str] = field(default_factory=dict)


def count_votes(votes: Sequence[Vote]) -> tuple[dict[str, list[str]], dict[int, str]]:
    """Distinct workers per digest, and per-replica verdict ``counted`` or ``duplicate``.

    A worker counts once per task: its first (lowest replica index) vote counts, any later
    vote of the same worker is a duplicate and ignored.
    """
    groups: dict[str, list[str]] = {}
    verdicts: dict[int, str] = {}
    seen: set[str] = set()
    for v in sorted(votes, key=lambda v: v.replica):
        if v.worker_id in seen:
            verdicts[v.replica] = "duplicate"
            continue
        seen.add(v.worker_id)
        groups.setdefault(v.digest, []).append(v.worker_id)
        verdicts[v.replica] = "counted"
    return groups, verdicts


def decide(
    votes: Sequence[Vote],
    *,
    quorum: int,
    replicas_sent: int,
    max_replicas: int,
    in_flight: int = 0,
) -> Decision:
    """Decide a task from the ok votes recorded so far.

    Args:
        votes: ok results of every replica settled so far.
        quorum: distinct agreeing workers needed.
        replicas_sent: replicas dispatched so far (all rounds).
        max_replicas: replicas the task may use in all.
        in_flight: replicas dispatched but not yet settled (later rounds).
    """
    groups, verdicts = count_votes(votes)
    best_digest, best = None, []
    if groups:
        ranked = Counter({d: len(ws) for d, ws in groups.items()}).most_common()
        best_digest = ranked[0][0]
        best = groups[best_digest]
        tie = len(ranked) > 1 and ranked[1][1] == ranked[0][1]
        if len(best) >= quorum and not tie:
            final = {
                r: ("agree" if _digest_of(votes, r) == best_digest else "disagree")
                if verdict == "counted"
                else verdict
                for r, verdict in verdicts.items()
            }
            return Decision("verified", best_digest, tuple(best), verdicts=final)
    if in_flight > 0:
        return Decision("wait", verdicts=verdicts)
    missing = quorum - len(best)
    room = max_replicas - replicas_sent
    if missing <= 0:  # a tie at or above quorum: one more vote breaks it
        missing = 1
    if room >= missing:
        return Decision("extend", extra=missing, verdicts=verdicts)
    return Decision(
        "dead",
        reason=(
            f"quorum not reached: {len(best)} of {quorum} needed distinct workers agree "
            f"after {replicas_sent} replicas (max {max_replicas}); raise "
            "SHARDY_MAX_REPLICAS or SHARDY_REDUNDANCY_FACTOR, check the workers, then "
            "`shardy dlq replay`"
        ),
        verdicts=verdicts,
    )


def _digest_of(votes: Sequence[Vote], replica: int) -> str | None:
    for v in votes:
        if v.replica == replica:
            return v.digest
    return None
