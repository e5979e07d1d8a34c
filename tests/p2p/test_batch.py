"""Batched attestations in records: codec round trip and strictness, validator accept/reject."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from p2p_support import ROUND, batched_stream_entry, circuit, stream_entry, subject
from proof_support import batch_proof, leaf

from shardy import attestations, statement
from shardy.errors import P2PError
from shardy.p2p.keys import default_keyring
from shardy.p2p.record import (
    VERSION_BATCH,
    VERSION_ORDER,
    VerifiedRecord,
    decode,
    encode,
    from_stream_entry,
)
from shardy.p2p.validate import RecordValidator

TASK = ("6f1c3c56-7d7b-4c8e-9a51-2f0e1f9d3b11", 7, 4096)


@pytest.fixture(scope="module")
def entry() -> dict[str, str]:
    """Three batched attestations (quorum 3, so any one counted out refuses the record)."""
    return batched_stream_entry(workers=3, quorum=3, task_id=TASK[0], seed=7, output_len=4096)


@pytest.fixture(scope="module")
def validator() -> RecordValidator:
    return RecordValidator(default_keyring())


def _edit(entry: dict[str, str], i: int, change: Callable[[dict[str, Any]], None]) -> dict:
    atts = json.loads(entry["attestations"])
    change(atts[i])
    return {**entry, "attestations": json.dumps(atts)}


def _check(validator: RecordValidator, entry: dict[str, str]):
    """Validate the record as a peer receives it (through the wire codec)."""
    return validator.check(decode(encode(from_stream_entry(entry))))


def _unplaced(record: VerifiedRecord) -> VerifiedRecord:
    """The record without its attestations' rounds and replicas, its params and payload hash
    (as a statement version 1 record carries them: the codec's versions 1 and 2)."""
    atts = tuple(dataclasses.replace(a, round=None, replica=None) for a in record.attestations)
    return VerifiedRecord(record.task_id, record.kernel, record.seed, record.output_len,
                          record.digest, record.quorum, record.agreeing, atts)  # fmt: skip


# ---- codec -------------------------------------------------------------------------------------


def test_batched_round_trip_is_exact(entry: dict[str, str]) -> None:
    """Version 3 (attestations placed, statement version 2) and version 2 (batch parts only)."""
    record = from_stream_entry(entry)
    for rec, version in ((record, VERSION_ORDER), (_unplaced(record), VERSION_BATCH)):
        wire = encode(rec)
        assert wire[2] == version and decode(wire) == rec
        part = rec.attestations[0].batch
        assert part is not None and part.size == 5 and len(part.path) == 3
        assert encode(decode(wire)) == wire


def test_mixed_record_round_trips() -> None:
    record = from_stream_entry(batched_stream_entry(workers=3, unbatched=2))
    assert [a.batch is None for a in record.attestations] == [False, True, True]
    assert decode(encode(record)) == record
    assert decode(encode(_unplaced(record))) == _unplaced(record)


def _flags_offset(wire: bytes) -> int:
    """Offset of the first attestation's flags byte."""
    pos = 2 + 1 + 16 + 8 + 4 + 32 + 2 + 2
    pos += 1 + wire[pos]  # kernel
    if wire[2] == VERSION_ORDER:  # payload sha256, params
        pos += 32
        pos += 2 + int.from_bytes(wire[pos : pos + 2], "big")
    pos += 1  # n_attestations
    pos += 1 + wire[pos] + 32  # worker id, digest
    return pos + 1 + wire[pos]  # key id


def _version_1(w: bytes, f: int) -> bytes:
    return w[:2] + b"\x01" + w[3:]  # version 1 with a batch part (a version 2 wire's layout)


def _unknown_flag(w: bytes, f: int) -> bytes:
    return w[:f] + bytes([w[f] | 0x10]) + w[f + 1 :]


@pytest.mark.parametrize(
    ("mutate", "placed"),
    [(_version_1, False), (_unknown_flag, False), (_unknown_flag, True)],
    ids=["version-1-batched", "unknown-flag-v2", "unknown-flag-v3"],
)
def test_batch_flags_are_strict(entry: dict[str, str], mutate, placed: bool) -> None:
    record = from_stream_entry(entry)
    wire = encode(record if placed else _unplaced(record))
    with pytest.raises(P2PError, match="flags"):
        decode(mutate(wire, _flags_offset(wire)))


def test_version_2_without_batch_refused() -> None:
    wire = encode(_unplaced(from_stream_entry(stream_entry(workers=1, quorum=1))))
    assert wire[2] == 1
    with pytest.raises(P2PError, match="batch part"):
        decode(wire[:2] + bytes([VERSION_BATCH]) + wire[3:])


def test_every_truncation_raises(entry: dict[str, str]) -> None:
    wire = encode(from_stream_entry(entry))
    for n in range(len(wire)):
        with pytest.raises(P2PError):
            decode(wire[:n])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda b: b.update(path=[[False, "00" * 32]] * 33), "33|32 steps"),
        (lambda b: b.update(index=2**32), "u32"),
        (lambda b: b.update(root="zz"), "root"),
        (lambda b: b.update(path=[[True, "ab"]]), "path step"),
    ],
)
def test_batch_part_that_does_not_fit_raises(entry: dict[str, str], change, match) -> None:
    bad = _edit(entry, 0, lambda a: change(a["batch"]))
    with pytest.raises(P2PError, match=match):
        encode(from_stream_entry(bad))


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.update(id="not-a-uuid"),
        lambda b: b.update(size=None, root=None),  # evidence.published without the batch row
        lambda b: b.update(path=[["left", "00" * 32]]),
        lambda b: b.pop("index"),
    ],
)
def test_malformed_batch_json_raises(entry: dict[str, str], change) -> None:
    with pytest.raises(P2PError, match="malformed attestation"):
        from_stream_entry(_edit(entry, 0, lambda a: change(a["batch"])))


