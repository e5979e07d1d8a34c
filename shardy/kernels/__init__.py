"""Kernels: what a kernel is (`kernel`), the registry (`registry`), the binding ABI (`abi`),
and one module per built-in kernel, named like its ``shaders/*.wgsl``.

Importing this package registers the built-ins in `registry`.
"""

from __future__ import annotations

from shardy.kernels import conv2d_u8, histogram, mandelbrot, matmul_f32, montecarlo_pi, sha256
from shardy.kernels.abi import abi_layout, compile_kernel, validate_wgsl
from shardy.kernels.kernel import (
    EXACT,
    MAX_GROUPS,
    SHADER_DIR,
    UNIFORM_WORDS,
    Chunking,
    Determinism,
    Kernel,
    Plan,
    groups_for,
    uniforms,
)
from shardy.kernels.registry import Registry, register_wgsl, registry

#: The built-in kernels, by module.
BUILTINS: tuple[Kernel, ...] = (
    *histogram.KERNELS,
    *sha256.KERNELS,
    *montecarlo_pi.KERNELS,
    *conv2d_u8.KERNELS,
    *matmul_f32.KERNELS,
    *mandelbrot.KERNELS,
)
for _kernel in BUILTINS:
    registry.register(_kernel)

__all__ = [
    "BUILTINS",
    "EXACT",
    "MAX_GROUPS",
    "SHADER_DIR",
    "UNIFORM_WORDS",
    "Chunking",
    "Determinism",
    "Kernel",
    "Plan",
    "Registry",
    "abi_layout",
    "compile_kernel",
    "groups_for",
    "register_wgsl",
    "registry",
    "uniforms",
    "validate_wgsl",
]
