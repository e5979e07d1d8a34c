"""Wake-ups for clients waiting on a task: settle announces each task it has decided on a
Redis channel, after its commit, and ``TaskHandle.get`` waits on that channel instead of
polling SQL.

The channel only wakes a waiter: the state store stays the truth. A waiter whose first state
check finds the task undecided subscribes, then checks again, so an announcement made later is
never missed; one lost on the way (a Redis restart) costs the waiter its next periodic
re-check, not the result.
"""

from __future__ import annotations

import contextlib
import logging
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


class Waiter:
    """A subscription to the settled channel for one waiting client (a context manager).

    ``live`` is False when Redis refused the subscription; :meth:`wait` then just sleeps.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._pubsub: redis.client.PubSub | None = None
        try:
            pubsub = client.pubsub()
            pubsub.subscribe(SETTLED_CHANNEL)
            # the confirmation: from here on the server delivers every announcement to us
            pubsub.get_message(timeout=5.0)
            self._pubsub = pubsub
        except redis.RedisError as exc:
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
                self.close()
                continue
            if message and message.get("type") == "message":
                data = message.get("data")
                if (data.decode() if isinstance(data, bytes) else data) == task_id:
                    return True
        return False

    def close(self) -> None:
        """Drop the subscription."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                pubsub.close()

    def __enter__(self) -> Waiter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
