"""shardy/p2p/record.py and validate.py: codec round trip, acceptance and rejection side by side."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from p2p_support import (
    PARAMS,
    PAYLOAD_SHA256,
    ROUND,
    default_key_id,
    forge_bad_proof,
    forge_short_quorum,
    stream_entry,
)

from shardy import attestations
from shardy.attestations import BatchPart, Claim
from shardy.errors import P2PError
from shardy.p2p.keys import default_keyring, key_id
from shardy.p2p.record import (
    MAX_PARAMS_BYTES,
    MAX_PATH_STEPS,
    VERSION_BATCH,
    VERSION_ORDER,
    VerifiedRecord,
    decode,
    encode,
    from_stream_entry,
)
from shardy.p2p.validate import RecordValidator


@pytest.fixture(scope="module")
def entry() -> dict[str, str]:
    return stream_entry(workers=3, quorum=2)


@pytest.fixture(scope="module")
def validator() -> RecordValidator:
    return RecordValidator(default_keyring())


def test_round_trip_is_exact(entry: dict[str, str]) -> None:
    record = from_stream_entry({k.encode(): v.encode() for k, v in entry.items()})
    wire = encode(record)
    assert decode(wire) == record
    assert len(wire) < len(json.dumps(entry)) / 2  # binary points and signals, no JSON


def test_version_3_round_trip_is_exact(entry: dict[str, str]) -> None:
    """A record whose attestations carry their round and replica (statement version 2) is
    version 3 and keeps the params, the payload hash and each place through the codec."""
    record = from_stream_entry(entry)
    wire = encode(record)
    assert wire[2] == VERSION_ORDER
    back = decode(wire)
    assert back == record and encode(back) == wire
    assert back.params == PARAMS and back.payload_sha256 == PAYLOAD_SHA256
    assert [(a.round, a.replica) for a in back.attestations] == [(ROUND, i) for i in range(3)]
    assert back.subject() == record.subject()
    # params are carried in canonical form: another spelling of them is the same record
    spelled = ('{"c": 2, "a": [1, {"y": 0, "x": 1}]}', '{"a":[1,{"x":1,"y":0}],"c":2}')
    one, two = (encode(from_stream_entry({**entry, "params": p})) for p in spelled)
    assert one == two and decode(one).params == {"a": [1, {"x": 1, "y": 0}], "c": 2}


def test_version_3_needs_every_place_and_bounded_params(entry: dict[str, str]) -> None:
    record = from_stream_entry(entry)
    half = dataclasses.replace(record.attestations[0], round=None)
    with pytest.raises(P2PError, match="every round and replica"):
        encode(dataclasses.replace(record, attestations=(half, *record.attestations[1:])))
    for bad in ({"big": "x" * MAX_PARAMS_BYTES}, {"set": {1, 2}}):
        with pytest.raises(P2PError, match="params"):
            encode(dataclasses.replace(record, params=bad))
    far = dataclasses.replace(record.attestations[0], replica=1 << 16)
    with pytest.raises(P2PError, match="u16"):
        encode(dataclasses.replace(record, attestations=(far, *record.attestations[1:])))


def test_params_must_be_canonical_on_the_wire(entry: dict[str, str]) -> None:
    record = dataclasses.replace(from_stream_entry(entry), params={"a": 1, "c": 2})
    wire = encode(record)
    reordered = wire.replace(b'{"a":1,"c":2}', b'{"c":2,"a":1}')
    assert reordered != wire
    with pytest.raises(P2PError, match="canonical"):
        decode(reordered)  # one record, one wire form
    with pytest.raises(P2PError, match="plain JSON"):
        encode(dataclasses.replace(record, params={"a": float("nan")}))


def _moved(record: VerifiedRecord, **place: int) -> VerifiedRecord:
    """The record with its first attestation presented for another round or replica."""
    first = dataclasses.replace(record.attestations[0], **place)
    return dataclasses.replace(record, attestations=(first, *record.attestations[1:]))


@pytest.mark.parametrize("place", [{"replica": 7}, {"round": ROUND + 1},
                                   {"round": ROUND + 1, "replica": 7}])  # fmt: skip
def test_attestation_moved_to_another_place_is_counted_out(
    entry: dict[str, str], validator: RecordValidator, place: dict[str, int]
) -> None:
    """Statement version 2 binds the replica's round and number: a genuine proof presented
    for another replica or round does not verify that replica's statement."""
    record = decode(encode(from_stream_entry({**entry, "quorum": "3"})))
    assert validator.check(record).accepted  # all three count as they are
    moved = decode(encode(_moved(record, **place)))
    verdict = validator.check(moved)
    assert not verdict.accepted and verdict.valid_workers == 2
    verdicts, _ = attestations.check(moved.subject(), validator.claims(moved), validator.keys,
                                     bound={}, known={})  # fmt: skip
    number = place.get("replica", 0)
    assert verdicts[number] == "public signals do not match the task and the attested digest"


