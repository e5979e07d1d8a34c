"""What travels between orchestrator and workers: the replica order and the replica result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shardy import frames
from shardy.attestations import BatchReceipt
from shardy.blobs import BlobRef, is_sha256
from shardy.errors import FrameError, PayloadError, ProofError
from shardy.kernels.shipped import MAX_SPEC_BYTES
from shardy.statement import Subject

ORDER_KIND = "shardy.order"


@dataclass(frozen=True)
class ReplicaOrder:
    """One replica of a task, as a worker receives it (encoded as a frame)."""

    task_id: str
    replica: int
    round: int
    kernel: str
    seed: int
    output_len: int
    params: dict[str, Any]
    payload: BlobRef
    #: the verifier key the worker proves its attestation with
    key_id: str
    #: workers whose votes on this task are already recorded: they step aside (extra rounds)
    exclude: tuple[str, ...] = ()
    #: the worker dispatch assigned the replica to (None: any fleet worker, shared queue)
    assignee: str | None = None
    #: a shipped kernel's canonical JSON, inline (the gateway adds it for remote workers)
    kernel_spec: bytes | None = None
    #: the gateway adds the order hash (`shardy.statement`) for remote workers that do not
    #: compute it themselves (the worker page); a frame whose hash differs is refused
    with_order_hash: bool = False

    def subject(self) -> Subject:
        """What this order's attestation binds (`shardy.statement`)."""
        return Subject(self.task_id, self.seed, self.output_len, self.kernel, self.params,
                       self.payload.sha256)  # fmt: skip

    def order_hash_hex(self) -> str:
        """This replica's order hash (`shardy.statement`) as 64 hex digits (the frame's form)."""
        return f"{self.subject().order_hash(self.round, self.replica):064x}"

    def encode(self) -> bytes:
        """The order as a Shardy frame; inline payload bytes ride as a raw segment."""
        meta = {
            "kind": ORDER_KIND,
            "task_id": self.task_id,
            "replica": self.replica,
            "round": self.round,
            "kernel": self.kernel,
            "seed": self.seed,
            "output_len": self.output_len,
            "params": self.params,
            "payload": {"sha256": self.payload.sha256, "size": self.payload.size},
            "key_id": self.key_id,
            "exclude": list(self.exclude),
            "assignee": self.assignee,
        }
        if self.with_order_hash:
            meta["order_hash"] = self.order_hash_hex()
        segments, inline = [], []
        if self.payload.inline is not None:
            segments.append(self.payload.inline)
            inline.append("payload")
        if self.kernel_spec is not None:
            segments.append(self.kernel_spec)
            inline.append("kernel")
        if inline != ["payload"]:  # the common case needs no list
            meta["inline"] = inline
        return frames.encode_frame(meta, segments)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ReplicaOrder:
        """Parse and validate an order frame. Raises FrameError on anything malformed."""
        frame = frames.decode_frame(data)
        m = frame.meta
        if not isinstance(m, dict) or m.get("kind") != ORDER_KIND:
            raise FrameError("frame is not a Shardy replica order")
        spec = {
            "task_id": str,
            "replica": int,
            "round": int,
            "kernel": str,
            "seed": int,
            "output_len": int,
            "params": dict,
            "payload": dict,
            "key_id": str,
            "exclude": list,
        }
        for key, typ in spec.items():
            if type(m.get(key)) is not typ:
                raise FrameError(f"replica order field {key!r} is missing or not {typ.__name__}")
        names = m.get("inline", ["payload"] if frame.segments else [])
        if names not in ([], ["payload"], ["kernel"], ["payload", "kernel"]):
            raise FrameError("replica order 'inline' must list payload and/or kernel, in order")
        if len(frame.segments) != len(names):
            raise FrameError("replica order segments do not match its 'inline' list")
        segs = dict(zip(names, frame.segments, strict=True))
        inline = bytes(segs["payload"]) if "payload" in segs else None
        kernel_spec = bytes(segs["kernel"]) if "kernel" in segs else None
        if kernel_spec is not None and len(kernel_spec) > MAX_SPEC_BYTES:
            raise FrameError(f"replica order's kernel exceeds {MAX_SPEC_BYTES} bytes")
        try:
            ref = BlobRef.from_meta({**m["payload"], "inline": inline})
        except PayloadError as exc:
            raise FrameError(f"replica order payload reference is malformed: {exc}") from exc
        if not (0 <= m["replica"] < 1 << 16 and 0 <= m["round"] < 1 << 16):
            raise FrameError("replica order replica/round out of range")
        if not (0 <= m["seed"] < 2**64 and 0 <= m["output_len"] < 2**40):
            raise FrameError("replica order seed/output_len out of range")
        exclude = m["exclude"]
        if len(exclude) > 256 or not all(isinstance(w, str) and len(w) <= 255 for w in exclude):
            raise FrameError("replica order exclude list must be at most 256 worker ids")
        if len(m["task_id"]) > 64 or len(m["kernel"]) > 80 or len(m["key_id"]) > 32:
            raise FrameError("replica order task_id/kernel/key_id too long")
        assignee = m.get("assignee")
        if assignee is not None and not (isinstance(assignee, str) and len(assignee) <= 255):
            raise FrameError("replica order assignee must be a worker id or null")
        order = cls(
            task_id=m["task_id"],
            replica=m["replica"],
            round=m["round"],
            kernel=m["kernel"],
            seed=m["seed"],
            output_len=m["output_len"],
            params=m["params"],
            payload=ref,
            key_id=m["key_id"],
            exclude=tuple(exclude),
            assignee=assignee,
            kernel_spec=kernel_spec,
            with_order_hash="order_hash" in m,
        )
        if order.with_order_hash:
            try:
                ok = m["order_hash"] == order.order_hash_hex()
            except ProofError as exc:
                raise FrameError(f"replica order params are not plain JSON: {exc}") from exc
            if not ok:
                raise FrameError("replica order's order_hash does not match its fields")
        return order

    def summary(self) -> str:
        """Short description for logs and Flower (never payload bytes)."""
        return (
            f"kernel={self.kernel} task={self.task_id} replica={self.replica} "
            f"round={self.round} payload={self.payload.size}B"
        )


