"""Wake-ups for clients waiting on a task: settle announces each task it has decided on a
Redis channel, after its commit, and ``TaskHandle.get`` waits on that channel instead of
polling SQL.

The channel only wakes a waiter: the state store stays the truth. A waiter whose first state
check finds the task undecided subscribes, then checks again, so an announcement made later is
never missed; one lost on the way (a Redis restart) costs the waiter its next periodic
re-check, not the result. A client keeps its subscriptions open between waits (`Idle`): a
closed one would leave a disconnected connection in the client's pool, and the next submit
would pay a reconnect.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from types import TracebackType

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


class Idle:
    """A client's idle subscriptions, kept open for its next waits (thread-safe).

    A closed subscription disconnects its connection and hands it back to the client's pool,
    where the next command pays a reconnect (a round trip more on every submit); a kept one
    is only unsubscribed, and the next `Waiter` subscribes it again on the open connection.
    """

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._kept: list[redis.client.PubSub] = []
        self._closed = False

    def take(self, client: redis.Redis) -> redis.client.PubSub:
        """A kept subscription, or a new one on ``client``."""
        with self._lock:
            if self._kept:
                return self._kept.pop()
        return client.pubsub()

    def give(self, pubsub: redis.client.PubSub) -> None:
        """Unsubscribe ``pubsub`` (without waiting for the confirmation) and keep it, or close
        it when ``keep`` are kept already, this was closed (a wait that outlived its client's
        close) or Redis fails."""
        try:
            pubsub.unsubscribe(SETTLED_CHANNEL)
        except redis.RedisError:
            _drop(pubsub)
            return
        with self._lock:
            if not self._closed and len(self._kept) < self.keep:
                self._kept.append(pubsub)
                return
        _drop(pubsub)

    def close(self) -> None:
        """Close the kept subscriptions, and those given back later."""
        with self._lock:
            self._closed = True
            kept, self._kept = self._kept, []
        for pubsub in kept:
            _drop(pubsub)


def _drop(pubsub: redis.client.PubSub) -> None:
    """Close a subscription (its connection goes back to the pool disconnected)."""
    with contextlib.suppress(redis.RedisError):
        pubsub.close()


class Waiter:
    """A subscription to the settled channel for one waiting client (a context manager).

    ``live`` is False when Redis refused the subscription; :meth:`wait` then just sleeps.
    ``idle``: where to take the subscription from and give it back to (`Idle`).
    """

    def __init__(self, client: redis.Redis, idle: Idle | None = None) -> None:
        self._pubsub: redis.client.PubSub | None = None
        self._idle = idle
        pubsub = None
        try:
            pubsub = client.pubsub() if idle is None else idle.take(client)
            pubsub.subscribe(SETTLED_CHANNEL)
            # the confirmation: from here on the server delivers every announcement to us (a
            # kept subscription may first read what came before its last unsubscribe)
            deadline = time.monotonic() + 5.0
            while True:
                message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message is None:
                    raise redis.TimeoutError("no confirmation of the subscription within 5 s")
                if message.get("type") == "subscribe":
                    break
            self._pubsub = pubsub
        except redis.RedisError as exc:
            if pubsub is not None:
                _drop(pubsub)
            log.info("no settled-task wake-ups (%s); polling the state store", exc)

    @property
    def live(self) -> bool:
        """Whether announcements reach this waiter."""
        return self._pubsub is not None

    def wait(self, task_id: str, seconds: float) -> bool:
        """Block until ``task_id`` is announced (True) or ``seconds`` pass (False)."""
        end = time.monotonic() + max(0.0, seconds)
        while (left := end - time.monotonic()) > 0:
            if self._pubsub is None:
                time.sleep(left)
                return False
            try:
                message = self._pubsub.get_message(timeout=left)
            except redis.RedisError as exc:
                log.info("settled-task wake-ups lost (%s); polling the state store", exc)
                self._idle = None  # not worth keeping
                self.close()
                continue
            if message and message.get("type") == "message":
                data = message.get("data")
                if (data.decode() if isinstance(data, bytes) else data) == task_id:
                    return True
        return False

    def close(self) -> None:
        """Drop the subscription (back to ``idle`` when given)."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        if self._idle is not None:
            self._idle.give(pubsub)
        else:
            _drop(pubsub)

    def __enter__(self) -> Waiter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
