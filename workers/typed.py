"""Running a shipped kernel (`shardy.WgslKernel`) on the worker's GPU: its bind group layout
comes from its typed bindings (inputs, output, uniform struct) instead of the fixed ABI.

The payload is uploaded once; each input is bound as a range of it (inputs start at 256-byte
offsets). A bind group the device refuses is the kernel's fault (KernelError, permanent); a
failure of the dispatch itself is the device's (GPUError: the device is recreated, retryable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shardy.errors import GPUError, KernelError
from shardy.kernels import MAX_GROUPS, Kernel, Plan
from shardy.kernels.abi import wgpu_module


def layout(gpu: Any, kernel: Kernel) -> Any:
    """The bind group layout of a shipped kernel's bindings (cached on the device)."""
    spec = kernel.spec
    cache = gpu.__dict__.setdefault("_typed_layouts", {})
    found = cache.get(spec.hash)
    if found is None:
        wgpu = wgpu_module()
        kinds = ["read-only-storage"] * len(spec.inputs) + ["storage"]
        kinds += ["uniform"] if spec.uniforms is not None else []
        found = gpu.device.create_bind_group_layout(
            entries=[
                {"binding": i, "visibility": wgpu.ShaderStage.COMPUTE, "buffer": {"type": t}}
                for i, t in enumerate(kinds)
            ]
        )
        if len(cache) > 256:
            cache.clear()
        cache[spec.hash] = found
    return found


def dispatch(
    gpu: Any, kernel: Kernel, data: memoryview, plan: Plan, out: memoryview, params: Mapping
) -> None:
    """Upload, bind each typed binding, dispatch and read the output back into ``out``."""
    wgpu = wgpu_module()
    spec = kernel.spec
    spans, total = spec.offsets(params)
    if len(data) != total:
        raise KernelError(f"kernel {spec.label!r}: payload of {len(data)} bytes, expected {total}")
    if any(not 1 <= g <= MAX_GROUPS for g in plan.groups):
        raise KernelError(f"kernel {spec.label!r}: workgroups {plan.groups} out of range")
    biggest = max([size for _, size in spans] + [plan.output_len])
    if biggest > gpu.max_binding:
        raise KernelError(
            f"kernel {spec.label!r}: a binding of {biggest} bytes exceeds this adapter's limit of "
            f"{gpu.max_binding}; make the inputs smaller"
        )
    pipe = gpu.pipeline(kernel)
    uniform = spec.uniform_bytes(params)
    usage, pool = wgpu.BufferUsage, gpu.pool
    held: list[Any] = []
    try:
        padded = -(-total // 4) * 4
        inp = pool.acquire(padded, usage.STORAGE | usage.COPY_DST, "payload")
        held.append(inp)
        res = pool.acquire(plan.output_len, usage.STORAGE | usage.COPY_SRC | usage.COPY_DST, "out")
        held.append(res)
        staging = pool.acquire(plan.output_len, usage.MAP_READ | usage.COPY_DST, "staging")
        held.append(staging)
        queue = gpu.device.queue
        queue.write_buffer(inp, 0, data, 0, total)
        entries = [
            {"binding": i, "resource": {"buffer": inp, "offset": start, "size": size}}
            for i, (start, size) in enumerate(spans)
        ]
        n = len(spans)
        entries.append(
            {"binding": n, "resource": {"buffer": res, "offset": 0, "size": plan.output_len}}
        )
        if uniform:
            size = -(-len(uniform) // 16) * 16
            uni = pool.acquire(size, usage.UNIFORM | usage.COPY_DST, "uniforms")
            held.append(uni)
            queue.write_buffer(uni, 0, uniform.ljust(size, b"\0"))
            entries.append(
                {"binding": n + 1, "resource": {"buffer": uni, "offset": 0, "size": size}}
            )
        try:
            bind = gpu.device.create_bind_group(layout=layout(gpu, kernel), entries=entries)
        except wgpu.GPUError as exc:
            raise KernelError(f"kernel {spec.label!r}: its buffers do not bind: {exc}") from exc
        encoder = gpu.device.create_command_encoder()
        encoder.clear_buffer(res, 0, plan.output_len)
        cpass = encoder.begin_compute_pass()
        cpass.set_pipeline(pipe)
        cpass.set_bind_group(0, bind)
        cpass.dispatch_workgroups(*plan.groups)
        cpass.end()
        encoder.copy_buffer_to_buffer(res, 0, staging, 0, plan.output_len)
        queue.submit([encoder.finish()])
        staging.map_sync(wgpu.MapMode.READ, 0, plan.output_len)
        try:
            out[:] = staging.read_mapped(0, plan.output_len, copy=False)
        finally:
            staging.unmap()
    except wgpu.GPUError as exc:
        held.clear()  # they belong to the failed device
        gpu.reset()
        raise GPUError(
            f"kernel {spec.label!r} failed on {gpu.name}: {exc}; the device was recreated, "
            "retry the task"
        ) from exc
    finally:
        for buf in held:
            pool.release(buf)
