"""What crosses between a relay thread and the gateway's loop: the reply a thread waits on,
the Redis work around an order (`Around`), and an order's messages as they are made."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shardy.orchestrator.gateway.batch import Build


class Reply:
    """A relay thread's wait for its order's outcome, set once from the loop (a lock the
    thread blocks on: no asyncio future chained to a concurrent one per order)."""

    __slots__ = ("_guard", "_lock", "done", "error", "value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._guard = threading.Lock()  # two threads may answer at once: one counts
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def set(self, value: Any = None, error: BaseException | None = None) -> None:
        """On the loop (or, once the answer is in, the Redis batch thread): the outcome; the
        first one counts."""
        with self._guard:
            if self.done:
                return
            self.done, self.value, self.error = True, value, error
        self._lock.release()

    def wait(self, timeout: float) -> bool:
        """In the relay thread: whether the outcome came within ``timeout`` seconds."""
        return self._lock.acquire(timeout=timeout)


#: What `Sessions.call` returns for an order it did not send (`Around.skip_if` exists).
SKIPPED = object()

Staged = tuple[Build, Callable[[Any], Any]]


@dataclass(frozen=True)
class Around:
    """Redis work before and after an order, run in the gateway's batches (`Batcher`), so the
    relay thread waits once for all of it.

    Attributes:
        skip_if: a key; when it exists the order is not sent and `Sessions.call` returns
            `SKIPPED`.
        then: on the loop, given the worker's answer: None (the answer is the outcome), or
            the commands to run (a builder) and what makes the outcome of their replies. It
            may raise: the relay thread gets the error.
    """

    skip_if: str | None = None
    then: Callable[[Any], Staged | None] | None = None


def settle(reply: Reply, outcome: Callable[[Any], Any], replies: Any) -> None:
    try:
        reply.set(outcome(replies))
    except Exception as exc:  # noqa: BLE001 - handed to the relay thread
        reply.set(error=exc)


class Messages:
    """An order's messages as they are sent: a list's straight from it; an iterator's first
    on the loop, the rest (payload chunks, read from the blob store) on a thread."""

    def __init__(self, messages: Iterable[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._ready = isinstance(messages, (list, tuple))
        self._it: Iterator[bytes] = iter(messages)
        self._loop = loop
        self._first = True

    async def next(self) -> bytes | None:
        """The next message (None: no more)."""
        if self._ready or self._first:
            self._first = False
            return next(self._it, None)
        return await self._loop.run_in_executor(None, next, self._it, None)
