"""Poseidon parameter generator for the BLS12-381 scalar field (Grain LFSR, reference procedure).

Implements the procedure of the Poseidon paper (Grassi et al., appendices B and E) and its reference
script ``generate_parameters_grain.sage``: round numbers from the security inequalities, round
constants and a Cauchy MDS matrix drawn from one Grain LFSR stream in self-shrinking mode.

Run ``python -m shardy.zk.poseidon_params`` to regenerate ``circuits/poseidon_constants.circom`` and
``shardy/zk/poseidon_constants.py``; tests check that the committed files equal this output and
that the generator reproduces the reference test vectors for widths 3 and 5.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from shardy.zk.poseidon_mds import mds_is_secure

#: Order r of the BLS12-381 scalar field (the circuit's field).
BLS12_381_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

#: Shardy's instance: one input, one capacity element (t = 2), x^5, 128-bit security.
WIDTH = 2
ALPHA = 5
SECURITY_BITS = 128


@dataclass(frozen=True)
class PoseidonParams:
    """One Poseidon instance: field, width, S-box exponent, round numbers and constants."""

    prime: int
    t: int
    alpha: int
    full_rounds: int
    partial_rounds: int
    #: (full_rounds + partial_rounds) * t constants, round-major.
    round_constants: tuple[int, ...]
    #: t x t Cauchy matrix, row-major.
    mds: tuple[tuple[int, ...], ...]


# -- Grain LFSR in self-shrinking mode -----------------------------------------------------------


class Grain:
    """The 80-bit Grain LFSR seeded with the instance description, as in appendix E."""

    def __init__(self, field: int, sbox: int, n: int, t: int, r_f: int, r_p: int) -> None:
        bits = (
            _bits(field, 2) + _bits(sbox, 4) + _bits(n, 12) + _bits(t, 12)
            + _bits(r_f, 10) + _bits(r_p, 10) + [1] * 30
        )  # fmt: skip
        self._state = bits
        for _ in range(160):
            self._clock()

    def _clock(self) -> int:
        s = self._state
        bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0]
        del s[0]
        s.append(bit)
        return bit

    def bit(self) -> int:
        """Next output bit: clock pairs, output the second bit of the first pair starting with 1."""
        while self._clock() == 0:
            self._clock()
        return self._clock()

    def integer(self, n: int) -> int:
        """Next n output bits as an integer, most significant bit first."""
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value


def _bits(value: int, width: int) -> list[int]:
    return [int(c) for c in format(value, f"0{width}b")]


# -- round numbers --------------------------------------------------------------------------------


def round_numbers(prime: int, t: int, alpha: int = ALPHA, security: int = SECURITY_BITS) -> tuple:
    """(R_F, R_P) from the paper's inequalities with the reference security margin.

    Picks the secure pair with the fewest S-boxes, adds 2 full rounds and 7.5% partial rounds,
    and rounds R_P up to a multiple of t (the 2019 reference numbers, used by circomlib).
    """
    n = math.ceil(math.log2(prime))
    m = security
    best: tuple[int, int, int] | None = None
    for r_p in range(1, 500):
        for r_f in range(4, 100, 2):
            if _secure(prime, n, t, r_f, r_p, alpha, m):
                cost = t * r_f + r_p
                if best is None or cost < best[0]:
                    best = (cost, r_f, r_p)
                break
    assert best is not None
    _, r_f, r_p = best
    r_f += 2
    r_p = math.ceil(r_p * 1.075)
    r_p = -(-r_p // t) * t
    return r_f, r_p


def _secure(prime: int, n: int, t: int, r_f: int, r_p: int, alpha: int, m: int) -> bool:
    log_a2 = math.log(2, alpha)
    statistical = 6 if m <= (math.floor(math.log2(prime) - (alpha - 1) / 2.0)) * (t + 1) else 10
    interpolation = 1 + math.ceil(log_a2 * min(m, n)) + math.ceil(math.log(t, alpha)) - r_p
    groebner_1 = log_a2 * min(m, math.log2(prime)) - r_p
    groebner_2 = t - 1 + log_a2 * min(m / (t + 1), math.log2(prime) / 2) - r_p
    groebner_3 = (t - 2 + m / (2 * math.log2(alpha)) - r_p) / (t - 1) if t > 1 else 0
    bound = max(
        math.ceil(statistical),
        math.ceil(interpolation),
        math.ceil(groebner_1),
        math.ceil(groebner_2),
        math.ceil(groebner_3),
    )
    return r_f >= bound


# -- constants and MDS ---------------------------------------------------------------------------


def generate(
    prime: int = BLS12_381_R, t: int = WIDTH, r_f: int = 0, r_p: int = 0
) -> PoseidonParams:
    """Generate round constants and MDS matrix for GF(prime), x^5, width t.

    Round numbers default to :func:`round_numbers`. Candidate Cauchy matrices are drawn until one
    passes the reference's security checks. Raises ValueError where x^5 is not a permutation.
    """
    if math.gcd(ALPHA, prime - 1) != 1:
        raise ValueError(f"x^{ALPHA} is not a permutation of GF({prime:#x})")
    if not r_f:
        r_f, r_p = round_numbers(prime, t)
    n = prime.bit_length()
    grain = Grain(field=1, sbox=0, n=n, t=t, r_f=r_f, r_p=r_p)
    constants = []
    for _ in range((r_f + r_p) * t):
        value = grain.integer(n)
        while value >= prime:
            value = grain.integer(n)
        constants.append(value)
    while True:
        mds = _cauchy(grain, prime, n, t)
        if mds is not None and mds_is_secure(mds, prime):
            break
    return PoseidonParams(prime, t, ALPHA, r_f, r_p, tuple(constants), mds)


def _cauchy(grain: Grain, p: int, n: int, t: int) -> tuple[tuple[int, ...], ...] | None:
    draws = [grain.integer(n) % p for _ in range(2 * t)]
    while len(set(draws)) != len(draws):
        draws = [grain.integer(n) % p for _ in range(2 * t)]
    xs, ys = draws[:t], draws[t:]
    if any((x + y) % p == 0 for x in xs for y in ys):
        return None
    return tuple(tuple(pow(x + y, -1, p) for y in ys) for x in xs)


# -- writers --------------------------------------------------------------------------------------


def render_circom(params: PoseidonParams) -> str:
    """The circom include holding the constants as functions."""
    lines = [
        "// Generated by `python -m shardy.zk.poseidon_params`; do not edit.",
        f"// Poseidon over the BLS12-381 scalar field: t={params.t}, x^{params.alpha}, "
        f"R_F={params.full_rounds}, R_P={params.partial_rounds}, Grain LFSR constants.",
        "pragma circom 2.1.0;",
        "",
        "function POSEIDON_C() {",
        "    return [",
    ]
    lines += [f"        {c}," for c in params.round_constants[:-1]]
    lines += [f"        {params.round_constants[-1]}", "    ];", "}", "", "function POSEIDON_M() {"]
    rows = ",\n".join("        [" + ", ".join(str(v) for v in row) + "]" for row in params.mds)
    lines += ["    return [", rows, "    ];", "}", ""]
    return "\n".join(lines)


def render_python(params: PoseidonParams) -> str:
    """The Python module holding the same constants."""
    lines = [
        '"""Poseidon constants for the BLS12-381 scalar field (generated by poseidon_params)."""',
        "",
        "# Generated by `python -m shardy.zk.poseidon_params`; do not edit.",
        f"T = {params.t}",
        f"ALPHA = {params.alpha}",
        f"FULL_ROUNDS = {params.full_rounds}",
        f"PARTIAL_ROUNDS = {params.partial_rounds}",
        "ROUND_CONSTANTS = (",
    ]
    lines += [f"    0x{c:064X}," for c in params.round_constants]
    lines += [")", "MDS = ("]
    for row in params.mds:  # laid out as `ruff format` would, so the formatter leaves it alone
        lines += ["    (", *(f"        0x{v:064X}," for v in row), "    ),"]
    lines += [")", ""]
    return "\n".join(lines)


ROOT = Path(__file__).resolve().parents[2]
CIRCOM_PATH = ROOT / "circuits" / "poseidon_constants.circom"
PYTHON_PATH = Path(__file__).resolve().parent / "poseidon_constants.py"


def main() -> None:
    """Write both constant files (or check them with --check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed files differ")
    args = parser.parse_args()
    params = generate()
    outputs = {CIRCOM_PATH: render_circom(params), PYTHON_PATH: render_python(params)}
    for path, text in outputs.items():
        if args.check:
            if path.read_text() != text:
                raise SystemExit(f"{path} is stale; run python -m shardy.zk.poseidon_params")
        else:
            path.write_text(text)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
