"""The collector: grouped rounds' collects taken from a Redis list, not through Celery.

The worker (or gateway) whose result completes a grouped round asks for its settle with one
entry on the list `shardy.collects.COLLECTS_KEY` (`shardy.collects.request_collect`: a JSON
list of ``[task id, round]`` pairs). A thread in each of the orchestrator's settling processes
(`Collector`, started as each process starts) moves the oldest entry onto a list of its own
(``BLMOVE``), settles its rounds there (`shardy.orchestrator.grouped.collect`), and drops it
as it waits for the next. Through Celery the same request cost the sender a task message and
the orchestrator its consumer's hop into a settling child: on the 2-core machine a lone task
took 0.9-1.5 ms longer (docs/benchmarks.md, eighth pass). The ``shardy.collect`` task stays
for senders that use it.

Nothing is lost with a process: each collector is registered with a liveness key, and every
collector now and then puts the entries held by collectors whose key expired (a process
killed or stopped mid-collect) back on the shared list (`recover`), where they are taken
again; settle is idempotent. An entry whose collectors died `MAX_TRIES` times is dropped with a
warning (the early watch and the sweeper settle its rounds, as they do a lost collect).

Nothing here is trusted more than the Celery message: an entry only names rounds, which
`grouped.collect` reads from the result backend and checks as a chord's. A Redis writer (any
fleet worker or gateway) may add, remove or reorder entries: that costs time, never a
verdict. A malformed entry or one over `MAX_ENTRY` bytes is skipped; the list keeps
`shardy.collects.KEEP` entries.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import orjson
from redis import ConnectionError as RedisConnectionError
from redis import RedisError
from redis import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError

from shardy.celery_app import ShardyCelery
from shardy.collects import COLLECTS_KEY
from shardy.orchestrator import grouped

log = logging.getLogger("shardy.orchestrator")

#: Bytes of the largest entry taken (a collect names at most `grouped.COLLECT_MAX` rounds).
MAX_ENTRY = 64 * 1024
#: Seconds between the attempts of a collect while the store or Redis is unreachable.
RETRY_DELAYS = (0.2, 1.0, 3.0)
#: The set of collector ids; a collector's list of the entry it is settling, and its liveness
#: key (its id follows each prefix).
COLLECTORS_KEY = "shardy:collects:collectors"
TAKEN_PREFIX = "shardy:collects:taken:"
ALIVE_PREFIX = "shardy:collects:alive:"
#: Seconds a liveness key lives, and between its renewals and between looks for dead lists.
ALIVE_TTL = 15
RENEW_EVERY = 5.0
RECOVER_EVERY = 10.0
#: Times an entry is taken by collectors that died before it is dropped.
MAX_TRIES = 3
#: Seconds between two warnings of skipped entries (junk comes at the sender's pace).
WARN_EVERY = 60.0

#: Errors worth another attempt: the store or Redis unreachable, not a malformed query.
TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


class Collector:
    """Takes collects off the list and settles them, on a daemon thread of this process."""

    def __init__(self, app: ShardyCelery) -> None:
        self.app = app
        self.pid = os.getpid()
        self.id = f"{socket.gethostname()}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.taken_key = TAKEN_PREFIX + self.id
        self._stop = threading.Event()
        self._renewed = self._recovered = 0.0
        self._warned = -WARN_EVERY
        self.taken = self.skipped = 0  # entries taken and skipped (for tests)

    def start(self) -> Collector:
        threading.Thread(target=self._loop, name="shardy-collector", daemon=True).start()
        log.info("collector %s takes collects off %s", self.id, COLLECTS_KEY)
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._chores()
                pipe = self.app.redis.pipeline(transaction=False)
                pipe.delete(self.taken_key)  # the entry settled last: done with
                pipe.blmove(COLLECTS_KEY, self.taken_key, 1, "RIGHT", "LEFT")
                raw = pipe.execute()[1]
                if raw is not None:
                    self.take(raw)
            except RedisError as exc:
                log.info("collects unavailable (%s)", exc)
                self._stop.wait(1.0)
            except Exception:  # noqa: BLE001 - the thread must outlive any one entry
                log.exception("the collector's loop failed; going on")
                self._stop.wait(1.0)

    def _chores(self) -> None:
        """Renew this collector's liveness key; now and then, recover dead collectors' lists."""
        now = time.monotonic()
        if now - self._renewed >= RENEW_EVERY:
            pipe = self.app.redis.pipeline(transaction=False)
            pipe.set(ALIVE_PREFIX + self.id, 1, ex=ALIVE_TTL).sadd(COLLECTORS_KEY, self.id)
            pipe.execute()
            self._renewed = now
        if now - self._recovered >= RECOVER_EVERY:
            self._recovered = now
            recover(self.app.redis)

    def take(self, raw: bytes) -> dict[str, int] | None:
        """Settle the rounds one entry names (`grouped.collect`); its counts, or None for an
        entry skipped or given up on (one whose store or Redis stayed unreachable through
        `RETRY_DELAYS` goes back on the list, `MAX_TRIES` times at most). Never raises."""
        self.taken += 1
        rounds = _rounds(raw)
        if rounds is None:
            self._skipped(f"a malformed collect ({len(raw)} bytes)")
            return None
        named = rounds[0] if rounds and isinstance(rounds[0], list) else None
        log.info("collect of %d rounds taken (first %s)", len(rounds), str(named)[:60])
        for delay in (*RETRY_DELAYS, None):
            try:
                return grouped.collect(self.app, rounds)
            except TRANSIENT as exc:
                if delay is None:
                    self._put_back(raw, len(rounds), exc)
                    return None
                self._stop.wait(delay)
            except Exception:  # noqa: BLE001 - one bad collect must not stop the thread
                log.exception("a collect of %d rounds failed", len(rounds))
                return None
        return None

    def _put_back(self, raw: bytes, count: int, exc: Exception) -> None:
        again = _retried(raw)
        if again is not None:
            try:
                self.app.redis.lpush(COLLECTS_KEY, again)  # behind what waits now
            except RedisError:
                pass
            else:
                log.warning("a collect of %d rounds failed (%s); put back", count, exc)
                return
        log.warning("a collect of %d rounds failed (%s); the early watch settles them", count,
                    exc)  # fmt: skip

    def _skipped(self, what: str) -> None:
        self.skipped += 1
        if time.monotonic() - self._warned >= WARN_EVERY:
            self._warned = time.monotonic()
            log.warning("%s was skipped (%d skipped so far)", what, self.skipped)


def recover(client: Any) -> int:
    """Put the entries held by collectors whose liveness key expired back on the shared list,
    each with one more try (dropped after `MAX_TRIES`), and forget those collectors. Returns
    how many entries were put back."""
    moved = 0
    for raw_id in client.smembers(COLLECTORS_KEY):
        ident = raw_id.decode(errors="replace")
        if client.exists(ALIVE_PREFIX + ident):
            continue
        key = TAKEN_PREFIX + ident
        while (raw := client.rpop(key)) is not None:
            again = _retried(raw)
            if again is None:
                log.warning("a collect came back %d times from dead collectors; dropped "
                            "(the early watch settles its rounds)", MAX_TRIES)  # fmt: skip
                continue
            client.rpush(COLLECTS_KEY, again)  # taken next: collectors take the right end
            moved += 1
        client.srem(COLLECTORS_KEY, raw_id)
    if moved:
        log.info("%d collects of dead collectors put back", moved)
    return moved


def _retried(raw: bytes) -> bytes | None:
    """``raw`` with one more try counted (``{"rounds": [...], "tries": n}``), or None once it
    has had `MAX_TRIES` (or says it had a count no collector writes, or is oversized)."""
    if len(raw) > MAX_ENTRY:
        return None
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    rounds, tries = entry, 0
    if isinstance(entry, dict):
        rounds, tries = entry.get("rounds"), entry.get("tries")
        tries = tries if type(tries) is int and tries >= 0 else MAX_TRIES
    if tries + 1 >= MAX_TRIES:
        return None
    return orjson.dumps({"rounds": rounds, "tries": tries + 1})


def _rounds(raw: bytes) -> list[Any] | None:
    """The pairs an entry names (each checked by `grouped.collect`), or None."""
    if len(raw) > MAX_ENTRY:
        return None
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(entry, dict):  # put back after its collector died (`recover`)
        entry = entry.get("rounds")
    return entry if isinstance(entry, list) else None
