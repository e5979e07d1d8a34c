"""Quorum: a pure decision on the replica results of one task (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Vote:
    """One ok replica result as quorum sees it."""

    replica: int
    #: who the vote counts for: the worker, or its operator (SHARDY_DISTINCT=operator)
    voter: str
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
        if v.voter in seen:
            verdicts[v.replica] = "duplicate"
            continue
        seen.add(v.voter)
        groups.setdefault(v.digest, []).append(v.voter)
        verdicts[v.replica] = "counted"
    return groups, verdicts


def decide(
    votes: Sequence[Vote],
    *,
    quorum: int,
    replicas_sent: int,
    max_replicas: int,
    in_flight: int = 0,
    established: frozenset[str] | None = None,
    probation_share: float = 0.5,
    pending: int = 0,
) -> Decision:
    """Decide a task from the ok votes recorded so far.

    Args:
        votes: ok results of every replica settled so far.
        quorum: distinct agreeing workers needed.
        replicas_sent: replicas dispatched so far (all rounds).
        max_replicas: replicas the task may use in all.
        in_flight: replicas dispatched but not yet settled (later rounds).
        established: the voters past probation, when probation applies (None: every voter
            counts in full); voters on probation then fill at most ``probation_share`` of
            the quorum (rounded down), so a quorum always holds established voters; and
            when an established voter dissents, the winner needs the quorum beyond the
            dissenting votes (`_dissent`).
        pending: replicas still out that could yet dissent (an early look at a round): with
            probation in force, the winner needs the quorum beyond them too, so voters who
            answer first (an attestation proves a digest, not the work) cannot decide a task
            before an established voter's dissent has arrived.
    """
    groups, verdicts = count_votes(votes)
    best_digest, best = None, []
    weight = 0
    if groups:
        weights = {d: _weight(ws, quorum, established, probation_share) for d, ws in groups.items()}
        ranked = Counter(weights).most_common()
        best_digest = ranked[0][0]
        best = groups[best_digest]
        weight = ranked[0][1]
        tie = len(ranked) > 1 and ranked[1][1] == ranked[0][1]
        dissent = _dissent(groups, best_digest, quorum, established, probation_share)
        if established is not None:
            dissent += pending
        if weight >= quorum + dissent and not tie:
            final = {
                r: ("agree" if _digest_of(votes, r) == best_digest else "disagree")
                if verdict == "counted"
                else verdict
                for r, verdict in verdicts.items()
            }
            return Decision("verified", best_digest, tuple(best), verdicts=final)
    if in_flight > 0:
        return Decision("wait", verdicts=verdicts)
    missing = quorum + (dissent if groups else 0) - weight
    room = max_replicas - replicas_sent
    if missing <= 0:  # a tie at or above quorum: one more vote breaks it
        missing = 1
    if room >= missing:
        return Decision("extend", extra=missing, verdicts=verdicts)
    return Decision(
        "dead",
        reason=(
            f"quorum not reached: {weight} of {quorum} needed agreeing votes count after "
            f"{replicas_sent} replicas (max {max_replicas}; voters on probation count only "
            "beside established ones, and an established dissent raises the bar); raise "
            "SHARDY_MAX_REPLICAS or SHARDY_REDUNDANCY_FACTOR, check the workers and "
            "`shardy operators standing`, then `shardy dlq replay`"
        ),
        verdicts=verdicts,
    )


def _dissent(
    groups: dict[str, list[str]],
    best: str,
    quorum: int,
    established: frozenset[str] | None,
    share: float,
) -> int:
    """The weight of the votes against ``best`` when an established voter is among them, else
    0. An established dissent is answered, not outvoted: the winner then needs the quorum
    *beyond* every dissenting vote, so colluders who reached standing cannot carry a task
    against one honest established voter by a bare quorum. The dissenting votes are weighed
    as one group: voters on probation spread over many digests weigh no more than on one
    (else new operators voting distinct garbage raise the bar by one each, and kill the task)."""
    if established is None:
        return 0
    against = [v for d in groups if d != best for v in groups[d]]
    if not any(v in established for v in against):
        return 0
    return _weight(against, quorum, established, share)


def _weight(
    voters: Sequence[str], quorum: int, established: frozenset[str] | None, share: float
) -> int:
    """How many of a group's distinct voters count toward the quorum (see `decide`)."""
    if established is None:
        return len(voters)
    senior = sum(v in established for v in voters)
    return senior + min(len(voters) - senior, int(share * quorum))


def _digest_of(votes: Sequence[Vote], replica: int) -> str | None:
    for v in votes:
        if v.replica == replica:
            return v.digest
    return None


# ---- tolerance kernels: cluster outputs, then decide as usual -------------------------------


def close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> bool:
    """Element-wise |a - b| <= atol + rtol * max(|a|, |b|) (symmetric); shapes must match.

    Non-finite values are close only where both outputs hold the same value.
    """
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    x, y = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    if not np.array_equal(x[~finite], y[~finite], equal_nan=True):
        return False
    x, y = x[finite], y[finite]
    return bool(np.all(np.abs(x - y) <= atol + rtol * np.maximum(np.abs(x), np.abs(y))))


def median_output(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """The verified output of a tolerance cluster: its element-wise median, in the outputs'
    dtype. No one worker's output is taken: a worker cannot pull the result towards its own
    values beyond what the other members' values allow (an adversarial review's worker won
    every task when the member nearest the median was taken whole)."""
    stack = np.stack([o.astype(np.float64) for o in outputs])
    return np.median(stack, axis=0).astype(outputs[0].dtype)


def canonical(members: Sequence[Vote], outputs: Mapping[int, np.ndarray]) -> Vote:
    """The member nearest the element-wise median of the cluster (ties: lowest replica): its
    digest labels the cluster while votes are counted."""
    stack = np.stack([outputs[m.replica].astype(np.float64) for m in members])
    median = np.median(stack, axis=0)
    spread = [float(np.max(np.abs(s - median), initial=0.0)) for s in stack]
    best = min(range(len(members)), key=lambda i: (spread[i], members[i].replica))
    return members[best]


def tolerance_votes(
    votes: Sequence[Vote], outputs: Mapping[int, np.ndarray], atol: float, rtol: float
) -> list[Vote]:
    """Relabel votes by tolerance cluster so `decide` can count them like exact digests.

    Greedy: the cluster (the votes within tolerance of one member) with the most distinct
    workers is taken first and labelled with its canonical member's digest; the rest are
    clustered again. Votes whose output is missing are dropped.
    """
    remaining = sorted((v for v in votes if v.replica in outputs), key=lambda v: v.replica)
    labelled: list[Vote] = []
    while remaining:
        best: list[Vote] = []
        for v in remaining:
            members = [
                w for w in remaining if close(outputs[w.replica], outputs[v.replica], atol, rtol)
            ]
            if len({m.voter for m in members}) > len({m.voter for m in best}):
                best = members
        label = canonical(best, outputs).digest
        labelled += [Vote(m.replica, m.voter, label) for m in best]
        remaining = [v for v in remaining if v not in best]
    return labelled
