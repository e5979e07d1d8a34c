"""The gateway's side of a streamed order (orchestrator/gateway/sessions.py `Sessions.call`), on
a real aiohttp WebSocket: the order's messages are made one at a time as they are sent, and when
the payload cannot be read midway the worker is told to drop the order (an ``abort`` chunk) and
the relay gets the error; a worker that answers early stops the rest."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web

from shardy import session as wire
from shardy.errors import BlobUnavailable
from shardy.orchestrator.gateway.sessions import Session, Sessions

KEY = ("5b1e0c2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b", 0, 1)


@pytest.fixture
def door() -> Iterator[tuple[Sessions, asyncio.AbstractEventLoop, str]]:
    """A loop thread serving one session endpoint; yields (sessions, loop, URL)."""
    loop = asyncio.new_event_loop()
    sessions = Sessions(loop)
    closed = asyncio.Event()

    async def session(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=wire.FRAME_LIMIT)
        await ws.prepare(request)
        s = Session("w1", "op", "v", 2, "test", ws, protocol=wire.PROTOCOL)
        sessions.add(s)
        async for msg in ws:  # the worker's answers
            s.receive(wire.decode(msg.data, "result", "chunk", "failure"))
        await closed.wait()
        return ws

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/s", session)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # noqa: SLF001

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield sessions, loop, f"ws://127.0.0.1:{port}/s"
    loop.call_soon_threadsafe(closed.set)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _messages(chunks: int, fail_after: int | None = None) -> Iterator[bytes]:
    """A streamed order's messages (header, chunks) whose payload read fails after
    ``fail_after`` chunks."""
    yield wire.encode("order_chunk", {"task_id": "head"})  # stands for the header here
    for i in range(chunks):
        if i == fail_after:
            raise BlobUnavailable("could not read blob 3f2a: connection reset")
        yield wire.encode("order_chunk", {"task_id": KEY[0], "round": 0, "replica": 1,
                                          "index": i}, [bytes(wire.CHUNK)])  # fmt: skip


async def _worker(url: str, got: list[wire.Message], answer_after: int | None) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        async for msg in ws:
            m = wire.decode(msg.data, "order_chunk")
            got.append(m)
            if m.meta.get("abort") is not None:
                return
            if answer_after is not None and len(got) == answer_after:
                failure = wire.Failure(*KEY, "PayloadError: not wanted", True)
                await ws.send_bytes(failure.encode())
                await asyncio.sleep(2)  # what still comes, comes now
                return


def _connect(sessions: Sessions, loop, url: str, answer_after: int | None = None):
    got: list[wire.Message] = []
    done = asyncio.run_coroutine_threadsafe(_worker(url, got, answer_after), loop)
    return sessions.wait_for("w1", 10), got, done


def test_a_payload_that_cannot_be_read_midway_is_aborted(door) -> None:
    sessions, loop, url = door
    s, got, done = _connect(sessions, loop, url)
    with pytest.raises(BlobUnavailable, match="connection reset"):
        sessions.call(s, KEY, _messages(5, fail_after=2), 1024, 30.0)
    done.result(10)
    assert [m.meta.get("index") for m in got] == [None, 0, 1, 2]
    assert got[-1].meta["abort"].startswith("BlobUnavailable: could not read blob 3f2a")
    assert got[-1].segments == () and wire.chunk_key(got[-1]) == KEY
    assert s.pending == {}  # the order is no longer out


def test_a_worker_that_answers_early_stops_the_rest(door) -> None:
    sessions, loop, url = door
    s, got, done = _connect(sessions, loop, url, answer_after=2)
    outcome = sessions.call(s, KEY, _messages(200), 1024, 30.0)
    done.result(30)
    assert isinstance(outcome, wire.Failure) and outcome.error == "PayloadError: not wanted"
    assert len(got) < 50  # the 200 MiB did not all go out after the answer