@pytest.mark.parametrize(
    "change",
    [
        {"params": {"rounds": 2}},
        {"params": {**PARAMS, "extra": 1}},
        {"params": {}},
        {"payload_sha256": "00" * 32},
        {"kernel": "histogram"},
    ],
    ids=["params-value", "params-extra", "params-none", "payload", "kernel"],
)
def test_record_with_other_order_facts_is_refused(
    entry: dict[str, str], validator: RecordValidator, change: dict
) -> None:
    """The order hash binds the kernel, its params and the payload: a record that restates
    any of them (re-encoded, as a peer would receive it) verifies no attestation."""
    record = dataclasses.replace(from_stream_entry(entry), **change)
    verdict = validator.check(decode(encode(record)))
    assert not verdict.accepted and verdict.valid_workers == 0


def test_default_key_id_covers_the_vkey_and_the_two_file_hashes() -> None:
    (kid,) = default_keyring()
    assert kid == default_key_id() and len(kid) == 16
    zkey, wasm = "0" * 64, "1" * 64
    assert key_id({"b": 1, "a": [1, 2]}, zkey, wasm) == key_id({"a": [1, 2], "b": 1}, zkey, wasm)
    assert key_id({"a": 1}, zkey, wasm) != key_id({"a": 1}, zkey, "2" * 64)


def test_valid_record_accepted(entry: dict[str, str], validator: RecordValidator) -> None:
    verdict = validator.check(decode(encode(from_stream_entry(entry))))
    assert verdict.accepted and verdict.valid_workers == 3


def test_bad_proof_counted_out(entry: dict[str, str], validator: RecordValidator) -> None:
    one_bad = from_stream_entry(forge_bad_proof(entry, 0))
    assert validator.check(one_bad).valid_workers == 2
    assert validator.check(one_bad).accepted  # 2 of 3 still meet quorum 2
    two_bad = from_stream_entry(forge_bad_proof(forge_bad_proof(entry, 0), 1))
    verdict = validator.check(two_bad)
    assert not verdict.accepted and verdict.valid_workers == 1


def test_short_quorum_rejected(entry: dict[str, str], validator: RecordValidator) -> None:
    verdict = validator.check(from_stream_entry(forge_short_quorum(entry, keep=1)))
    assert not verdict.accepted and "1 valid distinct workers < 2" in verdict.reason


def test_duplicate_worker_counts_once(entry: dict[str, str], validator: RecordValidator) -> None:
    atts = json.loads(entry["attestations"])
    dup = {**entry, "attestations": json.dumps([atts[0], atts[0], atts[0]])}
    assert not validator.check(from_stream_entry(dup)).accepted


def test_signals_must_match_record(entry: dict[str, str], validator: RecordValidator) -> None:
    assert validator.check(from_stream_entry({**entry, "seed": "8"})).valid_workers == 0
    other = "0" * 64
    assert not validator.check(from_stream_entry({**entry, "digest": other})).accepted


def test_unknown_key_and_quorum_floor(entry: dict[str, str]) -> None:
    assert not RecordValidator({}).check(from_stream_entry(entry)).accepted
    strict = RecordValidator(default_keyring(), min_quorum=3)
    assert (
        not RecordValidator(default_keyring())
        .check(from_stream_entry({**entry, "quorum": "0"}))
        .accepted
    )
    assert not strict.check(from_stream_entry(entry)).accepted  # claims 2 < the floor of 3
    assert strict.check(from_stream_entry({**entry, "quorum": "3"})).accepted


@pytest.mark.parametrize("mutate", [lambda b: b[:-1], lambda b: b + b"x", lambda b: b"XX" + b[2:]])
def test_malformed_wire_raises(entry: dict[str, str], mutate) -> None:
    with pytest.raises(P2PError):
        decode(mutate(encode(from_stream_entry(entry))))


def test_malformed_entry_raises(entry: dict[str, str]) -> None:
    with pytest.raises(P2PError, match="task_id"):
        from_stream_entry({k: v for k, v in entry.items() if k != "task_id"})
    with pytest.raises(P2PError, match="not JSON"):
        from_stream_entry({**entry, "attestations": "{"})
    with pytest.raises(P2PError, match="UUID"):
        encode(from_stream_entry({**entry, "task_id": "nope"}))


