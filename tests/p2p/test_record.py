"""shardy/p2p/record.py and validate.py: codec round trip, acceptance and rejection side by side."""

from __future__ import annotations

import json

import pytest
from p2p_support import default_key_id, forge_bad_proof, forge_short_quorum, stream_entry

from shardy.errors import P2PError
from shardy.p2p.keys import default_keyring, key_id
from shardy.p2p.record import decode, encode, from_stream_entry
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


def test_default_key_id_is_sha256_prefix_of_canonical_vkey() -> None:
    (kid,) = default_keyring()
    assert kid == default_key_id() and len(kid) == 16
    assert key_id({"b": 1, "a": [1, 2]}) == key_id({"a": [1, 2], "b": 1})


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
