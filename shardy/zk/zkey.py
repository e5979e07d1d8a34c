"""Reader for snarkjs's binary zkey format (groth16 on BLS12-381).

Layout: magic ``zkey``, u32 version, u32 section count, then sections (u32 id, u64 size, data).
Section 1: protocol (1 = groth16). 2: header (n8q, q, n8r, r, nVars, nPublic, domainSize, α1, β1,
β2, γ2, δ1, δ2). 3: IC. 4: QAP coefficients of A and B. 5-9: A, B1, B2, C and H queries. Points
are affine, little-endian, Montgomery form (x·2^384 mod q); the identity is all zeros.
Coefficients are stored as c·R² mod r (R = 2^256) so that snarkjs's Montgomery product with a
plain witness value lands in Montgomery form.
"""

from __future__ import annotations

import struct
from pathlib import Path

from py_arkworks_bls12381 import G1Point, G2Point

from shardy.errors import ProofError
from shardy.zk.codec import native, prepare_vkey
from shardy.zk.data import ProvingKey, VerifyingKey
from shardy.zk.field import N8Q, N8R, Q, R

_MONT_Q_INV = pow(1 << (8 * N8Q), -1, Q)
_COEF_R2_INV = pow(1 << (8 * N8R), -2, R)
_G1 = 2 * N8Q
_G2 = 4 * N8Q


def _sections(data: bytes) -> dict[int, bytes]:
    if data[:4] != b"zkey":
        raise ProofError("not a zkey file (bad magic)")
    version, count = struct.unpack_from("<II", data, 4)
    if version not in (1, 2):
        raise ProofError(f"unsupported zkey version {version}")
    pos, out = 12, {}
    for _ in range(count):
        sid, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise ProofError(f"zkey section {sid} runs past the end of the file")
        if sid in out:
            raise ProofError(f"zkey section {sid} appears twice")
        out[sid] = data[pos : pos + size]
        pos += size
    return out


def _fq(buf: bytes, offset: int) -> int:
    return int.from_bytes(buf[offset : offset + N8Q], "little") * _MONT_Q_INV % Q


def _g1(buf: bytes, offset: int) -> G1Point | None:
    x, y = _fq(buf, offset), _fq(buf, offset + N8Q)
    if x == 0 and y == 0:
        return None
    data = x.to_bytes(N8Q, "big") + y.to_bytes(N8Q, "big")
    return native(G1Point.from_xy_bytes_be, data, what="zkey holds an invalid G1 point")


def _g2(buf: bytes, offset: int) -> G2Point | None:
    coords = [_fq(buf, offset + i * N8Q) for i in range(4)]
    if not any(coords):
        return None
    data = b"".join(c.to_bytes(N8Q, "big") for c in coords)
    return native(G2Point.from_xy_bytes_be, data, what="zkey holds an invalid G2 point")


def _points(buf: bytes, count: int, size: int, parse):  # type: ignore[no-untyped-def]
    if len(buf) != count * size:
        raise ProofError(f"zkey query has {len(buf)} bytes, expected {count} points")
    return tuple(parse(buf, i * size) for i in range(count))


def _required(p: G1Point | G2Point | None, name: str):  # type: ignore[no-untyped-def]
    if p is None:
        raise ProofError(f"zkey {name} is the identity")
    return p


def read_zkey(path: str | Path) -> tuple[ProvingKey, VerifyingKey]:
    """Parse a groth16 BLS12-381 zkey into a proving key and the verifying key it implies.

    Raises:
        ProofError: the file is not a groth16 zkey for BLS12-381 or is truncated/corrupt.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProofError(f"cannot read zkey {path}: {exc}") from exc
    try:
        return _parse(data)
    except (struct.error, IndexError, KeyError) as exc:
        raise ProofError(f"zkey {path} is truncated or corrupt: {exc!r}") from exc


def _parse(data: bytes) -> tuple[ProvingKey, VerifyingKey]:
    sec = _sections(data)
    (protocol,) = struct.unpack_from("<I", sec[1], 0)
    if protocol != 1:
        raise ProofError(f"zkey protocol {protocol} is not groth16 (1)")
    h = sec[2]
    (n8q,) = struct.unpack_from("<I", h, 0)
    q = int.from_bytes(h[4 : 4 + n8q], "little")
    pos = 4 + n8q
    (n8r,) = struct.unpack_from("<I", h, pos)
    r = int.from_bytes(h[pos + 4 : pos + 4 + n8r], "little")
    if (n8q, q, n8r, r) != (N8Q, Q, N8R, R):
        raise ProofError("zkey is not for BLS12-381 (compile with --prime bls12381)")
    pos += 4 + n8r
    n_vars, n_public, domain_size = struct.unpack_from("<III", h, pos)
    pos += 12
    if domain_size & (domain_size - 1) or not 0 < n_public < n_vars:
        raise ProofError("zkey header is inconsistent")
    alpha1 = _required(_g1(h, pos), "alpha_1")
    beta1 = _required(_g1(h, pos + _G1), "beta_1")
    beta2 = _required(_g2(h, pos + 2 * _G1), "beta_2")
    gamma2 = _required(_g2(h, pos + 2 * _G1 + _G2), "gamma_2")
    delta1 = _required(_g1(h, pos + 2 * _G1 + 2 * _G2), "delta_1")
    delta2 = _required(_g2(h, pos + 3 * _G1 + 2 * _G2), "delta_2")

    ic = _points(sec[3], n_public + 1, _G1, _g1)
    ic = tuple(p if p is not None else G1Point.identity() for p in ic)

    buf = sec[4]
    (n_coef,) = struct.unpack_from("<I", buf, 0)
    step = 12 + N8R
    if len(buf) != 4 + n_coef * step:
        raise ProofError("zkey coefficient section has the wrong size")
    coeffs = []
    for i in range(n_coef):
        off = 4 + i * step
        m, c, s = struct.unpack_from("<III", buf, off)
        value = int.from_bytes(buf[off + 12 : off + step], "little") * _COEF_R2_INV % R
        if m > 1 or c >= domain_size or s >= n_vars:
            raise ProofError(f"zkey coefficient {i} is out of range")
        coeffs.append((m, c, s, value))

    pk = ProvingKey(
        n_vars=n_vars,
        n_public=n_public,
        log_domain=domain_size.bit_length() - 1,
        alpha1=alpha1,
        beta1=beta1,
        beta2=beta2,
        delta1=delta1,
        delta2=delta2,
        coeffs=tuple(coeffs),
        a_query=_points(sec[5], n_vars, _G1, _g1),
        b1_query=_points(sec[6], n_vars, _G1, _g1),
        b2_query=_points(sec[7], n_vars, _G2, _g2),
        c_query=_points(sec[8], n_vars - n_public - 1, _G1, _g1),
        h_query=_points(sec[9], domain_size, _G1, _g1),
    )
    return pk, prepare_vkey(alpha1, beta2, gamma2, delta2, ic)
