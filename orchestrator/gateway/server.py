"""The gateway's HTTP and WebSocket server (aiohttp, on its own event loop thread): the
session endpoint (challenge, enrollment, signed hello, then orders and answers), the key
material workers prove with, and a health check.

aiohttp was measured against Starlette on uvicorn and the `websockets` library (docs/
benchmarks.md, "Gateway"): 15 KiB per idle session, the fastest relay per CPU-second, HTTP
routes and a client in one library, and it answers malformed handshakes with 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
from typing import Any

from aiohttp import WSMsgType, web

from shardy import enrollment, keyring, routing
from shardy import session as wire
from shardy.celery_app import ShardyCelery
from shardy.errors import AuthError, GatewayError, ShardyError
from shardy.orchestrator import keys, operators
from shardy.orchestrator.gateway.batch import Batcher
from shardy.orchestrator.gateway.page import PREFIX, WorkerPage
from shardy.orchestrator.gateway.sessions import Session, Sessions, close

log = logging.getLogger("shardy.gateway")
logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # untrusted input floods it

#: WebSocket pings (and dead peers found) every this many seconds.
HEARTBEAT_S = 20.0
_KEY_ID = re.compile(r"^[0-9a-f]{1,32}$")


class Gateway:
    """One gateway process's server: settings, Celery app (Redis, blob store, SQL), sessions.

    Args:
        app: the trusted side's Celery app.
        gateway_id: this gateway's id (its queue is ``shardy.gw.<id>``).
    """

    def __init__(self, app: ShardyCelery, gateway_id: str) -> None:
        self.app = app
        self.settings = app.settings
        self.id = gateway_id
        self.queue = routing.gateway_queue(gateway_id)
        self.loop = _new_loop()
        self.batch = Batcher(app.redis, self.loop)
        self.sessions = Sessions(self.loop, self.batch)
        self.address: tuple[str, int] | None = None
        self.page = WorkerPage()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Gateway:
        """Serve on SHARDY_GATEWAY_LISTEN from a daemon thread; returns once listening."""
        threading.Thread(target=self.loop.run_forever, name="shardy-gateway", daemon=True).start()
        self.batch.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout)
        threading.Thread(target=self._beats, name="shardy-gateway-beat", daemon=True).start()
        threading.Thread(target=self._revocations, name="shardy-revoked", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close every session and the server."""
        self._stop.set()
        self.batch.stop()

        async def shutdown() -> None:
            for s in self.sessions.all():
                await close(s, "shutdown", "the gateway is shutting down; reconnect")
            if self._runner is not None:
                await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        with contextlib.suppress(Exception):
            routing.leave(self.app.redis, *(s.worker_id for s in self.sessions.all()))
            routing.leave_gateway(self.app.redis, self.queue)
        self.loop.call_soon_threadsafe(self.loop.stop)

    @property
    def url(self) -> str:
        """Where workers connect: ws(s)://host:port/session."""
        assert self.address is not None
        scheme = "wss" if self.settings.gateway_cert else "ws"
        return f"{scheme}://{self.address[0]}:{self.address[1]}/session"

    @property
    def page_url(self) -> str:
        """The worker page: http(s)://host:port/worker/ (open it with an enrollment link)."""
        assert self.address is not None
        scheme = "https" if self.settings.gateway_cert else "http"
        return f"{scheme}://{self.address[0]}:{self.address[1]}{PREFIX}"

    async def _serve(self) -> None:
        app = web.Application(client_max_size=1024)
        app.router.add_get("/session", self._session)
        app.router.add_get("/keys/{kid}/{field}", self._key)
        app.router.add_get("/healthz", self._health)
        self.page.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=10)
        await self._runner.setup()
        host, _, port = self.settings.gateway_listen.rpartition(":")
        site = web.TCPSite(self._runner, host or "0.0.0.0", int(port), backlog=4096,
                           ssl_context=self._tls())  # fmt: skip
        await site.start()
        sock = site._server.sockets[0]  # noqa: SLF001 - the bound port when 0 was asked for
        self.address = sock.getsockname()[:2]
        log.info("gateway %s serving %s", self.id, self.url)

    def _tls(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.gateway_cert is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(s.gateway_cert, s.gateway_key)
        return ctx

    # ---- HTTP -------------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"gateway": self.id, "sessions": len(self.sessions.all())})

    async def _key(self, request: web.Request) -> web.Response:
        """A key file workers prove with (they check it against the key id themselves)."""
        kid, name = request.match_info["kid"], request.match_info["field"]
        if not _KEY_ID.match(kid) or name not in (*keyring.FILES, keyring.MANIFEST_FIELD):
            raise web.HTTPNotFound()
        data = await self._in_thread(self.app.redis.hget, keyring.KEY_PREFIX + kid, name)
        if data is None:
            raise web.HTTPNotFound(text=f"key {kid} is not published")
        return web.Response(body=data, content_type="application/octet-stream")

    # ---- sessions ---------------------------------------------------------------------------

    async def _session(self, request: web.Request) -> web.WebSocketResponse:
        # no frame above FRAME_LIMIT, before authentication or after: outputs come in chunks
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=wire.FRAME_LIMIT,
                                   compress=False)  # fmt: skip
        await ws.prepare(request)
        try:
            async with asyncio.timeout(self.settings.handshake_timeout):
                s = await self._handshake(ws)
        except (GatewayError, AuthError, TimeoutError) as exc:
            code = getattr(exc, "code", "auth" if isinstance(exc, AuthError) else "timeout")
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(wire.error(code, str(exc) or "handshake timed out"))
            await ws.close()
            return ws
        old = self.sessions.add(s)
        if old is not None:
            await close(old, "replaced", "a newer session of this worker opened")
        await ws.send_bytes(wire.encode("welcome", {"worker_id": s.worker_id, "slots": s.slots}))
        await self._in_thread(self._beat, [s])
        try:
            await self._serve_session(s)
        finally:
            self.sessions.remove(s, "session closed")
            if self.sessions.get(s.worker_id) is None:
                await self._in_thread(routing.leave, self.app.redis, s.worker_id)
        return ws

    async def _serve_session(self, s: Session) -> None:
        async for msg in s.ws:
            if msg.type != WSMsgType.BINARY:
                await close(s, "malformed", "only binary Shardy frames are accepted")
                return
            try:
                s.receive(wire.decode(msg.data, "result", "chunk", "failure"))
            except GatewayError as exc:
                await close(s, exc.code, str(exc))
                return

    async def _handshake(self, ws: web.WebSocketResponse) -> Session:
        """Challenge, optional enrollment, signed hello; returns the session."""
        for _ in range(2):  # at most one enrollment, then the hello
            nonce = enrollment.new_nonce()
            kid = await self._in_thread(keys.active_key, self.app)
            await ws.send_bytes(wire.encode("challenge", {"nonce": nonce, "gateway": self.id,
                                                          "key_id": kid,
                                                          "protocol": wire.PROTOCOL}))  # fmt: skip
            msg = await ws.receive()
            if msg.type != WSMsgType.BINARY:
                raise GatewayError("expected a binary Shardy frame", code="malformed")
            m = wire.decode(msg.data, "enroll", "hello")
            if m.kind == "hello":
                return await self._in_thread(self._hello, m.meta, nonce, ws)
            worker_id = await self._in_thread(self._enroll, m.meta, nonce)
            await ws.send_bytes(wire.encode("enrolled", {"worker_id": worker_id}))
        raise GatewayError("enroll once, then say hello", code="malformed")

    def _enroll(self, meta: dict[str, Any], nonce: str) -> str:
        req = operators.EnrollRequest.from_json(meta)
        with self.app.store.session() as session:
            worker = operators.enroll(session, req, nonce, keys.accepted(session))
            log.info("enrolled %s", worker.id)
            return worker.id

    def _hello(self, meta: dict[str, Any], nonce: str, ws: web.WebSocketResponse) -> Session:
        public_key, signature = wire.text(meta, "public_key", 64), wire.text(meta, "signature")
        message = enrollment.session_message(self.id, nonce, public_key)
        if not enrollment.verify(public_key, message, signature):
            raise AuthError("the hello's signature does not verify for this key and challenge")
        slots = min(wire.integer(meta, "slots", 1, 1024), self.settings.remote_slots)
        adapter = wire.printable(wire.text(meta, "adapter", 200))
        with self.app.store.session() as session:
            worker = operators.session_worker(session, public_key)
            worker.adapter = adapter
            voter = self.settings.voter(worker.id, worker.operator, "remote")
            s = Session(worker.id, worker.operator or "", voter, slots, adapter, ws,
                        protocol=_protocol(meta))  # fmt: skip
        log.info("session of %s (%s, %d slots)", s.worker_id, adapter, slots)
        return s

    # ---- liveness and revocation --------------------------------------------------------------

    def _beat(self, sessions: list[Session]) -> None:
        routing.beat_all(self.app.redis, [
            routing.Live(s.worker_id, self.queue, s.slots, s.voter, "remote")
            for s in sessions if not s.closed
        ])  # fmt: skip

    def _beats(self) -> None:
        while True:
            try:  # the gateway itself, then its sessions
                routing.beat_gateway(self.app.redis, self.queue)
                self._beat(self.sessions.all())
            except ShardyError as exc:
                log.warning("beating for sessions failed: %s", exc)
            except Exception as exc:  # noqa: BLE001 - Redis restarting: keep beating
                log.warning("beating for sessions failed: %r", exc)
            if self._stop.wait(routing.ALIVE_WINDOW / 3):
                return

    def _revocations(self) -> None:
        """Close the sessions of workers the orchestrator revokes (`shardy operators revoke`)."""
        while not self._stop.is_set():
            try:
                pubsub = self.app.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(operators.REVOKED_CHANNEL)
                for msg in pubsub.listen():
                    worker_id = msg["data"].decode(errors="replace")
                    s = self.sessions.get(worker_id)
                    if s is not None:
                        asyncio.run_coroutine_threadsafe(
                            close(s, "revoked", "this worker or its operator was revoked"),
                            self.loop,
                        )
            except Exception as exc:  # noqa: BLE001 - Redis restarting: subscribe again
                log.warning("revocation channel: %r; resubscribing", exc)
                self._stop.wait(2)

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        return await self.loop.run_in_executor(None, fn, *args)


def _protocol(meta: dict[str, Any]) -> int:
    """The session protocol a hello names (1 when absent or not a small integer)."""
    value = meta.get("protocol")
    return value if type(value) is int and 1 <= value <= wire.PROTOCOL else 1


def _new_loop() -> asyncio.AbstractEventLoop:
    """An event loop for the server thread: uvloop's when installed (twice the relay rate per
    CPU-second, measured), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
