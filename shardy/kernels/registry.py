"""The kernel registry, and `register_wgsl` for user WGSL (compiled against the ABI first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels.abi import validate_wgsl
from shardy.kernels.kernel import EXACT, Chunking, Determinism, Kernel, Oracle, PlanFn


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


def _no_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    raise KernelError("this custom kernel was registered without a numpy reference")


def register_wgsl(
    name: str,
    source: str,
    *,
    plan: PlanFn,
    reference: Oracle | None = None,
    determinism: Determinism = EXACT,
    params: Mapping[str, Any] | None = None,
    entry: str = "main",
    chunking: Chunking | None = None,
    device: Any = None,
    replace: bool = False,
    into: Registry = registry,
) -> Kernel:
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
        device: a wgpu device (or `shardy.workers.gpu.GPU`) to compile on; default a
            throwaway one.

    Raises:
        KernelError: the WGSL does not compile or does not fit the ABI (the compiler's line
            and message are in the error), or the name is taken.
    """
    if not replace and name in into.names():
        raise KernelError(f"a kernel named {name!r} is already registered")
    validate_wgsl(name, source, entry, device)
    kernel = Kernel(
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
