"""What a kernel is: its WGSL, its dispatch plan, its numpy oracle, its determinism.

Every kernel follows one binding ABI (see `docs/kernels.md` and `shardy.kernels.abi`):
binding 0 is the payload as ``array<u32>`` (zero-padded to a multiple of 4 bytes), binding 1
the output buffer (zeroed), binding 2 a uniform of 16 u32 (``p[0].x`` payload bytes,
``p[0].y``/``p[0].z`` seed low/high words, the rest kernel-specific).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shardy.errors import KernelError

#: The packaged WGSL files (``shardy/shaders``, a link to the top-level ``shaders/``).
SHADER_DIR = Path(__file__).parent.parent / "shaders"
MAX_GROUPS = 65_535
UNIFORM_WORDS = 16

PlanFn = Callable[[int, Mapping[str, Any], int], "Plan"]
Oracle = Callable[[bytes, Mapping[str, Any], int], np.ndarray]


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
class Chunking:
    """How a kernel's output composes over payload chunks, so a payload above the adapter's
    binding limit can be streamed: ``sum`` adds chunk outputs element-wise (in the plan's
    dtype), ``concat`` appends them; chunks start at multiples of ``unit(params)`` bytes.
    ``rows`` is for images: the payload is ``params["height"]`` rows of ``unit(params)`` bytes,
    each band of rows runs with ``halo`` rows of context above and below (``height`` set to the
    rows sent), and the output rows of the band proper are kept."""

    combine: Literal["sum", "concat", "rows"]
    unit: Callable[[Mapping[str, Any]], int] = lambda params: 4
    halo: int = 0


@dataclass(frozen=True)
class Kernel:
    """A kernel.

    Attributes:
        name: registry key, used in `shardy.submit`.
        shader: WGSL source file name in ``shaders/`` (or an absolute path).
        plan: ``(payload_len, params, seed) -> Plan``; validates params (raises KernelError).
        reference: numpy oracle ``(payload, params, seed) -> ndarray`` with the exact output.
        determinism: exact or tolerance.
        entry: WGSL entry point.
        preprocessor: optional preprocessor (``shardy.workers.preprocess``) the worker runs on
            the payload before upload; ``plan`` then describes the preprocessed bytes.
        preprocess_params: kernel params → the preprocessor's params.
        params: accepted parameter names with their defaults.
        source_override: WGSL text (kernels registered from source rather than a file).
        align: the payload and output bindings are zero-padded to a multiple of this many
            bytes: 4 (whole u32 words), or 16 for shaders that view them as ``array<vec4<u32>>``.
        chunking: how the output composes over payload chunks (None: the payload must fit
            one binding).
        spec: the `shardy.kernels.shipped.WgslKernel` of a shipped kernel (its typed
            bindings replace the three-binding ABI), else None.
    """

    name: str
    shader: str
    plan: PlanFn
    reference: Oracle
    determinism: Determinism = EXACT
    entry: str = "main"
    preprocessor: str | None = None
    preprocess_params: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    source_override: str | None = None
    align: int = 4
    chunking: Chunking | None = None
    spec: Any = None

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
        if self.spec is not None:
            return self.spec.resolve_params(params)
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise KernelError(
                f"kernel {self.name!r} has no parameter(s) {', '.join(unknown)}; accepted: {known}"
            )
        for name, value in params.items():
            check_param(name, value)
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


def check_param(name: str, value: Any, depth: int = 0) -> None:
    """A param value travels in order frames and JSON: finite, 64-bit, shallow.

    Raises:
        KernelError: naming the param and what is wrong with its value.
    """
    if depth > 4:
        raise KernelError(f"param {name!r} nests too deep")
    if type(value) is float and not math.isfinite(value):
        raise KernelError(f"param {name!r} must be finite, got {value}")
    if type(value) is int and not -(2**63) <= value < 2**64:
        raise KernelError(f"param {name!r} must fit in 64 bits, got {value}")
    if isinstance(value, (list, tuple)):
        for v in value:
            check_param(name, v, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            check_param(name, v, depth + 1)


# ---- helpers for plans -------------------------------------------------------------------------


def uniforms(payload_len: int, seed: int, *extra: int) -> tuple[int, ...]:
    """The 16 uniform words: payload length, seed low/high, then ``extra`` from p[0].w on."""
    words = [payload_len, seed & 0xFFFFFFFF, seed >> 32, *extra]
    if len(words) > UNIFORM_WORDS or any(not 0 <= w < 2**32 for w in words):
        raise KernelError("kernel uniforms must be at most 16 values in 0..2**32-1")
    return tuple(words + [0] * (UNIFORM_WORDS - len(words)))


def groups_for(items: int, per_group: int) -> tuple[int, int, int]:
    """Workgroups for a grid-stride loop over ``items`` (capped; kernels loop)."""
    return (max(1, min(MAX_GROUPS, -(-items // per_group))), 1, 1)


def int_param(kernel: str, params: Mapping[str, Any], name: str, lo: int, hi: int) -> int:
    """``params[name]`` checked to be an integer in ``lo..hi`` (KernelError naming it)."""
    v = params[name]
    if type(v) is not int or not lo <= v <= hi:
        raise KernelError(f"{kernel}: {name} must be an integer in {lo}..{hi}, got {v!r}")
    return v


def image_dims(
    kernel: str, n: int, params: Mapping[str, Any], bytes_per_pixel: int
) -> tuple[int, int]:
    """(width, height) from params, checked against a payload of ``n`` bytes."""
    w = int_param(kernel, params, "width", 1, 1 << 16)
    h = int_param(kernel, params, "height", 1, 1 << 16)
    if n != w * h * bytes_per_pixel:
        raise KernelError(
            f"{kernel}: a {w}x{h} image needs a payload of {w * h * bytes_per_pixel} bytes, got {n}"
        )
    return w, h


def u32(v: int) -> int:
    """``v`` as an unsigned 32-bit word (two's complement for negatives)."""
    return v & 0xFFFFFFFF
