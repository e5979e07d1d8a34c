"""The worker's GPU: one wgpu device per process, pipelines cached by source hash, pooled
buffers, zero-copy upload and read-back, and streaming of payloads above the binding limit."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shardy.errors import GPUError, KernelError
from shardy.kernels import MAX_GROUPS, Kernel, Plan
from shardy.kernels.abi import abi_layout, compile_kernel
from shardy.workers.buffers import BufferPool

_UNIFORM_BYTES = 64
#: Compiled pipelines a device keeps (each costs memory: ~12 MiB for a large shader on lavapipe).
MAX_PIPELINES = 64


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


#: Backends that run compute shaders natively; GL adapters of the same GPU are skipped.
COMPUTE_BACKENDS = ("Vulkan", "Metal", "D3D12")


def compute_adapters() -> list[AdapterInfo]:
    """One adapter per physical device, on a native compute backend (for one worker each).

    wgpu lists a device once per backend (Vulkan and OpenGL, say); the first native listing of
    each device name is kept, with its index in `list_adapters` order (what ``--adapter N``
    selects).
    """
    seen: set[str] = set()
    out = []
    for a in list_adapters():
        if a.backend in COMPUTE_BACKENDS and a.name not in seen:
            seen.add(a.name)
            out.append(a)
    return out


def worker_name(adapter: AdapterInfo) -> str:
    """Celery node name (and so worker id) of the worker bound to ``adapter``:
    ``gpu<index>-<first word of the adapter name>``."""
    word = re.sub(r"[^a-z0-9]+", "-", adapter.name.lower()).strip("-").split("-")[0] or "gpu"
    return f"gpu{adapter.index}-{word}"


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


def _writable(out: Any, nbytes: int) -> memoryview:
    view = memoryview(out)
    if view.readonly or not view.c_contiguous or view.nbytes != nbytes:
        raise KernelError(
            f"out must be a writable C-contiguous buffer of {nbytes} bytes "
            f"(got {view.nbytes} bytes, readonly={view.readonly})"
        )
    return view.cast("B")


class GPU:
    """One wgpu device with its compiled pipelines and pooled buffers.

    Args:
        adapter: index or case-insensitive name substring; None picks the default adapter.
        max_binding: cap on the bytes bound per dispatch (default: the adapter's limit);
            larger payloads of kernels with a ``chunking`` are streamed in chunks.
        pool_bytes: idle GPU memory the buffer pool may keep.
        scratch_dir: where disk-backed (mmap) scratch files for streaming go (default: tmp).
        features: optional wgpu features to enable where the adapter has them (e.g.
            ``"timestamp-query"`` for the benchmarks' GPU-side timing).
    """

    def __init__(
        self,
        adapter: str | None = None,
        *,
        max_binding: int | None = None,
        pool_bytes: int = 512 << 20,
        scratch_dir: str | Path | None = None,
        features: Iterable[str] = (),
    ) -> None:
        self.selector = adapter
        self.wanted_features = tuple(features)
        self.pool_bytes = pool_bytes
        self.scratch_dir = scratch_dir
        self._max_binding = max_binding
        #: compiled pipelines by (source sha256, entry), least recently used first
        self._pipelines: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.resets = 0
        self._open()

    def _open(self) -> None:
        self._pipelines.clear()
        self.adapter = _select(self.selector)
        info = self.adapter.info
        self.name = info.get("device", "") or info.get("description", "unknown")
        self.backend = info.get("backend_type", "")
        #: the driver (Vulkan: its description, e.g. "Mesa 22.3.6 (LLVM 15.0.6)")
        self.driver = info.get("description", "") if info.get("device") else ""
        limits = self.adapter.limits
        self.features = [f for f in self.wanted_features if f in self.adapter.features]
        self.device = self.adapter.request_device_sync(
            required_features=self.features,
            required_limits={
                "max-storage-buffer-binding-size": limits["max-storage-buffer-binding-size"],
                "max-buffer-size": limits["max-buffer-size"],
            },
        )
        self.max_buffer = int(limits["max-buffer-size"])
        adapter_binding = int(limits["max-storage-buffer-binding-size"])
        # whole 16-byte units, so that a payload within the limit stays within it once padded
        self.max_binding = min(adapter_binding, self._max_binding or adapter_binding) // 16 * 16
        self.layout = abi_layout(self.device)
        self.pool = BufferPool(
            self.device, max_idle_bytes=self.pool_bytes, max_buffer=self.max_buffer
        )

    def reset(self) -> None:
        """Recreate the device (after a loss or an internal error); pipelines and pool go too."""
        try:
            self.pool.clear()
        finally:
            self.resets += 1
            self._open()

    def pipeline(self, kernel: Kernel) -> Any:
        """The compute pipeline of ``kernel``, compiled once per source hash and entry point."""
        source = kernel.source()
        key = (hashlib.sha256(source.encode()).hexdigest(), kernel.entry)
        pipe = self._pipelines.get(key)
        if pipe is not None:
            self._pipelines.move_to_end(key)
        else:
            layout = self.layout
            if kernel.spec is not None:  # a shipped kernel: its own typed bindings
                from shardy.workers import typed

                layout = typed.layout(self.device, kernel)
                name = f"{kernel.spec.label} ({kernel.name[:17]}…)"
            else:
                name = kernel.name
            pipe = compile_kernel(self.device, layout, name, source, kernel.entry)
            self._pipelines[key] = pipe
            while len(self._pipelines) > MAX_PIPELINES:  # shipped kernels come and go
                self._pipelines.popitem(last=False)
        return pipe

    # ---- running kernels --------------------------------------------------------------------

    def run(
        self,
        kernel: Kernel,
        payload: Any,
        plan: Plan,
        *,
        out: Any = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> memoryview:
        """Dispatch ``kernel`` on ``payload`` and return the output bytes.

        Args:
            payload: any C-contiguous buffer (bytes, memoryview, numpy array, mmap); it is
                uploaded straight from its memory.
            plan: the kernel's plan for this payload.
            out: optional preallocated writable buffer of ``plan.output_len`` bytes (e.g. a
                numpy array) the result is read back into; else one is allocated.
            params, seed: the task's params and seed; only needed to stream a payload above
                ``max_binding`` (the seed defaults to the one in the plan's uniforms).

        Returns:
            A memoryview of the output (of ``out`` when given).

        Raises:
            KernelError: the shader does not compile, the plan is inconsistent, or the payload
                exceeds the binding limit and the kernel cannot be streamed.
            GPUError: the device failed or was lost (retryable; the device is recreated).
        """
        data = memoryview(payload).cast("B")
        if out is None and plan.output_len > self.max_binding:  # a disk-backed output
            from shardy.workers.streaming import scratch_array

            out = scratch_array(plan.output_len, self.scratch_dir)
        elif out is None:
            out = np.empty(plan.output_len, dtype=np.uint8)
        view = _writable(out, plan.output_len)
        if kernel.spec is not None:
            from shardy.workers import typed

            typed.dispatch(self, kernel, data, plan, view, kernel.resolve_params(params))
        elif len(data) > self.max_binding or plan.output_len > self.max_binding:
            from shardy.workers.streaming import run_chunked

            if seed is None:
                seed = plan.uniforms[1] | plan.uniforms[2] << 32
            run_chunked(self, kernel, data, plan, params, seed, view)
        else:
            self.dispatch(kernel, data, plan, view)
        return view

    def run_array(self, kernel: Kernel, payload: Any, plan: Plan, **kw: Any) -> np.ndarray:
        """Like `run`, but the output as a numpy array of the plan's dtype and shape."""
        arr = np.empty(plan.output_len // np.dtype(plan.dtype).itemsize, dtype=plan.dtype)
        self.run(kernel, payload, plan, out=arr, **kw)
        return arr.reshape(plan.shape) if plan.shape is not None else arr

    def run_stream(
        self,
        kernel: Kernel,
        pieces: Iterable[Any],
        plan: Plan,
        *,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        out: Any = None,
    ) -> memoryview:
        """Spool ``pieces`` (e.g. `BlobStore.chunks`) to a disk-backed mmap scratch, then `run`
        on it, so neither the payload nor a large output has to fit in host or GPU memory (a
        fleet worker spools a large payload when it fetches it, before it waits for the GPU)."""
        from shardy.workers.streaming import spool

        data = spool(pieces, self.scratch_dir)
        return self.run(kernel, data, plan, out=out, params=params, seed=seed)

    def dispatch(self, kernel: Kernel, data: memoryview, plan: Plan, out: memoryview) -> None:
        """One dispatch with pooled buffers: upload ``data``, run, read back into ``out``."""
        wgpu = _wgpu()
        n = len(data)
        if any(not 1 <= g <= MAX_GROUPS for g in plan.groups):
            raise KernelError(f"kernel {kernel.name!r}: workgroups {plan.groups} out of range")
        if n > self.max_binding or plan.output_len > self.max_binding:
            raise KernelError(
                f"kernel {kernel.name!r}: buffers of {max(n, plan.output_len)} bytes exceed the "
                f"binding limit of {self.max_binding}; split the payload"
            )
        pipe = self.pipeline(kernel)
        usage, pool = wgpu.BufferUsage, self.pool
        with self.failures(kernel.name) as held:
            # buffers: payload and output (zero-padded to the kernel's alignment), uniforms,
            # staging
            align = kernel.align
            padded = -(-n // align) * align or align
            out_size = -(-plan.output_len // align) * align or align
            inp = pool.acquire(padded, usage.STORAGE | usage.COPY_DST, "payload")
            held.append(inp)
            res = pool.acquire(out_size, usage.STORAGE | usage.COPY_SRC | usage.COPY_DST, "output")
            held.append(res)
            uni = pool.acquire(_UNIFORM_BYTES, usage.UNIFORM | usage.COPY_DST, "uniforms")
            held.append(uni)
            staging = pool.acquire(out_size, usage.MAP_READ | usage.COPY_DST, "staging")
            held.append(staging)
            # upload straight from the payload's memory; only a partial last word is copied
            queue = self.device.queue
            whole = n // 4 * 4
            if whole:
                queue.write_buffer(inp, 0, data, 0, whole)
            if padded > whole:  # a partial last word and the padding: at most 15 bytes
                queue.write_buffer(inp, whole, bytes(data[whole:]).ljust(padded - whole, b"\0"))
            queue.write_buffer(uni, 0, struct.pack("<16I", *plan.uniforms))
            bind = self.device.create_bind_group(
                layout=self.layout,
                entries=[
                    {"binding": 0, "resource": {"buffer": inp, "offset": 0, "size": padded}},
                    {"binding": 1, "resource": {"buffer": res, "offset": 0, "size": out_size}},
                    {"binding": 2, "resource": {"buffer": uni, "offset": 0, "size": 64}},
                ],
            )
            self.execute(pipe, bind, plan.groups, res, staging, out_size, out)

    def execute(
        self, pipe: Any, bind: Any, groups: tuple[int, int, int], res: Any, staging: Any,
        size: int, out: memoryview,
    ) -> None:  # fmt: skip
        """Zero ``res`` (``size`` bytes), dispatch ``pipe`` on ``bind`` over ``groups``, copy
        to ``staging`` and read back into ``out`` (one copy out of the mapped range)."""
        wgpu = _wgpu()
        encoder = self.device.create_command_encoder()
        encoder.clear_buffer(res, 0, size)
        cpass = encoder.begin_compute_pass()
        cpass.set_pipeline(pipe)
        cpass.set_bind_group(0, bind)
        cpass.dispatch_workgroups(*groups)
        cpass.end()
        encoder.copy_buffer_to_buffer(res, 0, staging, 0, size)
        self.device.queue.submit([encoder.finish()])
        staging.map_sync(wgpu.MapMode.READ, 0, size)
        try:
            out[:] = staging.read_mapped(0, size, copy=False)[: len(out)]
        finally:
            staging.unmap()

    @contextlib.contextmanager
    def failures(self, what: str) -> Iterator[list[Any]]:
        """Pool buffers acquired inside (append them to the yielded list) go back to the pool;
        a device error recreates the device and raises GPUError (retryable)."""
        wgpu = _wgpu()
        held: list[Any] = []
        try:
            yield held
        except wgpu.GPUError as exc:
            held.clear()  # they belong to the failed device
            self.reset()
            raise GPUError(
                f"kernel {what!r} failed on {self.name}: {exc}; the device was recreated, "
                "retry the task"
            ) from exc
        finally:
            for buf in held:
                self.pool.release(buf)
