"""numpy preprocessors: the fallback when wasmtime is unavailable, bit-identical to the wasm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from shardy.workers.preprocess import reference
from shardy.workers.preprocess.plans import BOUNDS, DTYPES, Plan

#: Below this many channels the EMA's per-step numpy overhead loses to a plain Python loop.
_EMA_VECTOR_CHANNELS = 32


def _rows(order: list[int]) -> np.ndarray:
    return np.asarray(order, dtype=np.intp)


def chunks(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.chunks`."""
    p = pl.p
    n, m = p["shards"], p["kept"]
    if m == 0:
        return b""
    isz = p["itemsize"]
    shard, step = p["size"] * isz, p["stride"] * isz
    src = np.frombuffer(data, dtype=np.uint8)[p["offset"] * isz :]
    need = (n - 1) * step + shard
    if len(src) < need:
        padded = np.full(need, p["pad"], dtype=np.uint8)
        padded[: len(src)] = src
        src = padded
    view = as_strided(src, shape=(n, shard), strides=(step, 1), writeable=False)
    if p["shuffle"]:
        return view[_rows(reference.order(n, m, 1, p["seed"]))].tobytes()
    return view[:m].tobytes()


def tiles(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.tiles`."""
    p = pl.p
    w, h, px, halo = p["width"], p["height"], p["pixel"], p["halo"]
    tw, th, nx, ny = p["tile_w"], p["tile_h"], p["nx"], p["ny"]
    img = np.frombuffer(data, dtype=np.uint8).reshape(h, w, px)
    t = _rows(reference.order(nx * ny, p["kept"], p["shuffle"], p["seed"]))
    padded_len = (ny * th + 2 * halo) * (nx * tw + 2 * halo) * px
    if padded_len > 2 * (pl.in_len + pl.out_len):
        # A big halo around a few tiles of a long image: pad each tile, not the whole image.
        return _tiles_by_index(img, p, t)
    widths = ((halo, ny * th - h + halo), (halo, nx * tw - w + halo), (0, 0))
    if p["mode"] == "edge":
        img = np.pad(img, widths, mode="edge")
    else:
        img = np.pad(img, widths, mode="constant", constant_values=p["pad"])
    s0, s1, s2 = img.strides
    grid = as_strided(
        img,
        shape=(ny, nx, th + 2 * halo, tw + 2 * halo, px),
        strides=(th * s0, tw * s1, s0, s1, s2),
        writeable=False,
    )
    return grid[t // nx, t % nx].tobytes()


def _tiles_by_index(img: np.ndarray, p: Mapping[str, Any], order: np.ndarray) -> bytes:
    """Tiles gathered one by one with clamped indices; memory stays proportional to the output."""
    h, w, _ = img.shape
    halo, tw, th, nx = p["halo"], p["tile_w"], p["tile_h"], p["nx"]
    dy, dx = np.arange(th + 2 * halo) - halo, np.arange(tw + 2 * halo) - halo
    out = []
    for t in order.tolist():
        ys, xs = (t // nx) * th + dy, (t % nx) * tw + dx
        tile = img[np.clip(ys, 0, h - 1)[:, None], np.clip(xs, 0, w - 1)[None, :]]
        if p["mode"] == "constant":
            tile[(ys < 0) | (ys >= h)] = p["pad"]
            tile[:, (xs < 0) | (xs >= w)] = p["pad"]
        out.append(tile.tobytes())
    return b"".join(out)


def decode(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.decode`."""
    p = pl.p
    y = np.frombuffer(data, dtype=DTYPES[p["dtype"]][3]).astype(np.float32)
    with np.errstate(over="ignore"):
        y *= np.float32(p["scale"])
        y += np.float32(p["bias"])
    return y.astype("<f4", copy=False).tobytes()


def quantize(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.quantize`."""
    p = pl.p
    lo, hi = BOUNDS[p["dtype"]]
    zp = p["zero_point"]
    x = np.frombuffer(data, dtype="<f4")
    with np.errstate(over="ignore", invalid="ignore"):
        v = (x * np.float32(p["scale"])).astype(np.float64)
    nan = np.isnan(v)
    v[nan] = 0.0
    np.clip(v, lo - zp - 1, hi - zp + 1, out=v)
    q = np.rint(v).astype(np.int64)  # rint rounds half to even
    q += zp
    np.clip(q, lo, hi, out=q)
    q[nan] = zp
    return q.astype(DTYPES[p["dtype"]][3]).tobytes()


def ema(pl: Plan, data: bytes | memoryview) -> bytes:
    """See `shardy.workers.preprocess.plans.ema`; vectorised across channels, sequential in time."""
    p = pl.p
    c = p["channels"]
    if c < _EMA_VECTOR_CHANNELS:
        return reference.ema(pl, data)
    a, f = p["alpha_q16"], p["frac_bits"]
    x = np.frombuffer(data, dtype=DTYPES[p["dtype"]][3]).astype(np.int64).reshape(-1, c)
    x <<= f
    ax = a * x
    y = np.empty_like(x)
    if len(x):
        y[0] = x[0]
    b = 65536 - a
    for t in range(1, len(x)):
        y[t] = (ax[t] + b * y[t - 1] + 32768) >> 16
    return y.astype("<i4").tobytes()


RUNNERS = {"chunks": chunks, "tiles": tiles, "decode": decode, "ema": ema, "quantize": quantize}


def run(pl: Plan, data: bytes | memoryview) -> bytes:
    """Execute a validated plan with numpy."""
    return RUNNERS[pl.name](pl, data)
