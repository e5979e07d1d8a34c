"""Batch Groth16 verification: many proofs under one key in one randomized check (blst below
16 proofs, arkworks on two threads above), and finding the invalid ones when it fails.

Malformed items raise :class:`shardy.errors.ProofError` naming their index; single proofs are
checked by :mod:`shardy.zk.verifier`.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from shardy.errors import ProofError
from shardy.zk import blst
from shardy.zk.codec import native, proof_from_json, public_signals_from_json, scalar
from shardy.zk.data import Proof, VerifyingKey
from shardy.zk.field import R
from shardy.zk.verifier import linear_combination, load_vkey, verify_json

_CPUS = os.cpu_count() or 1
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's helper thread for batch verification (arkworks releases the GIL).

    Keyed by pid: a forked child (Celery's prefork pool) must not inherit a dead thread.
    """
    pid = os.getpid()
    pool = _POOLS.get(pid)
    if pool is None:
        pool = _POOLS[pid] = ThreadPoolExecutor(1, thread_name_prefix="shardy-zk-verify")
    return pool


#: Batches at least this large pair their proofs on arkworks over two threads, in chunks of at
#: least this many proofs (each chunk ends in its own final exponentiation).
_PARALLEL_MIN = 16

#: One (proof, public signals) pair in snarkjs JSON form.
Item = tuple[dict[str, Any], Sequence[str | int]]


def _parse_item(vk: VerifyingKey, i: int, item: object, checked: bool) -> tuple[Proof, list[int]]:
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise ProofError(f"batch item {i} must be a (proof, public_signals) pair")
    try:
        proof = proof_from_json(item[0], checked=checked)
        return proof, public_signals_from_json(item[1], vk.n_public)
    except ProofError as exc:
        raise ProofError(f"batch item {i}: {exc}") from exc


def _subgroup_failures(proofs: Sequence[tuple[int, Proof]]) -> list[int]:
    """Indices of the proofs with a point outside its prime-order subgroup (parsed with
    ``checked=False``, which checked the curve).

    Yields the GIL after each proof, so the helper thread's next pairing starts at once.
    """
    bad = []
    for i, proof in proofs:
        for point in (proof.a, proof.b, proof.c):
            if not native(point.is_in_subgroup, what="subgroup check failed"):
                bad.append(i)
                break
        time.sleep(0)
    return bad


