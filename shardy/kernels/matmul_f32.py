"""matmul_f32 (shaders/matmul_f32.wgsl): C = A @ B in f32, 128x128 tiles; a tolerance kernel
(GPUs fuse multiply-add differently, so digests differ across adapters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels.kernel import MAX_GROUPS, Determinism, Kernel, Plan, int_param, uniforms

TILE = 128
TOLERANCE = Determinism("tolerance", atol=1e-3, rtol=1e-3)


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """A (m x k) then B (k x n) as f32 in the payload; C (m x n) f32 out."""
    m = int_param("matmul_f32", params, "m", 1, MAX_GROUPS * TILE)
    cols = int_param("matmul_f32", params, "n", 1, MAX_GROUPS * TILE)
    k = int_param("matmul_f32", params, "k", 1, 2**28)
    if n != 4 * (m * k + k * cols):
        raise KernelError(
            f"matmul_f32: A ({m}x{k}) then B ({k}x{cols}) as f32 need {4 * (m * k + k * cols)} "
            f"bytes, got {n}"
        )
    groups = (-(-cols // TILE), -(-m // TILE), 1)
    return Plan(4 * m * cols, groups, uniforms(n, seed, m, cols, k), "float32", (m, cols))


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """A @ B in float64 (the oracle the f32 kernel is held to within tolerance)."""
    m, n, k = params["m"], params["n"], params["k"]
    ab = np.frombuffer(payload, dtype="<f4")
    a = ab[: m * k].reshape(m, k).astype(np.float64)
    b = ab[m * k :].reshape(k, n).astype(np.float64)
    return a @ b


KERNELS = (
    Kernel(
        name="matmul_f32",
        shader="matmul_f32.wgsl",
        plan=plan,
        reference=reference,
        determinism=TOLERANCE,
        params={"m": None, "n": None, "k": None},
    ),
)
