"""Groth16 verification: one proof on blst (three Miller loops, one final exponentiation), or
a whole batch in one randomized check (blst below 16 proofs, arkworks on two threads above).

Malformed input (bad JSON shape, points off the curve or outside the subgroup, a wrong number of
public signals, values not below r) raises :class:`shardy.errors.ProofError`; a well-formed proof
that does not verify returns False.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
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
from shardy.zk.field import R

_CPUS = os.cpu_count() or 1
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's helper thread for verification (arkworks releases the GIL).

    Keyed by pid: a forked child (Celery's prefork pool) must not inherit a dead thread.
    """
    pid = os.getpid()
    pool = _POOLS.get(pid)
    if pool is None:
        pool = _POOLS[pid] = ThreadPoolExecutor(1, thread_name_prefix="shardy-zk-verify")
    return pool


#: Batches at least this large split their Miller loops over two threads.
_PARALLEL_MIN = 16

#: One (proof, public signals) pair in snarkjs JSON form.
Item = tuple[dict[str, Any], Sequence[str | int]]


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


def _combination_terms(vk: VerifyingKey, scalars: Sequence[int]) -> tuple[list, list]:
    """The MSM terms of Σ scalars_i · IC_i (scalars already reduced, one per IC point).

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
    return pts, scs


def _msm(pts: list[G1Point], scs: list[Scalar]) -> G1Point:
    if not pts:
        return G1Point.identity()
    return native(G1Point.multiexp_unchecked, pts, scs, what="public input combination failed")


def _linear_combination(vk: VerifyingKey, scalars: Sequence[int]) -> G1Point:
    """Σ scalars_i · IC_i (see :func:`_combination_terms`)."""
    return _msm(*_combination_terms(vk, scalars))


def verify_parsed(vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
    """e(A, B)·e(X, -γ)·e(C, -δ) = e(α, β) with X = IC_0 + Σ s_i·IC_i, as one arkworks
    multi-pairing over points already parsed and checked (:func:`verify` takes the faster
    blst path from JSON)."""
    if len(public) != vk.n_public:
        raise ProofError(f"the key expects {vk.n_public} public signals, got {len(public)}")
    x = _linear_combination(vk, [1, *public])
    lhs = native(
        GT.multi_pairing, [proof.a, x, proof.c], [proof.b, vk.neg_gamma2, vk.neg_delta2],
        what="pairing failed",
    )  # fmt: skip
    return bool(lhs == vk.alphabeta)


def _verify_json(vk: VerifyingKey, proof: object, public: Sequence[int]) -> bool:
    """One proof in snarkjs JSON form against parsed public signals, on blst.

    The public-input MSM (arkworks, which releases the GIL) runs on the helper thread while
    this one checks the points and runs the first two Miller loops (blst, which does not).
    """
    if vk.blst is None:  # a key built by hand, without its blst parts
        return verify_parsed(vk, proof_from_json(proof), public)
    terms = _combination_terms(vk, [1, *public])
    if not terms[0] or _CPUS < 2:
        return _blst_check(vk, proof, lambda: _msm(*terms))
    side = _pool().submit(_msm, *terms)
    time.sleep(0)  # yield the GIL so the helper starts the MSM now
    try:
        return _blst_check(vk, proof, side.result)
    finally:
        wait([side])


def _blst_check(vk: VerifyingKey, proof: object, x: Callable[[], G1Point]) -> bool:
    a, b, c = proof_coords(proof)
    points = blst.g1(a, "pi_a"), blst.g2(b, "pi_b"), blst.g1(c, "pi_c")
    return blst.check(vk.blst, *points, x)  # type: ignore[arg-type]


def verify(
    vkey: VerifyingKey | dict[str, Any], proof: dict[str, Any], public_signals: Sequence[str | int]
) -> bool:
    """Verify one Groth16 proof in snarkjs JSON form.

    Returns:
        True for a valid proof, False for a well-formed proof that fails.
    Raises:
        ProofError: the key, proof or public signals are malformed.
    """
    vk = load_vkey(vkey)
    return _verify_json(vk, proof, public_signals_from_json(public_signals, vk.n_public))


def _parse_item(vk: VerifyingKey, i: int, item: object, checked: bool) -> tuple[Proof, list[int]]:
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise ProofError(f"batch item {i} must be a (proof, public_signals) pair")
    try:
        proof = proof_from_json(item[0], checked=checked)
        return proof, public_signals_from_json(item[1], vk.n_public)
    except ProofError as exc:
        raise ProofError(f"batch item {i}: {exc}") from exc


def _check_points(items: Sequence[tuple[int, Item]]) -> list[int]:
    """Indices of the items whose points are off the curve or outside the subgroup.

    Yields the GIL after each item, so the helper thread's next pairing starts at once.
    """
    bad = []
    for i, item in items:
        try:
            proof_from_json(item[0])
        except ProofError:
            bad.append(i)
        time.sleep(0)
    return bad


def batch_verify_parsed(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    check: Callable[[], object] | None = None,
) -> bool:
    """Check Σ_j ρ_j·(Groth16 equation j) with random 128-bit ρ_j.

    Π_j e(ρ_j·A_j, B_j) · e(-(Σρ_j)·α, β) · e(-Σ_j ρ_j·X_j, γ) · e(-Σ_j ρ_j·C_j, δ) = 1, where
    Σ_j ρ_j·X_j = Σ_i (Σ_j ρ_j·s_ji)·IC_i is a single MSM over the key's IC points.

    Below _PARALLEL_MIN proofs (or on one CPU) the check runs on blst (:func:`_small_batch`).
    From _PARALLEL_MIN proofs on, the helper thread pairs the proofs' terms in up to four
    chunks (arkworks releases the GIL there; each chunk ends in its own final exponentiation)
    while this thread does the work that holds the GIL: the ρ_j·A_j, ``check``, the MSMs and
    the key's three pairs. Give ``check`` when ``parsed`` holds points not yet checked for the
    subgroup (parsed with ``checked=False``); it runs before any pairing result is used (and
    again if arithmetic on the points failed first), and raises or records the bad ones.

    Raises:
        ProofError: ``check`` raised, or the arithmetic failed.
    """
    if not parsed:
        if check is not None:
            check()
        return True
    weights = []
    for _ in parsed:
        rho = 0
        while rho == 0:
            rho = secrets.randbits(128)
        weights.append(rho)
    ic_scalars = [0] * (vk.n_public + 1)
    for rho, (_, public) in zip(weights, parsed, strict=True):
        if len(public) != vk.n_public:
            raise ProofError(f"the key expects {vk.n_public} public signals, got {len(public)}")
        ic_scalars[0] += rho
        for i, s in enumerate(public, start=1):
            ic_scalars[i] += rho * s
    rho_scalars = [scalar(rho) for rho in weights]
    n = len(parsed)
    parallel = n >= _PARALLEL_MIN and _CPUS > 1
    if not parallel and vk.blst is not None:
        return _small_batch(vk, parsed, weights, rho_scalars, ic_scalars, check)
    pending = []
    checked = check is None
    try:
        if parallel:
            chunk = max(_PARALLEL_MIN, -(-n // 4))
            for start in range(0, n, chunk):
                part = list(zip(parsed[start : start + chunk], rho_scalars[start:], strict=False))
                weighted = [p.a * rho for (p, _), rho in part]
                pending.append(
                    _pool().submit(GT.multi_pairing, weighted, [p.b for (p, _), _ in part])
                )
                time.sleep(0)  # yield the GIL: the helper starts pairing this chunk
        if check is not None:
            check()
            checked = True
        g1s: list[G1Point] = []
        g2s: list[Any] = []
        if not parallel:
            g1s = [p.a * rho for (p, _), rho in zip(parsed, rho_scalars, strict=True)]
            g2s = [p.b for p, _ in parsed]
        alpha, x, c = _key_terms(vk, parsed, weights, rho_scalars, ic_scalars)
        g1s += [-alpha, x, c]
        g2s += [vk.beta2, vk.neg_gamma2, vk.neg_delta2]
        product = native(GT.multi_pairing, g1s, g2s, what="pairing failed")
    except BaseException as exc:
        wait(pending)  # the helper's results on unchecked points are moot
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | ProofError):
            raise
        if not checked:
            check()  # arithmetic on a bad point failed: name the point, not the arithmetic
        raise ProofError(f"batch verification failed: {exc}") from exc
    for f in pending:
        product = product * native(f.result, what="pairing failed")
    return bool(product == GT.one())


def _key_terms(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    weights: Sequence[int],
    rho_scalars: Sequence[Scalar],
    ic_scalars: Sequence[int],
) -> tuple[G1Point, G1Point, G1Point]:
    """(Σρ_j)·α, Σ_j ρ_j·X_j and Σ_j ρ_j·C_j: the G1 sides of a batch's three key pairs."""
    x = _linear_combination(vk, [s % R for s in ic_scalars])
    c = native(
        G1Point.multiexp_unchecked, [p.c for p, _ in parsed], list(rho_scalars), what="MSM failed"
    )
    return vk.alpha1 * scalar(sum(weights) % R), x, c


