"""The worker's GPU: one wgpu device per process, a pipeline cache, and kernel dispatch."""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

from shardy.errors import GPUError, KernelError
from shardy.kernels import Kernel, Plan


@dataclass(frozen=True)
class AdapterInfo:
    """What `shardy gpus` prints about one adapter."""

    index: int
    name: str
    backend: str
    adapter_type: str
    max_binding: int


def _wgpu():
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # Mesa's WSI probe complains otherwise
    try:
        import wgpu
    except ImportError as exc:  # pragma: no cover - wgpu is a hard dependency
        raise GPUError(f"wgpu is not importable: {exc}; reinstall shardy") from exc
    return wgpu


def list_adapters() -> list[AdapterInfo]:
    """Every adapter wgpu can see, in enumeration order."""
    wgpu = _wgpu()
    out = []
    for i, a in enumerate(wgpu.gpu.enumerate_adapters_sync()):
        info = a.info
        out.append(
            AdapterInfo(
                index=i,
                name=info.get("device", "") or info.get("description", ""),
                backend=info.get("backend_type", ""),
                adapter_type=info.get("adapter_type", ""),
                max_binding=int(a.limits["max-storage-buffer-binding-size"]),
            )
        )
    return out


def _select(selector: str | None):
    wgpu = _wgpu()
    if selector is None or selector == "":
        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        if adapter is None:
            raise GPUError(
                "no GPU adapter found; install a Vulkan driver (mesa-vulkan-drivers for CPU)"
            )
        return adapter
    adapters = wgpu.gpu.enumerate_adapters_sync()
    if selector.isdigit():
        idx = int(selector)
        if idx >= len(adapters):
            raise KernelError(f"adapter index {idx} does not exist; {len(adapters)} adapters seen")
        return adapters[idx]
    for a in adapters:
        if selector.lower() in (a.info.get("device", "") + a.info.get("description", "")).lower():
            return a
    names = ", ".join(a.info.get("device", "?") for a in adapters)
    raise KernelError(f"no adapter matches {selector!r}; adapters: {names}")


class GPU:
    """One wgpu device and its compiled pipelines.

    Args:
        adapter: index or case-insensitive name substring; None picks the default adapter.
    """

    def __init__(self, adapter: str | None = None) -> None:
        self.selector = adapter
        self._pipelines: dict[tuple[str, str], object] = {}
        self._open()

    def _open(self) -> None:
        self._pipelines.clear()
        self.adapter = _select(self.selector)
        info = self.adapter.info
        self.name = info.get("device", "") or info.get("description", "unknown")
        self.backend = info.get("backend_type", "")
        self.device = self.adapter.request_device_sync(
            required_limits={
                "max-storage-buffer-binding-size": self.adapter.limits[
                    "max-storage-buffer-binding-size"
                ],
                "max-buffer-size": self.adapter.limits["max-buffer-size"],
            }
        )

    def reset(self) -> None:
        """Recreate the device after a loss or an internal error."""
        self._open()

    def pipeline(self, kernel: Kernel):
        """The compute pipeline of ``kernel``, compiled once per source hash."""
        source = kernel.source()
        key = (hashlib.sha256(source.encode()).hexdigest(), kernel.entry)
        pipe = self._pipelines.get(key)
        if pipe is None:
            pipe = self._compile(kernel.name, source, kernel.entry)
            self._pipelines[key] = pipe
        return pipe

    def _compile(self, name: str, source: str, entry: str):
        wgpu = _wgpu()
        try:
            module = self.device.create_shader_module(code=source)
            return self.device.create_compute_pipeline(
                layout="auto", compute={"module": module, "entry_point": entry}
            )
        except wgpu.GPUError as exc:
            raise KernelError(f"kernel {name!r}: WGSL does not compile: {exc}") from exc

    def run(self, kernel: Kernel, payload: bytes | memoryview, plan: Plan) -> memoryview:
        """Dispatch ``kernel`` on ``payload`` and return the output bytes.

        Raises:
            KernelError: the shader does not compile or the plan is inconsistent.
            GPUError: the device failed (retryable; the device is recreated).
        """
        wgpu = _wgpu()
        pipe = self.pipeline(kernel)
        limit = self.adapter.limits["max-storage-buffer-binding-size"]
        data = memoryview(payload).cast("B")
        n = len(data)
        if n > limit or plan.output_len > limit:
            raise KernelError(
                f"kernel {kernel.name!r}: buffers of {max(n, plan.output_len)} bytes exceed this "
                f"adapter's binding limit of {limit}; split the payload"
            )
        usage = wgpu.BufferUsage
        buffers = []  # destroyed when the dispatch ends, whatever happens
        try:
            padded = (n + 3) // 4 * 4 or 4
            inp = self.device.create_buffer(size=padded, usage=usage.STORAGE | usage.COPY_DST)
            buffers.append(inp)
            whole = n // 4 * 4
            if whole:  # straight from the payload's memory, no host copy
                self.device.queue.write_buffer(inp, 0, data[:whole])
            if n % 4:
                self.device.queue.write_buffer(inp, whole, bytes(data[whole:]).ljust(4, b"\0"))
            out_size = (plan.output_len + 3) // 4 * 4 or 4
            out = self.device.create_buffer(size=out_size, usage=usage.STORAGE | usage.COPY_SRC)
            buffers.append(out)
            uni = self.device.create_buffer_with_data(
                data=struct.pack("<16I", *plan.uniforms), usage=usage.UNIFORM
            )
            buffers.append(uni)
            bind = self.device.create_bind_group(
                layout=pipe.get_bind_group_layout(0),
                entries=[
                    {"binding": 0, "resource": {"buffer": inp, "offset": 0, "size": padded}},
                    {"binding": 1, "resource": {"buffer": out, "offset": 0, "size": out_size}},
                    {"binding": 2, "resource": {"buffer": uni, "offset": 0, "size": 64}},
                ],
            )
            encoder = self.device.create_command_encoder()
            cpass = encoder.begin_compute_pass()
            cpass.set_pipeline(pipe)
            cpass.set_bind_group(0, bind)
            cpass.dispatch_workgroups(*plan.groups)
            cpass.end()
            self.device.queue.submit([encoder.finish()])
            result = self.device.queue.read_buffer(out, 0, out_size)
        except wgpu.GPUError as exc:
            self.reset()
            raise GPUError(f"kernel {kernel.name!r} failed on {self.name}: {exc}") from exc
        finally:
            for buf in buffers:
                buf.destroy()
        return result[: plan.output_len]
