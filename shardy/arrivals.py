"""Replica arrivals: where a replica's result can be found before its round settles, and the
marks that let the orchestrator judge a round early (`shardy.orchestrator.early`).

Each replica of a round runs as a Celery task whose id follows from (task, round, replica)
(`replica_task_id`), so the trusted side can read a replica's stored result from the result
backend while the round's chord still waits for its slowest member. The process that runs a
replica (a fleet worker, or the gateway relaying it) marks the round's first arrival in one
sorted set; settle clears the mark when it has decided the round, and marks a decided task so
that workers skip replicas of it still waiting in their queues.

Marks only wake the trusted side: what a replica result says is read from the result backend
and admitted by settle exactly as a chord's result is.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from celery.backends.base import BaseKeyValueStoreBackend

from shardy import frames
from shardy.errors import FrameError

log = logging.getLogger("shardy.arrivals")

#: Sorted set: member ``<task id>:<round>``, score the time its first replica came back.
ARRIVALS_KEY = "shardy:arrivals"
#: The same members, scored by the time the latest replica came back.
LAST_KEY = "shardy:arrivals:last"
#: Rounds sent as grouped orders (no chord settles them: a collect or the watch does).
GROUPED_KEY = "shardy:arrivals:grouped"
#: Hash: a grouped round's member → how many replicas it sent.
SIZE_KEY = "shardy:arrivals:size"
#: Hash: a grouped round's member → how many of its replicas' results are stored so far.
BACK_KEY = "shardy:arrivals:back"
#: Hash: a grouped round's member → its replica numbers, comma-separated (where a collect
#: looks for their stored results: `staged`).
REPLICAS_KEY = "shardy:arrivals:replicas"
#: A note of more replica numbers than this is ignored (a round has SHARDY_MAX_REPLICAS at most;
#: a forged note must not make a collect read thousands of keys).
MAX_NOTED = 64
#: Prefix of the key that says a task is decided (workers skip its queued replicas).
DECIDED_PREFIX = "shardy:decided:"
#: Prefix of a kernel's recent round spreads (seconds from first to last arrival).
SPREAD_PREFIX = "shardy:spread:"
#: Spreads kept per kernel.
SPREAD_SAMPLES = 200
#: How long a decided mark lives (s): longer than any replica waits in a queue.
DECIDED_TTL = 86_400

# The first arrival of a round, unless its task is decided already (nothing left to judge).
_MARK = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
"""

# Count replicas of a round back; 1 once all are (or the round's size is not known).
_BACK = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
local size = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if size == nil or n >= size then return 1 end
return 0
"""

_NAMESPACE = uuid.UUID("5b0e3c1e-8f1d-4c55-9a5e-7c2f61d1f0a1")


def replica_task_id(task_id: str, round_no: int, replica: int) -> str:
    """The Celery task id of one replica (the same on every retry of it)."""
    return str(uuid.uuid5(_NAMESPACE, f"{task_id}:{round_no}:{replica}"))


def member(task_id: str, round_no: int) -> str:
    """The arrivals member of one round."""
    return f"{task_id}:{round_no}"


def parse_member(raw: bytes | str) -> tuple[str, int] | None:
    """(task id, round) of an arrivals member, or None if it is not one."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    task_id, _, round_no = text.rpartition(":")
    return (task_id, int(round_no)) if task_id and round_no.isdigit() else None


def decided_key(task_id: str) -> str:
    """The key that marks ``task_id`` decided."""
    return DECIDED_PREFIX + task_id


def mark(client: redis.Redis, frame: bytes, result: Mapping[str, Any]) -> None:
    """Note that the replica of order ``frame`` came back with ``result`` (a round's first
    arrival only; skipped replicas do not count).

    Best effort: a failure is logged, never raised (the round still settles when its chord
    completes; only the early verdict is lost).
    """
    task_id = result.get("task_id")
    if not isinstance(task_id, str) or result.get("status") == "skipped":
        return
    try:
        meta = frames.decode_frame(frame).meta
        round_no = meta["round"] if meta.get("task_id") == task_id else None
    except (FrameError, AttributeError, KeyError, TypeError):
        return
    if not isinstance(round_no, int):
        return
    try:
        client.eval(_MARK, 3, ARRIVALS_KEY, decided_key(task_id), LAST_KEY,
                    member(task_id, round_no), time.time())  # fmt: skip
    except redis.RedisError as exc:
        log.warning("could not mark an arrival for task %s (%s)", task_id, exc)


def stage_grouped(pipe: Any, rounds: Sequence[tuple[str, int, Sequence[int]]]) -> None:
    """Note on ``pipe`` (a pipeline the caller executes before any order is sent) that
    ``rounds`` ((task id, round, the replica numbers sent)) went out as grouped orders
    (`shardy.orchestrator.grouped`): their sizes, and their replica numbers."""
    if rounds:
        pipe.sadd(GROUPED_KEY, *(member(t, n) for t, n, _ in rounds))
        pipe.hset(SIZE_KEY, mapping={member(t, n): len(rs) for t, n, rs in rounds})
        pipe.hset(REPLICAS_KEY, mapping={member(t, n): ",".join(map(str, rs))
                                         for t, n, rs in rounds})  # fmt: skip


def staged(
    client: redis.Redis, rounds: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], list[int]]:
    """The replica numbers that dispatch noted for ``rounds`` (`stage_grouped`), for those
    it noted and that are not closed yet. A hint only: Redis is writable by every fleet
    worker, so whoever acts on it checks it against the store."""
    if not rounds:
        return {}
    raw = client.hmget(REPLICAS_KEY, [member(t, n) for t, n in rounds])
    out = {}
    for key, value in zip(rounds, raw, strict=True):
        if not value or value.count(b",") >= MAX_NOTED:
            continue
        try:
            out[key] = [int(x) for x in value.split(b",")]
        except ValueError:
            continue
    return out


