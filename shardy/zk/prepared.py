"""Groth16 proofs for witnesses that share most of their wires: a worker's attestations.

From one attestation to the next, a worker's witness changes only in a few wires: the replica's
public inputs (task, order, digest) and what the circuit computes from them (their squares).
The rest, the Poseidon hash of the worker's secret, is the same in every proof. Every MSM of a
Groth16 proof is linear in the witness w, and the H query's scalars h(w) (the odd-coset
evaluations of A·B - C) are quadratic in it. With w = f + Σ_j v_j·e_j, f the fixed part and j
over the varying wires V:

    Σ_i w_i·Q_i = Σ_i f_i·Q_i + Σ_j v_j·Q_j                  (the A, B and C queries)
    h(w) = h(f) + Σ_j v_j·u_j + Σ_{j≤k} v_j·v_k·q_jk          (the H query's scalars)

The fixed sums and the points Σ_i u_j[i]·H_i and Σ_i q_jk[i]·H_i are computed once per worker
and key. A proof then costs four sums of a dozen terms instead of four MSMs over every wire and
the domain, and no NTT. With the same r and s it is the very proof `prove_witness` makes, so it
has the same distribution and the same zero knowledge.

The points a proof scales are fixed, so each is kept as a window table in blst
(`shardy.zk.blst.window_table`): a scalar multiple is then 32 table additions. On the 2-core VM
a proof takes about 1 ms, against 2.7 ms for arkworks's MSMs of the same terms; the tables of the
attestation key's preparation (about 30 in G1, 5 in G2) take about 0.1 s to build and 30 MB.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from py_arkworks_bls12381 import G1Point, G2Point
from pyblst import BlstP1Element, BlstP2Element

from shardy.zk.blst import Table, combine, from_arkworks, to_arkworks, window_table
from shardy.zk.codec import scalar
from shardy.zk.data import Proof, ProvingKey
from shardy.zk.field import R, coset_evaluations
from shardy.zk.prover import domain_rows, msm, prove_with, quotient_evaluations, scalars

#: A key and a fixed part with more quadratic terms than this are proven the plain way: each
#: term costs one MSM over the domain to prepare and one point per proof.
MAX_PAIRS = 64


@dataclass(frozen=True)
class Prepared:
    """A proving key specialised to one fixed part of the witness (:func:`prepare`), in blst:
    each point that a proof scales (by a varying wire's value, r or s) as its window table
    (`shardy.zk.blst.window_table`; None where the point is the identity)."""

    #: The wires outside V and their values in every witness this preparation proves.
    fixed_index: tuple[int, ...]
    fixed_values: tuple[int, ...]
    #: The varying wires V, in order.
    varying: tuple[int, ...]
    #: δ in G1 and in G2.
    delta1: Table
    delta2: Table
    #: α + Σ f_i·A_i, then A_j per varying wire.
    a0: BlstP1Element
    a_terms: tuple[Table | None, ...]
    #: β + Σ f_i·B_i in G2 and in G1, then B_j per varying wire.
    b2_0: BlstP2Element
    b2_terms: tuple[Table | None, ...]
    b1_0: BlstP1Element
    b1_terms: tuple[Table | None, ...]
    #: Σ_private f_i·C_i + Σ h(f)_i·H_i, then C_j + Σ u_j[i]·H_i per varying wire.
    c0: BlstP1Element
    c_terms: tuple[Table | None, ...]
    #: (position of j in V, position of k in V) for the nonzero q_jk, and Σ q_jk[i]·H_i.
    pairs: tuple[tuple[int, int], ...]
    pair_terms: tuple[Table, ...]

    def matches(self, witness: Sequence[int]) -> bool:
        """Whether ``witness`` agrees with the fixed part (only then can :meth:`prove` run)."""
        return tuple(map(witness.__getitem__, self.fixed_index)) == self.fixed_values

    def differing(self, witness: Sequence[int]) -> set[int]:
        """The wires outside V on which ``witness`` differs from the fixed part."""
        return {
            i for i, f in zip(self.fixed_index, self.fixed_values, strict=True) if witness[i] != f
        }

    def prove(self, witness: Sequence[int], r: int, s: int) -> Proof | None:
        """The Groth16 proof of ``witness`` with randomness r, s; None if the witness does not
        agree with the fixed part."""
        if not self.matches(witness):
            return None
        v = [witness[j] for j in self.varying]
        a = combine((self.delta1, *self.a_terms), (r, *v), self.a0)
        b = combine((self.delta2, *self.b2_terms), (s, *v), self.b2_0)
        b1 = combine((self.delta1, *self.b1_terms), (s, *v), self.b1_0)
        quad = [v[j] * v[k] % R for j, k in self.pairs]
        # pi_c = c + s·pi_a + r·b1 - r·s·δ (`shardy.zk.prover.finish`), r·s·δ from δ's table
        c = combine((*self.c_terms, *self.pair_terms, self.delta1),
                    (*v, *quad, (-r * s) % R), self.c0)  # fmt: skip
        c = c + a.scalar_mul(s) + b1.scalar_mul(r)
        return Proof(to_arkworks(a), to_arkworks(b), to_arkworks(c))  # type: ignore[arg-type]


def prepare(pk: ProvingKey, witness: Sequence[int], varying: Iterable[int]) -> Prepared | None:
    """Specialise ``pk`` to the fixed part of ``witness`` outside the wires ``varying``.

    Costs about a full proof's MSMs plus one domain-sized MSM per varying wire of A or B and per
    quadratic term. Returns None when there are more than :data:`MAX_PAIRS` quadratic terms.
    """
    var = tuple(sorted(set(varying) - {0}))  # wire 0 is the constant 1
    inside = set(var)
    fixed = [0 if i in inside else x for i, x in enumerate(witness)]
    n_vars, n_pub, log_n = pk.n_vars, pk.n_public, pk.log_domain

    def unit(j: int) -> list[int]:
        e = [0] * n_vars
        e[j] = 1
        return e

    def coset(x: list[int]) -> list[int] | None:
        return coset_evaluations(x, log_n) if any(x) else None

    columns = [domain_rows(pk, unit(j)) for j in var]  # (α_j, β_j) on the domain
    a_f, b_f = domain_rows(pk, fixed)
    la_f, lb_f = coset(a_f), coset(b_f)
    la = [coset(alpha) for alpha, _ in columns]
    lb = [coset(beta) for _, beta in columns]
    quad = [p for p in range(len(var)) if la[p] is not None or lb[p] is not None]
    candidates = [(j, k) for j in quad for k in quad if j <= k]
    if len(candidates) > MAX_PAIRS:
        return None

    def h_points(vectors: list[list[int] | None]) -> list[G1Point | None]:
        return [None if x is None else msm(G1Point, pk.h_query, scalars(x)) for x in vectors]

    # u_j = L(α_j)⊙L(b_f) + L(a_f)⊙L(β_j) - L(α_j⊙b_f + a_f⊙β_j)
    u: list[list[int] | None] = []
    for (alpha, beta), lx, ly in zip(columns, la, lb, strict=True):
        if lx is None and ly is None:
            u.append(None)
            continue
        cross = coset(
            [(x * y + z * t) % R for x, y, z, t in zip(alpha, b_f, a_f, beta, strict=True)]
        )
        vec = [0] * pk.domain_size
        for terms in ((lx, lb_f), (la_f, ly)):
            if terms[0] is not None and terms[1] is not None:
                vec = [(acc + x * y) % R for acc, x, y in zip(vec, *terms, strict=True)]
        if cross is not None:
            vec = [(acc - z) % R for acc, z in zip(vec, cross, strict=True)]
        u.append(vec if any(vec) else None)
    # q for the unordered pair {j, k}: q_jk + q_kj, with q_jk = L(α_j)⊙L(β_k) - L(α_j⊙β_k)
    pair_vectors: list[tuple[int, int, list[int]]] = []
    for j, k in candidates:
        vec = [0] * pk.domain_size
        for x, y in {(j, k), (k, j)}:
            if la[x] is None or lb[y] is None:
                continue
            prod = coset([p * q % R for p, q in zip(columns[x][0], columns[y][1], strict=True)])
            vec = [(acc + p * q) % R for acc, p, q in zip(vec, la[x], lb[y], strict=True)]
            if prod is not None:
                vec = [(acc - z) % R for acc, z in zip(vec, prod, strict=True)]
        if any(vec):
            pair_vectors.append((j, k, vec))

    ws = scalars(fixed)
    one = scalar(1)
    c_terms = []
    for j, hu in zip(var, h_points(u), strict=True):
        cj = pk.c_query[j - n_pub - 1] if j > n_pub else None
        c_terms.append(hu if cj is None else cj if hu is None else cj + hu)
    h0 = msm(G1Point, pk.h_query, scalars(quotient_evaluations(pk, fixed)))
    pair_points = h_points([v for *_, v in pair_vectors])
    pairs = [
        (j, k, p) for (j, k, _), p in zip(pair_vectors, pair_points, strict=True) if p is not None
    ]

    def tables(points: Iterable[G1Point | G2Point | None]) -> tuple[Table | None, ...]:
        return tuple(None if p is None else window_table(from_arkworks(p)) for p in points)

    return Prepared(
        fixed_index=tuple(i for i in range(n_vars) if i not in inside),
        fixed_values=tuple(x for i, x in enumerate(witness) if i not in inside),
        varying=var,
        delta1=window_table(from_arkworks(pk.delta1)),
        delta2=window_table(from_arkworks(pk.delta2)),
        a0=from_arkworks(msm(G1Point, [*pk.a_query, pk.alpha1], [*ws, one])),
        a_terms=tables(pk.a_query[j] for j in var),
        b2_0=from_arkworks(msm(G2Point, [*pk.b2_query, pk.beta2], [*ws, one])),
        b2_terms=tables(pk.b2_query[j] for j in var),
        b1_0=from_arkworks(msm(G1Point, [*pk.b1_query, pk.beta1], [*ws, one])),
        b1_terms=tables(pk.b1_query[j] for j in var),
        c0=from_arkworks(msm(G1Point, pk.c_query, ws[n_pub + 1 :]) + h0),
        c_terms=tables(c_terms),
        pairs=tuple((j, k) for j, k, _ in pairs),
        pair_terms=tables(p for *_, p in pairs),  # type: ignore[arg-type]
    )


class Preparations:
    """One key's preparations, one per fixed part (in practice, per worker secret), built on a
    fixed part's first proof and kept for the next ones (the ``limit`` most recent).

    A witness that differs from its preparation outside V (V was found by sampling, see
    `shardy.zk.circuit`) is proven the plain way, and the preparation is rebuilt with those
    wires in V, at most :data:`REBUILDS` times; after that the fixed part's proofs go the plain
    way. Meant for one thread at a time: the circuit it belongs to calls it under its lock
    (`shardy.zk.circuit.Circuit.lock`).
    """

    #: Rebuilds of one fixed part's preparation before its proofs go the plain way for good.
    REBUILDS = 3

    def __init__(self, pk: ProvingKey, limit: int = 4) -> None:
        self.pk = pk
        self.limit = limit
        # fixed part's key -> [preparation or None (plain proofs), rebuilds so far]
        self._entries: dict[Hashable, list] = {}

    def prove(
        self, key: Hashable, witness: Sequence[int], varying: Callable[[], set[int] | None]
    ) -> Proof:
        """A fresh zero-knowledge proof of a checked ``witness`` whose fixed part is named by
        ``key``; ``varying()`` finds V on the fixed part's first proof (None: do not prepare)."""
        pk = self.pk
        r, s = secrets.randbelow(R), secrets.randbelow(R)
        entry = self._entries.pop(key, None)
        if entry is None:
            wires = varying()
            entry = [None if wires is None else prepare(pk, witness, wires), 0]
            while len(self._entries) >= self.limit:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = entry  # most recent last
        prepared = entry[0]
        if prepared is not None and not prepared.matches(witness):
            if entry[1] < self.REBUILDS:
                entry[1] += 1
                wires = {*prepared.varying, *prepared.differing(witness)}
                prepared = entry[0] = prepare(pk, witness, wires)
            else:
                prepared = entry[0] = None
        proof = None if prepared is None else prepared.prove(witness, r, s)
        return proof if proof is not None else prove_with(pk, witness, r, s)
