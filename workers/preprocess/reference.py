"""Pure-Python preprocessors: the readable reference the wasm and numpy backends must match."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator

from shardy.workers.preprocess.plans import BOUNDS, DTYPES, Plan

_MASK64 = 2**64 - 1
_BIG_ENDIAN = sys.byteorder == "big"


def splitmix64(seed: int) -> Iterator[int]:
    """SplitMix64 outputs for ``seed`` (Steele, Lea, Flood 2014), as in ``wasm/src/order.rs``."""
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        yield z ^ (z >> 31)


def permutation(n: int, seed: int) -> list[int]:
    """Fisher–Yates over ``range(n)``: for i = n−1 … 1 swap i with ``splitmix64 % (i + 1)``."""
    perm = list(range(n))
    draws = splitmix64(seed)
    for i in range(n - 1, 0, -1):
        j = next(draws) % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def order(n: int, kept: int, shuffle: int, seed: int) -> list[int]:
    """The shard held by each of the ``kept`` output slots."""
    return permutation(n, seed)[:kept] if shuffle else list(range(kept))


def _le_array(typecode: str, data: bytes | memoryview) -> array:
    a = array(typecode)
    a.frombytes(data)
    if _BIG_ENDIAN:
        a.byteswap()
    return a


def _le_bytes(a: array) -> bytes:
    if _BIG_ENDIAN:
        a.byteswap()
    return a.tobytes()


def chunks(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.chunks`."""
    p = pl.p
    isz, size, stride, offset = p["itemsize"], p["size"], p["stride"], p["offset"]
    data, pad = bytes(data), bytes([p["pad"]])
    out = []
    for s in order(p["shards"], p["kept"], p["shuffle"], p["seed"]):
        start = (offset + s * stride) * isz
        shard = data[start : start + size * isz]
        out.append(shard + pad * (size * isz - len(shard)))
    return b"".join(out)


def tiles(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.tiles`."""
    p = pl.p
    w, h, px, halo = p["width"], p["height"], p["pixel"], p["halo"]
    tw, th, nx = p["tile_w"], p["tile_h"], p["nx"]
    tw2, th2 = tw + 2 * halo, th + 2 * halo
    edge = p["mode"] == "edge"
    pad = bytes([p["pad"]]) * px
    data = bytes(data)
    out = []
    for t in order(nx * p["ny"], p["kept"], p["shuffle"], p["seed"]):
        ty, tx = divmod(t, nx)
        x0 = tx * tw - halo
        lo, hi = max(x0, 0), min(x0 + tw2, w)
        left, right = lo - x0, x0 + tw2 - hi
        for r in range(th2):
            y = ty * th + r - halo
            if not 0 <= y < h:
                if not edge:
                    out.append(pad * tw2)
                    continue
                y = min(max(y, 0), h - 1)
            inner = data[(y * w + lo) * px : (y * w + hi) * px]
            if edge:
                out += (inner[:px] * left, inner, inner[-px:] * right)
            else:
                out += (pad * left, inner, pad * right)
    return b"".join(out)


def _f32(values: list[float]) -> list[float]:
    # array('f') rounds each double to the nearest f32 (ties to even, overflow to ±inf).
    # Products and sums of two f32 values computed in f64 then rounded once equal the f32
    # operation, since 53 ≥ 2·24 + 2 bits.
    return array("f", values).tolist()


def decode(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.decode`."""
    p = pl.p
    x = _f32(_le_array(DTYPES[p["dtype"]][2], data).tolist())
    scale, bias = p["scale"], p["bias"]
    y = _f32([v * scale for v in x])
    return _le_bytes(array("f", [v + bias for v in y]))


def quantize(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.quantize`."""
    p = pl.p
    lo, hi = BOUNDS[p["dtype"]]
    zp, scale = p["zero_point"], p["scale"]
    vlo, vhi = float(lo - zp - 1), float(hi - zp + 1)
    out = []
    for v in _f32([x * scale for x in _le_array("f", data)]):
        if v != v:
            out.append(zp)
        else:
            # round() on a float rounds half to even.
            out.append(min(max(round(min(max(v, vlo), vhi)) + zp, lo), hi))
    return _le_bytes(array(DTYPES[p["dtype"]][2], out))


def ema(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.ema`."""
    p = pl.p
    a, c, f = p["alpha_q16"], p["channels"], p["frac_bits"]
    b = 65536 - a
    xs = _le_array(DTYPES[p["dtype"]][2], data)
    ys = [x << f for x in xs[:c]]
    for i in range(c, len(xs)):
        ys.append((a * (xs[i] << f) + b * ys[i - c] + 32768) >> 16)
    return _le_bytes(array("i", ys))


RUNNERS = {"chunks": chunks, "tiles": tiles, "decode": decode, "ema": ema, "quantize": quantize}


def run(pl: Plan, data: bytes | memoryview) -> bytes:
    """Execute a validated plan in pure Python."""
    return RUNNERS[pl.name](pl, data)
