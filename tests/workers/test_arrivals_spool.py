"""A remote worker's streamed payloads (workers/streaming.py `Arrivals`): to disk from the
threshold up, in memory below it; a chunk for an order not held fails it once, and the rest of
an order given up (or aborted by the gateway) pass in silence."""

from __future__ import annotations

import hashlib
import mmap
from pathlib import Path

import pytest

from shardy import session as wire
from shardy.blobs import BlobRef
from shardy.errors import PayloadError
from shardy.messages import ReplicaOrder
from shardy.workers.streaming import Arrivals

SIZE = 3 * wire.CHUNK + 77


def _stream(replica: int = 0) -> tuple[bytes, bytes, int, list[wire.Message]]:
    payload = bytes(i % 253 for i in range(SIZE))
    ref = BlobRef(hashlib.sha256(payload).hexdigest(), SIZE)
    order = ReplicaOrder("t" * 32, replica, 0, "histogram", 1, 1024, {}, ref, "ab" * 8)
    head, *chunks = wire.order_messages(order, [payload])
    msgs = [wire.decode(c, "order_chunk") for c in chunks]
    return payload, head, wire.streamed(wire.decode(head, "order")), msgs


def _begin(arrivals: Arrivals, head: bytes, chunks: int) -> bool:
    return arrivals.begin(head, ReplicaOrder.decode(head), chunks)


@pytest.mark.parametrize("threshold", [1, SIZE + 1])
def test_a_payload_arrives_on_disk_or_in_memory(tmp_path: Path, threshold: int) -> None:
    payload, head, n, msgs = _stream()
    arrivals = Arrivals(threshold, 1 << 30, 4, tmp_path)
    assert _begin(arrivals, head, n) is (threshold <= SIZE)
    key = wire.chunk_key(msgs[0])
    assert [arrivals.take(key, m) for m in msgs[:-1]] == [None] * (n - 1)
    ready = arrivals.take(key, msgs[-1])
    assert ready is not None and ready.frame == head and bytes(ready.payload) == payload
    on_disk = isinstance(ready.payload.obj, mmap.mmap)
    assert on_disk is (threshold <= SIZE) and arrivals.spooled == int(on_disk)
    assert ("spool" in ready.timings) is on_disk and ready.timings["fetch"] >= 0


def test_broken_streams_fail_the_order_once(tmp_path: Path) -> None:
    _, head, n, msgs = _stream()
    arrivals = Arrivals(1, 1 << 30, 4, tmp_path)
    key = wire.chunk_key(msgs[0])
    with pytest.raises(PayloadError, match="does not hold"):  # no header came
        arrivals.take(key, msgs[0])
    assert arrivals.take(key, msgs[1]) is None  # the rest of it: silence
    _, head2, _, msgs2 = _stream(replica=1)
    _begin(arrivals, head2, n)
    key2 = wire.chunk_key(msgs2[0])
    with pytest.raises(PayloadError, match="out of order"):
        arrivals.take(key2, msgs2[1])
    assert arrivals.take(key2, msgs2[2]) is None
    with pytest.raises(PayloadError, match="exceeds SHARDY_MAX_PAYLOAD"):
        _begin(Arrivals(1, SIZE - 1, 4, tmp_path), head, n)
    with pytest.raises(PayloadError, match="chunks for a payload"):
        _begin(Arrivals(1, 1 << 30, 4, tmp_path), head, n + 1)


def test_an_aborted_order_is_dropped_unanswered(tmp_path: Path) -> None:
    _, head, n, msgs = _stream()
    arrivals = Arrivals(1, 1 << 30, 4, tmp_path)
    _begin(arrivals, head, n)
    key = wire.chunk_key(msgs[0])
    arrivals.take(key, msgs[0])
    abort = wire.decode(wire.abort_message(key, 1, "IntegrityError: changed"), "order_chunk")
    assert arrivals.take(key, abort) is None
    assert arrivals.take(key, msgs[1]) is None  # a straggler after the abort
