"""The signed envelope and its validator: accept and refuse side by side (no network)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from forgeries import FORGERIES, STRANGER, wire
from p2p_support import ORCHESTRATOR, TRUSTED, sign_entry, stream_entry

from shardy.errors import P2PError
from shardy.p2p.keys import default_keyring
from shardy.p2p.signed import (
    decode_signed,
    encode_signed,
    from_signed_stream_entry,
    parse_public_key,
    sign,
)
from shardy.p2p.store import RecordStore
from shardy.p2p.trust import TrustedKeys
from shardy.p2p.validate import RecordValidator


@pytest.fixture(scope="module")
def good() -> dict[str, str]:
    return stream_entry(workers=3, quorum=2)


@pytest.fixture(scope="module")
def validator() -> RecordValidator:
    return RecordValidator(default_keyring(), min_quorum=2, trusted={TRUSTED})


def test_envelope_round_trips_and_verifies(good: dict[str, str]) -> None:
    signed = from_signed_stream_entry(good)
    data = encode_signed(signed)
    assert decode_signed(data) == signed and encode_signed(decode_signed(data)) == data
    assert signed.verify() and signed.signer == TRUSTED
    commitments = [int(e.commitment) for e in signed.enrolled]
    assert len(commitments) == 3 and commitments == sorted(commitments)
    flipped = bytearray(data)
    flipped[-1] ^= 1
    assert not decode_signed(bytes(flipped)).verify()


@pytest.mark.parametrize("cut", [0, 10, 60])
def test_truncated_or_padded_envelopes_are_malformed(good: dict[str, str], cut: int) -> None:
    data = wire(good)
    with pytest.raises(P2PError):
        decode_signed(data[: len(data) - 1 - cut])
    with pytest.raises(P2PError):
        decode_signed(data + b"\0")


def test_genuine_record_accepted(good: dict[str, str], validator: RecordValidator) -> None:
    verdict = validator.check_signed(decode_signed(wire(good)))
    assert verdict.accepted and verdict.valid_workers == 3


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_each_forgery_is_refused(name: str, good: dict[str, str], validator: RecordValidator,
                                 tmp_path: Path) -> None:  # fmt: skip
    forge, reason = FORGERIES[name]
    data = forge(good)
    store = RecordStore(tmp_path)
    store.add(from_signed_stream_entry(good), sender="x", valid_workers=3, data=wire(good))
    try:
        signed = decode_signed(data)
    except P2PError:
        assert reason == "malformed"
        return
    verdict = validator.check_signed(signed)
    if reason == "conflict":  # valid on its own; the table shows the clash
        assert verdict.accepted and store.screen(signed, data) == "conflict"
        assert store.add(signed, sender="x", valid_workers=3, data=data) == "conflict"
        assert store.lookup(good["digest"], good["task_id"])[0].conflicts == 1
        assert store.lookup(signed.record.digest) == []
        return
    assert not verdict.accepted and verdict.reason.startswith(reason), verdict


def test_only_enrolled_commitments_count_once_per_voter(
    good: dict[str, str], validator: RecordValidator
) -> None:
    atts = json.loads(good["attestations"])
    commitments = [a["public_signals"][-1] for a in atts]
    # signed by the trusted key, but only one worker listed as enrolled: quorum 2 is not met
    one = sign_entry(good, enrolled=[(commitments[0], "op0")])
    verdict = validator.check_signed(decode_signed(wire(one)))
    assert not verdict.accepted and verdict.reason == "1 valid distinct enrolled voters < 2"
    # three enrolled commitments of one operator count once
    same = sign_entry(good, enrolled=[(c, "op") for c in commitments])
    assert validator.check_signed(decode_signed(wire(same))).valid_workers == 1
    two = sign_entry(good, enrolled=[(commitments[0], "a"), (commitments[1], "b")])
    assert validator.check_signed(decode_signed(wire(two))).accepted


def test_min_quorum_applies_to_every_record(good: dict[str, str]) -> None:
    strict = RecordValidator(default_keyring(), min_quorum=4, trusted={TRUSTED})
    verdict = strict.check_signed(decode_signed(wire(good)))
    assert not verdict.accepted and "claims quorum 2 < 4" in verdict.reason


def test_future_records_and_unknown_keys(good: dict[str, str], validator: RecordValidator) -> None:
    signed = from_signed_stream_entry(good)
    pairs = [(e.commitment, e.voter) for e in signed.enrolled]
    ahead = sign(signed.record, pairs, ORCHESTRATOR, issued_at_ms=int((time.time() + 3600) * 1e3))
    assert validator.check_signed(ahead).reason.startswith("from the future")
    bare = RecordValidator({}, min_quorum=2, trusted={TRUSTED})
    verdict = bare.check_signed(signed)
    assert not verdict.accepted and verdict.ignore and verdict.reason.startswith("unknown")
    keys = default_keyring()
    loaded = RecordValidator({}, min_quorum=2, trusted={TRUSTED}, key_loader=keys.get)
    assert loaded.check_signed(signed).accepted and set(loaded.keys) == set(keys)


def test_trusted_keys_follow_their_file(tmp_path: Path) -> None:
    path = tmp_path / "trusted"
    path.write_text(f"# the orchestrator\n{TRUSTED}\n")
    trusted = TrustedKeys([str(path)])
    assert TRUSTED in trusted
    stranger = parse_public_key(STRANGER.public_key().public_bytes_raw().hex())
    path.write_text(stranger + "\n")
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert trusted.refresh() and stranger in trusted and TRUSTED not in trusted
    with pytest.raises(P2PError, match="neither an Ed25519 public key"):
        TrustedKeys([str(tmp_path / "absent")])
    with pytest.raises(P2PError, match="not an Ed25519 public key"):
        parse_public_key("zz" * 32)


def test_store_is_bounded_in_size_and_age(tmp_path: Path) -> None:
    store = RecordStore(tmp_path, max_records=3, max_age_s=3600)
    entries = [stream_entry(workers=1, quorum=1) for _ in range(5)]
    newest = int(time.time() * 1000) - 60_000
    for i, e in enumerate(entries):  # entries[0] is the newest
        signed = from_signed_stream_entry(e)
        pairs = [(x.commitment, x.voter) for x in signed.enrolled]
        signed = sign(signed.record, pairs, ORCHESTRATOR, issued_at_ms=newest - 1000 * i)
        assert store.add(signed, sender="x", valid_workers=1, data=encode_signed(signed)) == "added"
    assert store.evict() == 2 and store.count() == 3
    assert store.task_ids() == {e["task_id"] for e in entries[:3]}  # the newest kept
    assert store.evict(now=time.time() + 7200) == 3 and store.count() == 0
