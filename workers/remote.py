"""A remote worker (``shardy worker --gateway URL``): the same compute path as a fleet worker
(WASM preprocessing, WGSL on wgpu, batch attestation), reached through a gateway only. It
holds no broker, Redis or database credentials: its signing key and attestation secret stay
in its SHARDY_HOME, it enrolls once with an operator's token, opens a session with a signed
challenge, runs the orders the gateway sends and reconnects with backoff when cut off.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import random
import ssl
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

from shardy import enrollment
from shardy import session as wire
from shardy.config import Settings
from shardy.errors import (
    AuthError,
    BlobError,
    FrameError,
    GatewayError,
    KernelError,
    PayloadError,
    PreprocessError,
    ProofError,
    TransientError,
    WorkerError,
)
from shardy.keyring import FILES, MANIFEST_FIELD, KeyCache
from shardy.messages import ReplicaOrder
from shardy.statement import Subject, inputs_for
from shardy.workers.engine import Engine, compute
from shardy.workers.identity import worker_secret
from shardy.workers.streaming import Arrivals
from shardy.zk import prove_checked

log = logging.getLogger("shardy.worker")

Key = tuple[str, int, int]  # (task id, round, replica)

PERMANENT = (FrameError, KernelError, PayloadError, BlobError, PreprocessError, ProofError)


class GatewayKeys:
    """Key material from the gateway's ``/keys/<id>/<file>`` (what `KeyCache` reads from Redis
    on a fleet worker); `KeyCache` checks every file against the key id."""

    def __init__(self, base: str, context: ssl.SSLContext | None) -> None:
        self.base = base
        self.context = context

    def __call__(self, kid: str) -> dict[str, bytes]:
        """The key's files and manifest by field (absent ones left out)."""
        out = {}
        for field in (*FILES, MANIFEST_FIELD):
            url = f"{self.base}/keys/{urllib.parse.quote(kid)}/{field}"
            try:
                with urllib.request.urlopen(url, timeout=60, context=self.context) as resp:
                    out[field] = resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    continue
                raise TransientError(f"fetching {url}: {exc}") from exc
            except OSError as exc:
                raise TransientError(f"fetching {url}: {exc}") from exc
        return out


