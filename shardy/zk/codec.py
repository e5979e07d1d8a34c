"""snarkjs JSON ↔ arkworks: points, proofs, verifying keys and public signals, all validated.

Points are affine decimal strings: G1 ``[x, y, "1"]``; G2 ``[[x.c0, x.c1], [y.c0, y.c1],
["1", "0"]]``; the identity has z = 0. Every failure (shape, range, curve or subgroup membership)
raises :class:`shardy.errors.ProofError`; nothing from the native layer escapes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from shardy.errors import ProofError
from shardy.zk import blst
from shardy.zk.data import Proof, VerifyingKey
from shardy.zk.field import Q, R
from shardy.zk.native import native

_P = TypeVar("_P", G1Point, G2Point)
_DECIMAL = re.compile(r"[0-9]{1,116}")
#: Width of the scalar limbs of a verifying key's IC table (32 measured fastest for 6 points).
LIMB_BITS = 32


def scalar(value: int) -> Scalar:
    """An arkworks scalar from an int in [0, r), through its bytes: ``Scalar(int)`` converts
    a 255-bit int 5-20x slower, which showed in every MSM's setup."""
    return Scalar.from_le_bytes(value.to_bytes(32, "little"))


def decimal(value: object, what: str, modulus: int) -> int:
    """A canonical decimal string (or int) in [0, modulus)."""
    if isinstance(value, bool):
        raise ProofError(f"{what} must be a decimal string, got {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        n = int(value)
    else:
        raise ProofError(f"{what} must be a decimal string, got {str(value)[:80]!r}")
    if not 0 <= n < modulus:
        raise ProofError(f"{what} = {n} is not below the field modulus {modulus}")
    return n


def _seq(value: object, length: int, what: str) -> Sequence[object]:
    if not isinstance(value, list | tuple) or len(value) != length:
        raise ProofError(f"{what} must be a list of {length} items, got {str(value)[:80]!r}")
    return value


#: Affine coordinates of a G1 point (x, y) and of a G2 point (x.c0, x.c1, y.c0, y.c1); None is
#: the identity.
G1Coords = tuple[int, int] | None
G2Coords = tuple[int, int, int, int] | None


def g1_coords(value: object, what: str) -> G1Coords:
    """The coordinates of a snarkjs G1 point, range-checked (curve membership is not checked)."""
    x, y, z = (decimal(v, f"{what} coordinate", Q) for v in _seq(value, 3, what))
    if z == 0:
        return None
    if z != 1:
        raise ProofError(f"{what} must be affine (z = 1) or the identity (z = 0)")
    if x == 0 and y == 0:
        raise ProofError(f"{what} (0, 0) is not on the curve")
    return x, y


def g2_coords(value: object, what: str) -> G2Coords:
    """The coordinates of a snarkjs G2 point; checked as :func:`g1_coords`."""
    xs, ys, zs = (_seq(v, 2, what) for v in _seq(value, 3, what))
    x0, x1, y0, y1, z0, z1 = (decimal(v, f"{what} coordinate", Q) for v in (*xs, *ys, *zs))
    if (z0, z1) == (0, 0):
        return None
    if (z0, z1) != (1, 0):
        raise ProofError(f"{what} must be affine (z = 1) or the identity (z = 0)")
    if x0 == x1 == y0 == y1 == 0:
        raise ProofError(f"{what} (0, 0) is not on the curve")
    return x0, x1, y0, y1


def _point(group: type[_P], xy: Sequence[int] | None, what: str, checked: bool) -> _P:
    if xy is None:
        return group.identity()
    data = b"".join(v.to_bytes(48, "big") for v in xy)
    parse = group.from_xy_bytes_be if checked else group.from_xy_bytes_unchecked_be
    name = "G1" if group is G1Point else "G2"
    return native(parse, data, what=f"{what} is not a point of {name}")


def g1_from_json(value: object, what: str, *, checked: bool = True) -> G1Point:
    """Parse a snarkjs G1 point and check it is on the curve and in the subgroup (the costly
    part: ``checked=False`` checks only the curve, for a point whose subgroup is checked
    separately before it is trusted)."""
    return _point(G1Point, g1_coords(value, what), what, checked)


def g2_from_json(value: object, what: str, *, checked: bool = True) -> G2Point:
    """Parse a snarkjs G2 point; checked as :func:`g1_from_json`."""
    return _point(G2Point, g2_coords(value, what), what, checked)


def g1_to_json(point: G1Point) -> list[str]:
    """snarkjs form of a G1 point."""
    if point == G1Point.identity():
        return ["0", "1", "0"]
    xy = point.to_xy_bytes_be()
    return [str(int.from_bytes(xy[:48], "big")), str(int.from_bytes(xy[48:], "big")), "1"]


def g2_to_json(point: G2Point) -> list[list[str]]:
    """snarkjs form of a G2 point."""
    if point == G2Point.identity():
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    xy = point.to_xy_bytes_be()
    x0, x1, y0, y1 = (str(int.from_bytes(xy[i : i + 48], "big")) for i in range(0, 192, 48))
    return [[x0, x1], [y0, y1], ["1", "0"]]


def _check_tags(obj: dict[str, Any], what: str) -> None:
    if obj.get("protocol", "groth16") != "groth16":
        raise ProofError(f"{what} is for protocol {obj.get('protocol')!r}, not groth16")
    if obj.get("curve", "bls12381") != "bls12381":
        raise ProofError(f"{what} is for curve {obj.get('curve')!r}, not bls12381")


def _proof_fields(obj: object) -> tuple[object, object, object]:
    if not isinstance(obj, dict):
        raise ProofError(f"a proof must be a JSON object, got {type(obj).__name__}")
    _check_tags(obj, "proof")
    try:
        return obj["pi_a"], obj["pi_b"], obj["pi_c"]
    except KeyError as exc:
        raise ProofError(f"proof lacks {exc}") from None


def proof_coords(obj: object) -> tuple[G1Coords, G2Coords, G1Coords]:
    """The coordinates of a snarkjs proof object's pi_a, pi_b and pi_c, shape- and range-checked
    (curve and subgroup membership are the caller's to check)."""
    a, b, c = _proof_fields(obj)
    return g1_coords(a, "pi_a"), g2_coords(b, "pi_b"), g1_coords(c, "pi_c")


def proof_from_json(obj: object, *, checked: bool = True) -> Proof:
    """Parse a snarkjs proof object ({pi_a, pi_b, pi_c, protocol, curve}); ``checked=False``
    skips the subgroup checks (see :func:`g1_from_json`)."""
    a, b, c = _proof_fields(obj)
    return Proof(
        g1_from_json(a, "pi_a", checked=checked),
        g2_from_json(b, "pi_b", checked=checked),
        g1_from_json(c, "pi_c", checked=checked),
    )


def proof_to_json(proof: Proof) -> dict[str, Any]:
    """snarkjs form of a proof."""
    return {
        "pi_a": g1_to_json(proof.a),
        "pi_b": g2_to_json(proof.b),
        "pi_c": g1_to_json(proof.c),
        "protocol": "groth16",
        "curve": "bls12381",
    }


def public_signals_from_json(signals: object, n_public: int) -> list[int]:
    """Parse public signals (decimal strings), refusing a wrong count or values ≥ r."""
    if not isinstance(signals, list | tuple):
        raise ProofError(f"public signals must be a list, got {type(signals).__name__}")
    if len(signals) != n_public:
        raise ProofError(f"the key expects {n_public} public signals, got {len(signals)}")
    return [decimal(s, f"public signal {i}", R) for i, s in enumerate(signals)]


def prepare_vkey(alpha1: G1Point, beta2: G2Point, gamma2: G2Point, delta2: G2Point,
                 ic: Sequence[G1Point]) -> VerifyingKey:  # fmt: skip
    """Build a VerifyingKey with its precomputed pairing e(α, β), IC limb table and blst parts."""
    alphabeta = native(GT.pairing, alpha1, beta2, what="verifying key pairing failed")
    limbs = -(-R.bit_length() // LIMB_BITS)
    table = tuple(tuple(p * scalar(1 << (LIMB_BITS * j)) for j in range(limbs)) for p in ic)
    neg_gamma2, neg_delta2 = -gamma2, -delta2
    return VerifyingKey(
        alpha1, beta2, gamma2, delta2, tuple(ic), alphabeta, neg_gamma2, neg_delta2, table,
        blst.prepare(alpha1, beta2, neg_gamma2, neg_delta2, ic),
    )  # fmt: skip


def vkey_from_json(obj: object) -> VerifyingKey:
    """Parse a snarkjs verification_key.json for groth16 on bls12381."""
    if not isinstance(obj, dict):
        raise ProofError(f"a verifying key must be a JSON object, got {type(obj).__name__}")
    _check_tags(obj, "verifying key")
    try:
        ic_json, n_public = obj["IC"], obj["nPublic"]
        alpha = g1_from_json(obj["vk_alpha_1"], "vk_alpha_1")
        beta = g2_from_json(obj["vk_beta_2"], "vk_beta_2")
        gamma = g2_from_json(obj["vk_gamma_2"], "vk_gamma_2")
        delta = g2_from_json(obj["vk_delta_2"], "vk_delta_2")
    except KeyError as exc:
        raise ProofError(f"verifying key lacks {exc}") from None
    if isinstance(n_public, bool) or not isinstance(n_public, int) or n_public < 0:
        raise ProofError(f"verifying key nPublic must be a count, got {n_public!r}")
    ic = [g1_from_json(p, f"IC[{i}]") for i, p in enumerate(_seq(ic_json, n_public + 1, "IC"))]
    return prepare_vkey(alpha, beta, gamma, delta, ic)


def vkey_to_json(vk: VerifyingKey) -> dict[str, Any]:
    """snarkjs form of a verifying key (without vk_alphabeta_12)."""
    return {
        "protocol": "groth16",
        "curve": "bls12381",
        "nPublic": vk.n_public,
        "vk_alpha_1": g1_to_json(vk.alpha1),
        "vk_beta_2": g2_to_json(vk.beta2),
        "vk_gamma_2": g2_to_json(vk.gamma2),
        "vk_delta_2": g2_to_json(vk.delta2),
        "IC": [g1_to_json(p) for p in vk.ic],
    }
