"""A relayed answer made into the replica result the trusted side vouches for: its checks
against the order, and its writes (the output and batch proof blobs, hashed here, and its
round's arrival) in one Redis round trip, alone (`accept`) or in the gateway's batches
(`staged`)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import redis

from shardy import arrivals, prechecks
from shardy import session as wire
from shardy.errors import BlobUnavailable, GatewayError
from shardy.messages import ReplicaOrder, ReplicaResult
from shardy.orchestrator.gateway import handoff
from shardy.orchestrator.gateway.server import Gateway

log = logging.getLogger("shardy.gateway")


class Unstored(Exception):  # noqa: N818
    """Storing an answer failed (carried out of `Sessions.call` as itself)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def staged(
    gw: Gateway,
    order: ReplicaOrder,
    frame: bytes,
    worker_id: str,
    res: wire.Result,
    seconds: float,
) -> handoff.Staged:
    """`accept` in two steps for a Redis batch: its checks now (raising `GatewayError`), then
    its writes queued on the batch's pipeline and its result made of their replies."""
    _check(order, res)
    made: dict[str, Any] = {}

    def build(pipe: Any) -> None:
        made["result"], made["writes"] = _queue(gw, order, frame, worker_id, res, seconds, pipe)

    def outcome(replies: Any) -> dict[str, Any]:
        try:
            return _stored(order, made["result"], made["writes"], replies)
        except BlobUnavailable as exc:
            raise Unstored(exc) from exc

    return build, outcome


def accept(
    gw: Gateway,
    order: ReplicaOrder,
    frame: bytes,
    worker_id: str,
    res: wire.Result,
    seconds: float,
) -> dict[str, Any]:
    """The result of an answer the gateway vouches for: its output (and batch proof) stored
    and its round's arrival marked, in one round trip to Redis."""
    _check(order, res)
    pipe = gw.app.blobs.client.pipeline(transaction=False)
    result, writes = _queue(gw, order, frame, worker_id, res, seconds, pipe)
    try:
        replies = pipe.execute(raise_on_error=False)
    except redis.RedisError as exc:
        replies = exc
    return _stored(order, result, writes, replies)


def _check(order: ReplicaOrder, res: wire.Result) -> None:
    """Raises `GatewayError` when the answer does not fit its order."""
    if res.key_id != order.key_id:
        raise GatewayError(f"proved under key {res.key_id}, the order said {order.key_id}")
    if len(res.output) != order.output_len:
        raise GatewayError(f"an output of {len(res.output)} bytes; the order needs "
                           f"{order.output_len}")  # fmt: skip
    if res.batch is not None:
        proof = res.batch_proof or b""
        r = res.batch
        if r.key_id != order.key_id or hashlib.sha256(proof).hexdigest() != r.proof_sha256:
            raise GatewayError("the batch proof does not match its receipt")
        if len(proof) != r.proof_size or len(proof) > 1 << 16:
            raise GatewayError("the batch proof's size does not match its receipt")


def _queue(
    gw: Gateway,
    order: ReplicaOrder,
    frame: bytes,
    worker_id: str,
    res: wire.Result,
    seconds: float,
    pipe: Any,
) -> tuple[dict[str, Any], int]:
    """Queue a checked answer's writes on ``pipe`` (its output and batch proof, then its
    round's arrival); returns its result and how many of the pipeline's replies, from where
    it started, are the writes'."""
    start = len(pipe)
    fields: dict[str, Any] = {"key_id": res.key_id}
    if res.batch is not None:
        batch_ref = gw.app.blobs.stage(pipe, res.batch_proof or b"")
        fields["batch"] = res.batch
    else:
        fields.update(proof=res.proof, public_signals=res.public_signals)
    ref = gw.app.blobs.stage(pipe, res.output)  # our hash: the digest is what we stored
    timings = {**{k: v for k, v in res.timings.items() if k != "relay"}, "relay": seconds}
    result = ReplicaResult("ok", order.task_id, order.replica, worker_id=worker_id,
                           digest=ref.sha256, output_sha256=ref.sha256, output_size=ref.size,
                           timings=timings, **fields).to_dict()  # fmt: skip
    writes = len(pipe) - start  # the blobs' writes; the arrival mark comes after them
    arrivals.mark(pipe, frame, result)  # queued on the pipeline (the same round trip)
    if res.batch is not None:  # for the orchestrator's early check (best effort, as the mark)
        prechecks.announce(pipe, res.key_id, ref=batch_ref)
    else:
        prechecks.announce(pipe, res.key_id, proof=res.proof, signals=res.public_signals)
    return result, writes


def _stored(
    order: ReplicaOrder, result: dict[str, Any], writes: int, replies: Any
) -> dict[str, Any]:
    """``result`` once the replies to its writes say they were made.

    Raises:
        BlobUnavailable: Redis did not store the output.
    """
    if isinstance(replies, Exception):
        raise BlobUnavailable(f"could not store the output of {order.summary()}: {replies}")
    failed = [r for r in replies[:writes] if isinstance(r, Exception)]
    if failed:
        raise BlobUnavailable(f"could not store the output of {order.summary()}: {failed[0]}")
    for r in replies[writes:]:  # best effort, as arrivals.mark: only the early verdict is lost
        if isinstance(r, Exception):
            log.warning("could not mark an arrival for task %s (%s)", order.task_id, r)
    return result
