"""The collector: grouped rounds' collects taken from a Redis list, not through Celery.

The worker (or gateway) whose result completes a grouped round asks for its settle with one
entry on the list `shardy.collects.COLLECTS_KEY` (`shardy.collects.request_collect`: a JSON
list of ``[task id, round]`` pairs). A thread in each of the orchestrator's settling processes
(`Collector`, started as each process starts) takes the oldest entry (BRPOP) and settles its
rounds there (`shardy.orchestrator.grouped.collect`). Through Celery the same request cost the
sender a task message and the orchestrator its consumer's hop into a settling child: on the
2-core machine a lone task took 1.0-1.5 ms longer (docs/benchmarks.md, eighth pass). The
``shardy.collect`` task stays for senders that use it.

Nothing here is trusted more than the Celery message: an entry only names rounds, which
`grouped.collect` reads from the result backend and checks as a chord's. Whoever may write the
control queue may write the list. An entry that is malformed or larger than `MAX_ENTRY` is
skipped; the list keeps `shardy.collects.KEEP` entries. An entry lost (the list capped, a
process gone mid-settle, the store failing past the retries) costs what a lost collect message
costs: the early watch settles a grouped round that stays complete (`early.Watch`), the sweeper
the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from shardy.celery_app import ShardyCelery
from shardy.collects import COLLECTS_KEY
from shardy.orchestrator import grouped

log = logging.getLogger("shardy.orchestrator")

#: Bytes of the largest entry taken (a collect names at most `grouped.COLLECT_MAX` rounds).
MAX_ENTRY = 64 * 1024
#: Seconds between the attempts of a collect whose store or Redis failed.
RETRY_DELAYS = (0.2, 1.0, 3.0)


class Collector:
    """Takes collects off the list and settles them, on a daemon thread of this process."""

    def __init__(self, app: ShardyCelery) -> None:
        self.app = app
        self._stop = threading.Event()
        self.taken = 0  # entries taken (for tests and status)

    def start(self) -> Collector:
        threading.Thread(target=self._loop, name="shardy-collector", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                popped = self.app.redis.brpop([COLLECTS_KEY], timeout=1)
            except RedisError as exc:
                log.info("collects unavailable (%s)", exc)
                self._stop.wait(1.0)
                continue
            if popped is not None:
                self.take(popped[1])

    def take(self, raw: bytes) -> dict[str, int] | None:
        """Settle the rounds one entry names (`grouped.collect`); its counts, or None for an
        entry skipped or given up on. Never raises."""
        self.taken += 1
        rounds = _rounds(raw)
        if rounds is None:
            log.warning("a malformed collect (%d bytes) was skipped", len(raw))
            return None
        for delay in (*RETRY_DELAYS, None):
            try:
                done = grouped.collect(self.app, rounds)
            except (SQLAlchemyError, RedisError) as exc:
                if delay is None:
                    log.warning("a collect of %d rounds failed (%s); the early watch settles "
                                "them", len(rounds), exc)  # fmt: skip
                    return None
                time.sleep(delay)
                continue
            except Exception:  # noqa: BLE001 - one bad collect must not stop the thread
                log.exception("a collect of %d rounds failed", len(rounds))
                return None
            log.info("collect of %d rounds: %d settled", done["named"], done["settled"])
            return done
        return None


def _rounds(raw: bytes) -> list[Any] | None:
    """The pairs an entry names (each checked by `grouped.collect`), or None."""
    if len(raw) > MAX_ENTRY:
        return None
    try:
        rounds = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return rounds if isinstance(rounds, list) else None
