"""Which worker runs which replica: the live workers (fleet and remote), their queues, their
capacity and their load as the server measures it, and the choice of assignees.

Every fleet worker beats into a sorted set of live workers with its queue, its slots (the
replicas it runs at once) and its operator; a gateway beats the same way for each of its
remote sessions, with the slots and operator the trusted side recorded. A worker's load is
what the server gave it and has not had back: dispatch adds each assignment to a per-worker
sorted set scored by its deadline, settle removes it, and entries past their deadline drop
out on their own. Nothing a worker says about its own load is used (an adversarial review
captured every replica by reporting a negative backlog).

A round's replicas go to distinct live workers chosen at random, weighted by free slots,
and to distinct voters (operators, with SHARDY_DISTINCT=operator) while enough are live.
Replicas beyond the live workers go to the shared queue ``shardy.gpu``, which fleet workers
consume (the per-round claims in Redis still keep one replica per fleet worker there), or,
while no fleet worker is live but a gateway is, to a gateway's queue (`_unassigned`).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import redis

from shardy.celery_app import GPU_QUEUE

#: Sorted set of worker ids scored by the time of their last beat.
ALIVE_KEY = "shardy:workers:alive"
#: Hash of worker id → JSON {"queue", "slots", "voter", "kind"} as of its last beat.
INFO_KEY = "shardy:workers:info"
#: Per-worker sorted set of its assignments ("task:round:replica") scored by deadline.
INFLIGHT_PREFIX = "shardy:inflight:"
#: Sorted set of gateway queues scored by the time their gateway last beat (with or without
#: sessions): where a replica waits when no worker at all is live in a remote-only cluster.
GATEWAYS_KEY = "shardy:gateways:alive"
#: Set of quarantined voters (orchestrator/standing.py keeps it; SQL is the truth).
QUARANTINED_KEY = "shardy:quarantined"
#: A worker that has not beaten for this many seconds counts as gone.
ALIVE_WINDOW = 15.0
#: Prefix of a fleet worker's own queue (it carries the dead-letter exchange on RabbitMQ).
DIRECT_PREFIX = "shardy.w."
#: Prefix of a gateway's queue (replicas assigned to its remote sessions).
GATEWAY_PREFIX = "shardy.gw."

Kind = Literal["fleet", "remote"]


@dataclass(frozen=True)
class Live:
    """A live worker as routing sees it."""

    worker_id: str
    queue: str
    slots: int
    #: the unit of independence: its operator (or its id, when operators do not matter)
    voter: str
    kind: Kind


@dataclass(frozen=True)
class Target:
    """Where one replica goes: a worker (None: any fleet worker) and the queue to send to."""

    worker_id: str | None
    queue: str
    kind: Kind


def direct_queue(node: str) -> str:
    """The name of a fleet worker's own queue (its Celery node name after the prefix)."""
    return f"{DIRECT_PREFIX}{node}"


def gateway_queue(gateway_id: str) -> str:
    """The name of a gateway's queue."""
    return f"{GATEWAY_PREFIX}{gateway_id}"


def beat(
    r: redis.Redis, worker_id: str, *, queue: str, slots: int, voter: str, kind: Kind = "fleet"
) -> None:
    """Mark ``worker_id`` alive now, with its queue, slots and voter."""
    beat_all(r, [Live(worker_id, queue, slots, voter, kind)])


def beat_all(r: redis.Redis, workers: Sequence[Live]) -> None:
    """Mark many workers alive in one round trip (a gateway beats for all its sessions)."""
    if not workers:
        return
    now = time.time()
    pipe = r.pipeline(transaction=False)
    pipe.zadd(ALIVE_KEY, {w.worker_id: now for w in workers})
    pipe.hset(INFO_KEY, mapping={
        w.worker_id: orjson.dumps({"queue": w.queue, "slots": max(1, int(w.slots)),
                                   "voter": w.voter, "kind": w.kind})
        for w in workers
    })  # fmt: skip
    pipe.execute()


def beat_gateway(r: redis.Redis, queue: str) -> None:
    """Mark the gateway of ``queue`` alive now (it beats whether or not it has sessions)."""
    r.zadd(GATEWAYS_KEY, {queue: time.time()})


def leave_gateway(r: redis.Redis, queue: str) -> None:
    """Take a gateway out of the live set (it is shutting down)."""
    r.zrem(GATEWAYS_KEY, queue)


def live_gateways(r: redis.Redis) -> list[str]:
    """Queues of the gateways that beat within the liveness window."""
    since = time.time() - ALIVE_WINDOW
    return sorted(q.decode() for q in r.zrangebyscore(GATEWAYS_KEY, since, "+inf"))


def leave(r: redis.Redis, *worker_ids: str) -> None:
    """Take workers out of the live set at once (a clean shutdown, a closed session)."""
    if worker_ids:
        r.zrem(ALIVE_KEY, *worker_ids)


