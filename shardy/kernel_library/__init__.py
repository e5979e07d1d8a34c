"""The kernel library: built-in kernels beyond histogram/sha256, how kernels stream over chunks,
and `register_wgsl` for user WGSL (compiled against the kernel ABI before it is accepted)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from shardy.errors import KernelError
from shardy.kernel_library import references as refs
from shardy.kernel_library.abi import abi_layout, compile_kernel, validate_wgsl
from shardy.kernels import (
    EXACT,
    MAX_GROUPS,
    Determinism,
    Kernel,
    Plan,
    Registry,
    groups_for,
    registry,
    uniforms,
)


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
class LibraryKernel(Kernel):
    """A `Kernel` that may also declare its `Chunking` (None: the payload must fit one binding)."""

    chunking: Chunking | None = None


def _with_chunking(kernel: Kernel, chunking: Chunking) -> LibraryKernel:
    names = [f.name for f in fields(kernel) if f.name != "chunking"]
    return LibraryKernel(**{name: getattr(kernel, name) for name in names}, chunking=chunking)


# ---- checked parameters ------------------------------------------------------------------------


def _int(kernel: str, params: Mapping[str, Any], name: str, lo: int, hi: int) -> int:
    v = params[name]
    if type(v) is not int or not lo <= v <= hi:
        raise KernelError(f"{kernel}: {name} must be an integer in {lo}..{hi}, got {v!r}")
    return v


def _image(kernel: str, n: int, params: Mapping[str, Any], bytes_per_pixel: int) -> tuple[int, int]:
    w = _int(kernel, params, "width", 1, 1 << 16)
    h = _int(kernel, params, "height", 1, 1 << 16)
    if n != w * h * bytes_per_pixel:
        raise KernelError(
            f"{kernel}: a {w}x{h} image needs a payload of {w * h * bytes_per_pixel} bytes, got {n}"
        )
    return w, h


def _u32(v: int) -> int:
    return v & 0xFFFFFFFF


# ---- montecarlo_pi ----------------------------------------------------------------------------


def _montecarlo_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    samples = _int("montecarlo_pi", params, "samples", 1, 2**32 - 1)
    offset = _int("montecarlo_pi", params, "offset", 0, 2**32 - samples)
    return Plan(
        4, groups_for(samples, 256 * 64), uniforms(n, seed, samples, offset), "uint32", (1,)
    )


# ---- conv2d_u8 ----------------------------------------------------------------------------------

FILTERS: dict[str, tuple[tuple[int, ...], int, int, bool]] = {
    # name: (3x3 weights row-major, mul, shift, abs)
    "identity": ((0, 0, 0, 0, 1, 0, 0, 0, 0), 1, 0, False),
    "box": ((1,) * 9, 7282, 16, False),  # ≈ /9 (7282 / 65536)
    "gaussian": ((1, 2, 1, 2, 4, 2, 1, 2, 1), 1, 4, False),
    "sharpen": ((0, -1, 0, -1, 5, -1, 0, -1, 0), 1, 0, False),
    "sobel_x": ((-1, 0, 1, -2, 0, 2, -1, 0, 1), 1, 0, True),
    "sobel_y": ((-1, -2, -1, 0, 0, 0, 1, 2, 1), 1, 0, True),
    "laplacian": ((0, 1, 0, 1, -4, 1, 0, 1, 0), 1, 0, True),
}


def conv_filter(params: Mapping[str, Any]) -> tuple[tuple[int, ...], int, int, bool]:
    """The (weights, mul, shift, abs) a conv2d_u8 call uses: a named filter or custom weights."""
    if params["weights"] is None:
        name = params["filter"]
        if name not in FILTERS:
            raise KernelError(f"conv2d_u8: filter must be one of {sorted(FILTERS)}, got {name!r}")
        return FILTERS[name]
    weights = params["weights"]
    if (
        not isinstance(weights, list | tuple)
        or len(weights) != 9
        or any(type(x) is not int or not -128 <= x <= 127 for x in weights)
    ):
        raise KernelError(f"conv2d_u8: weights must be 9 integers in -128..127, got {weights!r}")
    mul = _int("conv2d_u8", params, "mul", 1, 1 << 16)
    shift = _int("conv2d_u8", params, "shift", 0, 24)
    use_abs = _int("conv2d_u8", params, "abs", 0, 1)
    if 255 * sum(abs(x) for x in weights) * mul + (1 << shift) >= 2**31:
        raise KernelError("conv2d_u8: 255 * sum(|weights|) * mul must stay below 2**31")
    return tuple(weights), mul, shift, bool(use_abs)


def conv_items(w: int, h: int) -> int:
    """Work items of conv2d_u8.wgsl: one per pair of rows and vec4 (2 x 16 pixels) when rows
    are whole vec4s (width % 16 == 0), per pair of rows and pair of words (2 x 8 pixels) when
    they are whole words, else one per output word (4 pixels). The plan dispatches a workgroup
    (128 invocations) per 256 items: two items per invocation."""
    if w % 16 == 0:
        return w // 16 * -(-h // 2)
    if w % 4 == 0:
        return -(-w // 8) * -(-h // 2)
    return -(-w * h // 4)


def _conv_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    w, h = _image("conv2d_u8", n, params, 1)
    weights, mul, shift, use_abs = conv_filter(params)
    words = [w, h, *(_u32(x) for x in weights), mul, shift | int(use_abs) << 8]
    groups = groups_for(conv_items(w, h), 256)
    return Plan(n, groups, uniforms(n, seed, *words), "uint8", (h, w))


# ---- matmul_f32 ---------------------------------------------------------------------------------

MATMUL_TILE = 128


def _matmul_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    m = _int("matmul_f32", params, "m", 1, MAX_GROUPS * MATMUL_TILE)
    cols = _int("matmul_f32", params, "n", 1, MAX_GROUPS * MATMUL_TILE)
    k = _int("matmul_f32", params, "k", 1, 2**28)
    if n != 4 * (m * k + k * cols):
        raise KernelError(
            f"matmul_f32: A ({m}x{k}) then B ({k}x{cols}) as f32 need {4 * (m * k + k * cols)} "
            f"bytes, got {n}"
        )
    groups = (-(-cols // MATMUL_TILE), -(-m // MATMUL_TILE), 1)
    return Plan(4 * m * cols, groups, uniforms(n, seed, m, cols, k), "float32", (m, cols))


# ---- mandelbrot ---------------------------------------------------------------------------------


def mandelbrot_fixed(params: Mapping[str, Any]) -> tuple[int, int, int]:
    """x0, y0 and step in Q4.28 (rounded to nearest); every c of the tile within [-2, 2]²."""
    w, h = params["width"], params["height"]
    vals = [params[k] for k in ("x0", "y0", "step")]
    if any(type(v) not in (int, float) or not math.isfinite(v) for v in vals):
        raise KernelError(f"mandelbrot: x0, y0 and step must be finite numbers, got {vals!r}")
    x0, y0, step = (round(v * refs.Q28) for v in vals)
    if step < 1:
        raise KernelError(f"mandelbrot: step must be at least 2**-28, got {params['step']!r}")
    corners = (x0, y0, x0 + (w - 1) * step, y0 + (h - 1) * step)
    if any(abs(c) > 2 * refs.Q28 for c in corners):
        raise KernelError("mandelbrot: the tile must lie within [-2, 2] x [-2, 2]")
    return x0, y0, step


def _mandelbrot_plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    w = _int("mandelbrot", params, "width", 1, 1 << 14)
    h = _int("mandelbrot", params, "height", 1, 1 << 14)
    it = _int("mandelbrot", params, "max_iter", 1, 1 << 20)
    x0, y0, step = mandelbrot_fixed(params)
    words = uniforms(n, seed, w, h, _u32(x0), _u32(y0), step, it)
    return Plan(4 * w * h, groups_for(w * h, 256), words, "uint32", (h, w))


# ---- registration -------------------------------------------------------------------------------

TOLERANCE_MATMUL = Determinism("tolerance", atol=1e-3, rtol=1e-3)

BUILTINS: tuple[LibraryKernel, ...] = (
    LibraryKernel(
        name="montecarlo_pi",
        shader="montecarlo_pi.wgsl",
        plan=_montecarlo_plan,
        reference=refs.montecarlo_pi,
        params={"samples": 1 << 20, "offset": 0},
    ),
    LibraryKernel(
        name="conv2d_u8",
        shader="conv2d_u8.wgsl",
        plan=_conv_plan,
        reference=lambda payload, params, seed: refs.conv2d_u8(
            payload, params, conv_filter(params)
        ),
        params={
            "width": None,
            "height": None,
            "filter": "gaussian",
            "weights": None,
            "mul": 1,
            "shift": 0,
            "abs": 0,
        },
        align=16,  # image and result are arrays of vec4<u32>
    ),
    LibraryKernel(
        name="matmul_f32",
        shader="matmul_f32.wgsl",
        plan=_matmul_plan,
        reference=refs.matmul_f32,
        determinism=TOLERANCE_MATMUL,
        params={"m": None, "n": None, "k": None},
    ),
    LibraryKernel(
        name="mandelbrot",
        shader="mandelbrot.wgsl",
        plan=_mandelbrot_plan,
        reference=lambda payload, params, seed: refs.mandelbrot(params, mandelbrot_fixed(params)),
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

STREAMING: dict[str, Chunking] = {
    "histogram": Chunking("sum"),
    "sha256": Chunking("concat", lambda params: params["block"]),
    "conv2d_u8": Chunking("rows", lambda params: params["width"], halo=1),  # 3x3: radius 1
}


def register_builtins(into: Registry = registry) -> None:
    """Add the library kernels and give histogram, sha256 and conv2d_u8 their chunking
    (idempotent)."""
    for kernel in BUILTINS:
        into.register(kernel, replace=True)
    for name, chunking in STREAMING.items():
        into.register(_with_chunking(into.get(name), chunking), replace=True)


# ---- custom kernels -----------------------------------------------------------------------------


def _no_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    raise KernelError("this custom kernel was registered without a numpy reference")


def register_wgsl(
    name: str,
    source: str,
    *,
    plan: Callable[[int, Mapping[str, Any], int], Plan],
    reference: Callable[[bytes, Mapping[str, Any], int], np.ndarray] | None = None,
    determinism: Determinism = EXACT,
    params: Mapping[str, Any] | None = None,
    entry: str = "main",
    chunking: Chunking | None = None,
    device: Any = None,
    replace: bool = False,
    into: Registry = registry,
) -> LibraryKernel:
    """Register user WGSL as a kernel, after compiling it against the kernel ABI.

    Args:
        name: registry key (refused if taken, unless ``replace``).
        source: WGSL text using the three ABI bindings of group 0 (see docs/kernels.md).
        plan: ``(payload_len, params, seed) -> Plan``; validate params, raise KernelError.
        reference: optional numpy oracle ``(payload, params, seed) -> ndarray``.
        determinism: `EXACT` for integer kernels, ``Determinism("tolerance", atol, rtol)``.
        params: accepted parameter names with their defaults.
        entry: the compute entry point.
        chunking: how the output composes over payload chunks (enables streaming).
        device: a wgpu device (or `workers.gpu.GPU`) to compile on; default a throwaway one.

    Raises:
        KernelError: the WGSL does not compile or does not fit the ABI (the compiler's line
            and message are in the error), or the name is taken.
    """
    if not replace and name in into.names():
        raise KernelError(f"a kernel named {name!r} is already registered")
    validate_wgsl(name, source, entry, device)
    kernel = LibraryKernel(
        name=name,
        shader=f"<{name}>",
        plan=plan,
        reference=reference or _no_reference,
        determinism=determinism,
        entry=entry,
        params=dict(params or {}),
        source_override=source,
        chunking=chunking,
    )
    return into.register(kernel, replace=replace)


register_builtins()

__all__ = [
    "BUILTINS",
    "FILTERS",
    "Chunking",
    "LibraryKernel",
    "TOLERANCE_MATMUL",
    "abi_layout",
    "compile_kernel",
    "conv_filter",
    "mandelbrot_fixed",
    "register_builtins",
    "register_wgsl",
    "validate_wgsl",
]
