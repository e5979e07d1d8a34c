"""Running a shipped kernel (`shardy.WgslKernel`) on the worker's GPU: its bind group layout
comes from its typed bindings (inputs, output, uniform struct) instead of the fixed ABI.

Before a worker compiles a kernel it has not seen, a child process compiles it (`probe`):
naga's parser recurses, so a deeply nested expression overflows its stack and kills the
process, and some shaders take unbounded memory or time to compile. A child that crashes, runs
out of its memory allowance or of time makes the kernel a KernelError; the worker compiles only
kernels a child compiled.

The payload is uploaded once; each input is bound as a range of it (inputs start at 256-byte
offsets). A bind group the device refuses is the kernel's fault (KernelError, permanent); a
failure of the dispatch itself is the device's (GPUError: the device is recreated, retryable).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from shardy.errors import KernelError
from shardy.kernels import MAX_GROUPS, Kernel, Plan
from shardy.kernels.abi import compile_kernel, wgpu_module

#: Memory a probe may allocate beyond what its device took (bytes).
PROBE_MEMORY = 4 << 30
_COMPILE_ERROR = 3


def probe(kernel: Kernel, adapter: str | None, timeout: float) -> None:
    """Compile ``kernel`` in a child process on the same adapter, within ``timeout`` seconds
    and `PROBE_MEMORY`.

    Raises:
        KernelError: it does not compile, or compiling it crashed, ran out of memory or time.
    """
    spec = kernel.spec
    argv = [sys.executable, "-m", "shardy.workers.typed", adapter or ""]
    try:
        done = subprocess.run(argv, input=spec.to_json(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KernelError(
            f"kernel {spec.label!r}: compiling it took more than {timeout:.0f} s; refused"
        ) from None
    if done.returncode == 0 and done.stdout.strip().endswith(b"compiled"):
        return
    said = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode == _COMPILE_ERROR and said:
        raise KernelError(said[-1][:2000])
    raise KernelError(
        f"kernel {spec.label!r}: compiling it crashed the shader compiler or exhausted its "
        f"memory (exit {done.returncode}); refused"
    )


def _probe_main() -> None:
    """The child of `probe`: compile the kernel on stdin on adapter argv[1]; exit 3 with the
    error's message on stderr when it does not compile."""
    from shardy.kernels.shipped import WgslKernel
    from shardy.workers.gpu import _select

    try:
        kernel = WgslKernel.from_json(sys.stdin.buffer.read()).as_kernel()
        device = _select(sys.argv[1] or None).request_device_sync()
        with open("/proc/self/statm") as f:  # cap what compiling may add to the device's take
            mapped = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (mapped + PROBE_MEMORY, resource.RLIM_INFINITY))
        compile_kernel(device, layout(device, kernel), kernel.spec.label, kernel.source(),
                       kernel.entry)  # fmt: skip
        print("compiled", flush=True)  # the verdict `probe` waits for
    except KernelError as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        sys.exit(_COMPILE_ERROR)


def layout(device: Any, kernel: Kernel) -> Any:
    """The bind group layout of a shipped kernel's bindings: read-only storage for each input,
    storage for the output, a uniform for the params struct (the pipeline keeps it)."""
    spec = kernel.spec
    wgpu = wgpu_module()
    kinds = ["read-only-storage"] * len(spec.inputs) + ["storage"]
    kinds += ["uniform"] if spec.uniforms is not None else []
    return device.create_bind_group_layout(
        entries=[
            {"binding": i, "visibility": wgpu.ShaderStage.COMPUTE, "buffer": {"type": t}}
            for i, t in enumerate(kinds)
        ]
    )


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
    with gpu.failures(spec.label) as held:
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
            bind = gpu.device.create_bind_group(
                layout=pipe.get_bind_group_layout(0), entries=entries
            )
        except wgpu.GPUError as exc:
            raise KernelError(f"kernel {spec.label!r}: its buffers do not bind: {exc}") from exc
        gpu.execute(pipe, bind, plan.groups, res, staging, plan.output_len, out)


if __name__ == "__main__":
    _probe_main()
