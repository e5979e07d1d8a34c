"""Numpy oracles of the library kernels, written from their definitions (not the shaders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

Q28 = 1 << 28
_M32 = np.uint32(0xFFFFFFFF)


def mix32(x: np.ndarray) -> np.ndarray:
    """Wellons' lowbias32 hash on uint32 arrays (wrapping multiplies)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def montecarlo_points(seed: int, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The integer points (x, y) in [0, 65536)² of samples ``start .. start + count - 1``."""
    with np.errstate(over="ignore"):
        lo = np.array([seed & 0xFFFFFFFF], dtype=np.uint32)
        hi = np.array([seed >> 32], dtype=np.uint32)
        key = mix32(lo ^ mix32(hi ^ np.uint32(0x9E3779B9)))[0]
        i = np.arange(start, start + count, dtype=np.uint64).astype(np.uint32)
        h = mix32(i ^ key)
        x = mix32(h ^ np.uint32(0x68E31DA4)) >> np.uint32(16)
        y = mix32(h + np.uint32(0xB5297A4D)) >> np.uint32(16)
    return x, y


def montecarlo_pi(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """Hits (x² + y² < 2³²) among the seeded samples, as one little-endian u32."""
    samples, offset = params["samples"], params["offset"]
    hits = 0
    for start in range(0, samples, 1 << 22):
        x, y = montecarlo_points(seed, offset + start, min(1 << 22, samples - start))
        x, y = x.astype(np.uint64), y.astype(np.uint64)
        hits += int(np.count_nonzero(x * x + y * y < 1 << 32))
    return np.array([hits], dtype="<u4")


def conv2d_u8(
    payload: bytes, params: Mapping[str, Any], filt: tuple[tuple[int, ...], int, int, bool]
) -> np.ndarray:
    """The 3x3 integer filter with clamped edges, rounding shift and saturation to u8."""
    weights, mul, shift, use_abs = filt
    w, h = params["width"], params["height"]
    img = np.frombuffer(payload, dtype=np.uint8).reshape(h, w).astype(np.int64)
    padded = np.pad(img, 1, mode="edge")
    acc = np.zeros((h, w), dtype=np.int64)
    for dy in range(3):
        for dx in range(3):
            acc += weights[dy * 3 + dx] * padded[dy : dy + h, dx : dx + w]
    if use_abs:
        acc = np.abs(acc)
    out = (acc * mul + ((1 << shift) >> 1)) >> shift  # arithmetic (floor) shift
    return np.clip(out, 0, 255).astype(np.uint8)


def matmul_f32(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """A @ B in float64 (the oracle the f32 kernel is held to within tolerance)."""
    m, n, k = params["m"], params["n"], params["k"]
    ab = np.frombuffer(payload, dtype="<f4")
    a = ab[: m * k].reshape(m, k).astype(np.float64)
    b = ab[m * k :].reshape(k, n).astype(np.float64)
    return a @ b


def _mulq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    q = (np.abs(a) * np.abs(b)) >> 28  # exact in int64: |a|, |b| <= 2**29
    return np.where((a < 0) != (b < 0), -q, q)


def mandelbrot(params: Mapping[str, Any], fixed: tuple[int, int, int]) -> np.ndarray:
    """Escape counts in Q4.28 fixed point, step by step as the kernel defines them."""
    w, h, max_iter = params["width"], params["height"], params["max_iter"]
    x0, y0, step = fixed
    cy, cx = np.meshgrid(
        y0 + np.arange(h, dtype=np.int64) * step,
        x0 + np.arange(w, dtype=np.int64) * step,
        indexing="ij",
    )
    cx, cy = cx.ravel(), cy.ravel()
    x = np.zeros_like(cx)
    y = np.zeros_like(cy)
    counts = np.zeros(cx.shape, dtype=np.uint32)
    live = np.arange(cx.size)
    for _ in range(max_iter):
        xs, ys = x[live], y[live]
        ok = (np.abs(xs) <= 2 * Q28) & (np.abs(ys) <= 2 * Q28)
        xx, yy = _mulq(xs, xs), _mulq(ys, ys)
        ok &= xx + yy <= 4 * Q28
        live, xs, ys, xx, yy = live[ok], xs[ok], ys[ok], xx[ok], yy[ok]
        if live.size == 0:
            break
        xy = _mulq(xs, ys)
        x[live] = xx - yy + cx[live]
        y[live] = 2 * xy + cy[live]
        counts[live] += 1
    return counts.astype("<u4").reshape(h, w)