@dataclass(frozen=True)
class ReplicaResult:
    """What a replica task returns to the chord: small, never the output bytes.

    ``status`` is ``ok`` (digest and output reference set), ``failed`` (dead-lettered after
    retries or refused as malformed) or ``skipped`` (no distinct worker was free to run it).
    """

    status: str
    task_id: str | None
    replica: int | None
    worker_id: str | None = None
    digest: str | None = None
    output_sha256: str | None = None
    output_size: int | None = None
    attempts: int = 1
    error: str | None = None
    dead_letter_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: the Groth16 attestation (snarkjs JSON), its public signals and key id (ok results)
    proof: dict[str, Any] | None = None
    public_signals: list[str] | None = None
    key_id: str | None = None
    #: batched attestation (K > 1): the replica's place in the batch and where the batch
    #: proof is stored (once for the whole batch)
    batch: BatchReceipt | None = None

    @classmethod
    def decided(cls, order: ReplicaOrder, worker_id: str | None) -> dict[str, Any]:
        """The record of a replica not run because its task was decided first (an early
        quorum: `shardy.arrivals`)."""
        return cls("skipped", order.task_id, order.replica, worker_id=worker_id,
                   error="the task was decided before this replica ran").to_dict()  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form returned through the result backend."""
        out = asdict(self)
        out["batch"] = None if self.batch is None else self.batch.to_json()
        return out

    @classmethod
    def from_dict(cls, data: object) -> ReplicaResult:
        """Parse a replica result; anything malformed becomes a ``failed`` result.

        The identifying fields (task id, replica index, worker id) are kept whenever they
        are well-typed, so a malformed result is still recorded against its worker.
        """
        if not isinstance(data, dict):
            return cls("failed", None, None, error=f"malformed replica result: {data!r:.200}")
        task_id = data.get("task_id") if isinstance(data.get("task_id"), str) else None
        replica = data.get("replica")
        replica = replica if type(replica) is int and 0 <= replica < 1 << 16 else None
        worker = data.get("worker_id") if isinstance(data.get("worker_id"), str) else None

        def malformed(why: str) -> ReplicaResult:
            return cls("failed", task_id, replica, worker_id=worker and worker[:255],
                       error=f"malformed replica result: {why}")  # fmt: skip

        try:
            result = cls(**data)
            if result.batch is not None:
                result = replace(result, batch=BatchReceipt.from_json(result.batch))
        except (TypeError, ValueError) as exc:
            return malformed(str(exc))
        if not isinstance(result.status, str) or result.status not in {"ok", "failed", "skipped"}:
            return malformed(f"bad status {result.status!r:.40}")
        if (result.task_id, result.replica, result.worker_id) != (task_id, replica, worker):
            return malformed("task_id, replica or worker_id has the wrong type")
        if not isinstance(result.attempts, int) or not isinstance(result.timings, dict):
            return malformed("attempts or timings has the wrong type")
        if result.status == "ok" and not (
            is_sha256(result.digest)
            and is_sha256(result.output_sha256)
            and isinstance(result.worker_id, str)
            and type(result.output_size) is int
            and result.output_size >= 0
            and isinstance(result.key_id, str)
            and (
                (isinstance(result.proof, dict) and isinstance(result.public_signals, list))
                or result.batch is not None
            )
        ):
            return malformed("an ok result lacks its digest, output or attestation")
        return result
