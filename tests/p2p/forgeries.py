"""The forged records of issue 22, as wire bytes, each paired with the reason a peer refuses it."""

from __future__ import annotations

import hashlib
import json
import os
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from p2p_support import ORCHESTRATOR, attestation, entry_subject, sign_entry, stream_entry

from shardy.p2p.record import encode, from_stream_entry
from shardy.p2p.signed import (
    SignedRecord,
    encode_signed,
    from_signed_stream_entry,
    sign,
)

#: Secrets of workers no orchestrator enrolled.
MADE_UP = (9001, 9002, 9003)
#: A key nobody trusts.
STRANGER = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)


def wire(entry: dict[str, str]) -> bytes:
    """A signed stream entry's gossip wire form."""
    return encode_signed(from_signed_stream_entry(entry))


def made_up_commitments(good: dict[str, str]) -> bytes:
    """The genuine record's attestations swapped for valid proofs by made-up workers (listed as
    enrolled), under the genuine signature."""
    signed = from_signed_stream_entry(good)
    atts = []
    for i, secret in enumerate(MADE_UP):
        made_up = attestation(i, entry_subject(good), good["digest"], secret)
        atts.append({**made_up, "worker_id": f"m{i}"})
    record = from_stream_entry({**good, "attestations": json.dumps(atts)})
    enrolled = (*signed.enrolled, *(type(signed.enrolled[0])(a["public_signals"][-1], "evil")
                                    for a in atts))  # fmt: skip
    enrolled = tuple(sorted(enrolled, key=lambda e: int(e.commitment)))
    forged = SignedRecord(record, enrolled, signed.issued_at_ms, signed.signer, signed.signature)
    return encode_signed(forged)


def relabelled_digest(good: dict[str, str]) -> bytes:
    """The genuine record with its digest's last byte changed, under the genuine signature."""
    signed = from_signed_stream_entry(good)
    digest = good["digest"][:-2] + ("00" if good["digest"][-2:] != "00" else "01")
    atts = [{**a, "digest": digest} for a in json.loads(good["attestations"])]
    record = from_stream_entry({**good, "digest": digest, "attestations": json.dumps(atts)})
    forged = SignedRecord(record, signed.enrolled, signed.issued_at_ms, signed.signer,
                          signed.signature)  # fmt: skip
    return encode_signed(forged)


def conflicting_digest(good: dict[str, str]) -> bytes:
    """A second record for the same task, another digest, real proofs, signed by the trusted
    orchestrator (equivocation)."""
    other = hashlib.sha256(os.urandom(16)).hexdigest()
    return wire(stream_entry(task_id=good["task_id"], digest=other))


def unsigned(good: dict[str, str]) -> bytes:
    """The record as the previous topic carried it, with no signature."""
    return encode(from_stream_entry(good))


def untrusted_signer(good: dict[str, str]) -> bytes:
    """The genuine record re-signed by a key nobody trusts."""
    return wire(sign_entry(good, key=STRANGER))


def replayed_old(good: dict[str, str], age_s: float = 8 * 86_400) -> bytes:
    """A genuine record of the trusted orchestrator, issued ``age_s`` ago."""
    signed = from_signed_stream_entry(good)
    pairs = [(e.commitment, e.voter) for e in signed.enrolled]
    issued = int((time.time() - age_s) * 1000)
    return encode_signed(sign(signed.record, pairs, ORCHESTRATOR, issued_at_ms=issued))


#: name → (forge(good entry) -> wire bytes, reason prefix at a peer).
FORGERIES = {
    "made-up commitments": (made_up_commitments, "bad signature"),
    "relabelled digest": (relabelled_digest, "bad signature"),
    "conflicting digest": (conflicting_digest, "conflict"),
    "unsigned": (unsigned, "malformed"),
    "untrusted signer": (untrusted_signer, "untrusted signer"),
    "replayed old record": (replayed_old, "stale"),
}
