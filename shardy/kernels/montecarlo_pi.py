"""montecarlo_pi (shaders/montecarlo_pi.wgsl): hits inside the quarter circle among seeded
integer sample points; the oracle is written from the definition, not the shader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.kernels.kernel import Kernel, Plan, groups_for, int_param, uniforms


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """One u32 (the hit count) for samples ``offset .. offset + samples - 1``."""
    samples = int_param("montecarlo_pi", params, "samples", 1, 2**32 - 1)
    offset = int_param("montecarlo_pi", params, "offset", 0, 2**32 - samples)
    return Plan(
        4, groups_for(samples, 256 * 64), uniforms(n, seed, samples, offset), "uint32", (1,)
    )


def mix32(x: np.ndarray) -> np.ndarray:
    """Wellons' lowbias32 hash on uint32 arrays (wrapping multiplies)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def points(seed: int, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
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


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """Hits (x² + y² < 2³²) among the seeded samples, as one little-endian u32."""
    samples, offset = params["samples"], params["offset"]
    hits = 0
    for start in range(0, samples, 1 << 22):
        x, y = points(seed, offset + start, min(1 << 22, samples - start))
        x, y = x.astype(np.uint64), y.astype(np.uint64)
        hits += int(np.count_nonzero(x * x + y * y < 1 << 32))
    return np.array([hits], dtype="<u4")


KERNELS = (
    Kernel(
        name="montecarlo_pi",
        shader="montecarlo_pi.wgsl",
        plan=plan,
        reference=reference,
        params={"samples": 1 << 20, "offset": 0},
    ),
)
