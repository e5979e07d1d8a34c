"""The gateway's sessions: one per authenticated remote worker, on the gateway's event loop,
with the orders it holds; and the thread-safe door relay threads use to reach them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from shardy import session as wire
from shardy.errors import GatewayError

log = logging.getLogger("shardy.gateway")

Key = tuple[str, int, int]  # (task id, round, replica)


class SessionLost(Exception):
    """The session closed before the worker answered the order."""


@dataclass(eq=False)
class Pending:
    """An order out on a session: the relay thread's future, and a chunked output arriving."""

    future: asyncio.Future
    output_len: int
    head: wire.Message | None = None
    output: bytearray | None = None
    chunks: int = 0
    received: int = 0


@dataclass(eq=False)
class Session:
    """One remote worker's authenticated connection."""

    worker_id: str
    operator: str
    voter: str
    slots: int
    adapter: str
    ws: web.WebSocketResponse
    #: orders sent and not answered
    pending: dict[Key, Pending] = field(default_factory=dict)
    opened: float = field(default_factory=time.time)
    closed: bool = False
    #: the session protocol its hello named (1: payloads inline only; 2: streamed in chunks)
    protocol: int = 1

    async def send(self, data: bytes, timeout: float) -> None:
        """Send a frame; a worker that does not read within ``timeout`` loses its session."""
        try:
            async with asyncio.timeout(timeout):
                await self.ws.send_bytes(data)
        except (TimeoutError, ConnectionError, RuntimeError) as exc:
            raise SessionLost(f"sending to {self.worker_id} failed: {exc!r}") from exc

    def receive(self, msg: wire.Message) -> None:
        """Take a ``result``, ``chunk`` or ``failure`` message for an order of this session;
        a result whose output comes in chunks is answered once its last chunk is in, and no
        chunk may bring more than the order's output length.

        Raises:
            GatewayError: the message names no order of this session, or it breaks the rules.
        """
        key = (wire.text(msg.meta, "task_id", 64), wire.integer(msg.meta, "round", 0, 1 << 16),
               wire.integer(msg.meta, "replica", 0, 1 << 16))  # fmt: skip
        p = self.pending.get(key)
        if p is None:
            raise GatewayError(f"no replica {key} is assigned to this session", code="unassigned")
        if msg.kind == "failure":
            self._answer(key, wire.Failure.parse(msg))
        elif msg.kind == "result" and p.head is None:
            chunks = wire.integer(msg.meta, "chunks", 0, -(-p.output_len // wire.CHUNK))
            if chunks == 0:
                self._answer(key, wire.Result.parse(msg))
                return
            if wire.integer(msg.meta, "size", 0, p.output_len) != p.output_len:
                raise GatewayError("a chunked output must have the order's length",
                                   code="malformed")  # fmt: skip
            p.head, p.chunks, p.output = msg, chunks, bytearray()
        elif msg.kind == "chunk" and p.head is not None:
            data = msg.segments[0] if len(msg.segments) == 1 else b""
            last = p.received == p.chunks - 1
            want = p.output_len - len(p.output) if last else wire.CHUNK
            if wire.integer(msg.meta, "index", 0, 1 << 20) != p.received or len(data) != want:
                raise GatewayError("chunks must come in order, each CHUNK bytes but the last",
                                   code="malformed")  # fmt: skip
            p.output += data
            p.received += 1
            if last:
                self._answer(key, wire.Result.parse(p.head, bytes(p.output)))
        else:
            raise GatewayError(f"an unexpected {msg.kind} for replica {key}", code="malformed")

    def _answer(self, key: Key, outcome: Any) -> None:
        p = self.pending.pop(key)
        if not p.future.done():
            p.future.set_result(outcome)

    def fail_all(self, reason: str) -> None:
        """The session is gone: every order it held is lost."""
        self.closed = True
        for p in self.pending.values():
            if not p.future.done():
                p.future.set_exception(SessionLost(reason))
                p.future.exception()  # retrieved: its waiter, if any, still gets it
        self.pending.clear()


class Sessions:
    """The sessions of this gateway, by worker id. Coroutines run on ``loop``; relay threads
    call `wait_for` and `call`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._by_worker: dict[str, Session] = {}
        self._changed = threading.Condition()

    # ---- on the loop ------------------------------------------------------------------------

    def add(self, s: Session) -> Session | None:
        """Register ``s``; returns the session it replaces (the same worker reconnected)."""
        with self._changed:
            old = self._by_worker.get(s.worker_id)
            self._by_worker[s.worker_id] = s
            self._changed.notify_all()
        return old

    def remove(self, s: Session, reason: str) -> None:
        """Forget ``s`` (if it is still the worker's current session) and fail its orders."""
        with self._changed:
            if self._by_worker.get(s.worker_id) is s:
                del self._by_worker[s.worker_id]
        s.fail_all(reason)

    def all(self) -> list[Session]:
        """The open sessions."""
        with self._changed:
            return list(self._by_worker.values())

    def get(self, worker_id: str) -> Session | None:
        """The worker's open session, if any."""
        with self._changed:
            return self._by_worker.get(worker_id)

    # ---- from relay threads -----------------------------------------------------------------

    def wait_for(self, worker_id: str, timeout: float) -> Session | None:
        """The worker's session, waiting up to ``timeout`` s for it to (re)connect."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (s := self._by_worker.get(worker_id)) is None or s.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return s

    def call(
        self, s: Session, key: Key, messages: Iterable[bytes], output_len: int, timeout: float
    ) -> Any:
        """Send an order to ``s`` and wait for its answer (a `shardy.session.Result` or
        `Failure`).

        Args:
            messages: the order's messages (`shardy.session.order_messages`): its frame, or
                its header and then its payload's chunks, made as they are sent (one at a time,
                off the loop: they may read the blob store), so about one chunk is held.

        Raises:
            SessionLost: the session closed, or did not answer within ``timeout`` seconds
                (it is closed then: a worker that sits on an order loses its session).
            Whatever making a message raises (the payload could not be read midway): the
                worker is told to drop the order (an ``abort`` chunk) first.
        """
        fut: concurrent.futures.Future = asyncio.run_coroutine_threadsafe(
            self._call(s, key, iter(messages), output_len, timeout), self.loop
        )
        try:
            return fut.result(timeout + 35)
        except concurrent.futures.TimeoutError as exc:
            fut.cancel()
            raise SessionLost(f"{s.worker_id} did not answer within {timeout:.0f}s") from exc
        except (concurrent.futures.CancelledError, asyncio.CancelledError) as exc:
            raise SessionLost(f"the order to {s.worker_id} was cancelled with its session") from exc

    async def _call(
        self, s: Session, key: Key, messages: Iterator[bytes], output_len: int, timeout: float
    ) -> Any:
        if s.closed:
            raise SessionLost(f"{s.worker_id}'s session is closed")
        if key in s.pending:
            raise SessionLost(f"replica {key} is already out on {s.worker_id}'s session")
        waiter = self.loop.create_future()
        s.pending[key] = Pending(waiter, output_len)
        try:
            sent = 0
            try:
                while not waiter.done() and (frame := await self._next(messages, sent)):
                    await s.send(frame, timeout=min(timeout, 30.0))  # answered early (a
                    sent += 1  # failure): the rest of its payload is not sent
            except SessionLost:  # a worker that does not read loses its session
                await close(s, "timeout", "the worker does not read its orders")
                raise
            except Exception as exc:  # the payload could not be read: the worker drops it
                if sent > 0:
                    abort = wire.abort_message(key, sent - 1, f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(SessionLost):
                        await s.send(abort, timeout=min(timeout, 30.0))
                raise
            try:
                async with asyncio.timeout(timeout):
                    return await waiter
            except TimeoutError:
                await close(s, "timeout", f"no answer to replica {key} within {timeout:.0f}s")
                raise SessionLost(f"{s.worker_id} did not answer replica {key}") from None
        finally:
            if s.pending.get(key) is not None and s.pending[key].future is waiter:
                del s.pending[key]

    async def _next(self, messages: Iterator[bytes], sent: int) -> bytes | None:
        """The next message to send (None: no more); the first is made on the loop, the rest
        (payload chunks, read from the blob store) on a thread."""
        if sent == 0:
            return next(messages, None)
        return await self.loop.run_in_executor(None, next, messages, None)

    def run(self, coro_fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run a coroutine on the loop from a thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)


async def close(s: Session, code: str, message: str) -> None:
    """Tell the worker why, then close its session (its orders are lost, then reassigned)."""
    if s.closed:
        return
    s.fail_all(message)
    log.warning("closing %s's session: %s (%s)", s.worker_id, message, code)
    try:
        async with asyncio.timeout(2):
            await s.ws.send_bytes(wire.error(code, message))
            await s.ws.close()
    except (TimeoutError, ConnectionError, RuntimeError):
        pass
