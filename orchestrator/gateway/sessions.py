"""The gateway's sessions: one per authenticated remote worker, on the gateway's event loop,
with the orders it holds; and the thread-safe door relay threads use to reach them."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from shardy import session as wire
from shardy.errors import GatewayError
from shardy.orchestrator.gateway.batch import Batcher
from shardy.orchestrator.gateway.handoff import SKIPPED, Around, Messages, Reply, settle

log = logging.getLogger("shardy.gateway")

Key = tuple[str, int, int]  # (task id, round, replica)


class SessionLost(Exception):
    """The session closed before the worker answered the order."""


@dataclass(eq=False)
class Pending:
    """An order out on a session: the relay thread's reply, the deadline of its answer, and
    a chunked output arriving."""

    reply: Reply
    output_len: int
    around: Around | None = None
    batch: Batcher | None = None
    timer: asyncio.TimerHandle | None = None
    answered: bool = False
    head: wire.Message | None = None
    output: bytearray | None = None
    chunks: int = 0
    received: int = 0

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        """On the loop: stop the answer's clock and answer the relay thread, once (after the
        answer's Redis work, when there is some)."""
        if self.answered:
            return
        self.answered = True
        if self.timer is not None:
            self.timer.cancel()
        then = self.around.then if self.around is not None else None
        if error is not None or then is None or self.batch is None:
            self.reply.set(value, error)
            return
        try:
            staged = then(value)
        except Exception as exc:  # noqa: BLE001 - handed to the relay thread
            self.reply.set(error=exc)
            return
        if staged is None:
            self.reply.set(value)
            return
        build, outcome = staged
        # the relay thread is answered from the batch thread: no further turn of the loop
        self.batch.submit(build, lambda r: settle(self.reply, outcome, r), on_loop=False)


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
        self.pending.pop(key).finish(outcome)

    def fail_all(self, reason: str) -> None:
        """The session is gone: every order it held is lost."""
        self.closed = True
        for p in self.pending.values():
            p.finish(error=SessionLost(reason))
        self.pending.clear()


