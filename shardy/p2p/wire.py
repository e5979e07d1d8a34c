"""Byte-level pieces of the verified record's layout (`shardy.p2p.record`): length-prefixed
text, 32-byte digests, Groth16 proof points as 48-byte affine coordinates, and a reader that
refuses truncated input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shardy.errors import P2PError

FQ = 48  # bytes of one BLS12-381 base-field coordinate


class Reader:
    """A cursor over a record's bytes; reading past their end raises P2PError."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise P2PError("record is truncated")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def short_text(self) -> str:
        try:
            return self.take(self.byte()).decode()
        except UnicodeDecodeError as exc:
            raise P2PError("record holds invalid UTF-8") from exc


def short(text: str, what: str, limit: int = 255) -> bytes:
    """``text`` in UTF-8 behind its one-byte length; P2PError when longer than ``limit``."""
    data = text.encode()
    if len(data) > limit:
        raise P2PError(f"{what} is longer than {limit} bytes")
    return bytes([len(data)]) + data


def digest_bytes(digest: str, what: str = "digest") -> bytes:
    """The 32 bytes of a 64-hex-character digest; P2PError for anything else."""
    try:
        raw = bytes.fromhex(digest)
    except ValueError as exc:
        raise P2PError(f"{what} {digest[:16]!r}… is not hex") from exc
    if len(raw) != 32:
        raise P2PError(f"{what} must be 32 bytes (64 hex characters), got {len(raw)}")
    return raw


def encode_proof(proof: Mapping[str, Any]) -> tuple[int, bytes]:
    """A snarkjs proof's points as A‖B‖C, with flag bits 0-2 set for those at infinity.

    Raises:
        P2PError: a point is not affine, or a coordinate is not a 384-bit integer.
    """
    inf_a, a = _g1(proof.get("pi_a"), "pi_a")
    inf_b, b = _g2(proof.get("pi_b"), "pi_b")
    inf_c, c = _g1(proof.get("pi_c"), "pi_c")
    return inf_a | inf_b << 1 | inf_c << 2, a + b + c


def decode_proof(r: Reader, flags: int) -> dict[str, Any]:
    """The snarkjs proof read from A‖B‖C (flag bits 0-2: A, B, C at infinity)."""
    a, b, c = _ints(r.take(2 * FQ)), _ints(r.take(4 * FQ)), _ints(r.take(2 * FQ))
    return {
        "pi_a": [*a, "0" if flags & 1 else "1"],
        "pi_b": [b[0:2], b[2:4], ["0", "0"] if flags & 2 else ["1", "0"]],
        "pi_c": [*c, "0" if flags & 4 else "1"],
        "protocol": "groth16",
        "curve": "bls12381",
    }


def _coord(value: Any, what: str) -> bytes:
    try:
        n = int(str(value))
        return n.to_bytes(FQ, "big")
    except (ValueError, OverflowError) as exc:
        raise P2PError(f"{what}: coordinate {str(value)[:20]!r} is not a 384-bit integer") from exc


def _g1(point: Any, what: str) -> tuple[bool, bytes]:
    if not isinstance(point, list | tuple) or len(point) != 3 or str(point[2]) not in ("0", "1"):
        raise P2PError(f"{what} must be an affine snarkjs G1 point [x, y, 1|0]")
    return str(point[2]) == "0", _coord(point[0], what) + _coord(point[1], what)


def _g2(point: Any, what: str) -> tuple[bool, bytes]:
    ok = isinstance(point, list | tuple) and len(point) == 3
    ok = ok and all(isinstance(c, list | tuple) and len(c) == 2 for c in point)
    if not ok or [str(c) for c in point[2]] not in (["1", "0"], ["0", "0"]):
        raise P2PError(f"{what} must be an affine snarkjs G2 point [[x0, x1], [y0, y1], [1, 0]]")
    inf = str(point[2][0]) == "0"
    return inf, b"".join(_coord(c, what) for c in (*point[0], *point[1]))


def _ints(raw: bytes) -> list[str]:
    return [str(int.from_bytes(raw[i : i + FQ], "big")) for i in range(0, len(raw), FQ)]
