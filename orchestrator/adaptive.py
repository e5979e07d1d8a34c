"""Adaptive replication (SHARDY_REPLICATION=adaptive): trusted operators' workers run tasks
on a single replica, checked at random.

For each task dispatch first draws a worker as routing would. If that worker's voter is
established (`shardy.orchestrator.standing`) and has no recent fault, the task runs on that
one replica with a quorum of one, except with probability ``p_full``, when it is fully
replicated as a check. ``p_full`` is SHARDY_ADAPTIVE_CHECK for a voter with a perfect
record and rises to 1 as its score falls to the established threshold. Voters on probation,
and any voter with a decayed fault of half a vote or more, always get full replication; so
one disagreement on a checked task sends its operator back to full replication until the
fault has decayed (SHARDY_STANDING_HALFLIFE).

A task the user gave a redundancy or quorum to is never adapted. A single replica's order
carries a replica number drawn as one of a full round's would be (later replicas of the task
take numbers past it: `dispatch.next_replica`), so a worker cannot tell from its order
whether the task is checked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import redis

from shardy import routing
from shardy.config import Settings
from shardy.orchestrator import standing
from shardy.store import Standing

#: Decayed faults at which a voter is back on full replication.
FAULT_FLOOR = 0.5


@dataclass(frozen=True)
class Replication:
    """How one task is replicated: R, quorum, and the assignee of a single replica with the
    replica number its order carries (`plan`)."""

    redundancy: int
    quorum: int
    single: routing.Target | None = None
    index: int = 0


def p_full(st: Standing | None, s: Settings) -> float:
    """Probability that a task first drawn for this voter is fully replicated."""
    if not standing.established(st, s) or st is None or st.bad >= FAULT_FLOOR:
        return 1.0
    margin = (standing.score(st) - standing.ESTABLISHED_SCORE) / (1 - standing.ESTABLISHED_SCORE)
    return min(1.0, max(s.adaptive_check, 1.0 - margin))


def plan(
    r: redis.Redis,
    s: Settings,
    standings: dict[str, Standing],
    count: int,
    full: tuple[int, int],
    live: set[str],
    rng: random.Random | None = None,
) -> list[Replication]:
    """The replication of ``count`` tasks (``full``: R and quorum of a fully replicated one)."""
    rng = rng or random.Random()
    pool = list(routing.eligible(r, routing.live_workers(r, live)).values())
    loads = routing.load(r, [w.worker_id for w in pool])
    out = []
    for _ in range(count):
        chosen = routing.choose(pool, loads, 1, rng=rng)
        w = chosen[0] if chosen else None
        if w is not None and rng.random() >= p_full(standings.get(w.voter), s):
            # numbered as one replica of a full round would be (0..R-1 over the live
            # workers), so an order does not tell a single-replica task from a checked one
            index = rng.randrange(max(1, min(full[0], len(pool))))
            target = routing.Target(w.worker_id, w.queue, w.kind)
            out.append(Replication(1, 1, target, index))
        else:
            out.append(Replication(*full))
    return out
