"""A small gateway for the streamed-order tests: an aiohttp server that speaks the session
protocol (challenge, enrolled for any enrollment, welcome for any hello: nothing is checked),
serves the committed development key at ``/keys/<id>/<field>`` and, for a browser, the worker
page; then the test drives the session by hand. `broken_streams` sends the ways a gateway can
break a streamed order and checks each is answered by a clear failure."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from aiohttp import web
from browser_support import dev_key

from shardy import frames
from shardy import session as wire
from shardy.blobs import BlobRef
from shardy.messages import ReplicaOrder
from shardy.orchestrator.gateway.page import WorkerPage


class FakeGateway:
    """One session at a time, handed to the test through `session` (a future)."""

    def __init__(self, page: bool = False) -> None:
        self.kid, self.files = dev_key()
        self.page = page
        self.session: asyncio.Future = asyncio.get_running_loop().create_future()
        self.done = asyncio.Event()
        self.port = 0

    async def start(self) -> str:
        """Serve on 127.0.0.1; returns the session URL."""
        app = web.Application()
        app.router.add_get("/session", self._session)
        app.router.add_get("/keys/{kid}/{field}", self._key)
        if self.page:
            WorkerPage().add_routes(app)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        return f"ws://127.0.0.1:{self.port}/session"

    async def _key(self, request: web.Request) -> web.Response:
        if request.match_info["kid"] != self.kid or request.match_info["field"] not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[request.match_info["field"]])

    async def _challenge(self, ws: web.WebSocketResponse) -> wire.Message:
        await ws.send_bytes(wire.encode("challenge", {"nonce": "0" * 32, "gateway": "fake",
                                                      "key_id": self.kid,
                                                      "protocol": wire.PROTOCOL}))  # fmt: skip
        return wire.decode((await ws.receive()).data, "hello", "enroll")

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1 << 26)
        await ws.prepare(request)
        if (await self._challenge(ws)).kind == "enroll":
            await ws.send_bytes(wire.encode("enrolled", {"worker_id": "w-fake"}))
            await self._challenge(ws)
        await ws.send_bytes(wire.encode("welcome", {"worker_id": "w-fake", "slots": 2}))
        if not self.session.done():
            self.session.set_result(ws)
        await self.done.wait()
        return ws

    async def stop(self) -> None:
        self.done.set()
        await self.runner.cleanup()


def order(kid: str, payload: bytes) -> ReplicaOrder:
    """A histogram order for ``payload`` (with the order hash the page needs)."""
    ref = BlobRef(hashlib.sha256(payload).hexdigest(), len(payload))
    return ReplicaOrder(str(uuid.uuid4()), 0, 0, "histogram", 3, 1024, {}, ref, kid,
                        with_order_hash=True)  # fmt: skip


def with_chunks(head: bytes, chunks: int) -> bytes:
    """An order header naming ``chunks`` instead of its own count."""
    frame = frames.decode_frame(head)
    return frames.encode_frame({**frame.meta, "chunks": chunks}, list(frame.segments))


async def answer(ws: web.WebSocketResponse, o: ReplicaOrder) -> wire.Message:
    """The worker's next answer, which must be for ``o``."""
    msg = wire.decode((await ws.receive(timeout=240)).data, "result", "failure")
    got = (msg.meta["task_id"], msg.meta["round"], msg.meta["replica"])
    assert got == (o.task_id, o.round, o.replica), (msg.kind, msg.meta)
    return msg


async def failure(ws: web.WebSocketResponse, o: ReplicaOrder, match: str) -> None:
    """The worker's next answer is a permanent PayloadError failure for ``o`` saying ``match``."""
    msg = await answer(ws, o)
    assert msg.kind == "failure", msg.meta
    f = wire.Failure.parse(msg)
    assert f.permanent and f.error.startswith("PayloadError: "), f
    assert match in f.error, f.error


async def broken_streams(ws: web.WebSocketResponse, kid: str, data: bytes) -> None:
    """Out of order, a wrong count, bytes that do not hash, a chunk for no order held, and an
    abort (no answer): each (but the abort) is failed with a clear message. ``data`` takes 4
    chunks."""
    out_of_order = order(kid, data)
    head, *chunks = wire.order_messages(out_of_order, [data])
    for m in (head, chunks[1], chunks[0]):
        await ws.send_bytes(m)
    await failure(ws, out_of_order, "came out of order (expected chunk 0 of 4)")
    for m in chunks[2:]:  # the rest of an order given up passes in silence
        await ws.send_bytes(m)

    wrong_count = order(kid, data)
    head, *chunks = wire.order_messages(wrong_count, [data])
    await ws.send_bytes(with_chunks(head, len(chunks) + 1))
    await failure(ws, wrong_count, "names 5 chunks for a payload")
    for m in chunks:
        await ws.send_bytes(m)

    aborted = order(kid, data)
    head, *chunks = wire.order_messages(aborted, [data])
    key = (aborted.task_id, aborted.round, aborted.replica)
    for m in (head, chunks[0], wire.abort_message(key, 1, "BlobNotFound: expired")):
        await ws.send_bytes(m)

    tampered = order(kid, data)
    head, *chunks = wire.order_messages(tampered, [data])
    last = wire.decode(chunks[-1], "order_chunk")
    bad = bytearray(last.segments[0])
    bad[-1] ^= 0xFF
    for m in (head, *chunks[:-1], wire.encode("order_chunk", last.meta, [bytes(bad)])):
        await ws.send_bytes(m)
    await failure(ws, tampered, "does not hash to its order's sha256")  # (not the aborted one)

    stray = order(kid, data)
    _, first, *_ = wire.order_messages(stray, [data])
    await ws.send_bytes(first)
    await failure(ws, stray, "which this worker does not hold")
