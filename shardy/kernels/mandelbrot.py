"""mandelbrot (shaders/mandelbrot.wgsl): escape counts of a tile in Q4.28 fixed point, so
every adapter computes the same bits."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels.kernel import Kernel, Plan, groups_for, int_param, u32, uniforms

Q28 = 1 << 28


def fixed(params: Mapping[str, Any]) -> tuple[int, int, int]:
    """x0, y0 and step in Q4.28 (rounded to nearest); every c of the tile within [-2, 2]²."""
    w, h = params["width"], params["height"]
    vals = [params[k] for k in ("x0", "y0", "step")]
    if any(type(v) not in (int, float) or not math.isfinite(v) for v in vals):
        raise KernelError(f"mandelbrot: x0, y0 and step must be finite numbers, got {vals!r}")
    x0, y0, step = (round(v * Q28) for v in vals)
    if step < 1:
        raise KernelError(f"mandelbrot: step must be at least 2**-28, got {params['step']!r}")
    corners = (x0, y0, x0 + (w - 1) * step, y0 + (h - 1) * step)
    if any(abs(c) > 2 * Q28 for c in corners):
        raise KernelError("mandelbrot: the tile must lie within [-2, 2] x [-2, 2]")
    return x0, y0, step


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """One u32 count per pixel of a width x height tile."""
    w = int_param("mandelbrot", params, "width", 1, 1 << 14)
    h = int_param("mandelbrot", params, "height", 1, 1 << 14)
    it = int_param("mandelbrot", params, "max_iter", 1, 1 << 20)
    x0, y0, step = fixed(params)
    words = uniforms(n, seed, w, h, u32(x0), u32(y0), step, it)
    return Plan(4 * w * h, groups_for(w * h, 256), words, "uint32", (h, w))


def _mulq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    q = (np.abs(a) * np.abs(b)) >> 28  # exact in int64: |a|, |b| <= 2**29
    return np.where((a < 0) != (b < 0), -q, q)


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """Escape counts in Q4.28 fixed point, step by step as the kernel defines them."""
    w, h, max_iter = params["width"], params["height"], params["max_iter"]
    x0, y0, step = fixed(params)
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


KERNELS = (
    Kernel(
        name="mandelbrot",
        shader="mandelbrot.wgsl",
        plan=plan,
        reference=reference,
        params={
            "width": 256,
            "height": 256,
            "x0": -2.0,
            "y0": -1.5,
            "step": 3 / 256,
            "max_iter": 256,
        },
    ),
)
