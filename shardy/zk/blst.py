"""One proof's pairing check on blst (pyblst): three Miller loops, one final exponentiation.

py-arkworks-bls12381 pairs only whole: each call ends in its own final exponentiation (~1 ms on
the 2-core VM). pyblst exposes blst's Miller loop (0.33 ms) and final verification (0.42 ms)
apart, so a Groth16 check costs three Miller loops and one final exponentiation. The public-input
combination X = Σ s_i·IC_i is a sum of about 100 entries of fixed-base window tables of the key's
points (0.1 ms, against 0.25 ms for arkworks's MSM and a conversion), so a check runs on one
thread without a hand-off.

Points enter through their compressed encoding: the coordinates are checked against the curve
equation here, and blst's decompression checks the prime-order subgroup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from py_arkworks_bls12381 import G1Point, G2Point
from pyblst import BlstFP12Element, BlstP1Element, BlstP2Element, final_verify, miller_loop

from shardy.errors import ProofError
from shardy.zk.field import Q, R
from shardy.zk.native import native

_HALF = (Q - 1) // 2
#: Flags of the first byte of a compressed point (the zcash encoding blst and arkworks share).
_COMPRESSED, _INFINITY, _LARGER_Y = 0x80, 0x40, 0x20
#: Window tables hold d·256^j·P for the signed base-256 digits d in 1..128 of a scalar below r
#: (32 byte positions j): 4096 points, 0.7 MB, per point of the key.
_POSITIONS, _DIGITS = 32, 128


@dataclass(frozen=True)
class BlstKey:
    """The parts of a verifying key a blst check uses."""

    #: β, -γ and -δ, in G2.
    beta2: BlstP2Element
    neg_gamma2: BlstP2Element
    neg_delta2: BlstP2Element
    #: The Miller loop of (α, β), before its final exponentiation.
    alphabeta: BlstFP12Element
    #: α and IC_0..IC_nPublic, in G1.
    alpha1: BlstP1Element
    ic: tuple[BlstP1Element, ...]

    @cached_property
    def tables(self) -> tuple[tuple[BlstP1Element, ...], ...]:
        """Window tables of α, IC_0, ..., IC_nPublic, built on first use (0.7 MB and ~12 ms each:
        81 ms for the attestation key's seven on the 2-core VM)."""
        return tuple(window_table(p) for p in (self.alpha1, *self.ic))


#: A point's window table (`window_table`), in G1 or G2.
Table = tuple[BlstP1Element, ...] | tuple[BlstP2Element, ...]


def window_table(point: BlstP1Element | BlstP2Element) -> Table:
    """d·256^j·P at index _DIGITS·j + d - 1, for d in 1.._DIGITS and j below _POSITIONS (a G1
    point's: 0.7 MB, 3–12 ms to build; a G2 point's: 1.3 MB, about three times as long)."""
    table = []
    base = point
    for _ in range(_POSITIONS):
        acc = base
        table.append(acc)
        for _ in range(_DIGITS - 1):
            acc = acc + base
            table.append(acc)
        base = acc + acc  # 256·base, from acc = 128·base
    return tuple(table)


def combine(
    tables: Sequence[Sequence[Any] | None], scalars: Sequence[int], start: Any = None
) -> Any:
    """``start`` + Σ scalars_i·P_i from the points' window tables (:attr:`BlstKey.tables`,
    `window_table`: all of G1 or all of G2; None for the identity); scalars in [0, r). Without
    ``start`` and terms, the identity of G1.

    Each scalar is written in signed base-256 digits (-127..128), so a table needs only the
    positive half; the negative digits' points are summed apart and subtracted once.
    """
    plus: list[Any] = [] if start is None else [start]
    minus: list[Any] = []
    for table, s in zip(tables, scalars, strict=True):
        if not 0 <= s < R:
            raise ValueError(f"scalar {s} is not reduced modulo r")
        if table is None:
            continue
        carry = 0
        for j, byte in enumerate(s.to_bytes(_POSITIONS, "little")):
            d = byte + carry
            carry = d > _DIGITS
            if carry:  # the digit d - 256 in -127..0, and 1 carried into the next position
                if d != 256:
                    minus.append(table[_DIGITS * j + 255 - d])
            elif d:
                plus.append(table[_DIGITS * j + d - 1])
        # s < r < 0x74·256^31: the top digit never carries out of the table
    total = sum(plus[1:], plus[0]) if plus else g1(None, "the identity")
    if minus:
        total = total + -sum(minus[1:], minus[0])
    return total


def _encode(x_bytes: bytes, larger_y: bool) -> bytes:
    flags = _COMPRESSED | (_LARGER_Y if larger_y else 0)
    return bytes([x_bytes[0] | flags]) + x_bytes[1:]


def g1(xy: tuple[int, int] | None, what: str) -> BlstP1Element:
    """The G1 point at these affine coordinates (None: the identity), checked for the curve
    and the subgroup."""
    if xy is None:
        data = bytes([_COMPRESSED | _INFINITY]) + bytes(47)
    else:
        x, y = xy
        if (y * y - x * x * x - 4) % Q:
            raise ProofError(f"{what} is not a point of G1: not on the curve")
        data = _encode(x.to_bytes(48, "big"), y > _HALF)
    return native(BlstP1Element.uncompress, data, what=f"{what} is not a point of G1")


def g2(xy: tuple[int, int, int, int] | None, what: str) -> BlstP2Element:
    """The G2 point at these affine coordinates (x.c0, x.c1, y.c0, y.c1), checked as :func:`g1`."""
    if xy is None:
        data = bytes([_COMPRESSED | _INFINITY]) + bytes(95)
    else:
        x0, x1, y0, y1 = xy
        # y^2 = x^3 + 4(1 + u) in Fq2 = Fq[u]/(u^2 + 1)
        xx0, xx1 = x0 * x0 - x1 * x1, 2 * x0 * x1
        if (y0 * y0 - y1 * y1 - xx0 * x0 + xx1 * x1 - 4) % Q or (
            2 * y0 * y1 - xx0 * x1 - xx1 * x0 - 4
        ) % Q:
            raise ProofError(f"{what} is not a point of G2: not on the curve")
        larger = y1 > _HALF if y1 else y0 > _HALF
        data = _encode(x1.to_bytes(48, "big") + x0.to_bytes(48, "big"), larger)
    return native(BlstP2Element.uncompress, data, what=f"{what} is not a point of G2")


def from_arkworks(
    point: G1Point | G2Point, what: str = "point conversion"
) -> BlstP1Element | BlstP2Element:
    """An arkworks point in blst, through the compressed encoding both libraries use; blst's
    decompression checks the subgroup (``what`` names the point in the error)."""
    group = BlstP1Element if isinstance(point, G1Point) else BlstP2Element
    return native(group.uncompress, bytes(point.to_compressed_bytes()), what=what)


def to_arkworks(point: BlstP1Element | BlstP2Element) -> G1Point | G2Point:
    """A blst point in arkworks, unchecked: for points this process computed from checked ones
    (a prover's), never for points that arrive from elsewhere."""
    if isinstance(point, BlstP1Element):
        return native(G1Point.from_compressed_bytes_unchecked, point.compress(), what="G1 point")
    return native(G2Point.from_compressed_bytes_unchecked, point.compress(), what="G2 point")


def prepare(
    alpha1: G1Point, beta2: G2Point, neg_gamma2: G2Point, neg_delta2: G2Point,
    ic: Sequence[G1Point],
) -> BlstKey:  # fmt: skip
    """A verifying key's blst parts (the window tables are built on first use)."""
    alpha, beta = from_arkworks(alpha1), from_arkworks(beta2)
    alphabeta = native(miller_loop, alpha, beta, what="verifying key pairing")
    return BlstKey(
        beta, from_arkworks(neg_gamma2), from_arkworks(neg_delta2), alphabeta,  # type: ignore[arg-type]
        alpha, tuple(from_arkworks(p) for p in ic),  # type: ignore[misc]
    )  # fmt: skip


def check(
    key: BlstKey,
    a: BlstP1Element,
    b: BlstP2Element,
    c: BlstP1Element,
    public: Sequence[int],
    pause: Callable[[], object] = lambda: None,
) -> bool:
    """e(A, B)·e(C, -δ)·e(X, -γ) = e(α, β) with X = IC_0 + Σ s_i·IC_i for ``public`` = s_i.

    blst holds the GIL through each of its steps; ``pause`` runs between them."""
    x = combine(key.tables[1:], [1, *public])
    loops = native(miller_loop, a, b, what="pairing failed")
    pause()
    loops = loops * native(miller_loop, c, key.neg_delta2, what="pairing failed")
    pause()
    loops = loops * native(miller_loop, x, key.neg_gamma2, what="pairing failed")
    pause()
    return bool(native(final_verify, loops, key.alphabeta, what="pairing failed"))


def batch_check(
    key: BlstKey,
    pairs: Sequence[tuple[BlstP1Element, BlstP2Element]],
    alpha_scalar: int,
    ic_scalars: Sequence[int],
    c: G1Point,
) -> bool:
    """Π_j e(ρ_j·A_j, B_j)·e(X, -γ)·e(C, -δ) = e(α', β) for ``pairs`` = (ρ_j·A_j, B_j),
    α' = (Σρ_j)·α (``alpha_scalar`` = Σρ_j mod r), X = Σ_i ic_scalars_i·IC_i and C = Σ_j ρ_j·C_j
    (in arkworks): one final exponentiation."""
    x = combine(key.tables[1:], ic_scalars)
    loops = native(miller_loop, x, key.neg_gamma2, what="pairing failed")
    loops = loops * native(miller_loop, from_arkworks(c), key.neg_delta2, what="pairing failed")
    for a, b in pairs:
        loops = loops * native(miller_loop, a, b, what="pairing failed")
    alpha = combine(key.tables[:1], [alpha_scalar])
    rhs = native(miller_loop, alpha, key.beta2, what="pairing failed")
    return bool(native(final_verify, loops, rhs, what="pairing failed"))