class RemoteWorker:
    """One remote worker process.

    Args:
        settings: its settings (SHARDY_HOME holds its key, secret and key cache).
        url: the gateway's session URL (ws://host:port/session or wss://).
        token: an operator's enrollment token (needed on the first run only).
    """

    def __init__(self, settings: Settings, url: str, token: str | None = None) -> None:
        self.settings = settings
        self.url = url
        self.token = token
        self.home = settings.home / "remote"
        self.key = enrollment.load_or_create(self.home / "worker.key")
        self.tls = _client_tls(url, settings.gateway_ca)
        base = url.split("://", 1)[1].split("/", 1)[0]
        http = "https" if url.startswith("wss") else "http"
        keys = KeyCache(GatewayKeys(f"{http}://{base}", self.tls), settings.home / "keys")
        secret = worker_secret(settings, f"remote-{self.key.public_hex[:16]}")
        self.engine = Engine(settings, secret, keys, self._keep_batch)
        # a batch of K needs K replicas in flight at once, as a fleet worker's threads pool does
        self.slots = max(settings.remote_slots, settings.attest_batch)
        self.pool = ThreadPoolExecutor(self.slots, thread_name_prefix="shardy-replica")
        self.worker_id: str | None = None
        self.done = 0
        self._batches: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._stop = asyncio.Event()
        self._sending = asyncio.Lock()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._running: set[asyncio.Task] = set()
        self._closing: asyncio.Future | None = None
        #: streamed orders whose payload is arriving (on disk from SHARDY_STREAM_THRESHOLD up)
        self.arrivals = Arrivals(settings.stream_threshold, settings.max_payload,
                                 2 * self.slots, self.engine.gpu.scratch_dir)  # fmt: skip

    def _keep_batch(self, proof: bytes, key_id: str) -> tuple[str, int]:
        """A batch proof stays here until its results carry it to the gateway."""
        sha = hashlib.sha256(proof).hexdigest()
        self._batches[sha] = proof
        while len(self._batches) > 256:
            self._batches.popitem(last=False)
        return sha, len(proof)

    def stop(self) -> None:
        """Leave (from the worker's own loop, e.g. on SIGTERM): the replicas in flight finish
        and are answered, then the session closes; the gateway reassigns what it sent since."""
        self._stop.set()
        if self._ws is not None and self._closing is None:
            self._closing = asyncio.ensure_future(self._close_when_drained(self._ws))

    async def _close_when_drained(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if self._running:
            await asyncio.wait(set(self._running), timeout=self.settings.task_time_limit)
        await ws.close()

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff (full jitter, up to 30 s) until stopped.

        Raises:
            AuthError: the gateway refused the enrollment or the key (retrying cannot help).
        """
        failures = 0
        while not self._stop.is_set():
            try:
                await self._connect_and_serve()
                failures = 0
            except AuthError:
                raise
            except (aiohttp.ClientError, OSError, GatewayError, TimeoutError) as exc:
                if isinstance(exc, GatewayError) and exc.code in ("auth", "revoked"):
                    raise AuthError(str(exc)) from exc
                log.warning("session with %s ended: %s", self.url, exc)
            failures += 1
            delay = random.uniform(0, min(30.0, 0.5 * 2 ** min(failures, 6)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _connect_and_serve(self) -> None:
        limit = max(self.settings.max_payload, self.settings.max_output) + (1 << 20)
        async with aiohttp.ClientSession() as http, http.ws_connect(
            self.url, max_msg_size=limit, heartbeat=20, ssl=self.tls or True, compress=0
        ) as ws:  # fmt: skip
            await self._handshake(ws)
            print(f"worker {self.worker_id} joined {self.url}", flush=True)  # noqa: T201
            await self._serve(ws)

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        challenge = wire.decode(await _receive(ws), "challenge")
        if not self._enrolled():
            await ws.send_bytes(await asyncio.to_thread(self._enroll_message, challenge.meta))
            enrolled = wire.decode(await _receive(ws), "enrolled")
            self._remember(wire.text(enrolled.meta, "worker_id"))
            challenge = wire.decode(await _receive(ws), "challenge")
        nonce, gateway = wire.text(challenge.meta, "nonce"), wire.text(challenge.meta, "gateway")
        signature = self.key.sign(enrollment.session_message(gateway, nonce, self.key.public_hex))
        await ws.send_bytes(wire.encode("hello", {
            "public_key": self.key.public_hex, "signature": signature, "slots": self.slots,
            "adapter": self.engine.adapter[:200], "protocol": wire.PROTOCOL,
        }))  # fmt: skip
        self.worker_id = self._enrolled()

    def _enroll_message(self, challenge: dict[str, Any]) -> bytes:
        """Sign the enrollment and prove the attestation secret behind the commitment."""
        if not self.token:
            raise AuthError(
                "this worker is not enrolled yet: give the operator's token "
                "(--token or SHARDY_GATEWAY_TOKEN) on its first run"
            )
        token = enrollment.parse_token(self.token)
        nonce, kid = wire.text(challenge, "nonce"), wire.text(challenge, "key_id", 32)
        commitment = self.engine.commitment
        task_id, digest = enrollment.enrollment_statement(nonce, self.key.public_hex, commitment)
        circuit = self.engine.keys.circuit(kid)
        signals = Subject(task_id, 0, 0, enrollment=True).signals(
            circuit.statement, digest, str(commitment), None, None
        )
        proof, signals = prove_checked(circuit, inputs_for(signals, self.engine.secret))
        message = enrollment.enroll_message(token.operator_id, nonce, self.key.public_hex,
                                            commitment)  # fmt: skip
        return wire.encode("enroll", {
            "token": str(token), "public_key": self.key.public_hex, "commitment": commitment,
            "signature": self.key.sign(message), "key_id": kid, "proof": proof,
            "public_signals": signals,
        })  # fmt: skip

    def _enrolled(self) -> str | None:
        path = self.home / "enrolled.json"
        with contextlib.suppress(OSError, ValueError, KeyError):
            return str(json.loads(path.read_text())["worker_id"])
        return None

    def _remember(self, worker_id: str) -> None:
        (self.home / "enrolled.json").write_text(json.dumps({"worker_id": worker_id}))

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        wire.decode(await _receive(ws), "welcome")
        running = self._running
        self._ws = ws
        try:
            while not self._stop.is_set():
                msg = await ws.receive()
                if self._stop.is_set():  # leaving: an order sent now goes to another worker
                    break
                if msg.type != aiohttp.WSMsgType.BINARY:
                    raise GatewayError(f"session closed ({msg.type.name})", code="closed")
                m = wire.decode(msg.data, "order", "order_chunk")
                if m.kind == "order_chunk":
                    frame, payload, timings = await self._arriving(ws, m)
                elif m.meta.get("chunks") is not None:  # its payload follows in chunks
                    await self._begin(ws, msg.data, m)
                    continue
                else:
                    frame, payload, timings = msg.data, None, {}
                if frame is None:
                    continue
                job = asyncio.create_task(self._run(ws, frame, payload, timings))
                running.add(job)
                job.add_done_callback(running.discard)
            if self._closing is not None:
                await self._closing
        finally:
            self._ws = None
            for job in running:
                job.cancel()
            self.arrivals.close()  # a new session: the gateway sends its orders again

    async def _begin(self, ws: aiohttp.ClientWebSocketResponse, frame: bytes,
                     msg: wire.Message) -> None:  # fmt: skip
        """A streamed order's header: its payload follows (`workers.streaming.Arrivals`)."""
        try:
            order = ReplicaOrder.decode(frame)
        except FrameError as exc:
            await self._send(ws, [wire.error("malformed", f"unreadable order: {exc}")])
            return
        key = (order.task_id, order.round, order.replica)
        try:
            if self.arrivals.begin(frame, order, wire.streamed(msg)):
                log.info("%s: spooling its payload to disk as it streams in", order.summary())
        except (PayloadError, GatewayError) as exc:
            await self._fail(ws, key, exc)

    async def _arriving(
        self, ws: aiohttp.ClientWebSocketResponse, msg: wire.Message
    ) -> tuple[bytes | None, memoryview | None, dict[str, float]]:
        """One chunk of a streamed order's payload: (its order frame, the payload, timings)
        once the payload is whole and checked, else (None, None, {})."""
        try:
            key = wire.chunk_key(msg)
        except GatewayError as exc:
            log.warning("a payload chunk naming no replica was dropped: %s", exc)
            return None, None, {}
        try:
            ready = self.arrivals.take(key, msg)
        except PayloadError as exc:
            await self._fail(ws, key, exc)
            return None, None, {}
        if ready is None:
            return None, None, {}
        return ready.frame, ready.payload, ready.timings

    async def _fail(self, ws: aiohttp.ClientWebSocketResponse, key: Key, exc: Exception) -> None:
        """Fail replica ``key`` (permanent: its order broke the protocol)."""
        log.warning("replica %s failed: %s", key, exc)
        self.arrivals.drop(key)  # the rest of its chunks pass in silence
        await self._send(ws, [wire.Failure(*key, f"{type(exc).__name__}: {exc}", True).encode()])

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, messages: list[bytes]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            async with self._sending:  # a chunked result's messages stay together
                for message in messages:
                    await ws.send_bytes(message)

    async def _run(self, ws: aiohttp.ClientWebSocketResponse, frame: bytes,
                   payload: memoryview | None, timings: dict[str, float]) -> None:  # fmt: skip
        answer = await asyncio.get_running_loop().run_in_executor(
            self.pool, self._compute, frame, payload, timings
        )
        await self._send(ws, answer)

    def _compute(
        self, frame: bytes, payload: bytes | memoryview | None = None, timings: dict | None = None
    ) -> list[bytes]:
        """One order, computed: the result's messages, or a failure message. ``payload``: a
        streamed order's payload, already checked against the order's sha256."""
        try:
            order = ReplicaOrder.decode(frame)
        except FrameError as exc:
            return [wire.error("malformed", f"unreadable order: {exc}")]
        ref, key = order.payload, (order.task_id, order.round, order.replica)
        try:
            if payload is None:  # inline: checked here
                if ref.inline is None or hashlib.sha256(ref.inline).hexdigest() != ref.sha256:
                    raise PayloadError("the order's payload does not hash to its reference")
                payload = ref.inline
            done = compute(self.engine, order, payload, lambda o: hashlib.sha256(o).hexdigest())
        except PERMANENT as exc:
            return [wire.Failure(*key, f"{type(exc).__name__}: {exc}", True).encode()]
        except Exception as exc:  # noqa: BLE001 - transient or unexpected: the gateway retries
            log.exception("replica %s failed", key)
            return [wire.Failure(*key, f"{type(exc).__name__}: {exc}", False).encode()]
        a = done.attestation
        batch = a.get("batch")
        self.done += 1
        return wire.Result(*key, key_id=a["key_id"], output=bytes(done.output),
                           proof=a.get("proof"), public_signals=a.get("public_signals"),
                           batch=batch,
                           batch_proof=None if batch is None else self._batches.get(
                               batch.proof_sha256),
                           timings={**(timings or {}), **done.timings}).encode()  # fmt: skip


async def _receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 60.0) -> bytes:
    msg = await ws.receive(timeout)
    if msg.type != aiohttp.WSMsgType.BINARY:
        raise GatewayError(f"the gateway closed the session ({msg.type.name})", code="closed")
    return msg.data


def _client_tls(url: str, ca: Path | None) -> ssl.SSLContext | None:
    """The TLS context for wss:// (the system's CAs, or SHARDY_GATEWAY_CA)."""
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=str(ca) if ca else None)


def run_remote_worker(settings: Settings, url: str, token: str | None) -> None:
    """Run a remote worker in the foreground until SIGINT/SIGTERM (`shardy worker --gateway`).

    Raises:
        AuthError: the gateway refused this worker.
        ShardyError: the settings or the GPU are unusable.
    """
    import signal

    wedged = False

    async def main() -> None:
        worker = RemoteWorker(settings, url, token)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop)
        serving = asyncio.current_task()

        def wedge() -> None:  # the failed replica's answer goes out first
            nonlocal wedged
            wedged = True
            if serving is not None:
                serving.cancel()

        worker.engine.on_wedged = lambda: loop.call_soon_threadsafe(loop.call_later, 1.0, wedge)
        with contextlib.suppress(asyncio.CancelledError):
            await worker.run()

    asyncio.run(main())
    if wedged:
        raise WorkerError(
            "a dispatch ran past SHARDY_TASK_TIME_LIMIT and still holds the GPU; restart this "
            "worker (its supervisor does) to get a fresh device"
        )
