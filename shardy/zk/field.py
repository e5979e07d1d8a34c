"""BLS12-381 field constants, roots of unity (snarkjs's choice) and radix-2 NTTs on Python ints."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

#: Order of the BLS12-381 scalar field Fr (the circuit's field; public signals live here).
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: Order of the BLS12-381 base field Fq (point coordinates live here).
Q = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab",
    16,
)
#: Bytes per Fr element and per Fq element.
N8R = 32
N8Q = 48


def _two_adicity(r: int) -> tuple[int, int]:
    s, t = 0, r - 1
    while t % 2 == 0:
        s, t = s + 1, t // 2
    return s, t


def _smallest_non_residue(r: int) -> int:
    nqr = 2
    while pow(nqr, (r - 1) // 2, r) != r - 1:
        nqr += 1
    return nqr


#: Fr.s (2-adicity) and the odd part t of r - 1.
TWO_ADICITY, _ODD = _two_adicity(R)
#: ffjavascript picks the smallest quadratic non-residue and sets w[s] = nqr^t.
NQR = _smallest_non_residue(R)
#: ffjavascript's coset shift for a full-size domain: nqr^2.
SHIFT = NQR * NQR % R


def root_of_unity(log_n: int) -> int:
    """The primitive 2^log_n-th root of unity snarkjs uses (ffjavascript's Fr.w[log_n])."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"no 2^{log_n}-th root of unity in Fr")
    return pow(NQR, _ODD << (TWO_ADICITY - log_n), R)


@lru_cache(maxsize=8)
def _tables(log_n: int, inverse: bool) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Bit-reversal permutation and per-stage twiddles for the size-2^log_n NTT (cached)."""
    n = 1 << log_n
    perm = tuple(int(format(i, f"0{log_n}b")[::-1], 2) if log_n else 0 for i in range(n))
    root = root_of_unity(log_n)
    if inverse:
        root = pow(root, -1, R)
    stages = []
    size = 2
    while size <= n:
        step = pow(root, n // size, R)
        tw = [1] * (size // 2)
        for k in range(1, size // 2):
            tw[k] = tw[k - 1] * step % R
        stages.append(tuple(tw))
        size *= 2
    return perm, tuple(stages)


@lru_cache(maxsize=8)
def _coset_scale(log_n: int) -> tuple[int, ...]:
    """n^-1 · inc^i: the inverse NTT's normalisation fused with the coset shift."""
    inc = SHIFT if log_n == TWO_ADICITY else root_of_unity(log_n + 1)
    n = 1 << log_n
    out = [pow(n, -1, R)]
    for _ in range(n - 1):
        out.append(out[-1] * inc % R)
    return tuple(out)


def _ntt(values: Sequence[int], log_n: int, inverse: bool) -> list[int]:
    perm, stages = _tables(log_n, inverse)
    a = [values[i] for i in perm]
    n = len(a)
    half = 1
    for tw in stages:
        size = 2 * half
        for start in range(0, n, size):
            for k in range(half):
                i = start + k
                j = i + half
                u = a[i]
                v = a[j] * tw[k] % R
                a[i] = u + v  # reduced lazily: at most log_n extra bits
                a[j] = u - v
        half = size
    return [x % R for x in a]


def _log2(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    return n.bit_length() - 1


def ntt(values: Sequence[int], log_n: int | None = None) -> list[int]:
    """Evaluate the polynomial with these coefficients at w^k, k = 0..n-1 (w = root_of_unity)."""
    return _ntt(values, _log2(len(values)) if log_n is None else log_n, inverse=False)


def intt(values: Sequence[int]) -> list[int]:
    """Inverse of :func:`ntt`: coefficients from the evaluations at w^k."""
    n_inv = pow(len(values), -1, R)
    return [x * n_inv % R for x in _ntt(values, _log2(len(values)), inverse=True)]


def coset_evaluations(evals: Sequence[int], log_n: int) -> list[int]:
    """From evaluations on the size-n domain to evaluations on its odd coset w_2n·<w_n>.

    This is snarkjs's ifft, multiply coefficient i by inc^i, fft (inc = w_2n, or the field's
    shift when n is already the largest power of two).
    """
    coeffs = _ntt(evals, log_n, inverse=True)
    scale = _coset_scale(log_n)
    return _ntt([c * f % R for c, f in zip(coeffs, scale, strict=True)], log_n, inverse=False)
