"""Orchestrator-signed records: the signed envelope around a `VerifiedRecord` (pure, no I/O).

The orchestrator signs every verified record with its long-lived Ed25519 key
(`shardy.orchestrator.signing`); peers accept a record only under a key they trust. The
envelope also lists the enrolled workers behind the record: each attestation's commitment
(public signal 4) with the unit its vote counted for (its operator), so a peer counts the
quorum the way settle did, over commitments the orchestrator vouches for.

Wire form (integers big-endian)::

    b"SR" version(u8: 1)
    issued_at(u64: unix milliseconds) signer(32: Ed25519 public key)
    n_enrolled(u8) per enrolled worker, by ascending commitment:
        commitment(32) voter(u8 length + UTF-8)
    record_len(u32) record(`shardy.p2p.record.encode`: version 1 or 2)
    signature(64)

The signature is Ed25519 over :data:`DOMAIN` followed by every byte before the signature, so
it covers the version, the time, the signer, the enrolled list and the whole record (task,
digest, quorum, kernel, every attestation with its key id). Decoding is strict: every
accepted byte string re-encodes to itself.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shardy.errors import P2PError
from shardy.p2p.record import MAX_RECORD_BYTES, VerifiedRecord, decode, encode, from_stream_entry

MAGIC = b"SR"
VERSION = 1
#: Prefix of every signed message: no other Shardy signature can be taken for a record's.
DOMAIN = b"shardy/signed-verified-record/v1\x00"
#: Redis hash of the orchestrator public keys (hex → unix time first published), beside the
#: verifier keys (``shardy:zk:key:<id>``); a sidecar with no SHARDY_P2P_TRUSTED trusts these.
PUBLISHED_KEYS = "shardy:zk:orchestrator"
#: The stream-entry fields `sign_stream_fields` adds to a `shardy:verified` entry.
SIGNED_FIELDS = ("enrolled", "issued_at", "signer", "signature")
MAX_SIGNED_BYTES = MAX_RECORD_BYTES + 256 * 290 + 128

_HEAD = struct.Struct(">2sBQ32s")
_SIG = 64


@dataclass(frozen=True)
class Enrolled:
    """One enrolled worker behind a record: its commitment (decimal, as public signal 4) and
    the unit its vote counts for (its operator, or itself: SHARDY_DISTINCT)."""

    commitment: str
    voter: str


@dataclass(frozen=True)
class SignedRecord:
    """A verified record, the enrolled workers behind it, and the orchestrator's signature."""

    record: VerifiedRecord
    enrolled: tuple[Enrolled, ...]
    issued_at_ms: int
    #: The signer's Ed25519 public key, 64 hex characters.
    signer: str
    #: The Ed25519 signature, 128 hex characters.
    signature: str

    def message(self) -> bytes:
        """The bytes the signature covers (:data:`DOMAIN` + the envelope before it)."""
        return DOMAIN + _body(self.record, self.enrolled, self.issued_at_ms, self.signer)

    def verify(self) -> bool:
        """True when the signature is the signer's over `message` (an invalid one is False)."""
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.signer))
            key.verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def enrolled_voters(self) -> dict[str, str]:
        """commitment → voter."""
        return {e.commitment: e.voter for e in self.enrolled}


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key of ``key``, as 64 hex characters (what peers trust)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def parse_public_key(text: str, where: str = "a trusted key") -> str:
    """A trusted-key entry in its one canonical spelling (64 lower-case hex characters).

    Raises:
        P2PError: not an Ed25519 public key (the message names ``where``).
    """
    value = text.strip().lower()
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError as exc:
        raise P2PError(
            f"{where} {text[:20]!r}… is not an Ed25519 public key (64 hex characters); print "
            "the orchestrator's with `shardy keys orchestrator`"
        ) from exc
    return value


def canonical_enrolled(items: Iterable[tuple[Any, Any]]) -> tuple[Enrolled, ...]:
    """(commitment, voter) pairs as the envelope carries them: one per commitment, ascending.

    Raises:
        P2PError: a commitment is not a 256-bit integer, a voter is over 255 bytes, one
            commitment names two voters, or there are more than 255.
    """
    out: dict[int, str] = {}
    for commitment, voter in items:
        try:
            n = int(str(commitment))
            if not 0 <= n < 1 << 256:
                raise ValueError
        except ValueError:
            raise P2PError(f"enrolled commitment {str(commitment)[:20]!r} is not a u256") from None
        if len(str(voter).encode()) > 255:
            raise P2PError("an enrolled worker's voter name is longer than 255 bytes")
        if out.setdefault(n, str(voter)) != str(voter):
            raise P2PError(f"commitment {n} is enrolled under two voters")
    if len(out) > 255:
        raise P2PError("a signed record lists at most 255 enrolled workers")
    return tuple(Enrolled(str(n), out[n]) for n in sorted(out))


def _body(record: VerifiedRecord, enrolled: tuple[Enrolled, ...], issued_at_ms: int,
          signer: str) -> bytes:  # fmt: skip
    data = encode(record)
    try:
        head = _HEAD.pack(MAGIC, VERSION, issued_at_ms, bytes.fromhex(signer))
    except (struct.error, ValueError) as exc:
        raise P2PError(f"signed record header out of range: {exc}") from exc
    if len(bytes.fromhex(signer)) != 32:
        raise P2PError("a signer key is 32 bytes")
    parts = [head, bytes([len(enrolled)])]
    for e in enrolled:
        voter = e.voter.encode()
        parts += [int(e.commitment).to_bytes(32, "big"), bytes([len(voter)]), voter]
    parts += [struct.pack(">I", len(data)), data]
    return b"".join(parts)


