"""The session codec's streamed orders (shardy/session.py): an order whose payload exceeds one
CHUNK goes as its header and ``order_chunk`` messages, and `Inbound` takes them back, refusing
chunks out of order, of a wrong length or count, and bytes that do not hash to the order."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

import pytest

from shardy import session as wire
from shardy.blobs import BlobRef
from shardy.errors import GatewayError, PayloadError
from shardy.messages import ReplicaOrder

CHUNK = wire.CHUNK


def _order(payload: bytes, inline: bool = False) -> ReplicaOrder:
    ref = BlobRef(hashlib.sha256(payload).hexdigest(), len(payload), payload if inline else None)
    return ReplicaOrder("t" * 32, 1, 0, "histogram", 7, 1024, {}, ref, "ab" * 8)


def _payload(n: int) -> bytes:
    return bytes(i * 7 % 251 for i in range(n))


def _messages(payload: bytes, pieces: list[bytes] | None = None) -> list[wire.Message]:
    out = wire.order_messages(_order(payload), pieces if pieces is not None else [payload])
    return [wire.decode(m, "order", "order_chunk") for m in out]


def _receive(payload: bytes, msgs: list[wire.Message]) -> tuple[wire.Inbound, io.BytesIO]:
    head, sink = msgs[0], io.BytesIO()
    order = ReplicaOrder.decode(wire.frames.encode_frame(head.meta, list(head.segments)))
    return wire.Inbound(order, wire.streamed(head), sink), sink


def test_an_order_that_fits_one_chunk_is_one_message_as_before() -> None:
    payload = _payload(CHUNK)
    (only,) = wire.order_messages(_order(payload), [payload])
    assert only == replace(_order(payload), payload=_order(payload, True).payload).encode()
    assert wire.streamed(wire.decode(only, "order")) == 0


@pytest.mark.parametrize("size", [CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 12345])
def test_a_larger_payload_streams_in_chunks_and_comes_back_whole(size: int) -> None:
    payload = _payload(size)
    # the blob store's pieces need not be CHUNK-sized: they are cut to CHUNK on the way
    pieces = [payload[i : i + 700_000] for i in range(0, size, 700_000)]
    msgs = _messages(payload, pieces)
    head, chunks = msgs[0], msgs[1:]
    assert head.kind == "order" and head.segments == () and head.meta["chunks"] == len(chunks)
    assert head.meta["payload"] == {"sha256": hashlib.sha256(payload).hexdigest(), "size": size}
    assert len(chunks) == -(-size // CHUNK) and all(c.kind == "order_chunk" for c in chunks)
    assert [c.meta["index"] for c in chunks] == list(range(len(chunks)))
    assert all(len(c.segments[0]) == CHUNK for c in chunks[:-1])
    inbound, sink = _receive(payload, msgs)
    assert [inbound.take(c) for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert sink.getvalue() == payload


def test_pieces_that_do_not_add_up_raise() -> None:
    payload = _payload(2 * CHUNK + 5)
    with pytest.raises(PayloadError, match="gave"):
        list(wire.order_messages(_order(payload), [payload[:-1]]))


def _stream(size: int = 3 * CHUNK + 10) -> tuple[bytes, list[wire.Message]]:
    payload = _payload(size)
    return payload, _messages(payload)


def test_chunks_out_of_order_are_refused() -> None:
    payload, msgs = _stream()
    inbound, _ = _receive(payload, msgs)
    with pytest.raises(PayloadError, match="out of order"):
        inbound.take(msgs[2])


def test_a_chunk_of_the_wrong_length_is_refused() -> None:
    payload, msgs = _stream()
    inbound, _ = _receive(payload, msgs)
    short = wire.Message("order_chunk", msgs[1].meta, (msgs[1].segments[0][:-1],))
    with pytest.raises(PayloadError, match="needs"):
        inbound.take(short)


def test_a_chunk_count_that_does_not_fit_the_size_is_refused() -> None:
    payload, msgs = _stream()
    order = ReplicaOrder.decode(wire.frames.encode_frame(msgs[0].meta, []))
    for wrong in (len(msgs) - 2, len(msgs)):
        with pytest.raises(PayloadError, match="chunks for a payload"):
            wire.Inbound(order, wrong, io.BytesIO())
    with pytest.raises(GatewayError, match="chunks"):
        wire.streamed(wire.Message("order", {**msgs[0].meta, "chunks": "3"}))


def test_one_chunk_too_many_is_refused() -> None:
    payload, msgs = _stream()
    inbound, _ = _receive(payload, msgs)
    for c in msgs[1:]:
        inbound.take(c)
    extra = wire.Message("order_chunk", {**msgs[1].meta, "index": len(msgs) - 1}, (b"x",))
    with pytest.raises(PayloadError, match="more than"):
        inbound.take(extra)


def test_bytes_that_do_not_hash_to_the_order_are_refused() -> None:
    payload, msgs = _stream()
    inbound, _ = _receive(payload, msgs)
    bad = bytearray(msgs[-1].segments[0])
    bad[0] ^= 1
    for c in msgs[1:-1]:
        assert inbound.take(c) is False
    with pytest.raises(PayloadError, match="does not hash"):
        inbound.take(wire.Message("order_chunk", msgs[-1].meta, (bytes(bad),)))


def test_an_abort_ends_the_order() -> None:
    payload, msgs = _stream()
    inbound, _ = _receive(payload, msgs)
    inbound.take(msgs[1])
    key = wire.chunk_key(msgs[1])
    abort = wire.decode(wire.abort_message(key, 1, "BlobNotFound: expired"), "order_chunk")
    assert wire.chunk_key(abort) == key
    with pytest.raises(PayloadError, match="aborted.*expired"):
        inbound.take(abort)


def test_order_chunk_is_a_gateway_to_worker_kind_only() -> None:
    _, msgs = _stream()
    raw = wire.encode("order_chunk", msgs[1].meta, list(msgs[1].segments))
    with pytest.raises(GatewayError, match="unexpected 'order_chunk'"):
        wire.decode(raw, "result", "chunk", "failure")  # what the gateway reads from a worker
