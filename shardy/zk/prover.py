"""Groth16 prover over a snarkjs zkey: QAP on the odd coset exactly as snarkjs, MSMs in arkworks."""

from __future__ import annotations

import secrets
import threading
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

    The B side (the G2 MSM and its G1 twin) runs on a helper thread while this thread does the
    QAP and the other MSMs; arkworks releases the GIL inside its MSMs.

    Raises:
        ProofError: the witness does not fit the key (length, wire 0, values not in Fr).
    """
    if len(witness) != pk.n_vars:
        raise ProofError(f"witness has {len(witness)} wires, the key expects {pk.n_vars}")
    if witness[0] != 1:
        raise ProofError("witness wire 0 must be the constant 1")
    if any(not 0 <= w < R for w in witness):
        raise ProofError("witness values must lie in [0, r)")
    r = secrets.randbelow(R)
    s = secrets.randbelow(R)
    w = list(witness)

    # pi_b = β + Σ w_i·B_i + s·δ (in G2), and b1, the same in G1 for pi_c
    b_side: list[G1Point | G2Point] = []
    failure: list[BaseException] = []

    def run_b_side() -> None:
        try:
            b_side.append(_msm_g2([*pk.b2_query, pk.beta2, pk.delta2], [*w, 1, s]))
            b_side.append(_msm_g1([*pk.b1_query, pk.beta1, pk.delta1], [*w, 1, s]))
        except BaseException as exc:  # re-raised on the calling thread
            failure.append(exc)

    helper = threading.Thread(target=run_b_side, name="shardy-zk-msm-b")
    helper.start()
    try:
        # pi_a = α + Σ w_i·A_i + r·δ
        a = _msm_g1([*pk.a_query, pk.alpha1, pk.delta1], [*w, 1, r])
        # Σ_private w_i·C_i + Σ h_j·H_j
        h = quotient_evaluations(pk, w)
        c = _msm_g1([*pk.c_query, *pk.h_query], [*w[pk.n_public + 1 :], *h])
    finally:
        helper.join()
    if failure:
        raise failure[0]
    b, b1 = b_side
    # pi_c += s·pi_a + r·b1 - r·s·δ
    c = c + a * Scalar(s) + b1 * Scalar(r) + pk.delta1 * Scalar((-r * s) % R)  # type: ignore[operator]
    return Proof(a, b, c)  # type: ignore[arg-type]