def count_back(
    client: redis.Redis,
    rounds: Sequence[tuple[str, int]],
    arrived: Sequence[tuple[str, int]] = (),
) -> list[tuple[str, int]]:
    """Count results of grouped rounds' replicas stored (``rounds`` names a round once per
    replica, skips and failures included); returns the rounds now complete, those whose every
    replica is back (or whose size was never noted: a chord's, or one already closed), for a
    collect to settle. On a Redis failure every round is returned: a collect checks anyway.
    Marks in the same round trip the arrivals of ``arrived`` (`mark` for many rounds:
    replicas of them came back now).
    """
    counts = Counter(rounds)
    if not counts and not arrived:
        return []
    now = time.time()
    try:
        pipe = client.pipeline(transaction=False)
        for task_id, round_no in arrived:
            pipe.eval(_MARK, 3, ARRIVALS_KEY, decided_key(task_id), LAST_KEY,
                      member(task_id, round_no), now)  # fmt: skip
        for (task_id, round_no), k in counts.items():
            pipe.eval(_BACK, 2, BACK_KEY, SIZE_KEY, member(task_id, round_no), k)
        flags = pipe.execute()[len(arrived) :]
    except redis.RedisError as exc:
        log.warning("could not count %d results back (%s); collecting their rounds",
                    len(rounds), exc)  # fmt: skip
        return sorted(counts)
    return sorted(r for r, flag in zip(counts, flags, strict=True) if flag)


def grouped(client: redis.Redis, rounds: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of ``rounds`` went out as grouped orders."""
    if not rounds:
        return set()
    flags = client.smismember(GROUPED_KEY, [member(t, n) for t, n in rounds])
    return {r for r, f in zip(rounds, flags, strict=True) if f}


def due(
    client: redis.Redis, before: float, start: int = 0, limit: int = 256
) -> list[tuple[str, int, float]]:
    """Rounds whose first replica came back before ``before``, oldest first, from the
    ``start``-th: (task id, round, first)."""
    rows = client.zrangebyscore(
        ARRIVALS_KEY, "-inf", before, start=start, num=limit, withscores=True
    )
    out = []
    for raw, score in rows:
        parsed = parse_member(raw)
        if parsed is None:
            client.zrem(ARRIVALS_KEY, raw)
            continue
        out.append((*parsed, float(score)))
    return out


def close(
    client: redis.Redis,
    task_id: str,
    round_no: int,
    kernel: str,
    *,
    decided: bool,
    complete: bool = True,
) -> None:
    """A round is settled: drop its marks; with ``decided`` (verified), mark the task decided
    so workers skip its queued replicas; when it is ``complete`` (its chord ran, every replica
    back), sample its spread for ``kernel``: from its first to its last replica's return."""
    close_many(client, [(task_id, round_no, kernel, decided, complete)])


def close_many(client: redis.Redis, rounds: Sequence[tuple[str, int, str, bool, bool]]) -> None:
    """`close` for several (task id, round, kernel, decided, complete), in two round trips."""
    if not rounds:
        return
    pipe = client.pipeline(transaction=False)
    at = []  # where each round's two scores are among the replies
    for task_id, round_no, _, decided, _ in rounds:
        key = member(task_id, round_no)
        at.append(len(pipe))
        pipe.zscore(ARRIVALS_KEY, key)
        pipe.zscore(LAST_KEY, key)
        pipe.zrem(ARRIVALS_KEY, key)
        pipe.zrem(LAST_KEY, key)
        pipe.srem(GROUPED_KEY, key)
        pipe.hdel(SIZE_KEY, key)
        pipe.hdel(BACK_KEY, key)
        pipe.hdel(REPLICAS_KEY, key)
        if decided:
            pipe.set(decided_key(task_id), 1, ex=DECIDED_TTL)
    replies = pipe.execute()
    sample = client.pipeline(transaction=False)
    for i, (_, _, kernel, _, complete) in zip(at, rounds, strict=True):
        first, last = replies[i], replies[i + 1]
        if complete and first is not None and last is not None:
            spread = f"{max(0.0, float(last) - float(first)):.4f}"
            sample.lpush(SPREAD_PREFIX + kernel, spread)
            sample.ltrim(SPREAD_PREFIX + kernel, 0, SPREAD_SAMPLES - 1)
    if len(sample):
        sample.execute()


def spreads(client: redis.Redis, kernel: str) -> list[float]:
    """The recent spreads of ``kernel``'s rounds (seconds), newest first."""
    return [float(x) for x in client.lrange(SPREAD_PREFIX + kernel, 0, SPREAD_SAMPLES - 1)]


def stored_results(app: Any, ids: list[str]) -> list[dict[str, Any] | None]:
    """The results replica tasks ``ids`` have stored (None where not finished)."""
    if not ids:
        return []
    backend = app.backend
    if isinstance(backend, BaseKeyValueStoreBackend):
        values = backend.mget([backend.get_key_for_task(i) for i in ids])
        metas = [backend.decode_result(v) if v else None for v in values]
    else:
        metas = [backend.get_task_meta(i) for i in ids]
    return [
        m["result"]
        if m and m.get("status") == "SUCCESS" and isinstance(m.get("result"), dict)
        else None
        for m in metas
    ]