def alive(r: redis.Redis) -> set[str]:
    """Ids of the workers that beat within the liveness window."""
    since = time.time() - ALIVE_WINDOW
    return {w.decode() for w in r.zrangebyscore(ALIVE_KEY, since, "+inf")}


def live_workers(r: redis.Redis, ids: Iterable[str] | None = None) -> dict[str, Live]:
    """The given (default: all live) workers that recorded their queue, by id."""
    wanted = sorted(alive(r) if ids is None else set(ids))
    return _parse_info(wanted, r.hmget(INFO_KEY, wanted)) if wanted else {}


def _parse_info(wanted: Sequence[str], raws: Sequence[Any]) -> dict[str, Live]:
    """The recorded info of ``wanted`` (their ``INFO_KEY`` values, in order), by id."""
    out = {}
    for wid, raw in zip(wanted, raws, strict=True):
        if raw is None:
            continue
        with contextlib.suppress(ValueError, TypeError, KeyError):
            info = orjson.loads(raw)
            out[wid] = Live(wid, str(info["queue"]), int(info["slots"]), str(info["voter"]),
                            "remote" if info["kind"] == "remote" else "fleet")  # fmt: skip
    return out


def _eligible_loads(
    r: redis.Redis, live: Iterable[str] | None
) -> tuple[dict[str, Live], dict[str, int]]:
    """`eligible` of `live_workers` and the `load` of each, read in one round trip once the
    live ids are known (two while they are read too)."""
    wanted = sorted(alive(r) if live is None else set(live))
    if not wanted:
        return {}, {}
    pipe = r.pipeline(transaction=False)
    pipe.hmget(INFO_KEY, wanted)
    pipe.smembers(QUARANTINED_KEY)
    _count_loads(pipe, wanted)
    raws, banned, *counts = pipe.execute()
    workers = _unbanned(_parse_info(wanted, raws), banned)
    loads = _loads(wanted, counts)
    return workers, {wid: loads[wid] for wid in workers}


def load(r: redis.Redis, worker_ids: Sequence[str]) -> dict[str, int]:
    """Assignments each worker holds now (expired ones are dropped first)."""
    if not worker_ids:
        return {}
    pipe = r.pipeline(transaction=False)
    _count_loads(pipe, worker_ids)
    return _loads(worker_ids, pipe.execute())


def _count_loads(pipe: Any, worker_ids: Sequence[str]) -> None:
    """Queue on ``pipe`` the commands that drop each worker's expired assignments and count
    the rest (two replies per worker, read by `_loads`)."""
    now = time.time()
    for wid in worker_ids:
        pipe.zremrangebyscore(INFLIGHT_PREFIX + wid, "-inf", now)
        pipe.zcard(INFLIGHT_PREFIX + wid)


def _loads(worker_ids: Sequence[str], replies: Sequence[Any]) -> dict[str, int]:
    return dict(zip(worker_ids, (int(c) for c in replies[1::2]), strict=True))


def track(r: redis.Redis, held: Sequence[tuple[str, str]], deadline: float) -> None:
    """Count assignments against their workers until ``deadline``: (worker id, key) pairs."""
    if held:
        pipe = r.pipeline(transaction=False)
        stage_track(pipe, held, deadline)
        pipe.execute()


def stage_track(pipe: Any, held: Sequence[tuple[str, str]], deadline: float) -> None:
    """`track` queued on ``pipe`` (a pipeline the caller executes)."""
    for wid, key in held:
        pipe.zadd(INFLIGHT_PREFIX + wid, {key: deadline})
        pipe.expireat(INFLIGHT_PREFIX + wid, int(deadline) + 1)


def untrack(r: redis.Redis, done: Sequence[tuple[str, str]]) -> None:
    """The assignments came back: stop counting them."""
    if not done:
        return
    pipe = r.pipeline(transaction=False)
    for wid, key in done:
        pipe.zrem(INFLIGHT_PREFIX + wid, key)
    pipe.execute()


def assignment_key(task_id: str, round_no: int, replica: int) -> str:
    """The member a replica's assignment has in its worker's in-flight set."""
    return f"{task_id}:{round_no}:{replica}"


def _weight(w: Live, held: int) -> float:
    free = w.slots - held
    return free if free > 0 else 0.1 / (1 + held - w.slots)


def choose(
    workers: Sequence[Live],
    loads: dict[str, int],
    count: int,
    *,
    avoid_voters: Iterable[str] = (),
    rng: random.Random | None = None,
) -> list[Live]:
    """Pick up to ``count`` distinct workers at random, each from a voter not picked (nor
    avoided) before while any such is left.

    The voter is drawn first, weighted by the free slots of its best worker, then a worker of
    that voter weighted by its own free slots: an operator with many keys draws no more often
    than one with a single worker of the same size (keys cost nothing to make)."""
    rng = rng or random.Random()
    pool = list(workers)
    used = set(avoid_voters)
    chosen: list[Live] = []
    while pool and len(chosen) < count:
        fresh = [w for w in pool if w.voter not in used] or pool
        by_voter: dict[str, list[Live]] = {}
        for w in fresh:
            by_voter.setdefault(w.voter, []).append(w)
        weight = {w.worker_id: _weight(w, loads.get(w.worker_id, 0)) for w in fresh}
        voters = sorted(by_voter)
        voter = rng.choices(voters, [max(weight[w.worker_id] for w in by_voter[v])
                                     for v in voters])[0]  # fmt: skip
        mine = by_voter[voter]
        pick = rng.choices(mine, [weight[w.worker_id] for w in mine])[0]
        chosen.append(pick)
        used.add(pick.voter)
        pool.remove(pick)
    return chosen


