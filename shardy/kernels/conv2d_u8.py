"""conv2d_u8 (shaders/conv2d_u8.wgsl): a 3x3 integer filter over an 8-bit image, clamped
edges, rounding shift, saturation; streams in bands of rows with one row of halo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels.kernel import (
    Chunking,
    Kernel,
    Plan,
    groups_for,
    image_dims,
    int_param,
    uniforms,
)
from shardy.kernels.kernel import u32 as _u32

Filter = tuple[tuple[int, ...], int, int, bool]

FILTERS: dict[str, Filter] = {
    # name: (3x3 weights row-major, mul, shift, abs)
    "identity": ((0, 0, 0, 0, 1, 0, 0, 0, 0), 1, 0, False),
    "box": ((1,) * 9, 7282, 16, False),  # ≈ /9 (7282 / 65536)
    "gaussian": ((1, 2, 1, 2, 4, 2, 1, 2, 1), 1, 4, False),
    "sharpen": ((0, -1, 0, -1, 5, -1, 0, -1, 0), 1, 0, False),
    "sobel_x": ((-1, 0, 1, -2, 0, 2, -1, 0, 1), 1, 0, True),
    "sobel_y": ((-1, -2, -1, 0, 0, 0, 1, 2, 1), 1, 0, True),
    "laplacian": ((0, 1, 0, 1, -4, 1, 0, 1, 0), 1, 0, True),
}


def conv_filter(params: Mapping[str, Any]) -> Filter:
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
    mul = int_param("conv2d_u8", params, "mul", 1, 1 << 16)
    shift = int_param("conv2d_u8", params, "shift", 0, 24)
    use_abs = int_param("conv2d_u8", params, "abs", 0, 1)
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


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """One output byte per pixel; the filter's words in the uniforms."""
    w, h = image_dims("conv2d_u8", n, params, 1)
    weights, mul, shift, use_abs = conv_filter(params)
    words = [w, h, *(_u32(x) for x in weights), mul, shift | int(use_abs) << 8]
    groups = groups_for(conv_items(w, h), 256)
    return Plan(n, groups, uniforms(n, seed, *words), "uint8", (h, w))


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """The 3x3 integer filter with clamped edges, rounding shift and saturation to u8."""
    weights, mul, shift, use_abs = conv_filter(params)
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


KERNELS = (
    Kernel(
        name="conv2d_u8",
        shader="conv2d_u8.wgsl",
        plan=plan,
        reference=reference,
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
        chunking=Chunking("rows", lambda params: params["width"], halo=1),  # 3x3: radius 1
    ),
)
