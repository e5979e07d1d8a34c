"""One proof's pairing check on blst (pyblst): three Miller loops, one final exponentiation.

py-arkworks-bls12381 pairs only whole: each call ends in its own final exponentiation (~1 ms on
the 2-core VM). pyblst exposes blst's Miller loop (0.33 ms) and final verification (0.42 ms)
apart, so a Groth16 check costs three Miller loops and one final exponentiation. blst holds the
GIL while it works; the verifier runs the public-input MSM on arkworks meanwhile, on its helper.

Points enter through their compressed encoding: the coordinates are checked against the curve
equation here, and blst's decompression checks the prime-order subgroup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from py_arkworks_bls12381 import G1Point, G2Point
from pyblst import BlstFP12Element, BlstP1Element, BlstP2Element, final_verify, miller_loop

from shardy.errors import ProofError
from shardy.zk.field import Q
from shardy.zk.native import native

_HALF = (Q - 1) // 2
#: Flags of the first byte of a compressed point (the zcash encoding blst and arkworks share).
_COMPRESSED, _INFINITY, _LARGER_Y = 0x80, 0x40, 0x20


@dataclass(frozen=True)
class BlstKey:
    """The parts of a verifying key a blst check uses."""

    #: β, -γ and -δ, in G2.
    beta2: BlstP2Element
    neg_gamma2: BlstP2Element
    neg_delta2: BlstP2Element
    #: The Miller loop of (α, β), before its final exponentiation.
    alphabeta: BlstFP12Element


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


def prepare(alpha1: G1Point, beta2: G2Point, neg_gamma2: G2Point, neg_delta2: G2Point) -> BlstKey:
    """A verifying key's blst parts."""
    beta = from_arkworks(beta2)
    alphabeta = native(miller_loop, from_arkworks(alpha1), beta, what="verifying key pairing")
    return BlstKey(beta, from_arkworks(neg_gamma2), from_arkworks(neg_delta2), alphabeta)  # type: ignore[arg-type]


def check(
    key: BlstKey, a: BlstP1Element, b: BlstP2Element, c: BlstP1Element, x: Callable[[], G1Point]
) -> bool:
    """e(A, B)·e(C, -δ)·e(X, -γ) = e(α, β). ``x`` gives X = IC_0 + Σ s_i·IC_i (in arkworks); it
    is called after the first two Miller loops, so an MSM elsewhere has had their time."""
    loops = native(miller_loop, a, b, what="pairing failed") * native(
        miller_loop, c, key.neg_delta2, what="pairing failed"
    )
    x_point = from_arkworks(x())
    loops = loops * native(miller_loop, x_point, key.neg_gamma2, what="pairing failed")
    return bool(native(final_verify, loops, key.alphabeta, what="pairing failed"))


def batch_check(
    key: BlstKey,
    pairs: Sequence[tuple[BlstP1Element, BlstP2Element]],
    alpha: G1Point,
    x: G1Point,
    c: G1Point,
) -> bool:
    """Π_j e(ρ_j·A_j, B_j)·e(X, -γ)·e(C, -δ) = e(α', β) for ``pairs`` = (ρ_j·A_j, B_j) and
    α' = (Σρ_j)·α, X = Σ_j ρ_j·X_j, C = Σ_j ρ_j·C_j (in arkworks): one final exponentiation."""
    loops = native(miller_loop, from_arkworks(x), key.neg_gamma2, what="pairing failed")
    loops = loops * native(miller_loop, from_arkworks(c), key.neg_delta2, what="pairing failed")
    for a, b in pairs:
        loops = loops * native(miller_loop, a, b, what="pairing failed")
    rhs = native(miller_loop, from_arkworks(alpha), key.beta2, what="pairing failed")
    return bool(native(final_verify, loops, rhs, what="pairing failed"))