def assign(
    r: redis.Redis,
    count: int,
    exclude: Iterable[str] = (),
    live: Iterable[str] | None = None,
    *,
    rng: random.Random | None = None,
) -> list[Target]:
    """Targets for ``count`` replicas: distinct live workers (``live``, read from Redis when
    not given) but ``exclude`` (and, while others are left, but their voters), chosen by
    `choose`; beyond them, unassigned (see `_unassigned`)."""
    return assign_many(r, [count], exclude, live, rng=rng)[0]


def assign_many(
    r: redis.Redis,
    counts: Sequence[int],
    exclude: Iterable[str] = (),
    live: Iterable[str] | None = None,
    *,
    rng: random.Random | None = None,
) -> list[list[Target]]:
    """`assign` for several rounds at once (the rounds of one `map` batch): the live workers,
    the quarantine and the loads are read once, and each round's picks count toward the
    loads the rounds after it see."""
    workers, loads = _eligible_loads(r, live)
    excluded = set(exclude)
    voters = {w.voter for wid, w in workers.items() if wid in excluded}
    pool = [w for wid, w in workers.items() if wid not in excluded]
    gateways: list[str] | None = None
    out = []
    for count in counts:
        chosen = choose(pool, loads, count, avoid_voters=voters, rng=rng)
        for w in chosen:
            loads[w.worker_id] = loads.get(w.worker_id, 0) + 1
        targets = [Target(w.worker_id, w.queue, w.kind) for w in chosen]
        if len(targets) < count:
            if gateways is None:
                fleet = any(w.kind == "fleet" for w in workers.values())
                gateways = [] if fleet else live_gateways(r)
            targets += [_unassigned(workers, gateways)] * (count - len(targets))
        out.append(targets)
    return out


def eligible(r: redis.Redis, workers: dict[str, Live]) -> dict[str, Live]:
    """``workers`` but those of quarantined voters (they get no orders)."""
    return _unbanned(workers, r.smembers(QUARANTINED_KEY))


def _unbanned(workers: dict[str, Live], banned: set[bytes]) -> dict[str, Live]:
    """``workers`` but those whose voter is in ``banned`` (`QUARANTINED_KEY`'s members)."""
    voters = {v.decode() for v in banned}
    return {wid: w for wid, w in workers.items() if w.voter not in voters} if voters else workers


def _unassigned(workers: dict[str, Live], gateways: Sequence[str] = ()) -> Target:
    """Where a replica no distinct live worker can take now waits for one: the shared queue
    while fleet workers are live (or neither a remote worker nor a gateway is); else a
    gateway's queue (one with live sessions first, else one of the live ``gateways``),
    whose relay gives it to the first eligible remote worker that joins (a restarted one,
    say), so a remote-only cluster never leaves a task on a queue nobody consumes."""
    if any(w.kind == "fleet" for w in workers.values()):
        return Target(None, GPU_QUEUE, "fleet")
    serving = sorted({w.queue for w in workers.values() if w.kind == "remote"})
    if serving or gateways:
        return Target(None, (serving or sorted(gateways))[0], "remote")
    return Target(None, GPU_QUEUE, "fleet")


def free_fleet_target(r: redis.Redis, free: Iterable[str]) -> Target | None:
    """One of the ``free`` fleet workers (by `choose`), or None."""
    pool = [w for w in eligible(r, live_workers(r, free)).values() if w.kind == "fleet"]
    chosen = choose(pool, load(r, [w.worker_id for w in pool]), 1)
    return Target(chosen[0].worker_id, chosen[0].queue, "fleet") if chosen else None


def direct_queues(r: redis.Redis) -> list[str]:
    """Names of the live workers' own queues (fleet workers and gateways), for depth views."""
    return sorted({w.queue for w in live_workers(r).values()})


def queue_depths(app: Any, queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting in each queue (0 for a queue the broker has never seen).

    Raises:
        the transport's connection error when the broker does not answer.
    """
    depth: dict[str, int] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        for q in queues:
            channel = conn.channel()  # RabbitMQ closes a channel on 404: one per queue
            try:
                depth[q] = channel.queue_declare(q, passive=True).message_count
            except conn.channel_errors:
                depth[q] = 0
            finally:
                with contextlib.suppress(*conn.connection_errors, *conn.channel_errors):
                    channel.close()
    return depth
