"""Groth16 prover over a snarkjs zkey: QAP on the odd coset exactly as snarkjs, MSMs in arkworks."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from shardy.errors import ProofError
from shardy.zk.data import Proof, ProvingKey
from shardy.zk.field import R, coset_evaluations


def quotient_evaluations(pk: ProvingKey, witness: Sequence[int]) -> list[int]:
    """(A·B - C) evaluated on the odd coset w_2n·<w_n>, the scalars of the H query.

    A and B are evaluated on the domain from the zkey's coefficients (including snarkjs's extra
    rows binding the public inputs), C = A·B pointwise there; then all three move to the coset,
    where Z(x) = x^n - 1 is the constant -2 (folded into the H query by the setup).
    """
    n = pk.domain_size
    a_t = [0] * n
    b_t = [0] * n
    rows = (a_t, b_t)
    for m, c, s, value in pk.coeffs:
        rows[m][c] += value * witness[s]
    a_t = [x % R for x in a_t]
    b_t = [x % R for x in b_t]
    c_t = [x * y % R for x, y in zip(a_t, b_t, strict=True)]
    a_odd = coset_evaluations(a_t, pk.log_domain)
    b_odd = coset_evaluations(b_t, pk.log_domain)
    c_odd = coset_evaluations(c_t, pk.log_domain)
    return [(x * y - z) % R for x, y, z in zip(a_odd, b_odd, c_odd, strict=True)]


def _msm_g1(points: list[G1Point], scalars: list[int]) -> G1Point:
    pts, scs = [], []
    for p, s in zip(points, scalars, strict=True):
        if p is not None and s:
            pts.append(p)
            scs.append(Scalar(s))
    return G1Point.multiexp_unchecked(pts, scs) if pts else G1Point.identity()


def _msm_g2(points: list[G2Point], scalars: list[int]) -> G2Point:
    pts, scs = [], []
    for p, s in zip(points, scalars, strict=True):
        if p is not None and s:
            pts.append(p)
            scs.append(Scalar(s))
    return G2Point.multiexp_unchecked(pts, scs) if pts else G2Point.identity()


def prove_witness(pk: ProvingKey, witness: Sequence[int]) -> Proof:
    """A zero-knowledge Groth16 proof for a full witness (fresh random r, s from `secrets`).

    Raises:
        ProofError: the witness does not fit the key (length, wire 0, values not in Fr).
    """
    if len(witness) != pk.n_vars:
        raise ProofError(f"witness has {len(witness)} wires, the key expects {pk.n_vars}")
    if witness[0] != 1:
        raise ProofError("witness wire 0 must be the constant 1")
    if any(not 0 <= w < R for w in witness):
        raise ProofError("witness values must lie in [0, r)")
    h = quotient_evaluations(pk, witness)
    r = secrets.randbelow(R)
    s = secrets.randbelow(R)
    w = list(witness)
    # pi_a = α + Σ w_i·A_i + r·δ
    a = _msm_g1([*pk.a_query, pk.alpha1, pk.delta1], [*w, 1, r])
    # pi_b = β + Σ w_i·B_i + s·δ (in G2), and the same in G1 for pi_c
    b = _msm_g2([*pk.b2_query, pk.beta2, pk.delta2], [*w, 1, s])
    b1 = _msm_g1([*pk.b1_query, pk.beta1, pk.delta1], [*w, 1, s])
    # pi_c = Σ_private w_i·C_i + Σ h_j·H_j + s·pi_a + r·b1 - r·s·δ
    private = w[pk.n_public + 1 :]
    c = _msm_g1(
        [*pk.c_query, *pk.h_query, a, b1, pk.delta1],
        [*private, *h, s, r, (-r * s) % R],
    )
    return Proof(a, b, c)
