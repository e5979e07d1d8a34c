"""MDS security checks of the Poseidon reference (algorithms 1-3: no invariant subspace trails).

Re-implements, over GF(p) with plain integers, the three tests that the reference parameter
script applies to each candidate Cauchy matrix (s = 1: one S-box in a partial round). A matrix is
accepted exactly when the reference accepts it, so the generator picks the reference's matrix.
"""

from __future__ import annotations

Matrix = list[list[int]]
Vector = list[int]


def mds_is_secure(mds: tuple[tuple[int, ...], ...] | Matrix, p: int) -> bool:
    """True where the reference's algorithms 1, 2 and 3 all accept the matrix."""
    m = [list(row) for row in mds]
    t = len(m)
    return _algorithm_1(m, t, p) and _algorithm_2(m, t, p) and _algorithm_3(m, t, p)


def _algorithm_1(m: Matrix, t: int, p: int) -> bool:
    """No subspace of the S-box-free coordinates is mapped into itself over i <= t-1 rounds."""
    powers = [m]
    for _ in range(t):
        powers.append(matmul(powers[-1], m, p))  # powers[j] = M^(j+1)
    for i in range(1, t):  # r = floor((t - s) / s) with s = 1
        test = powers[i - 1]
        if all(test[a][b] == (test[0][0] if a == b else 0) for a in range(t) for b in range(t)):
            return False
        s_space = _trail_space(i, powers, t, p)
        found: list[Vector] = []
        for lam in _roots(charpoly(test, p), p):
            shifted = [
                [(test[a][b] - (lam if a == b else 0)) % p for b in range(t)] for a in range(t)
            ]
            found += intersect(s_space, kernel(shifted, p), p)
        dim = len(rref(found, p))
        if dim >= 1 and dim != t:
            return False
        for j in range(1, i + 1):
            image = [matvec(powers[j - 1], v, p) for v in s_space]
            if rref(image, p) == rref(s_space, p):
                return False
    return True


def _trail_space(i: int, powers: list[Matrix], t: int, p: int) -> list[Vector]:
    """The reference's generate_vectorspace(i) for s = 1: inputs inactive for i rounds."""
    if i == 1:
        return [[1 if k == j else 0 for k in range(t)] for j in range(1, t)]
    rows = [powers[k][0][1:] for k in range(i - 1)]
    return [[0, *vec] for vec in kernel(rows, p, ncols=t - 1)]


def _algorithm_2(m: Matrix, t: int, p: int) -> bool:
    """The Krylov space of e_0 under M is the whole space (no proper invariant trail)."""
    basis: list[Vector] = [[1] + [0] * (t - 1)]
    v = basis[0]
    while True:
        dim = len(rref(basis, p))
        v = matvec(m, v, p)
        basis = rref([*basis, v], p)
        if len(basis) == t:
            return True
        if len(basis) <= dim:
            return False


def _algorithm_3(m: Matrix, t: int, p: int) -> bool:
    """Algorithm 2 holds for M^r, r = 2..4t."""
    power = m
    for _ in range(2, 4 * t + 1):
        power = matmul(power, m, p)
        if not _algorithm_2(power, t, p):
            return False
    return True


# -- linear algebra over GF(p) --------------------------------------------------------------------


def matmul(a: Matrix, b: Matrix, p: int) -> Matrix:
    """a @ b mod p."""
    n, k, c = len(a), len(b), len(b[0])
    return [[sum(a[i][x] * b[x][j] for x in range(k)) % p for j in range(c)] for i in range(n)]


def matvec(a: Matrix, v: Vector, p: int) -> Vector:
    """a @ v mod p."""
    return [sum(x * y for x, y in zip(row, v, strict=True)) % p for row in a]


def rref(rows: list[Vector], p: int) -> list[Vector]:
    """Reduced row echelon basis of the span of rows (canonical: equal spans give equal lists)."""
    work = [[x % p for x in r] for r in rows]
    out: list[Vector] = []
    ncols = len(work[0]) if work else 0
    col = 0
    while work and col < ncols:
        pivot = next((r for r in work if r[col]), None)
        if pivot is None:
            col += 1
            continue
        work.remove(pivot)
        inv = pow(pivot[col], -1, p)
        pivot = [x * inv % p for x in pivot]
        work = [[(x - r[col] * y) % p for x, y in zip(r, pivot, strict=True)] for r in work]
        out = [[(x - r[col] * y) % p for x, y in zip(r, pivot, strict=True)] for r in out]
        out.append(pivot)
        work = [r for r in work if any(r)]
        col += 1
    return sorted(out, key=lambda r: next(i for i, x in enumerate(r) if x))


