"""The session protocol between a gateway and a remote worker: the messages on the WebSocket,
each a Shardy frame (JSON header, then raw segments: no base64). Pure codec, shared by both
ends; anything malformed raises `GatewayError` (code ``malformed``).

    gateway → worker   challenge {nonce, gateway, key_id}   (on connect, and after enrolling)
    worker  → gateway  enroll {token, public_key, commitment, signature, key_id, proof, ...}
    gateway → worker   enrolled {worker_id}
    worker  → gateway  hello {public_key, signature, slots, adapter}
    gateway → worker   welcome {worker_id, slots}
    gateway → worker   a replica order (`shardy.messages.ReplicaOrder`, payload inline)
    worker  → gateway  result {task_id, round, replica, key_id, proof | batch, timings, size,
                         chunks} + [output if it fits one chunk, batch proof JSON (batched)]
    worker  → gateway  chunk {task_id, round, replica, index} + [the next CHUNK bytes]
    worker  → gateway  failure {task_id, round, replica, error, permanent}
    either  → other    error {code, message}   (then the gateway closes the session)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shardy import frames
from shardy.attestations import BatchReceipt
from shardy.errors import FrameError, GatewayError

PROTOCOL = 1
KINDS = ("challenge", "enroll", "enrolled", "hello", "welcome", "result", "chunk", "failure",
         "error")  # fmt: skip
_PREFIX = "shardy.session."
#: Output bytes per message: larger outputs follow their result in ``chunk`` messages, so the
#: gateway never takes a frame larger than FRAME_LIMIT, before authentication or after.
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