def _small_batch(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    weights: Sequence[int],
    rho_scalars: Sequence[Scalar],
    ic_scalars: Sequence[int],
    check: Callable[[], object] | None,
) -> bool:
    """A batch on this thread alone, on blst: its Miller loops cost less than arkworks's, and
    its decompression checks each point's subgroup (so ``check`` runs only to name a bad one).
    """
    pairs = []
    try:
        for (proof, _), rho in zip(parsed, weights, strict=True):
            a, b, _ = (blst.from_arkworks(p) for p in (proof.a, proof.b, proof.c))
            pairs.append((native(a.scalar_mul, rho, what="scalar multiplication"), b))
    except ProofError:
        if check is None:
            raise
        check()  # raises or records the bad point; the batch's answer is moot
        return False
    terms = _key_terms(vk, parsed, weights, rho_scalars, ic_scalars)
    return blst.batch_check(vk.blst, pairs, *terms)  # type: ignore[arg-type]


def batch_verify(vkey: VerifyingKey | dict[str, Any], items: Sequence[Item]) -> bool:
    """Verify many proofs under one key at once (false accept probability ≤ 2^-128 per call).

    Returns:
        True when every proof is valid; False when at least one is not (use find_invalid).
    Raises:
        ProofError: any item is malformed (the message names its index).
    """
    vk = load_vkey(vkey)
    raw = [_parse_item(vk, i, item, checked=False) for i, item in enumerate(items)]

    def check() -> None:
        bad = _check_points(list(enumerate(items)))
        if bad:
            _parse_item(vk, bad[0], items[bad[0]], checked=True)  # raises, naming the index

    return batch_verify_parsed(vk, raw, check)


