"""The session protocol between a gateway and a remote worker: the messages on the WebSocket,
each a Shardy frame (JSON header, then raw segments: no base64). Pure codec, shared by both
ends; anything malformed raises `GatewayError` (code ``malformed``).

    gateway → worker   challenge {nonce, gateway, key_id}   (on connect, and after enrolling)
    worker  → gateway  enroll {token, public_key, commitment, signature, key_id, proof, ...}
    gateway → worker   enrolled {worker_id}
    worker  → gateway  hello {public_key, signature, slots, adapter, protocol}
    gateway → worker   welcome {worker_id, slots}
    gateway → worker   a replica order (`shardy.messages.ReplicaOrder`): payload inline when it
                         fits one CHUNK; larger, the order's header names the payload's sha256
                         and size and ``chunks`` (its count), no payload segment, and
    gateway → worker   order_chunk {task_id, round, replica, index} + [the next CHUNK bytes]
                         follow it (in order; each CHUNK bytes but the last), or one
                         order_chunk {..., index, abort} with no bytes: the gateway could not
                         read the rest, the worker drops the order and does not answer it
    worker  → gateway  result {task_id, round, replica, key_id, proof | batch, timings, size,
                         chunks} + [output if it fits one chunk, batch proof JSON (batched)]
    worker  → gateway  chunk {task_id, round, replica, index} + [the next CHUNK bytes]
    worker  → gateway  failure {task_id, round, replica, error, permanent}
    either  → other    error {code, message}   (then the gateway closes the session)

A worker's hello names its ``protocol``: payloads stream to workers saying 2 (`PROTOCOL`); one
saying 1 (or nothing) gets every payload inline, as before. Orders stream in chunks for the
reason results do: no frame above FRAME_LIMIT is built or held whole, and a worker never needs
the payload in memory (the Python worker spools it to disk from SHARDY_STREAM_THRESHOLD up, the
page to OPFS). A worker checks each chunk's place and length and the payload's sha256
(`Inbound`) before any byte is used; what breaks the rules fails the replica (a ``failure``
message), never the session. Chunks of different orders may interleave.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from shardy import frames
from shardy.attestations import BatchReceipt
from shardy.blobs import BlobRef
from shardy.errors import FrameError, GatewayError, PayloadError
from shardy.messages import ReplicaOrder

#: 2: orders stream their payload in ``order_chunk`` messages (a worker saying 1 in its hello gets
#: every payload inline, as before).
PROTOCOL = 2
KINDS = ("challenge", "enroll", "enrolled", "hello", "welcome", "result", "chunk", "order_chunk",
         "failure", "error")  # fmt: skip
_PREFIX = "shardy.session."
#: Output (and payload) bytes per message: larger outputs follow their result in ``chunk``
#: messages, so the gateway never takes a frame larger than FRAME_LIMIT, before authentication or
#: after; payloads larger than this follow their order in ``order_chunk`` messages.
CHUNK = 1 << 20
#: The largest message the gateway accepts (a chunk, its header and a batch proof fit).
FRAME_LIMIT = CHUNK + (1 << 20)


def encode(kind: str, meta: dict[str, Any], segments: list[bytes] | None = None) -> bytes:
    """A session message as a frame."""
    return frames.encode_frame({"kind": _PREFIX + kind, **meta}, segments or [])


@dataclass(frozen=True)
class Message:
    """A decoded session message: its kind, header fields and raw segments."""

    kind: str
    meta: dict[str, Any]
    segments: tuple[bytes, ...] = ()


def decode(data: bytes | bytearray | memoryview, *expected: str) -> Message:
    """Parse a session message whose kind is one of ``expected`` (``error`` always is).

    Raises:
        GatewayError: not a session frame, another kind, or (``error``) the peer's error.
    """
    try:
        frame = frames.decode_frame(data)
    except FrameError as exc:
        raise GatewayError(f"not a Shardy frame: {exc}", code="malformed") from exc
    kind = frame.meta.get("kind") if isinstance(frame.meta, dict) else None
    if not isinstance(kind, str) or not kind.startswith(_PREFIX):
        if kind == "shardy.order" and "order" in expected:
            return Message("order", frame.meta, tuple(bytes(s) for s in frame.segments))
        raise GatewayError(f"not a session message (kind {kind!r:.40})", code="malformed")
    kind = kind[len(_PREFIX) :]
    if kind == "error":
        code, text = frame.meta.get("code"), frame.meta.get("message")
        raise GatewayError(f"the peer refused: {str(text)[:500]}", code=str(code)[:40])
    if kind not in expected:
        raise GatewayError(f"unexpected {kind!r:.40} (expected {', '.join(expected)})",
                           code="malformed")  # fmt: skip
    return Message(kind, frame.meta, tuple(bytes(s) for s in frame.segments))


def text(meta: dict[str, Any], name: str, limit: int = 256) -> str:
    """A required string field (at most ``limit`` characters)."""
    value = meta.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise GatewayError(f"field {name!r} must be a string of at most {limit} characters",
                           code="malformed")  # fmt: skip
    return value


def printable(value: str) -> str:
    """``value`` with control characters replaced (a worker's words reach logs and rows)."""
    return "".join(c if c.isprintable() else "?" for c in value)


def integer(meta: dict[str, Any], name: str, lo: int, hi: int) -> int:
    """A required integer field in ``lo..hi``."""
    value = meta.get(name)
    if type(value) is not int or not lo <= value <= hi:
        raise GatewayError(f"field {name!r} must be an integer in {lo}..{hi}", code="malformed")
    return value


@dataclass(frozen=True)
class Result:
    """A worker's result for one replica, as the gateway receives it."""

    task_id: str
    round: int
    replica: int
    key_id: str
    output: bytes
    proof: dict[str, Any] | None = None
    public_signals: list[str] | None = None
    batch: BatchReceipt | None = None
    #: the batch proof's JSON bytes (the gateway stores them; their sha256 is in ``batch``)
    batch_proof: bytes | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, int]:
        """(task, round, replica): which order it answers."""
        return self.task_id, self.round, self.replica

    def encode(self) -> list[bytes]:
        """The result message, then ``chunk`` messages when the output exceeds one CHUNK."""
        n = len(self.output)
        chunked = n > CHUNK
        meta: dict[str, Any] = {"task_id": self.task_id, "round": self.round,
                                "replica": self.replica, "key_id": self.key_id,
                                "timings": self.timings, "size": n,
                                "chunks": -(-n // CHUNK) if chunked else 0}  # fmt: skip
        segments = [] if chunked else [self.output]
        if self.batch is not None:
            meta["batch"] = self.batch.to_json()
            segments.append(self.batch_proof or b"")
        else:
            meta["proof"], meta["public_signals"] = self.proof, self.public_signals
        head = encode("result", meta, segments)
        if not chunked:
            return [head]
        key = {"task_id": self.task_id, "round": self.round, "replica": self.replica}
        view = memoryview(self.output)
        return [head] + [encode("chunk", {**key, "index": i}, [view[at : at + CHUNK]])
                         for i, at in enumerate(range(0, n, CHUNK))]  # fmt: skip

    @classmethod
    def parse(cls, msg: Message, output: bytes | None = None) -> Result:
        """From a decoded ``result`` message (``output``: its reassembled chunks, when it had
        any). Raises GatewayError naming what is wrong."""
        m = msg.meta
        batched = m.get("batch") is not None
        inline = 0 if output is not None else 1
        if len(msg.segments) != inline + batched:
            raise GatewayError("a result carries its output (or chunks) and, batched, the "
                               "batch proof", code="malformed")  # fmt: skip
        timings = m.get("timings") or {}
        if not (isinstance(timings, dict) and len(timings) <= 16
                and all(isinstance(v, int | float) for v in timings.values())):  # fmt: skip
            raise GatewayError("timings must be a small object of numbers", code="malformed")
        common = {
            "task_id": text(m, "task_id", 64),
            "round": integer(m, "round", 0, 1 << 16),
            "replica": integer(m, "replica", 0, 1 << 16),
            "key_id": text(m, "key_id", 32),
            "output": msg.segments[0] if output is None else output,
            "timings": {printable(str(k)[:16]): float(v) for k, v in timings.items()},
        }
        if batched:
            try:
                receipt = BatchReceipt.from_json(m["batch"])
            except ValueError as exc:
                raise GatewayError(f"malformed batch receipt: {exc}", code="malformed") from exc
            return cls(**common, batch=receipt, batch_proof=msg.segments[inline])
        proof, signals = m.get("proof"), m.get("public_signals")
        if not isinstance(proof, dict) or not isinstance(signals, list) or len(signals) > 16:
            raise GatewayError("a result needs a proof object and its public signals",
                               code="malformed")  # fmt: skip
        return cls(**common, proof=proof, public_signals=[str(s)[:100] for s in signals])


@dataclass(frozen=True)
class Failure:
    """A worker could not run a replica: ``permanent`` failures are dead-lettered."""

    task_id: str
    round: int
    replica: int
    error: str
    permanent: bool

    @property
    def key(self) -> tuple[str, int, int]:
        """(task, round, replica): which order it answers."""
        return self.task_id, self.round, self.replica

    def encode(self) -> bytes:
        """The failure message."""
        return encode("failure", {"task_id": self.task_id, "round": self.round,
                                  "replica": self.replica, "error": self.error[:2000],
                                  "permanent": self.permanent})  # fmt: skip

    @classmethod
    def parse(cls, msg: Message) -> Failure:
        """From a decoded ``failure`` message."""
        m = msg.meta
        if not isinstance(m.get("permanent"), bool):
            raise GatewayError("field 'permanent' must be a boolean", code="malformed")
        return cls(text(m, "task_id", 64), integer(m, "round", 0, 1 << 16),
                   integer(m, "replica", 0, 1 << 16), printable(text(m, "error", 2000)),
                   m["permanent"])  # fmt: skip


def error(code: str, message: str) -> bytes:
    """An error message (the sender closes the session after it)."""
    return encode("error", {"code": code, "message": message[:500]})


# ---- orders whose payload streams in chunks (gateway → worker) ---------------------------------


def chunk_count(size: int) -> int:
    """How many CHUNK-sized ``order_chunk`` messages carry a payload of ``size`` bytes (0: it
    rides inline in the order)."""
    return -(-size // CHUNK) if size > CHUNK else 0


def order_messages(order: ReplicaOrder, pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """An order for a remote worker as messages: one frame, payload inline, when it fits one
    CHUNK; else its header (no payload bytes; ``chunks`` named), then ``order_chunk`` messages of
    ``pieces`` (the payload's bytes, read lazily: e.g. `shardy.blobs.BlobStore.chunks`) cut to
    CHUNK bytes. Holds about one chunk at a time.

    Raises:
        PayloadError: ``pieces`` do not add up to the order's payload size.
        Whatever ``pieces`` raises (a blob read failing midway: see `abort_message`).
    """
    ref = order.payload
    n = chunk_count(ref.size)
    if n == 0:
        if ref.inline is None:
            data = b"".join(pieces)
            order = replace(order, payload=BlobRef(ref.sha256, ref.size, data))
        yield order.encode()
        return
    head = frames.decode_frame(replace(order, payload=BlobRef(ref.sha256, ref.size)).encode())
    yield frames.encode_frame({**head.meta, "chunks": n}, list(head.segments))
    key = {"task_id": order.task_id, "round": order.round, "replica": order.replica}
    index, sent, held = 0, 0, bytearray()
    source: Iterable[bytes | memoryview] = [ref.inline] if ref.inline is not None else pieces
    for piece in source:
        view = memoryview(piece).cast("B")
        while len(held) + len(view) >= CHUNK:
            if held:  # the rest of a short piece before: top it up to one CHUNK
                take = CHUNK - len(held)
                held += view[:take]
                body, view, held = bytes(held), view[take:], bytearray()
            else:
                body, view = view[:CHUNK], view[CHUNK:]
            yield encode("order_chunk", {**key, "index": index}, [body])
            index, sent = index + 1, sent + len(body)
        held += view
    if held:
        yield encode("order_chunk", {**key, "index": index}, [held])
        index, sent = index + 1, sent + len(held)
    if sent != ref.size or index != n:
        raise PayloadError(f"the payload gave {sent} bytes, its reference says {ref.size}")


def abort_message(key: tuple[str, int, int], index: int, reason: str) -> bytes:
    """The ``order_chunk`` that ends a streamed order (``key``: task, round, replica) early:
    the worker drops it unanswered."""
    return encode("order_chunk", {"task_id": key[0], "round": key[1], "replica": key[2],
                                  "index": index, "abort": reason[:500]})  # fmt: skip


def streamed(msg: Message) -> int:
    """The chunk count of a decoded ``order`` message whose payload streams (0: inline).

    Raises:
        GatewayError: ``chunks`` is present but not a positive integer.
    """
    if msg.meta.get("chunks") is None:
        return 0
    return integer(msg.meta, "chunks", 1, 1 << 31)


class Sink(Protocol):
    """Where a streamed payload's bytes go (a file, `workers.streaming.Spool`, a buffer)."""

    def write(self, data: bytes, /) -> Any: ...


def chunk_key(msg: Message) -> tuple[str, int, int]:
    """(task, round, replica) of an ``order_chunk`` message.

    Raises:
        GatewayError: the fields are missing or malformed.
    """
    m = msg.meta
    return (text(m, "task_id", 64), integer(m, "round", 0, 1 << 16),
            integer(m, "replica", 0, 1 << 16))  # fmt: skip


class Inbound:
    """A streamed order arriving at a worker: its chunks are checked (their place, their length,
    the count the header named) and written to ``sink``; the payload's sha256 is checked once
    the last is in, before the worker uses a byte.

    Args:
        order: the decoded order header (its payload reference: sha256 and size, no bytes).
        chunks: the header's ``chunks``.
        sink: where the bytes go.

    Raises:
        PayloadError: the header's chunk count does not fit the payload's size.
    """

    def __init__(self, order: ReplicaOrder, chunks: int, sink: Sink) -> None:
        ref = order.payload
        if ref.inline is not None or chunks != chunk_count(ref.size):
            raise PayloadError(f"the order names {chunks} chunks for a payload of {ref.size} "
                               f"bytes; {chunk_count(ref.size)} carry it")  # fmt: skip
        self.order, self.chunks, self.sink = order, chunks, sink
        self.received = 0
        self._digest = hashlib.sha256()

    def take(self, msg: Message) -> bool:
        """Take the next ``order_chunk``; True once the payload is whole and checked.

        Raises:
            PayloadError: out of order, a wrong length, one chunk too many, the gateway
                aborted the order, or the whole does not hash to the order's sha256.
        """
        what = f"replica {self.order.replica} of task {self.order.task_id[:12]}"
        if msg.meta.get("abort") is not None:
            raise PayloadError(f"the gateway aborted {what}: {str(msg.meta['abort'])[:500]}")
        index = msg.meta.get("index")
        if type(index) is not int or index != self.received:
            raise PayloadError(f"chunk {str(index)[:20]} of {what} came out of order (expected "
                               f"chunk {self.received} of {self.chunks})")  # fmt: skip
        if index >= self.chunks:
            raise PayloadError(f"{what} sent more than the {self.chunks} chunks its order named")
        size = self.order.payload.size
        want = size - CHUNK * index if index == self.chunks - 1 else CHUNK
        data = msg.segments[0] if len(msg.segments) == 1 else b""
        if len(msg.segments) != 1 or len(data) != want:
            raise PayloadError(f"chunk {index} of {what} has {len(data)} bytes; it needs {want}")
        self._digest.update(data)
        self.sink.write(data)
        self.received += 1
        if self.received < self.chunks:
            return False
        if self._digest.hexdigest() != self.order.payload.sha256:
            raise PayloadError(f"the streamed payload of {what} does not hash to its order's "
                               "sha256")  # fmt: skip
        return True
