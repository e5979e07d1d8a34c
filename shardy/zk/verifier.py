"""Groth16 verification of one proof: on blst (three Miller loops, one final exponentiation),
or as one arkworks multi-pairing over parsed points. Batches are in :mod:`shardy.zk.batch`.

Malformed input (bad JSON shape, points off the curve or outside the subgroup, a wrong number of
public signals, values not below r) raises :class:`shardy.errors.ProofError`; a well-formed proof
that does not verify returns False.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from py_arkworks_bls12381 import GT, G1Point, Scalar

from shardy.errors import ProofError
from shardy.zk import blst
from shardy.zk.codec import (
    LIMB_BITS,
    native,
    proof_coords,
    proof_from_json,
    public_signals_from_json,
    scalar,
    vkey_from_json,
)
from shardy.zk.data import Proof, VerifyingKey


@lru_cache(maxsize=16)
def _vkey_from_text(text: str) -> VerifyingKey:
    return vkey_from_json(json.loads(text))


def load_vkey(vkey: VerifyingKey | dict[str, Any]) -> VerifyingKey:
    """The parsed, prepared verifying key; snarkjs JSON keys are parsed once and cached.

    Raises:
        ProofError: the key is malformed.
    """
    if isinstance(vkey, VerifyingKey):
        return vkey
    if not isinstance(vkey, dict):
        raise ProofError(f"a verifying key must be a dict or VerifyingKey, got {type(vkey)}")
    try:
        text = json.dumps(vkey, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ProofError(f"verifying key is not JSON: {exc}") from exc
    return _vkey_from_text(text)


def linear_combination(vk: VerifyingKey, scalars: Sequence[int]) -> G1Point:
    """Σ scalars_i·IC_i (scalars already reduced, one per IC point) as one arkworks MSM.

    Each scalar is cut into LIMB_BITS-wide limbs against the key's table of shifted IC points,
    so the MSM runs over short scalars (zero limbs, e.g. of small seeds, drop out).
    """
    pts: list[G1Point] = []
    scs: list[Scalar] = []
    mask = (1 << LIMB_BITS) - 1
    for row, s in zip(vk.ic_limbs, scalars, strict=True):
        j = 0
        while s:
            if limb := s & mask:
                pts.append(row[j])
                scs.append(scalar(limb))
            s >>= LIMB_BITS
            j += 1
    if not pts:
        return G1Point.identity()
    return native(G1Point.multiexp_unchecked, pts, scs, what="public input combination failed")


def verify_parsed(vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
    """e(A, B)·e(X, -γ)·e(C, -δ) = e(α, β) with X = IC_0 + Σ s_i·IC_i, as one arkworks
    multi-pairing over points already parsed and checked (:func:`verify` takes the faster
    blst path from JSON)."""
    if len(public) != vk.n_public:
        raise ProofError(f"the key expects {vk.n_public} public signals, got {len(public)}")
    x = linear_combination(vk, [1, *public])
    lhs = native(
        GT.multi_pairing, [proof.a, x, proof.c], [proof.b, vk.neg_gamma2, vk.neg_delta2],
        what="pairing failed",
    )  # fmt: skip
    return bool(lhs == vk.alphabeta)


def verify_json(
    vk: VerifyingKey, proof: object, public: Sequence[int], polite: bool = False
) -> bool:
    """One proof in snarkjs JSON form against parsed public signals, on blst, on this thread."""
    if vk.blst is None:  # a key built by hand, without its blst parts
        return verify_parsed(vk, proof_from_json(proof), public)
    a, b, c = proof_coords(proof)
    pause = _hand_over if polite else _stay
    a1 = blst.g1(a, "pi_a")
    pause()
    b2 = blst.g2(b, "pi_b")
    pause()
    c1 = blst.g1(c, "pi_c")
    return blst.check(vk.blst, a1, b2, c1, public, pause)


def _hand_over() -> None:
    time.sleep(0)  # releases the GIL: a thread waiting for it runs now


def _stay() -> None:
    return None


def verify(
    vkey: VerifyingKey | dict[str, Any],
    proof: dict[str, Any],
    public_signals: Sequence[str | int],
    *,
    polite: bool = False,
) -> bool:
    """Verify one Groth16 proof in snarkjs JSON form.

    ``polite``: hand the GIL to the process's other threads between the pairing's steps (blst
    holds it through each, about a millisecond in all; the orchestrator's prechecker shares
    its process with Celery's consumer, which would otherwise wait that long).

    Returns:
        True for a valid proof, False for a well-formed proof that fails.
    Raises:
        ProofError: the key, proof or public signals are malformed.
    """
    vk = load_vkey(vkey)
    public = public_signals_from_json(public_signals, vk.n_public)
    return verify_json(vk, proof, public, polite)