def batch_verify_parsed(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    check: Callable[[], object] | None = None,
) -> bool:
    """Check Σ_j ρ_j·(Groth16 equation j) with random 128-bit ρ_j.

    Π_j e(ρ_j·A_j, B_j) · e(-(Σρ_j)·α, β) · e(-Σ_j ρ_j·X_j, γ) · e(-Σ_j ρ_j·C_j, δ) = 1, where
    Σ_j ρ_j·X_j = Σ_i (Σ_j ρ_j·s_ji)·IC_i is a single combination of the key's IC points.

    Below _PARALLEL_MIN proofs (or on one CPU) the check runs on blst (:func:`_small_batch`);
    from _PARALLEL_MIN proofs on, on arkworks over two threads (:func:`_parallel_batch`). Give
    ``check`` when ``parsed`` holds points not yet checked for the subgroup (parsed with
    ``checked=False``); it runs before any pairing result is used (and again if arithmetic on
    the points failed first), and raises or records the bad ones.

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
    terms = _Terms(weights, [scalar(rho) for rho in weights], sum(weights) % R,
                   [s % R for s in ic_scalars])  # fmt: skip
    if (len(parsed) < _PARALLEL_MIN or _CPUS < 2) and vk.blst is not None:
        return _small_batch(vk, parsed, terms, check)
    return _parallel_batch(vk, parsed, terms, check)


@dataclass(frozen=True, slots=True)
class _Terms:
    """A batch's random weights ρ_j (as ints and as arkworks scalars), Σρ_j and the combined
    public-input scalars Σ_j ρ_j·s_ji, the last two reduced modulo r."""

    weights: list[int]
    rho_scalars: list[Scalar]
    alpha: int
    ic: list[int]


def _parallel_batch(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    terms: _Terms,
    check: Callable[[], object] | None,
) -> bool:
    """A batch on arkworks over two threads, which share its pairings (arkworks releases the
    GIL there) through a queue of jobs.

    This thread computes the ρ_j·A_j chunk by chunk and queues each chunk's pairing; the helper
    starts on the first chunk at once and takes jobs from the front. Behind the chunks comes the
    key's three pairs. Once ``check`` (which holds the GIL) is done, this thread takes jobs from
    the back until none is left. Each job ends in its own final exponentiation.
    """
    n = len(parsed)
    size = max(_PARALLEL_MIN, n // 8)
    todo: deque[Callable[[], GT]] = deque()
    done: list[GT] = []
    helper = None
    checked = check is None
    try:
        for start in range(0, n, size):
            part = range(start, min(n, start + size))
            weighted = [parsed[j][0].a * terms.rho_scalars[j] for j in part]
            todo.append(partial(_pairing, weighted, [parsed[j][0].b for j in part]))
            if helper is None:
                helper = _pool().submit(_run_jobs, todo.popleft, done)
            time.sleep(0)  # yield the GIL: the helper's next native call starts now
        todo.append(partial(_key_pairs, vk, parsed, terms))
        if check is not None:
            check()
            checked = True
        _run_jobs(todo.pop, done)
        if helper is not None:
            helper.result()
    except BaseException as exc:
        todo.clear()
        if helper is not None:
            wait([helper])  # the helper's results on unchecked points are moot
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | ProofError):
            raise
        if not checked:
            check()  # arithmetic on a bad point failed: name the point, not the arithmetic
        raise ProofError(f"batch verification failed: {exc}") from exc
    product = GT.one()
    for value in done:
        product = product * value
    return bool(product == GT.one())


def _pairing(g1s: list[G1Point], g2s: list[G2Point]) -> GT:
    return native(GT.multi_pairing, g1s, g2s, what="pairing failed")


def _key_pairs(
    vk: VerifyingKey, parsed: Sequence[tuple[Proof, Sequence[int]]], terms: _Terms
) -> GT:
    """e(-(Σρ_j)·α, β)·e(Σ_j ρ_j·X_j, -γ)·e(Σ_j ρ_j·C_j, -δ), its MSMs on arkworks."""
    x = linear_combination(vk, terms.ic)
    alpha = vk.alpha1 * scalar(terms.alpha)
    return _pairing([-alpha, x, _weighted_c(parsed, terms)],
                    [vk.beta2, vk.neg_gamma2, vk.neg_delta2])  # fmt: skip


def _weighted_c(parsed: Sequence[tuple[Proof, Sequence[int]]], terms: _Terms) -> G1Point:
    """Σ_j ρ_j·C_j, one arkworks MSM (it releases the GIL)."""
    return native(G1Point.multiexp_unchecked, [p.c for p, _ in parsed], terms.rho_scalars,
                  what="MSM failed")  # fmt: skip


def _run_jobs(take: Callable[[], Callable[[], GT]], done: list[GT]) -> None:
    """Run jobs taken with ``take`` (deque pops are atomic) until the queue is empty."""
    while True:
        try:
            job = take()
        except IndexError:
            return
        done.append(job())


def _small_batch(
    vk: VerifyingKey,
    parsed: Sequence[tuple[Proof, Sequence[int]]],
    terms: _Terms,
    check: Callable[[], object] | None,
) -> bool:
    """A batch on this thread alone, on blst: its Miller loops cost less than arkworks's, and
    its decompression checks each point's subgroup (so ``check`` runs only to name a bad one).
    """
    pairs = []
    try:
        for (proof, _), rho in zip(parsed, terms.weights, strict=True):
            a, b, _ = (blst.from_arkworks(p) for p in (proof.a, proof.b, proof.c))
            pairs.append((native(a.scalar_mul, rho, what="scalar multiplication"), b))
    except ProofError:
        if check is None:
            raise
        check()  # raises or records the bad point; the batch's answer is moot
        return False
    c = _weighted_c(parsed, terms)
    return blst.batch_check(vk.blst, pairs, terms.alpha, terms.ic, c)  # type: ignore[arg-type]


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
        bad = _subgroup_failures([(i, proof) for i, (proof, _) in enumerate(raw)])
        if bad:
            _parse_item(vk, bad[0], items[bad[0]], checked=True)  # raises, naming the index
            raise ProofError(f"batch item {bad[0]}: a point is outside its subgroup")

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
            lambda: off_curve.update(_subgroup_failures([(i, p) for i, (p, _) in good])),
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
            if not verify_json(vk, items[i][0], public):
                failing.append(i)
        except ProofError:
            failing.append(i)
    return failing