# ---- validation: accept and reject side by side ---------------------------------------------


def test_batched_record_accepted(entry: dict[str, str], validator: RecordValidator) -> None:
    verdict = _check(validator, entry)
    assert verdict.accepted and verdict.valid_workers == 3


def test_mixed_record_accepted(validator: RecordValidator) -> None:
    verdict = _check(validator, batched_stream_entry(workers=3, unbatched=1, quorum=3))
    assert verdict.accepted and verdict.valid_workers == 3


def _flip_sibling(att: dict[str, Any]) -> None:
    side, sibling = att["batch"]["path"][0]
    att["batch"]["path"][0] = [side, ("1" if sibling[0] != "1" else "2") + sibling[1:]]


def _flip_side(att: dict[str, Any]) -> None:
    att["batch"]["path"][0][0] = not att["batch"]["path"][0][0]


def _reroot(att: dict[str, Any], *, resign: bool) -> None:
    """Tamper a sibling and move the root to where the path now leads; with ``resign`` the
    signals are recomputed for the new root too (the batch proof stays the old root's)."""
    _flip_sibling(att)
    b = att["batch"]
    node = leaf(circuit(), subject(*TASK), att["digest"], att["round"], att["replica"])
    for left, sibling in b["path"]:
        pair = bytes.fromhex(sibling) + node if left else node + bytes.fromhex(sibling)
        node = hashlib.sha256(b"\x01" + pair).digest()
    b["root"] = node.hex()
    if resign:
        att["public_signals"] = batch_proof(circuit(), b["id"], b["size"], b["root"], 1111)[1]


#: A batch statement's public signals by name, per statement version (`statement.batch_signals`)
BATCH_SIGNALS = {
    statement.V1: {"batch id": 0, "batch size": 1, "output length sentinel": 2, "root": 3},
    statement.V2: {"statement version": 0, "batch id": 1, "batch size": 2, "root high": 3,
                   "root low": 4},
}  # fmt: skip
_FORGED = {"statement version": "1", "batch id": "1", "batch size": "4",
           "output length sentinel": "4096", "root": "5", "root high": "5",
           "root low": "5"}  # fmt: skip


def _signal(name: str) -> Callable[[dict[str, Any]], None]:
    i = BATCH_SIGNALS[circuit().statement][name]
    return lambda att: att["public_signals"].__setitem__(i, _FORGED[name])