def sign(
    record: VerifiedRecord,
    enrolled: Iterable[tuple[Any, Any]],
    key: Ed25519PrivateKey,
    issued_at_ms: int | None = None,
) -> SignedRecord:
    """Sign ``record`` with the orchestrator's key.

    Raises:
        P2PError: the record or the enrolled list does not fit the wire layout.
    """
    issued = int(time.time() * 1000) if issued_at_ms is None else issued_at_ms
    listed = canonical_enrolled(enrolled)
    signer = public_key_hex(key)
    unsigned = SignedRecord(record, listed, issued, signer, "")
    return SignedRecord(record, listed, issued, signer, key.sign(unsigned.message()).hex())


def encode_signed(signed: SignedRecord) -> bytes:
    """The envelope's wire form.

    Raises:
        P2PError: a field does not fit the layout, or the signature is not 64 bytes.
    """
    body = _body(signed.record, signed.enrolled, signed.issued_at_ms, signed.signer)
    try:
        signature = bytes.fromhex(signed.signature)
    except ValueError:
        signature = b""
    if len(signature) != _SIG:
        raise P2PError("a signed record carries a 64-byte Ed25519 signature")
    return body + signature


def decode_signed(data: bytes) -> SignedRecord:
    """Parse an envelope (its signature is not checked here: `SignedRecord.verify`).

    Raises:
        P2PError: the bytes are not a version-1 signed record (bad magic or version,
            truncated, enrolled list out of order, a malformed inner record, trailing bytes).
    """
    if len(data) > MAX_SIGNED_BYTES:
        raise P2PError(f"signed record of {len(data)} bytes exceeds {MAX_SIGNED_BYTES}")
    if len(data) < _HEAD.size + 1 + 4 + _SIG:
        raise P2PError("signed record is truncated (or unsigned)")
    magic, version, issued, signer = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise P2PError("not an orchestrator-signed record (bad magic); unsigned ones are refused")
    if version != VERSION:
        raise P2PError(f"signed record version {version} is not supported (this build reads 1)")
    pos = _HEAD.size
    enrolled = []
    try:
        for _ in range(data[pos]):
            pos += 1
            commitment = str(int.from_bytes(data[pos : pos + 32], "big"))
            pos += 32
            n = data[pos]
            voter = data[pos + 1 : pos + 1 + n].decode()
            if len(voter.encode()) != n:
                raise IndexError
            enrolled.append(Enrolled(commitment, voter))
            pos += n
        pos += 1
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise P2PError("signed record's enrolled list is truncated or not UTF-8") from exc
    if pos + size + _SIG != len(data):
        raise P2PError("signed record's length fields do not match its size")
    record = decode(data[pos : pos + size])
    listed = tuple(enrolled)
    if canonical_enrolled((e.commitment, e.voter) for e in listed) != listed:
        raise P2PError("signed record's enrolled list is not in canonical order")
    return SignedRecord(record, listed, issued, signer.hex(), data[-_SIG:].hex())


# ---- the verified stream's signed fields --------------------------------------------------


def sign_stream_fields(
    fields: Mapping[str, Any], enrolled: Iterable[tuple[Any, Any]], key: Ed25519PrivateKey
) -> dict[str, str]:
    """The fields the orchestrator adds to a `shardy:verified` entry to sign it:
    ``enrolled`` (JSON [[commitment, voter], …]), ``issued_at`` (unix ms), ``signer`` and
    ``signature`` (hex).

    Raises:
        P2PError: the entry cannot be encoded as a record (it could never be gossiped).
    """
    signed = sign(from_stream_entry(fields), enrolled, key)
    return {
        "enrolled": orjson.dumps([[e.commitment, e.voter] for e in signed.enrolled]).decode(),
        "issued_at": str(signed.issued_at_ms),
        "signer": signed.signer,
        "signature": signed.signature,
    }


def _field(fields: Mapping[Any, Any], name: str) -> str | None:
    value = fields.get(name, fields.get(name.encode()))
    return value.decode() if isinstance(value, bytes) else value


def from_signed_stream_entry(fields: Mapping[Any, Any]) -> SignedRecord:
    """The signed record of one `shardy:verified` entry.

    Raises:
        P2PError: the entry is unsigned (written by an orchestrator before signing existed,
            or one whose signing key could not be loaded) or malformed.
    """
    values = {name: _field(fields, name) for name in SIGNED_FIELDS}
    if values["signature"] is None or values["signer"] is None:
        raise P2PError(
            "verified stream entry is unsigned; peers refuse unsigned records (upgrade the "
            "orchestrator, and check its log for the signing key)"
        )
    try:
        pairs = orjson.loads(values["enrolled"] or "[]")
        issued = int(values["issued_at"] or "")
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            raise ValueError("enrolled must be a JSON list of [commitment, voter] pairs")
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise P2PError(f"verified stream entry's signed fields are malformed: {exc}") from exc
    return SignedRecord(
        from_stream_entry(fields), canonical_enrolled(pairs), issued, values["signer"],
        values["signature"],
    )  # fmt: skip