# ---- codec: version 1 unchanged, property tests with batch parts ----------------------------

_PROOF = {"pi_a": ["1", "2", "1"], "pi_b": [["3", "4"], ["5", "6"], ["1", "0"]],
          "pi_c": ["7", "8", "0"], "protocol": "groth16", "curve": "bls12381"}  # fmt: skip


def test_unbatched_encoding_unchanged_from_version_1() -> None:
    """The bytes the version-1 codec (before batch parts) wrote for this record."""
    atts = tuple(
        Claim(
            f"w{i}", f"{i:02x}" * 32, "a66eefed40f7d209", _PROOF, ("9", str(10**70), "0", "1", "2")
        )  # fmt: skip
        for i in range(2)
    )
    record = VerifiedRecord("12345678-1234-5678-1234-567812345678", "sha256", 7, 4096,
                            "ab" * 32, 2, 2, atts)  # fmt: skip
    wire = encode(record)
    assert wire[2] == 1 and len(wire) == 1271
    assert hashlib.sha256(wire).hexdigest() == (
        "ccdee05e1461c3f4255717a4e8e0748fe519627acf80d2e2f05545ae2c9b9d22"
    )


_hex32 = st.binary(min_size=32, max_size=32).map(bytes.hex)
_uuid = st.uuids().map(str)
_coord = st.integers(0, 2**384 - 1).map(str)
_proofs = st.builds(
    lambda a, b, c, inf: {
        "pi_a": [*a, "0" if inf & 1 else "1"],
        "pi_b": [b[:2], b[2:], ["0", "0"] if inf & 2 else ["1", "0"]],
        "pi_c": [*c, "0" if inf & 4 else "1"],
        "protocol": "groth16",
        "curve": "bls12381",
    },
    st.lists(_coord, min_size=2, max_size=2),
    st.lists(_coord, min_size=4, max_size=4),
    st.lists(_coord, min_size=2, max_size=2),
    st.integers(0, 7),
)
_batches = st.builds(
    BatchPart,
    _uuid,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    _hex32,
    st.lists(st.tuples(st.booleans(), _hex32), max_size=MAX_PATH_STEPS).map(tuple),
)


def _attestations(placed: bool):
    u16 = st.integers(0, 2**16 - 1)
    return st.builds(
        Claim,
        st.text(max_size=20),
        _hex32,
        st.text(alphabet="0123456789abcdef", max_size=16),
        _proofs,
        st.lists(st.integers(0, 2**256 - 1).map(str), max_size=6).map(tuple),
        st.none() | _batches,
        replica=u16 if placed else st.none(),
        round=u16 if placed else st.none(),
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8,
)  # fmt: skip
_params = st.dictionaries(st.text(max_size=8), _json, max_size=4)


def _record(placed: bool):
    facts = {"params": _params, "payload_sha256": _hex32} if placed else {}
    return st.builds(
        VerifiedRecord,
        _uuid,
        st.text(max_size=20),
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**32 - 1),
        _hex32,
        st.integers(0, 2**16 - 1),
        st.integers(0, 2**16 - 1),
        st.lists(_attestations(placed), min_size=1 if placed else 0, max_size=4).map(tuple),
        **facts,
    )


_records = _record(False) | _record(True)


@settings(max_examples=150, deadline=None)
@given(_records)
def test_round_trip_with_batch_parts(record: VerifiedRecord) -> None:
    wire = encode(record)
    batched = any(a.batch is not None for a in record.attestations)
    placed = any(a.round is not None for a in record.attestations)
    assert wire[2] == (VERSION_ORDER if placed else VERSION_BATCH if batched else 1)
    assert decode(wire) == record


@settings(max_examples=300, deadline=None)
@given(_records, st.data())
def test_mutated_wire_is_refused_or_canonical(record: VerifiedRecord, data) -> None:
    """Any byte edit decodes to a P2PError or to a record that encodes back to those bytes."""
    wire = bytearray(encode(record))
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    mutated = bytes(wire[:cut]) + data.draw(st.binary(max_size=40))
    try:
        decoded = decode(mutated)
    except P2PError:
        return
    assert encode(decoded) == mutated


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([b"SV\x01", b"SV\x02", b"SV\x03"]), st.binary(max_size=600))
def test_random_bytes_never_crash(head: bytes, body: bytes) -> None:
    with contextlib.suppress(P2PError):
        decode(head + body)