def find_invalid(vkey: VerifyingKey | dict[str, Any], items: Sequence[Item]) -> list[int]:
    """Indices of the items that are malformed or do not verify (empty when all are valid).

    Runs one batch check first and falls back to one verification per item only when it fails,
    so the common all-valid case costs a single batch.
    """
    vk = load_vkey(vkey)
    good: list[tuple[int, tuple[Proof, list[int]]]] = []
    bad: list[int] = []
    for i, item in enumerate(items):
        try:
            good.append((i, _parse_item(vk, i, item, checked=False)))
        except ProofError:
            bad.append(i)
    if len(good) == 1:  # one proof: its own check costs less than a batch of one
        return sorted([*bad, *_failing(vk, items, good)])
    off_curve: set[int] = set()
    try:
        ok = batch_verify_parsed(
            vk,
            [p for _, p in good],
            lambda: off_curve.update(_check_points([(i, items[i]) for i, _ in good])),
        )
    except ProofError:  # arithmetic on a bad point failed; the point checks name it
        ok = False
    if off_curve:  # the batch ran over bad points: its answer says nothing; check the rest
        bad += off_curve
        good = [(i, p) for i, p in good if i not in off_curve]
        ok = batch_verify_parsed(vk, [p for _, p in good])
    if ok:
        return sorted(bad)
    return sorted([*bad, *_failing(vk, items, good)])


def _failing(
    vk: VerifyingKey, items: Sequence[Item], parsed: Sequence[tuple[int, tuple[Proof, list[int]]]]
) -> list[int]:
    """Indices of the parsed items whose proof fails its own check, or whose points are bad."""
    failing = []
    for i, (_, public) in parsed:
        try:
            if not _verify_json(vk, items[i][0], public):
                failing.append(i)
        except ProofError:
            failing.append(i)
    return failing