PATH, SIGNALS = "Merkle path", "public signals do not match"
#: Statement version 2's leaf binds the replica's place: moved to another one, it is not there
_PLACE_CASES = [
    pytest.param(lambda a: a.update(replica=a["replica"] + 7), PATH, id="other-replica"),
    pytest.param(lambda a: a.update(round=a["round"] + 1), PATH, id="other-round"),
] if circuit().statement == statement.V2 else []  # fmt: skip
#: One tampered signal of the default key's batch statement each (not the commitment: the
#: proof then fails to verify, see `test_tampered_batch_counted_out`'s last cases).
_SIGNAL_CASES = [
    pytest.param(_signal(name), SIGNALS, id=f"signal-{name}")
    for name in BATCH_SIGNALS[circuit().statement]
]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_flip_sibling, PATH),
        (_flip_side, PATH),
        (lambda a: a["batch"].update(index=(a["batch"]["index"] + 1) % 5), PATH),
        (lambda a: a["batch"].update(size=4), PATH),
        (lambda a: a["batch"].update(root="11" * 32), PATH),  # root changed alone
        (lambda a: _reroot(a, resign=False), SIGNALS),  # root and path changed together
        (lambda a: _reroot(a, resign=True), "proof does not verify"),  # and signals too
        *_SIGNAL_CASES,
        (lambda a: a["batch"].update(id="00000000-0000-4000-8000-000000000000"), SIGNALS),
        (lambda a: a.update(key_id="0" * 16), "not accepted"),
        *_PLACE_CASES,
    ],
)
def test_tampered_batch_counted_out(
    entry: dict[str, str], validator: RecordValidator, tamper, reason: str
) -> None:
    tampered = from_stream_entry(_edit(entry, 0, tamper))
    verdict = validator.check(decode(encode(tampered)))
    assert not verdict.accepted and verdict.valid_workers == 2
    claims = validator.claims(tampered)
    verdicts, _ = attestations.check(subject(*TASK), claims, validator.keys, bound={}, known={})
    first, *rest = (verdicts[c.replica] for c in claims)
    assert reason in (first or "") and rest == [None, None]


def test_batch_of_another_task_counted_out(
    entry: dict[str, str], validator: RecordValidator
) -> None:
    """A real batch proof whose leaves do not include this replica does not count."""
    other = json.loads(batched_stream_entry(workers=1, quorum=1)["attestations"])[0]
    other["digest"] = entry["digest"]
    verdict = _check(validator, _edit(entry, 0, lambda a: a.update(other)))
    assert not verdict.accepted and verdict.valid_workers == 2


def test_one_batch_id_is_one_statement(entry: dict[str, str], validator: RecordValidator) -> None:
    """A forged attestation re-using a valid batch's id with its own root and commitment must
    not ride on that batch's proof (settle's check verifies each batch id once)."""
    atts = json.loads(entry["attestations"])
    forged = json.loads(json.dumps(atts[0]))
    forged["replica"] = 7  # a replica of its own (the validator keeps one claim per replica)
    mine = leaf(circuit(), subject(*TASK), entry["digest"], ROUND, 7)
    forged["batch"].update(index=0, size=1, path=[], root=mine.hex())
    # signals match; the proof is w0's
    forged["public_signals"] = batch_proof(circuit(), forged["batch"]["id"], 1, mine.hex(), 99)[1]
    forged["worker_id"] = "mallory"
    record = {**entry, "quorum": "2", "attestations": json.dumps([atts[0], forged])}
    verdict = _check(validator, record)
    assert not verdict.accepted and verdict.valid_workers == 1
    # the same attestation twice is one worker, not a conflict
    twice = {**record, "attestations": json.dumps([atts[0], atts[0], atts[1]])}
    assert _check(validator, twice).valid_workers == 2


def test_batched_digest_must_match_record(
    entry: dict[str, str], validator: RecordValidator
) -> None:
    assert _check(validator, {**entry, "digest": "00" * 32}).valid_workers == 0
    assert _check(validator, {**entry, "seed": "8"}).valid_workers == 0  # leaf differs


def test_unknown_key_refuses_batched(entry: dict[str, str]) -> None:
    assert RecordValidator({}).check(from_stream_entry(entry)).valid_workers == 0
