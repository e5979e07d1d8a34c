"""Kernel registry: what a kernel computes, how it is dispatched, and its numpy oracle.

Every kernel follows one binding ABI (see `docs/kernels.md`): binding 0 is the payload as
``array<u32>`` (zero-padded to a multiple of 4 bytes), binding 1 the output buffer (zeroed),
binding 2 a uniform of 16 u32 (``p[0].x`` payload bytes, ``p[0].y``/``p[0].z`` seed low/high
words, the rest kernel-specific).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shardy.errors import KernelError

SHADER_DIR = Path(__file__).parent / "shaders"  # a link to the top-level shaders/ in a checkout
MAX_GROUPS = 65_535
UNIFORM_WORDS = 16


@dataclass(frozen=True)
class Determinism:
    """``exact`` (digests must match bit for bit) or ``tolerance`` (outputs within atol/rtol)."""

    mode: Literal["exact", "tolerance"] = "exact"
    atol: float = 0.0
    rtol: float = 0.0


EXACT = Determinism()


@dataclass(frozen=True)
class Plan:
    """How one task runs: output size and dtype, workgroups to dispatch, uniform words."""

    output_len: int
    groups: tuple[int, int, int]
    uniforms: tuple[int, ...]
    dtype: str = "uint8"
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Kernel:
    """A registered kernel.

    Attributes:
        name: registry key, used in `shardy.submit`.
        shader: WGSL source file name in ``shaders/`` (or an absolute path).
        plan: ``(payload_len, params, seed) -> Plan``; validates params (raises KernelError).
        reference: numpy oracle ``(payload, params, seed) -> ndarray`` with the exact output.
        determinism: exact or tolerance.
        entry: WGSL entry point.
        preprocessor: optional preprocessor (``workers.preprocess``) the worker runs on the
            payload before upload; ``plan`` then describes the preprocessed bytes.
        preprocess_params: kernel params → the preprocessor's params.
        params: accepted parameter names with their defaults.
        align: the payload and output bindings are zero-padded to a multiple of this many
            bytes: 4 (whole u32 words), or 16 for shaders that view them as ``array<vec4<u32>>``.
    """

    name: str
    shader: str
    plan: Callable[[int, Mapping[str, Any], int], Plan]
    reference: Callable[[bytes, Mapping[str, Any], int], np.ndarray]
    determinism: Determinism = EXACT
    entry: str = "main"
    preprocessor: str | None = None
    preprocess_params: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    source_override: str | None = None
    align: int = 4

    def source(self) -> str:
        """The WGSL source text."""
        if self.source_override is not None:
            return self.source_override
        path = Path(self.shader)
        if not path.is_absolute():
            path = SHADER_DIR / path
        try:
            return path.read_text()
        except OSError as exc:
            raise KernelError(f"kernel {self.name!r}: cannot read shader {path}: {exc}") from exc

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with ``params``; unknown names raise KernelError."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise KernelError(
                f"kernel {self.name!r} has no parameter(s) {', '.join(unknown)}; accepted: {known}"
            )
        return {**self.params, **params}

    def preprocess_args(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The preprocessor's params for these kernel params (the resolved params if unmapped)."""
        resolved = self.resolve_params(params)
        return resolved if self.preprocess_params is None else self.preprocess_params(resolved)

    def make_plan(self, payload_len: int, params: Mapping[str, Any] | None, seed: int) -> Plan:
        """Validate params and return the dispatch plan."""
        if not 0 <= seed < 2**64:
            raise KernelError(f"seed {seed} is outside 0..2**64-1")
        if payload_len >= 2**32:
            raise KernelError(f"payload of {payload_len} bytes exceeds the 4 GiB kernel limit")
        return self.plan(payload_len, self.resolve_params(params), seed)


class Registry:
    """Name → Kernel. `shardy.kernels.registry` holds the built-ins."""

    def __init__(self) -> None:
        self._kernels: dict[str, Kernel] = {}

    def register(self, kernel: Kernel, *, replace: bool = False) -> Kernel:
        """Add a kernel; refuses to shadow an existing name unless ``replace``."""
        if kernel.name in self._kernels and not replace:
            raise KernelError(f"a kernel named {kernel.name!r} is already registered")
        self._kernels[kernel.name] = kernel
        return kernel

    def get(self, name: str) -> Kernel:
        """The kernel called ``name``. Raises KernelError listing the known names."""
        try:
            return self._kernels[name]
        except KeyError:
            known = ", ".join(sorted(self._kernels))
            raise KernelError(f"unknown kernel {name!r}; registered kernels: {known}") from None

    def names(self) -> list[str]:
        """Registered kernel names, sorted."""
        return sorted(self._kernels)


registry = Registry()


def uniforms(payload_len: int, seed: int, *extra: int) -> tuple[int, ...]:
    """The 16 uniform words: payload length, seed low/high, then ``extra`` from p[0].w on."""
    words = [payload_len, seed & 0xFFFFFFFF, seed >> 32, *extra]
    if len(words) > UNIFORM_WORDS or any(not 0 <= w < 2**32 for w in words):
        raise KernelError("kernel uniforms must be at most 16 values in 0..2**32-1")
    return tuple(words + [0] * (UNIFORM_WORDS - len(words)))