class Sessions:
    """The sessions of this gateway, by worker id. Coroutines run on ``loop``; relay threads
    call `wait_for` and `call`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batch: Batcher | None = None) -> None:
        self.loop = loop
        self.batch = batch
        self._by_worker: dict[str, Session] = {}
        self._changed = threading.Condition()
        #: orders handed over by relay threads, started on the loop in batches: one wake-up
        #: of the loop (a write to its self-pipe) for however many came meanwhile
        self._inbox: collections.deque[Callable[[], None]] = collections.deque()
        self._woken = False
        self._sending: set[asyncio.Task] = set()

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
        self,
        s: Session,
        key: Key,
        messages: Iterable[bytes],
        output_len: int,
        timeout: float,
        around: Around | None = None,
    ) -> Any:
        """Send an order to ``s`` and wait for its answer (a `shardy.session.Result` or
        `Failure`), or for what ``around`` makes of it.

        Args:
            messages: the order's messages (`shardy.session.order_messages`): its frame, or
                its header and then its payload's chunks, made as they are sent (one at a time,
                off the loop: they may read the blob store), so about one chunk is held.
            around: Redis work before and after (needs this object's ``batch``).

        Raises:
            SessionLost: the session closed, or did not answer within ``timeout`` seconds
                (it is closed then: a worker that sits on an order loses its session).
            Whatever making a message raises (the payload could not be read midway): the
                worker is told to drop the order (an ``abort`` chunk) first.
        """
        reply = self.start(s, key, messages, output_len, timeout, around)
        return self.wait(s, key, reply, timeout + 35)

    def start(
        self,
        s: Session,
        key: Key,
        messages: Iterable[bytes],
        output_len: int,
        timeout: float,
        around: Around | None = None,
    ) -> Reply:
        """`call`'s first half: hand the order to the loop and return at once; `wait` on the
        reply (a group's orders all go out before its thread waits for the first answer)."""
        reply = Reply()
        if around is not None and self.batch is None:
            raise ValueError("Redis work around an order needs the gateway's Batcher")
        self._hand_over(lambda: self._start(s, key, messages, output_len, timeout, reply, around))
        return reply

    def wait(self, s: Session, key: Key, reply: Reply, timeout: float) -> Any:
        """`call`'s second half: the outcome of the order `start` sent, raised if an error;
        after ``timeout`` seconds the order is abandoned (`SessionLost`)."""
        if not reply.wait(max(0.0, timeout)):
            self.loop.call_soon_threadsafe(self._abandon, s, key, reply)
            raise SessionLost(f"{s.worker_id} did not answer in time")
        if reply.error is not None:
            raise reply.error
        return reply.value

    def _hand_over(self, start: Callable[[], None]) -> None:
        """From a relay thread: run ``start`` on the loop soon. The flag is cleared before the
        loop drains, so an order appended meanwhile is drained then or wakes it again."""
        self._inbox.append(start)
        if not self._woken:
            self._woken = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._woken = False
        while self._inbox:
            self._inbox.popleft()()

    def _start(
        self,
        s: Session,
        key: Key,
        messages: Iterable[bytes],
        output_len: int,
        timeout: float,
        reply: Reply,
        around: Around | None,
    ) -> None:
        if s.closed:
            reply.set(error=SessionLost(f"{s.worker_id}'s session is closed"))
            return
        if key in s.pending:
            reply.set(error=SessionLost(f"replica {key} is already out on {s.worker_id}'s session"))
            return
        p = s.pending[key] = Pending(reply, output_len, around, self.batch)
        go = lambda: self._go(s, key, p, messages, timeout)  # noqa: E731
        if around is None or around.skip_if is None or self.batch is None:
            go()
            return
        skip_if = around.skip_if

        def checked(replies: Any) -> None:
            if p.answered:  # the session closed meanwhile
                return
            if isinstance(replies, Exception) or isinstance(replies[0], Exception):
                self._finish(s, key, p, replies if isinstance(replies, Exception) else replies[0])
            elif replies[0]:
                self._finish(s, key, p, None, SKIPPED)
            else:
                go()

        self.batch.submit(lambda pipe: pipe.exists(skip_if), checked)

    def _go(self, s: Session, key: Key, p: Pending, messages: Iterable[bytes], timeout: float):
        task = self.loop.create_task(self._send(s, key, p, messages, timeout))
        self._sending.add(task)  # held until done (the loop keeps weak references)
        task.add_done_callback(self._sending.discard)

    async def _send(
        self, s: Session, key: Key, p: Pending, messages: Iterable[bytes], timeout: float
    ) -> None:
        """Send an order's messages, then give its answer ``timeout`` seconds."""
        sent = 0
        made = Messages(messages, self.loop)
        try:
            while not p.answered and (frame := await made.next()):
                await s.send(frame, timeout=min(timeout, 30.0))  # answered early (a
                sent += 1  # failure): the rest of its payload is not sent
        except asyncio.CancelledError:
            self._finish(s, key, p, SessionLost(f"the order to {s.worker_id} was cancelled"))
            raise
        except SessionLost as exc:  # a worker that does not read loses its session
            self._finish(s, key, p, error=exc)
            await close(s, "timeout", "the worker does not read its orders")
            return
        except Exception as exc:  # the payload could not be read: the worker drops it
            if sent > 0:
                abort = wire.abort_message(key, sent - 1, f"{type(exc).__name__}: {exc}")
                with contextlib.suppress(SessionLost):
                    await s.send(abort, timeout=min(timeout, 30.0))
            self._finish(s, key, p, error=exc)
            return
        if not p.answered:
            p.timer = self.loop.call_later(timeout, self._late, s, key, p, timeout)

    def _late(self, s: Session, key: Key, p: Pending, timeout: float) -> None:
        """No answer in time: the order is lost and the session closed."""
        if p.answered:
            return
        self._finish(s, key, p, error=SessionLost(f"{s.worker_id} did not answer replica {key}"))
        self.loop.create_task(
            close(s, "timeout", f"no answer to replica {key} within {timeout:.0f}s")
        )

    @staticmethod
    def _finish(
        s: Session, key: Key, p: Pending, error: BaseException | None, value: Any = None
    ) -> None:
        if s.pending.get(key) is p:
            del s.pending[key]
        if not p.answered:
            p.answered = True
            if p.timer is not None:
                p.timer.cancel()
            p.reply.set(value, error)

    @staticmethod
    def _abandon(s: Session, key: Key, reply: Reply) -> None:
        """The relay thread gave up waiting: forget its order."""
        p = s.pending.get(key)
        if p is not None and p.reply is reply:
            Sessions._finish(s, key, p, SessionLost("abandoned"))

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
