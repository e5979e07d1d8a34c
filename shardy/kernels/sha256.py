"""sha256 (shaders/sha256.wgsl): one digest per block of the payload; and ema_sha256, the same
shader on a series smoothed in fixed point by the ``ema`` preprocessor (WASM)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels.kernel import Chunking, Kernel, Plan, groups_for, uniforms


def _blocks(n: int, block: int) -> int:
    return max(1, -(-n // block))


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """32 bytes per block of ``params["block"]`` bytes (the last block may be short)."""
    block = params["block"]
    if type(block) is not int or not 1 <= block <= 1 << 24:
        raise KernelError(f"sha256: block must be an integer in 1..16777216, got {block!r}")
    blocks = _blocks(n, block)
    return Plan(
        32 * blocks, groups_for(blocks, 64), uniforms(n, seed, block, blocks), "uint8", (blocks, 32)
    )


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """hashlib's sha256 of each block."""
    block = params["block"]
    blocks = _blocks(len(payload), block)
    out = b"".join(
        hashlib.sha256(payload[i * block : (i + 1) * block]).digest() for i in range(blocks)
    )
    return np.frombuffer(out, dtype=np.uint8).reshape(blocks, 32)


# ---- ema_sha256 ---------------------------------------------------------------------------------
# The oracle below recomputes the EMA independently of the worker's preprocessor.

EMA_DTYPES = {"u8": "<u1", "i8": "<i1", "u16": "<u2", "i16": "<i2"}
EMA_FRAC_BITS = 8


def _ema_checked(n: int, params: Mapping[str, Any]) -> tuple[float, str, int]:
    alpha, dtype = params["alpha"], params["dtype"]
    if type(alpha) not in (int, float) or not 0 <= alpha <= 1:
        raise KernelError(f"ema_sha256: alpha must be a number in [0, 1], got {alpha!r}")
    if not isinstance(dtype, str) or dtype not in EMA_DTYPES:
        raise KernelError(f"ema_sha256: dtype must be one of {sorted(EMA_DTYPES)}, got {dtype!r}")
    itemsize = np.dtype(EMA_DTYPES[dtype]).itemsize
    if n % itemsize:
        raise KernelError(
            f"ema_sha256: a {dtype} series needs a length divisible by {itemsize}, got {n} bytes"
        )
    return float(alpha), dtype, n // itemsize * 4


def ema_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """sha256's plan over the smoothed series (one i32 per sample)."""
    _, _, smoothed = _ema_checked(n, params)
    return plan(smoothed, params, seed)


def ema_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ema`` preprocessor's params for these kernel params."""
    return {"alpha": float(params["alpha"]), "dtype": params["dtype"], "frac_bits": EMA_FRAC_BITS}


def ema_fixed_point(series: np.ndarray, alpha: float, frac_bits: int = EMA_FRAC_BITS) -> bytes:
    """y_t = alpha*x_t + (1-alpha)*y_(t-1) in Q(frac_bits), rounded at every step (LE i32)."""
    a = round(alpha * 65536)  # ties to even, as the preprocessor does
    ys = np.empty(len(series), dtype="<i4")
    y = 0
    for t, x in enumerate(series.tolist()):
        xq = x << frac_bits
        y = xq if t == 0 else (a * xq + (65536 - a) * y + 32768) >> 16
        ys[t] = y
    return ys.tobytes()


def ema_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """sha256 blocks of the EMA recomputed here."""
    alpha, dtype, _ = _ema_checked(len(payload), params)
    smoothed = ema_fixed_point(np.frombuffer(payload, dtype=EMA_DTYPES[dtype]), alpha)
    return reference(smoothed, params, seed)


KERNELS = (
    Kernel(
        name="sha256",
        shader="sha256.wgsl",
        plan=plan,
        reference=reference,
        params={"block": 4096},
        align=16,  # read as vec4<u32>
        chunking=Chunking("concat", lambda params: params["block"]),
    ),
    Kernel(
        name="ema_sha256",
        shader="sha256.wgsl",
        plan=ema_plan,
        reference=ema_reference,
        preprocessor="ema",
        preprocess_params=ema_params,
        params={"alpha": 0.25, "dtype": "u8", "block": 4096},
        align=16,  # sha256.wgsl reads vec4<u32>
    ),
)
