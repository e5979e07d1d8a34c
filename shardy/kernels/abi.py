"""The kernel binding ABI as wgpu objects: the bind group layout, and compiling WGSL against it."""

from __future__ import annotations

import logging
import os
from typing import Any

from shardy.errors import KernelError

log = logging.getLogger("shardy.kernels")

BINDINGS = ("read-only-storage", "storage", "uniform")  # payload, output, 16 × u32 uniforms


def wgpu_module() -> Any:
    """wgpu, imported on first use."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # Mesa's WSI probe complains otherwise
    import wgpu

    return wgpu


def abi_layout(device: Any) -> Any:
    """The bind group layout every kernel uses: payload (read), output (read-write), uniforms."""
    wgpu = wgpu_module()
    return device.create_bind_group_layout(
        entries=[
            {"binding": i, "visibility": wgpu.ShaderStage.COMPUTE, "buffer": {"type": t}}
            for i, t in enumerate(BINDINGS)
        ]
    )


def compile_kernel(device: Any, layout: Any, name: str, source: str, entry: str = "main") -> Any:
    """Compile WGSL into a compute pipeline on ``layout``.

    Raises:
        KernelError: with the compiler's line, column and message (or the ABI mismatch).
    """
    wgpu = wgpu_module()
    try:
        module = device.create_shader_module(code=source, label=name)
        return device.create_compute_pipeline(
            layout=device.create_pipeline_layout(bind_group_layouts=[layout]),
            compute={"module": module, "entry_point": entry},
        )
    except wgpu.GPUError as exc:
        raise KernelError(f"kernel {name!r}: WGSL does not compile: {exc}") from exc


def validate_wgsl(name: str, source: str, entry: str = "main", device: Any = None) -> bool:
    """Compile ``source`` against the ABI on ``device`` (a wgpu device, or anything with a
    ``device`` attribute such as `shardy.workers.gpu.GPU`; default: a throwaway device on the
    default adapter). Returns False, with a warning, when no adapter exists to compile on.

    Raises:
        KernelError: with the compiler's line, column and message.
    """
    device = getattr(device, "device", device)
    if device is None:
        wgpu = wgpu_module()
        adapter = wgpu.gpu.request_adapter_sync(power_preference="low-power")
        if adapter is None:
            log.warning("no GPU adapter: kernel %r is registered without compiling it", name)
            return False
        device = adapter.request_device_sync()
        try:
            compile_kernel(device, abi_layout(device), name, source, entry)
        finally:
            device.destroy()
        return True
    compile_kernel(device, abi_layout(device), name, source, entry)
    return True