def kernel(a: Matrix, p: int, ncols: int | None = None) -> list[Vector]:
    """Basis of the right kernel {v : a v = 0}."""
    n = ncols if ncols is not None else len(a[0])
    reduced = rref(a, p) if a else []
    pivots = [next(i for i, x in enumerate(r) if x) for r in reduced]
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        v = [0] * n
        v[free] = 1
        for row, pc in zip(reduced, pivots, strict=True):
            v[pc] = -row[free] % p
        basis.append(v)
    return basis


def intersect(u: list[Vector], w: list[Vector], p: int) -> list[Vector]:
    """Basis of span(u) ∩ span(w)."""
    if not u or not w:
        return []
    t = len(u[0])
    # columns: u_1..u_k, -w_1..-w_l; a kernel vector (a, b) gives sum a_i u_i in both spans
    cols = u + [[-x % p for x in v] for v in w]
    system = [[c[row] for c in cols] for row in range(t)]
    out = []
    for sol in kernel(system, p, ncols=len(cols)):
        vec = [sum(sol[i] * u[i][k] for i in range(len(u))) % p for k in range(t)]
        if any(vec):
            out.append(vec)
    return rref(out, p) if out else []


def charpoly(m: Matrix, p: int) -> list[int]:
    """Monic characteristic polynomial, lowest degree first (Faddeev-LeVerrier; needs t < p)."""
    t = len(m)
    coeffs = [0] * t + [1]
    acc = [[0] * t for _ in range(t)]
    c = 1
    for k in range(1, t + 1):
        acc = [[(acc[i][j] + (c if i == j else 0)) % p for j in range(t)] for i in range(t)]
        acc = matmul(m, acc, p)
        c = -sum(acc[i][i] for i in range(t)) * pow(k, -1, p) % p
        coeffs[t - k] = c
    return coeffs


# -- roots of small polynomials over GF(p) --------------------------------------------------------


def _roots(f: list[int], p: int) -> list[int]:
    """Distinct roots in GF(p) of f (lowest degree first)."""
    split = _gcd(f, _sub(_powmod([0, 1], p, f, p), [0, 1], p), p)  # product of (x - root)
    return sorted(_split(split, p, 1))


def _split(g: list[int], p: int, seed: int) -> list[int]:
    if len(g) <= 1:
        return []
    if len(g) == 2:
        return [(-g[0] * pow(g[1], -1, p)) % p]
    while True:  # Cantor-Zassenhaus with deterministic shifts
        h = _gcd(g, _sub(_powmod([seed, 1], (p - 1) // 2, g, p), [1], p), p)
        seed += 1
        if 1 < len(h) < len(g):
            return _split(h, p, seed) + _split(_div(g, h, p), p, seed)


def _trim(a: list[int]) -> list[int]:
    while a and a[-1] == 0:
        a = a[:-1]
    return a


def _sub(a: list[int], b: list[int], p: int) -> list[int]:
    size = max(len(a), len(b))
    a, b = a + [0] * (size - len(a)), b + [0] * (size - len(b))
    return _trim([(x - y) % p for x, y in zip(a, b, strict=True)])


def _divmod(a: list[int], f: list[int], p: int) -> tuple[list[int], list[int]]:
    a = _trim(list(a))
    q = [0] * max(len(a) - len(f) + 1, 1)
    inv = pow(f[-1], -1, p)
    while len(a) >= len(f):
        factor = a[-1] * inv % p
        shift = len(a) - len(f)
        q[shift] = factor
        for i, c in enumerate(f):
            a[shift + i] = (a[shift + i] - factor * c) % p
        a = _trim(a)
    return _trim(q), a


def _div(a: list[int], f: list[int], p: int) -> list[int]:
    return _divmod(a, f, p)[0]


def _mulmod(a: list[int], b: list[int], f: list[int], p: int) -> list[int]:
    out = [0] * (len(a) + len(b))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] = (out[i + j] + x * y) % p
    return _divmod(out, f, p)[1]


def _powmod(a: list[int], e: int, f: list[int], p: int) -> list[int]:
    result, base = [1], _divmod(a, f, p)[1]
    while e:
        if e & 1:
            result = _mulmod(result, base, f, p)
        base = _mulmod(base, base, f, p)
        e >>= 1
    return result


def _gcd(a: list[int], b: list[int], p: int) -> list[int]:
    a, b = _trim(list(a)), _trim(list(b))
    while b:
        a, b = b, _divmod(a, b, p)[1]
    return a
