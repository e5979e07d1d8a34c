"""Wake-ups for clients waiting on a task: settle announces each task it has decided on a
Redis channel, after its commit, and ``TaskHandle.get`` waits on that channel instead of
polling SQL.

The channel only wakes a waiter: the state store stays the truth. Each client keeps one
subscription (`Listener`), read by a daemon thread that remembers the ids it heard and wakes
the waits. A wait trusts the channel only for what it is sure to have heard: announcements
made while the subscription was live, since before the task was submitted (or since the
waiter's last look at the store), with nothing lost on the way (a reconnection, an id
forgotten to make room). Otherwise it looks at the store first. An announcement lost all the
same (Redis restarting) costs the waiter its next periodic re-check, not the result.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import OrderedDict

import redis

log = logging.getLogger("shardy.settled")

#: Pub/sub channel; each message is the id of a task that became verified or dead.
SETTLED_CHANNEL = "shardy:settled"


def announce(client: redis.Redis, *task_ids: str) -> None:
    """Tell waiting clients that ``task_ids`` have been decided (call after the commit), in
    one round trip.

    A failure is logged, never raised: waiters re-check the state store on their own.
    """
    if not task_ids:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.publish(SETTLED_CHANNEL, task_id)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not announce %d settled task(s) from %s (%s); waiters will poll",
                    len(task_ids), task_ids[0], exc)  # fmt: skip


class Listener:
    """One client's subscription to the settled channel, read on a daemon thread.

    :meth:`covers` says whether an announcement made after a moment cannot have been missed;
    :meth:`wait` blocks until a task is announced. The thread ends after `IDLE_S` without a
    wait (Redis then stops sending to this client) and after a Redis error; the next
    :meth:`start` subscribes again.
    """

    #: Announced ids remembered (the most recent); forgetting one counts as a loss.
    REMEMBER = 16_384
    #: Seconds without a wait after which the subscription is dropped.
    IDLE_S = 10.0
    #: Seconds between attempts to subscribe while Redis refuses.
    RETRY_S = 1.0

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._cond = threading.Condition()
        self._heard: OrderedDict[str, None] = OrderedDict()
        self._live_since: float | None = None  # the subscription's confirmation (monotonic)
        self._lost_at = -math.inf  # the latest moment an announcement may have been missed
        self._thread: threading.Thread | None = None
        self._waits = 0
        self._used_at = time.monotonic()
        self._retry_at = -math.inf
        self._closed = False

    def start(self, timeout: float = 1.0) -> bool:
        """Subscribe unless subscribed, waiting up to ``timeout`` s for the confirmation;
        whether the subscription is live."""
        with self._cond:
            self._used_at = time.monotonic()
            if self._thread is None and not self._closed and time.monotonic() >= self._retry_at:
                self._retry_at = time.monotonic() + self.RETRY_S
                self._thread = threading.Thread(
                    target=self._run, name="shardy-settled", daemon=True
                )
                self._thread.start()
            self._cond.wait_for(lambda: self._live_since is not None or self._thread is None,
                                timeout)  # fmt: skip
            return self._live_since is not None

    def covers(self, since: float) -> bool:
        """Whether every announcement made after ``since`` (monotonic) reaches this listener:
        subscribed before then, nothing lost after."""
        with self._cond:
            return (self._live_since is not None and self._live_since <= since
                    and self._lost_at < since)  # fmt: skip

    def heard(self, task_id: str) -> bool:
        """Whether ``task_id`` was announced while subscribed (and is still remembered)."""
        with self._cond:
            return task_id in self._heard

    def wait(self, task_id: str, seconds: float, since: float) -> bool:
        """Block until ``task_id`` is announced or an announcement made after ``since`` may
        have been missed (True: look at the store), or ``seconds`` pass (False)."""
        with self._cond:
            self._waits += 1
            try:
                return self._cond.wait_for(
                    lambda: task_id in self._heard or self._lost_at >= since
                    or self._live_since is None, max(0.0, seconds),
                )  # fmt: skip
            finally:
                self._waits -= 1
                self._used_at = time.monotonic()

    def close(self) -> None:
        """Stop listening (the thread ends within a second)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            pubsub.subscribe(SETTLED_CHANNEL)
            while self._listen(pubsub.get_message(timeout=1.0)):
                pass
        except redis.RedisError as exc:
            log.info("settled-task wake-ups lost (%s); polling the state store", exc)
        except Exception:  # noqa: BLE001 - a waiter must never hang on a dead thread
            log.exception("settled-task listener failed; polling the state store")
        finally:
            with self._cond:
                self._live_since, self._lost_at, self._thread = None, time.monotonic(), None
                self._cond.notify_all()
            with contextlib.suppress(redis.RedisError):
                pubsub.close()

    def _listen(self, message: dict | None) -> bool:
        """Take one message; False once the thread should end."""
        with self._cond:
            now = time.monotonic()
            if message is None:
                return not self._closed and (self._waits or now - self._used_at < self.IDLE_S)
            kind = message.get("type")
            if kind == "subscribe":  # the first confirmation, or a reconnection's
                if self._live_since is not None:
                    self._lost_at = now  # announcements made while disconnected are gone
                self._live_since = self._live_since or now
            elif kind == "message":
                data = message.get("data")
                self._heard[data.decode() if isinstance(data, bytes) else str(data)] = None
                if len(self._heard) > self.REMEMBER:
                    self._heard.popitem(last=False)
                    self._lost_at = now
            self._cond.notify_all()
            return not self._closed
