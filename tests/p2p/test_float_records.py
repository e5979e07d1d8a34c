"""Records of float (tolerance) kernels: the agreeing workers' outputs differ within the
kernel's tolerance, so each attestation proves its own digest; the record says so (signed)."""

from __future__ import annotations

import hashlib
import json
import uuid

from forgeries import wire
from p2p_support import TRUSTED, attestation, sign_entry, stream_entry, subject

from shardy.p2p.keys import default_keyring
from shardy.p2p.record import decode, encode, from_stream_entry
from shardy.p2p.signed import decode_signed
from shardy.p2p.validate import RecordValidator


def _tolerance_entry(tolerance: str) -> dict[str, str]:
    """Three workers' outputs, each with its own digest; the verified (median) digest is none
    of theirs, as for a float kernel's cluster."""
    base = stream_entry(workers=1, quorum=2)
    about = subject(base["task_id"], int(base["seed"]), int(base["output_len"]))
    digests = [hashlib.sha256(f"out{i}".encode()).hexdigest() for i in range(3)]
    atts = [attestation(i, about, d) for i, d in enumerate(digests)]
    median = hashlib.sha256(b"median").hexdigest()
    return sign_entry({**base, "digest": median, "agreeing": "3", "tolerance": tolerance,
                       "attestations": json.dumps(atts)})  # fmt: skip


def test_a_tolerance_quorum_counts_each_workers_own_digest() -> None:
    validator = RecordValidator(default_keyring(), min_quorum=2, trusted={TRUSTED})
    flagged = _tolerance_entry("1")
    record = from_stream_entry(flagged)
    assert record.tolerance and decode(encode(record)) == record
    verdict = validator.check_signed(decode_signed(wire(flagged)))
    assert verdict.accepted and verdict.valid_workers == 3
    # the same attestations without the (signed) flag: none proves the record's digest
    plain = validator.check_signed(decode_signed(wire(_tolerance_entry("0"))))
    assert not plain.accepted and plain.valid_workers == 0
    # the flag is under the signature: set on the wire by a forwarder, the signature fails
    data = wire(_tolerance_entry("0"))
    signed = decode_signed(data)
    flipped = encode(type(signed.record)(**{**signed.record.__dict__, "tolerance": True}))
    assert flipped != encode(signed.record)
    forged = data.replace(encode(signed.record), flipped)
    assert not validator.check_signed(decode_signed(forged)).accepted


def test_a_tolerance_flag_does_not_admit_proofs_of_another_task() -> None:
    validator = RecordValidator(default_keyring(), min_quorum=2, trusted={TRUSTED})
    entry = _tolerance_entry("1")
    other = subject(str(uuid.uuid4()), int(entry["seed"]), int(entry["output_len"]))
    atts = json.loads(entry["attestations"])
    atts[1] = attestation(1, other, atts[1]["digest"])  # a real proof, for another task
    atts[2] = attestation(2, other, atts[2]["digest"])
    forged = sign_entry({**entry, "attestations": json.dumps(atts)})
    verdict = validator.check_signed(decode_signed(wire(forged)))
    assert not verdict.accepted and verdict.valid_workers == 1
