"""Who a remote worker is: its Ed25519 signing key, operators' enrollment tokens, and the
statements a worker signs (enrollment, each session's handshake) or proves (that it holds the
attestation secret behind its commitment). Pure, but for reading and writing the key file.

Ed25519 comes from `cryptography` (PyCA; Apache-2.0/BSD).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shardy.errors import AuthError, ConfigError

#: Domain separation: a signature for one purpose never passes for another.
SESSION_CONTEXT = b"shardy-session-v1"
ENROLL_CONTEXT = b"shardy-enroll-v1"
TOKEN_PREFIX = "shy1"
#: Operator names: what `shardy operators add` accepts (they appear in worker ids and logs).
OPERATOR_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


class SigningKey:
    """A worker's Ed25519 key pair."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes_raw()
        #: the public key, 64 hex characters (what the orchestrator binds at enrollment)
        self.public_hex = raw.hex()

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key pair."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> str:
        """The signature of ``message``, 128 hex characters."""
        return self._private.sign(message).hex()

    def private_hex(self) -> str:
        """The private key's 32 raw bytes as hex (written to the key file only)."""
        return self._private.private_bytes_raw().hex()


def load_or_create(path: Path) -> SigningKey:
    """The signing key in ``path``, created on first use with mode 0600.

    Raises:
        ConfigError: the file does not hold a key, or others may read it.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = SigningKey.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: read theirs
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(key.private_hex() + "\n")
            return key
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"the signing key {path} is readable by others; chmod 600 it")
    raw = path.read_text().strip()
    if not _HEX64.match(raw):
        raise ConfigError(f"{path} does not hold an Ed25519 key (64 hex characters)")
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw)))


def verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is ``public_hex``'s signature of ``message``; False for a
    wrong signature and for malformed hex (an invalid signature is a value, not an error)."""
    if not (isinstance(public_hex, str) and _HEX64.match(public_hex)):
        return False
    if not (isinstance(signature_hex, str) and _HEX128.match(signature_hex)):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def is_public_key(value: object) -> bool:
    """Whether ``value`` is a public key in its hex form."""
    return isinstance(value, str) and bool(_HEX64.match(value))


def worker_id(public_hex: str, operator: str) -> str:
    """A remote worker's id, derived from its key: nobody can take another worker's id."""
    return f"remote-{hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]}@{operator}"


# ---- operators' enrollment tokens ---------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """An enrollment token: ``shy1.<operator id>.<secret>``; the store keeps sha256(secret)."""

    operator_id: str
    secret: str

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}.{self.operator_id}.{self.secret}"

    @property
    def hash(self) -> str:
        """What the store keeps."""
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def matches(self, stored_hash: str) -> bool:
        """Constant-time comparison with the stored hash."""
        return hmac.compare_digest(self.hash, stored_hash)


def new_token(operator_id: str) -> Token:
    """A fresh token for an operator (256 random bits)."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return Token(operator_id, secret)


def parse_token(text: str) -> Token:
    """Parse a token.

    Raises:
        AuthError: it is not a Shardy enrollment token.
    """
    parts = text.strip().split(".") if isinstance(text, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not 20 <= len(parts[2]) <= 64:
        raise AuthError(
            "not a Shardy enrollment token (shy1.<operator>.<secret>); ask the orchestrator's "
            "operator for one (`shardy operators add NAME`)"
        )
    try:
        operator_id = str(uuid.UUID(parts[1]))
    except ValueError:
        raise AuthError("the enrollment token names no operator id; it is damaged") from None
    if operator_id != parts[1]:
        raise AuthError("the enrollment token's operator id is not in canonical form")
    return Token(operator_id, parts[2])


# ---- signed and proven statements ---------------------------------------------------------------


def session_message(gateway_id: str, nonce: str, public_hex: str) -> bytes:
    """What a worker signs to open a session: this gateway, this connection's nonce, its key."""
    return b"|".join((SESSION_CONTEXT, gateway_id.encode(), nonce.encode(), public_hex.encode()))


def enroll_message(operator_id: str, nonce: str, public_hex: str, commitment: str) -> bytes:
    """What a worker signs to enroll: the operator, the server's nonce, its key, commitment."""
    parts = (ENROLL_CONTEXT, operator_id, nonce, public_hex, commitment)
    return b"|".join(p if isinstance(p, bytes) else p.encode() for p in parts)


def enrollment_statement(nonce: str, public_hex: str, commitment: str) -> tuple[str, str]:
    """(task id, digest) of the attestation a worker proves at enrollment: it shows the worker
    holds the secret behind ``commitment``, bound to its key and the server's nonce (seed and
    output length are 0)."""
    seed = hashlib.sha256(b"|".join((ENROLL_CONTEXT, nonce.encode(), public_hex.encode())))
    task_id = str(uuid.UUID(bytes=seed.digest()[:16]))
    statement = (ENROLL_CONTEXT, nonce.encode(), public_hex.encode(), commitment.encode())
    return task_id, hashlib.sha256(b"|".join(statement)).hexdigest()


def new_nonce() -> str:
    """A fresh single-use challenge (128 random bits, hex)."""
    return secrets.token_hex(16)
