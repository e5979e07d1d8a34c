"""BLS12-381 field constants, roots of unity (snarkjs's choice) and radix-2 NTTs on Python ints."""

from __future__ import annotations

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


def _bit_reverse(values: list[int]) -> list[int]:
    n = len(values)
    bits = n.bit_length() - 1
    return [values[int(format(i, f"0{bits}b")[::-1], 2) if bits else 0] for i in range(n)]


def ntt(values: list[int], root: int) -> list[int]:
    """Evaluate the polynomial with these coefficients at root^k, k = 0..n-1 (n a power of 2)."""
    a = _bit_reverse(values)
    n = len(a)
    size = 2
    while size <= n:
        half = size // 2
        step = pow(root, n // size, R)
        twiddles = [1] * half
        for k in range(1, half):
            twiddles[k] = twiddles[k - 1] * step % R
        for start in range(0, n, size):
            for k in range(half):
                u = a[start + k]
                v = a[start + k + half] * twiddles[k] % R
                a[start + k] = (u + v) % R
                a[start + k + half] = (u - v) % R
        size *= 2
    return a


def intt(values: list[int], root: int) -> list[int]:
    """Inverse of :func:`ntt`: coefficients from evaluations at root^k."""
    n = len(values)
    out = ntt(values, pow(root, -1, R))
    n_inv = pow(n, -1, R)
    return [x * n_inv % R for x in out]


def coset_evaluations(evals: list[int], log_n: int) -> list[int]:
    """From evaluations on the size-n domain to evaluations on its odd coset w_2n * <w_n>.

    This is snarkjs's ifft, multiply coefficient i by inc^i, fft (inc = w_2n, or the field's
    shift when n is already the largest power of two).
    """
    root = root_of_unity(log_n)
    inc = SHIFT if log_n == TWO_ADICITY else root_of_unity(log_n + 1)
    coeffs = intt(evals, root)
    power = 1
    for i in range(len(coeffs)):
        coeffs[i] = coeffs[i] * power % R
        power = power * inc % R
    return ntt(coeffs, root)
