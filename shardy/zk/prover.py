"""Groth16 prover over a snarkjs zkey: QAP on the odd coset exactly as snarkjs, MSMs in arkworks."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from typing import Any

from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from shardy.errors import ProofError
from shardy.zk.codec import scalar
from shardy.zk.data import Proof, ProvingKey
from shardy.zk.field import R, coset_evaluations


def quotient_evaluations(pk: ProvingKey, witness: Sequence[int]) -> list[int]:
    """(A·B - C) evaluated on the odd coset w_2n·<w_n>, the scalars of the H query.

    A and B are evaluated on the domain from the zkey's coefficients (including snarkjs's extra
    rows binding the public inputs), C = A·B pointwise there; then all three move to the coset,
    where Z(x) = x^n - 1 is the constant -2 (folded into the H query by the setup).
    """
    a_t, b_t = domain_rows(pk, witness)
    c_t = [x * y % R for x, y in zip(a_t, b_t, strict=True)]
    a_odd = coset_evaluations(a_t, pk.log_domain)
    b_odd = coset_evaluations(b_t, pk.log_domain)
    c_odd = coset_evaluations(c_t, pk.log_domain)
    return [(x * y - z) % R for x, y, z in zip(a_odd, b_odd, c_odd, strict=True)]


def domain_rows(pk: ProvingKey, witness: Sequence[int]) -> tuple[list[int], list[int]]:
    """A·w and B·w on the size-n domain (snarkjs's extra public-input rows included), reduced."""
    n = pk.domain_size
    a_t = [0] * n
    b_t = [0] * n
    rows = (a_t, b_t)
    for m, c, s, value in pk.coeffs:
        rows[m][c] += value * witness[s]
    return [x % R for x in a_t], [x % R for x in b_t]


def scalars(values: Sequence[int]) -> list[Scalar | None]:
    """Values as arkworks scalars, None for zero (a zero term drops out of every MSM)."""
    return [scalar(v) if v else None for v in values]


def msm(group: type[G1Point] | type[G2Point], points: Sequence, scalars: Sequence) -> Any:
    """Σ scalars_i · points_i over the terms where both are present."""
    pts, scs = [], []
    for p, s in zip(points, scalars, strict=True):
        if p is not None and s is not None:
            pts.append(p)
            scs.append(s)
    return group.multiexp_unchecked(pts, scs) if pts else group.identity()


def prove_witness(pk: ProvingKey, witness: Sequence[int]) -> Proof:
    """A zero-knowledge Groth16 proof for a full witness (fresh random r, s from `secrets`).

    The G2 MSM (pi_b, the largest) and pi_a's MSM run on a helper thread while this thread does
    pi_b's G1 twin, the QAP and pi_c's MSM: about equal halves. arkworks releases the GIL inside
    its MSMs.

    Raises:
        ProofError: the witness does not fit the key (length, wire 0, values not in Fr).
    """
    check_witness(pk, witness)
    return prove_with(pk, witness, secrets.randbelow(R), secrets.randbelow(R))


def check_witness(pk: ProvingKey, witness: Sequence[int]) -> None:
    """Raise ProofError unless ``witness`` fits the key (length, wire 0, values in Fr)."""
    if len(witness) != pk.n_vars:
        raise ProofError(f"witness has {len(witness)} wires, the key expects {pk.n_vars}")
    if witness[0] != 1:
        raise ProofError("witness wire 0 must be the constant 1")
    if any(not 0 <= w < R for w in witness):
        raise ProofError("witness values must lie in [0, r)")


def prove_with(pk: ProvingKey, witness: Sequence[int], r: int, s: int) -> Proof:
    """The Groth16 proof of a checked ``witness`` with randomness r, s (:func:`prove_witness`)."""
    ws = scalars(witness)  # once: the A, B and C sides share the witness scalars
    one, r_s, s_s = scalar(1), scalar(r), scalar(s)

    # The helper thread: pi_b = β + Σ w_i·B_i + s·δ (in G2) and pi_a = α + Σ w_i·A_i + r·δ.
    side: list[G1Point | G2Point] = []
    failure: list[BaseException] = []

    def run_side() -> None:
        try:
            side.append(msm(G2Point, [*pk.b2_query, pk.beta2, pk.delta2], [*ws, one, s_s]))
            side.append(msm(G1Point, [*pk.a_query, pk.alpha1, pk.delta1], [*ws, one, r_s]))
        except BaseException as exc:  # re-raised on the calling thread
            failure.append(exc)

    helper = threading.Thread(target=run_side, name="shardy-zk-msm")
    helper.start()
    try:
        # b1: pi_b's twin in G1, for pi_c
        b1 = msm(G1Point, [*pk.b1_query, pk.beta1, pk.delta1], [*ws, one, s_s])
        # Σ_private w_i·C_i + Σ h_j·H_j
        h = scalars(quotient_evaluations(pk, witness))
        c = msm(G1Point, [*pk.c_query, *pk.h_query], [*ws[pk.n_public + 1 :], *h])
    finally:
        helper.join()
    if failure:
        raise failure[0]
    b, a = side
    return finish(pk, a, b, b1, c, r, s)  # type: ignore[arg-type]


def finish(
    pk: ProvingKey, a: G1Point, b: G2Point, b1: G1Point, c: G1Point, r: int, s: int
) -> Proof:
    """The proof from pi_a, pi_b, pi_b's G1 twin and pi_c's witness part: pi_c += s·pi_a +
    r·b1 - r·s·δ."""
    c = c + a * scalar(s) + b1 * scalar(r) + pk.delta1 * scalar((-r * s) % R)
    return Proof(a, b, c)
