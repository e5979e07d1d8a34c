"""Signed verifier-key announcements: how a peer without the orchestrator's Redis learns a key
rotated in after it started (pure, no I/O).

The orchestrator signs each key it installs (`shardy.orchestrator.keys`) with its long-lived
Ed25519 key and stores the announcement beside the key's files in Redis; sidecars gossip it on
the records' topic. A peer adds the key when the signer is one it trusts, the signature
verifies, the manifest hashes to the key id the announcement names (`shardy.keyring`), the
vkey hashes to the manifest's entry and proves a known attestation statement. A peer that
accepts a key still verifies every proof made under it; what it takes on the orchestrator's
word is only that the key's trusted setup was sound, as for the key it started with.

Wire form (integers big-endian)::

    b"SK" version(u8: 1) issued_at(u64: unix ms) signer(32: Ed25519 public key)
    manifest_len(u16) manifest(canonical JSON: vkey, zkey and wasm sha256)
    vkey_len(u32) vkey(canonical JSON, snarkjs form)
    signature(64: Ed25519 over DOMAIN + every byte before it)
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shardy.errors import P2PError, ProofError
from shardy.keyring import manifest_id, vkey_sha256
from shardy.statement import version_of

MAGIC = b"SK"
VERSION = 1
DOMAIN = b"shardy/signed-verifier-key/v1\x00"
#: The Redis field, beside a key's files (``shardy:zk:key:<id>``), holding its announcement.
FIELD = "announcement"
MAX_KEY_BYTES = 64 * 1024
_HEAD = struct.Struct(">2sBQ32s")
_SIG = 64


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class KeyAnnouncement:
    """A verifier key as its orchestrator announced it."""

    key_id: str
    manifest: dict[str, str]
    vkey: dict[str, Any]
    issued_at_ms: int
    #: The signer's Ed25519 public key, 64 hex characters.
    signer: str
    signature: bytes


def _body(
    manifest: dict[str, str], vkey: dict[str, Any], issued_at_ms: int, signer: bytes
) -> bytes:
    m, v = _canonical(manifest), _canonical(vkey)
    if len(m) >= 1 << 16 or len(v) > MAX_KEY_BYTES:
        raise P2PError("a key announcement's manifest or vkey is too large")
    return b"".join((_HEAD.pack(MAGIC, VERSION, issued_at_ms, signer),
                     struct.pack(">H", len(m)), m, struct.pack(">I", len(v)), v))  # fmt: skip


def sign_key(
    manifest: dict[str, str],
    vkey: dict[str, Any],
    key: Ed25519PrivateKey,
    issued_at_ms: int | None = None,
) -> bytes:
    """The signed announcement of the key with this manifest and vkey (wire form).

    Raises:
        P2PError: the manifest or vkey is malformed, or they do not belong together.
    """
    _check(manifest, vkey)
    issued = int(time.time() * 1000) if issued_at_ms is None else issued_at_ms
    from shardy.p2p.signed import public_key_hex

    body = _body(manifest, vkey, issued, bytes.fromhex(public_key_hex(key)))
    return body + key.sign(DOMAIN + body)


def _check(manifest: Any, vkey: Any) -> str:
    """The key id, when the manifest and vkey are a well-formed key's."""
    try:
        if not isinstance(manifest, dict) or not isinstance(vkey, dict):
            raise ProofError("manifest and vkey must be JSON objects")
        kid = manifest_id(manifest)
        if vkey_sha256(vkey) != manifest["vkey"]:
            raise ProofError("the vkey does not hash to the manifest's vkey entry")
        version_of(vkey)
    except ProofError as exc:
        raise P2PError(f"key announcement refused: {exc}") from exc
    return kid


def decode_key(data: bytes) -> KeyAnnouncement:
    """Parse and check an announcement's form (not its signer's trust: `verify`).

    Raises:
        P2PError: wrong magic or version, truncated, trailing bytes, or a manifest and vkey
            that do not make a key.
    """
    if len(data) > MAX_KEY_BYTES + 1024:
        raise P2PError("key announcement too large")
    try:
        magic, version, issued, signer = _HEAD.unpack_from(data)
        pos = _HEAD.size
        (m_len,) = struct.unpack_from(">H", data, pos)
        manifest = json.loads(data[pos + 2 : pos + 2 + m_len])
        pos += 2 + m_len
        (v_len,) = struct.unpack_from(">I", data, pos)
        vkey = json.loads(data[pos + 4 : pos + 4 + v_len])
        pos += 4 + v_len
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise P2PError(f"key announcement malformed: {exc}") from exc
    if magic != MAGIC or version != VERSION:
        raise P2PError("not a version 1 key announcement")
    if pos + _SIG != len(data):
        raise P2PError("key announcement's length fields do not match its size")
    kid = _check(manifest, vkey)
    if _body(manifest, vkey, issued, signer) != data[:pos]:
        raise P2PError("key announcement is not in canonical form")
    return KeyAnnouncement(kid, manifest, vkey, issued, signer.hex(), data[pos:])


def verify(announcement: KeyAnnouncement) -> bool:
    """True when the signature is the signer's over the announcement."""
    a = announcement
    body = _body(a.manifest, a.vkey, a.issued_at_ms, bytes.fromhex(a.signer))
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(a.signer)).verify(
            a.signature, DOMAIN + body
        )
    except (InvalidSignature, ValueError):
        return False
    return True
