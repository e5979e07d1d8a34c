"""A hand-driven gateway client for the trust-boundary tests: it speaks the session protocol
one message at a time, so a test can enroll, say hello, and then misbehave as an attacker
would (replayed handshakes, foreign keys, results for replicas it does not hold, garbage)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from proof_support import enrollment_proof, replica_proof

from shardy import enrollment
from shardy import session as wire
from shardy.kernels import registry
from shardy.keyring import default_build
from shardy.messages import ReplicaOrder
from shardy.workers.identity import worker_commitment
from shardy.zk import load_circuit, new_worker_secret

_CIRCUIT = None


def circuit():
    """The committed development key's circuit (the active key of a fresh cluster)."""
    global _CIRCUIT
    if _CIRCUIT is None:
        _CIRCUIT = load_circuit(default_build())
    return _CIRCUIT


@dataclass
class Identity:
    """A worker's secrets: its signing key and attestation secret."""

    key: enrollment.SigningKey = field(default_factory=enrollment.SigningKey.generate)
    secret: int = field(default_factory=new_worker_secret)

    @property
    def commitment(self) -> str:
        return worker_commitment(self.secret)


def enroll_meta(ident: Identity, token: str, challenge: dict[str, Any]) -> dict[str, Any]:
    """An honest enrollment message's fields for ``challenge``."""
    tok = enrollment.parse_token(token)
    nonce = challenge["nonce"]
    task_id, digest = enrollment.enrollment_statement(nonce, ident.key.public_hex,
                                                      ident.commitment)  # fmt: skip
    proof, signals = enrollment_proof(circuit(), task_id, digest, ident.secret)
    message = enrollment.enroll_message(tok.operator_id, nonce, ident.key.public_hex,
                                        ident.commitment)  # fmt: skip
    return {"token": token, "public_key": ident.key.public_hex, "commitment": ident.commitment,
            "signature": ident.key.sign(message), "key_id": challenge["key_id"], "proof": proof,
            "public_signals": signals}  # fmt: skip


def hello_meta(ident: Identity, challenge: dict[str, Any], slots: int = 2,
               protocol: int = wire.PROTOCOL) -> dict[str, Any]:  # fmt: skip
    """An honest hello's fields for ``challenge``."""
    message = enrollment.session_message(challenge["gateway"], challenge["nonce"],
                                         ident.key.public_hex)  # fmt: skip
    return {"public_key": ident.key.public_hex, "signature": ident.key.sign(message),
            "slots": slots, "adapter": "test client", "protocol": protocol}  # fmt: skip


class Client:
    """One WebSocket connection to a gateway, driven by hand."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> Client:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.url, max_msg_size=1 << 26)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self.http.close()

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def message(self, *kinds: str, timeout: float = 30.0) -> wire.Message:
        """The next message (raises the gateway's `GatewayError` when it refuses)."""
        msg = await self.ws.receive(timeout)
        if msg.type != aiohttp.WSMsgType.BINARY:
            raise ConnectionError(f"session closed ({msg.type.name}, {self.ws.close_code})")
        return wire.decode(msg.data, *kinds)

    async def closed(self, timeout: float = 30.0) -> bool:
        """True once the gateway has closed the session (reading and dropping what comes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            try:
                msg = await self.ws.receive(left)
            except TimeoutError:
                return False
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):  # fmt: skip
                return True

    async def join(self, ident: Identity, token: str | None = None, slots: int = 2,
                   protocol: int = wire.PROTOCOL) -> str:  # fmt: skip
        """Enroll (when a token is given) and say hello (naming ``protocol``); returns the
        worker id."""
        challenge = (await self.message("challenge")).meta
        if token is not None:
            await self.send(wire.encode("enroll", enroll_meta(ident, token, challenge)))
            await self.message("enrolled")
            challenge = (await self.message("challenge")).meta
        await self.send(wire.encode("hello", hello_meta(ident, challenge, slots, protocol)))
        return wire.text((await self.message("welcome")).meta, "worker_id")

    async def order(self, timeout: float = 60.0) -> ReplicaOrder:
        """The next replica order (a streamed payload reassembled and checked: inline)."""
        data = await self._binary(timeout)
        n = wire.streamed(wire.decode(data, "order"))
        order = ReplicaOrder.decode(data)
        if n == 0:
            return order
        sink = io.BytesIO()
        inbound = wire.Inbound(order, n, sink)
        while not inbound.take(wire.decode(await self._binary(timeout), "order_chunk")):
            pass
        return replace(order, payload=replace(order.payload, inline=sink.getvalue()))

    async def _binary(self, timeout: float) -> bytes:
        msg = await self.ws.receive(timeout)
        if msg.type != aiohttp.WSMsgType.BINARY:
            raise ConnectionError(f"session closed ({msg.type.name})")
        return msg.data


def run(coro: Any) -> Any:
    """Run a test scenario's coroutine."""
    return asyncio.run(coro)


def answer(ident: Identity, order: ReplicaOrder, output: bytes | None = None,
           digest: str | None = None) -> bytes:  # fmt: skip
    """A result message for ``order``: the kernel's numpy oracle as the output (or ``output``),
    attested (as ``digest``, default the output's sha256) under ``ident``'s secret for the
    order's own replica (its round and number)."""
    kernel = registry.get(order.kernel)
    if output is None:
        params = kernel.resolve_params(order.params)
        output = kernel.reference(order.payload.inline, params, order.seed).tobytes()
    digest = digest or hashlib.sha256(output).hexdigest()
    proof, signals = replica_proof(circuit(), order.subject(), digest, ident.secret, order.round,
                                   order.replica)  # fmt: skip
    return wire.Result(order.task_id, order.round, order.replica, order.key_id, output, proof,
                       signals).encode()[0]  # fmt: skip


async def serve_honestly(client: Client, ident: Identity, orders: list | None = None) -> None:
    """Answer every order with the oracle's output until the session closes."""
    while True:
        try:
            order = await client.order(timeout=3600)
        except (ConnectionError, TimeoutError):
            return
        if orders is not None:
            orders.append(order)
        await client.send(await asyncio.to_thread(answer, ident, order))
