"""Groth16 data structures: proof, verifying key (prepared) and proving key, with their groups."""

from __future__ import annotations

from dataclasses import dataclass, field

from py_arkworks_bls12381 import GT, G1Point, G2Point

from shardy.zk.blst import BlstKey


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof (snarkjs's pi_a, pi_b, pi_c)."""

    #: pi_a, in G1.
    a: G1Point
    #: pi_b, in G2.
    b: G2Point
    #: pi_c, in G1.
    c: G1Point


@dataclass(frozen=True)
class VerifyingKey:
    """A Groth16 verifying key, prepared for the pairing check e(A,B) = e(α,β)·e(X,γ)·e(C,δ)."""

    #: α, in G1.
    alpha1: G1Point
    #: β, in G2.
    beta2: G2Point
    #: γ, in G2.
    gamma2: G2Point
    #: δ, in G2.
    delta2: G2Point
    #: IC_0..IC_nPublic, in G1: X = IC_0 + Σ s_i·IC_i for public signals s_1..s_nPublic.
    ic: tuple[G1Point, ...]
    #: e(α, β), in GT (precomputed).
    alphabeta: GT = field(repr=False)
    #: -γ and -δ, in G2 (precomputed for the multi-pairing).
    neg_gamma2: G2Point = field(repr=False)
    neg_delta2: G2Point = field(repr=False)
    #: 2^(LIMB_BITS·j)·IC_i for every limb j of a scalar: the public-input combination becomes
    #: one MSM with short scalars, which costs about half of one with full-width scalars.
    ic_limbs: tuple[tuple[G1Point, ...], ...] = field(repr=False, default=())
    #: The key's parts in blst, for a single proof and small batches (see shardy.zk.blst).
    blst: BlstKey | None = field(repr=False, default=None)

    @property
    def n_public(self) -> int:
        """Number of public signals the key expects."""
        return len(self.ic) - 1


@dataclass(frozen=True)
class ProvingKey:
    """A Groth16 proving key in snarkjs's zkey layout (queries indexed by wire)."""

    #: Number of wires (witness length, wire 0 is the constant 1).
    n_vars: int
    #: Number of public signals (wires 1..n_public).
    n_public: int
    #: log2 of the evaluation domain size.
    log_domain: int
    #: α and β in G1, β and δ in G2, δ in G1.
    alpha1: G1Point
    beta1: G1Point
    beta2: G2Point
    delta1: G1Point
    delta2: G2Point
    #: QAP rows of A and B: (matrix 0 = A / 1 = B, constraint, wire, coefficient in Fr).
    coeffs: tuple[tuple[int, int, int, int], ...] = field(repr=False)
    #: A, B (G1 and G2) and C queries, per wire; None where the point is the identity.
    a_query: tuple[G1Point | None, ...] = field(repr=False)
    b1_query: tuple[G1Point | None, ...] = field(repr=False)
    b2_query: tuple[G2Point | None, ...] = field(repr=False)
    #: C query for private wires n_public+1..n_vars-1 (index 0 is wire n_public+1).
    c_query: tuple[G1Point | None, ...] = field(repr=False)
    #: H query: multiplied by the odd-coset evaluations of A·B - C.
    h_query: tuple[G1Point | None, ...] = field(repr=False)

    @property
    def domain_size(self) -> int:
        """Size of the evaluation domain (a power of two)."""
        return 1 << self.log_domain
