"""Poseidon hash over the BLS12-381 scalar field (t = 2, x^5) and the worker commitment."""

from __future__ import annotations

from shardy.errors import ProofError
from shardy.zk.poseidon_constants import (
    ALPHA,
    FULL_ROUNDS,
    MDS,
    PARTIAL_ROUNDS,
    ROUND_CONSTANTS,
    T,
)
from shardy.zk.poseidon_params import BLS12_381_R as R


def permute(state: list[int]) -> list[int]:
    """The Poseidon permutation on a width-2 state of field elements."""
    if len(state) != T:
        raise ValueError(f"Poseidon state has width {T}, got {len(state)}")
    s0, s1 = state
    (m00, m01), (m10, m11) = MDS
    half = FULL_ROUNDS // 2
    for rnd in range(FULL_ROUNDS + PARTIAL_ROUNDS):
        s0 = pow(s0 + ROUND_CONSTANTS[2 * rnd], ALPHA, R)
        s1 += ROUND_CONSTANTS[2 * rnd + 1]
        if rnd < half or rnd >= half + PARTIAL_ROUNDS:
            s1 = pow(s1, ALPHA, R)
        s0, s1 = (m00 * s0 + m01 * s1) % R, (m10 * s0 + m11 * s1) % R
    return [s0, s1]


def poseidon(x: int) -> int:
    """Hash one field element: permute [0, x] and return lane 0 (circomlib's convention).

    Raises:
        ProofError: x is negative or not below the BLS12-381 scalar field modulus.
    """
    if not 0 <= x < R:
        raise ProofError(f"Poseidon input must be in [0, r), got {x}")
    return permute([0, x])[0]


def commitment(secret: int) -> int:
    """The public worker commitment H(workerSecret) that the attestation circuit checks."""
    return poseidon(secret)
