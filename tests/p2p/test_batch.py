"""Batched attestations in records: codec round trip and strictness, validator accept/reject."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from p2p_support import batched_stream_entry, circuit, stream_entry

from shardy import attestations, merkle
from shardy.errors import P2PError
from shardy.p2p.keys import default_keyring
from shardy.p2p.record import VERSION_BATCH, decode, encode, from_stream_entry
from shardy.p2p.validate import RecordValidator
from shardy.zk import attestation_inputs, prove

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


# ---- codec -------------------------------------------------------------------------------------


def test_batched_round_trip_is_exact_and_version_2(entry: dict[str, str]) -> None:
    record = from_stream_entry(entry)
    wire = encode(record)
    assert wire[2] == VERSION_BATCH and decode(wire) == record
    part = record.attestations[0].batch
    assert part is not None and part.size == 5 and len(part.path) == 3
    assert encode(decode(wire)) == wire


def test_mixed_record_round_trips() -> None:
    record = from_stream_entry(batched_stream_entry(workers=3, unbatched=2))
    assert [a.batch is None for a in record.attestations] == [False, True, True]
    assert decode(encode(record)) == record


def _flags_offset(wire: bytes) -> int:
    """Offset of the first attestation's flags byte."""
    pos = 2 + 1 + 16 + 8 + 4 + 32 + 2 + 2
    pos += 1 + wire[pos] + 1  # kernel, n_attestations
    pos += 1 + wire[pos] + 32  # worker id, digest
    return pos + 1 + wire[pos]  # key id


@pytest.mark.parametrize(
    "mutate",
    [
        lambda w, f: w[:2] + b"\x01" + w[3:],  # version 1 with a batch part
        lambda w, f: w[:f] + bytes([w[f] | 0x10]) + w[f + 1 :],  # an unknown flag bit
    ],
)
def test_batch_flags_are_strict(entry: dict[str, str], mutate) -> None:
    wire = encode(from_stream_entry(entry))
    with pytest.raises(P2PError, match="flags"):
        decode(mutate(wire, _flags_offset(wire)))


def test_version_2_without_batch_refused() -> None:
    wire = encode(from_stream_entry(stream_entry(workers=1, quorum=1)))
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
    node = merkle.leaf(*TASK, att["digest"])
    for left, sibling in b["path"]:
        pair = bytes.fromhex(sibling) + node if left else node + bytes.fromhex(sibling)
        node = hashlib.sha256(b"\x01" + pair).digest()
    b["root"] = node.hex()
    if resign:
        inputs = attestation_inputs(b["id"], b["size"], merkle.BATCH_OUTPUT_LEN, b["root"], 1111)
        att["public_signals"] = prove(circuit(), inputs)[1]


def _signal(i: int, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda att: att["public_signals"].__setitem__(i, value)


PATH, SIGNALS = "Merkle path", "public signals do not match"


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
        (_signal(0, "1"), SIGNALS),  # batch id
        (_signal(1, "4"), SIGNALS),  # batch size
        (_signal(2, "4096"), SIGNALS),  # not the batch sentinel output length
        (_signal(3, "5"), SIGNALS),  # root
        (lambda a: a["batch"].update(id="00000000-0000-4000-8000-000000000000"), SIGNALS),
        (lambda a: a.update(key_id="0" * 16), "not accepted"),
    ],
)
def test_tampered_batch_counted_out(
    entry: dict[str, str], validator: RecordValidator, tamper, reason: str
) -> None:
    tampered = from_stream_entry(_edit(entry, 0, tamper))
    verdict = validator.check(decode(encode(tampered)))
    assert not verdict.accepted and verdict.valid_workers == 2
    claims = validator.claims(tampered)
    verdicts, _ = attestations.check(*TASK[:3], claims, validator.keys, bound={}, known={})
    assert reason in (verdicts[0] or "") and verdicts[1] is verdicts[2] is None


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
    leaf = merkle.leaf(entry["task_id"], int(entry["seed"]), int(entry["output_len"]),
                       entry["digest"])  # fmt: skip
    forged["batch"].update(index=0, size=1, path=[], root=leaf.hex())
    inputs = attestation_inputs(forged["batch"]["id"], 1, merkle.BATCH_OUTPUT_LEN, leaf.hex(), 99)
    forged["public_signals"] = prove(circuit(), inputs)[1]  # signals match; proof is w0's
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