def groups_for(items: int, per_group: int) -> tuple[int, int, int]:
    """Workgroups for a grid-stride loop over ``items`` (capped; kernels loop)."""
    return (max(1, min(MAX_GROUPS, -(-items // per_group))), 1, 1)


# ---- built-ins --------------------------------------------------------------------------------


HISTOGRAM_WORDS_PER_INVOCATION = 256  # few workgroups, each adds its bins to the output once


def _histogram_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    groups = groups_for(-(-n // 4), 256 * HISTOGRAM_WORDS_PER_INVOCATION)
    return Plan(1024, groups, uniforms(n, seed), "uint32", (256,))


def _histogram_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    data = np.frombuffer(payload, dtype=np.uint8)
    return np.bincount(data, minlength=256).astype("<u4")


def _sha256_blocks(n: int, block: int) -> int:
    return max(1, -(-n // block))


def _sha256_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    block = params["block"]
    if type(block) is not int or not 1 <= block <= 1 << 24:
        raise KernelError(f"sha256: block must be an integer in 1..16777216, got {block!r}")
    blocks = _sha256_blocks(n, block)
    return Plan(
        32 * blocks,
        groups_for(blocks, 64),
        uniforms(n, seed, block, blocks),
        "uint8",
        (blocks, 32),
    )


def _sha256_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    block = params["block"]
    blocks = _sha256_blocks(len(payload), block)
    out = b"".join(
        hashlib.sha256(payload[i * block : (i + 1) * block]).digest() for i in range(blocks)
    )
    return np.frombuffer(out, dtype=np.uint8).reshape(blocks, 32)


registry.register(
    Kernel(
        name="histogram",
        shader="histogram.wgsl",
        plan=_histogram_plan,
        reference=_histogram_reference,
        align=16,  # read as vec4<u32>
    )
)
registry.register(
    Kernel(
        name="sha256",
        shader="sha256.wgsl",
        plan=_sha256_plan,
        reference=_sha256_reference,
        params={"block": 4096},
        align=16,  # read as vec4<u32>
    )
)


# ema_sha256: a series smoothed in fixed point by the `ema` preprocessor (WASM), then digested
# per block on the GPU. The oracle below recomputes the EMA independently of workers/.

_EMA_DTYPES = {"u8": "<u1", "i8": "<i1", "u16": "<u2", "i16": "<i2"}
_EMA_FRAC_BITS = 8


def _ema_checked(n: int, params: Mapping[str, Any]) -> tuple[float, str, int]:
    alpha, dtype = params["alpha"], params["dtype"]
    if type(alpha) not in (int, float) or not 0 <= alpha <= 1:
        raise KernelError(f"ema_sha256: alpha must be a number in [0, 1], got {alpha!r}")
    if not isinstance(dtype, str) or dtype not in _EMA_DTYPES:
        raise KernelError(f"ema_sha256: dtype must be one of {sorted(_EMA_DTYPES)}, got {dtype!r}")
    itemsize = np.dtype(_EMA_DTYPES[dtype]).itemsize
    if n % itemsize:
        raise KernelError(
            f"ema_sha256: a {dtype} series needs a length divisible by {itemsize}, got {n} bytes"
        )
    return float(alpha), dtype, n // itemsize * 4


def _ema_sha256_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    _, _, smoothed = _ema_checked(n, params)
    return _sha256_plan(smoothed, params, seed)


def _ema_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"alpha": float(params["alpha"]), "dtype": params["dtype"], "frac_bits": _EMA_FRAC_BITS}


def ema_fixed_point(series: np.ndarray, alpha: float, frac_bits: int = _EMA_FRAC_BITS) -> bytes:
    """y_t = alpha*x_t + (1-alpha)*y_(t-1) in Q(frac_bits), rounded at every step (LE i32)."""
    a = round(alpha * 65536)  # ties to even, as the preprocessor does
    ys = np.empty(len(series), dtype="<i4")
    y = 0
    for t, x in enumerate(series.tolist()):
        xq = x << frac_bits
        y = xq if t == 0 else (a * xq + (65536 - a) * y + 32768) >> 16
        ys[t] = y
    return ys.tobytes()


def _ema_sha256_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    alpha, dtype, _ = _ema_checked(len(payload), params)
    smoothed = ema_fixed_point(np.frombuffer(payload, dtype=_EMA_DTYPES[dtype]), alpha)
    return _sha256_reference(smoothed, params, seed)


registry.register(
    Kernel(
        name="ema_sha256",
        shader="sha256.wgsl",
        plan=_ema_sha256_plan,
        reference=_ema_sha256_reference,
        preprocessor="ema",
        preprocess_params=_ema_params,
        params={"alpha": 0.25, "dtype": "u8", "block": 4096},
        align=16,  # sha256.wgsl reads vec4<u32>
    )
)

# The kernel library registers montecarlo_pi, conv2d_u8, matmul_f32 and mandelbrot, and gives
# histogram and sha256 their chunking for streamed payloads; imported last (it uses the above).
import shardy.kernel_library  # noqa: E402, F401
