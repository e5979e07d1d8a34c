"""Streaming a payload above the binding limit through the GPU in chunks, with disk-backed
(mmap) scratch for payloads and outputs that should not live in host memory."""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shardy.errors import KernelError
from shardy.kernels import Kernel, Plan

if TYPE_CHECKING:
    from shardy.workers.gpu import GPU


def _mapped_file(nbytes: int, directory: str | Path | None) -> mmap.mmap:
    # An unlinked temporary file: its disk space is freed once the map is dropped.
    with tempfile.TemporaryFile(dir=directory) as f:
        f.truncate(nbytes)
        return mmap.mmap(f.fileno(), nbytes)


def scratch_array(nbytes: int, directory: str | Path | None = None) -> np.ndarray:
    """A writable uint8 array of ``nbytes`` backed by an unlinked file in ``directory``."""
    if nbytes == 0:
        return np.empty(0, dtype=np.uint8)
    return np.frombuffer(_mapped_file(nbytes, directory), dtype=np.uint8)


def spool(pieces: Iterable[Any], directory: str | Path | None = None) -> memoryview:
    """Write ``pieces`` (buffers) one after another to a disk-backed scratch; its bytes."""
    with tempfile.TemporaryFile(dir=directory) as f:
        for piece in pieces:
            f.write(piece)
        f.flush()
        size = f.tell()
        if size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ))


def run_chunked(
    gpu: GPU,
    kernel: Kernel,
    data: memoryview,
    plan: Plan,
    params: Mapping[str, Any] | None,
    seed: int,
    out: memoryview,
) -> None:
    """Run ``kernel`` over ``data`` in chunks of at most ``gpu.max_binding`` bytes.

    The kernel's ``chunking`` says how: ``sum`` adds the chunk outputs element-wise in the
    plan's dtype (wrapping, like the GPU's integers); ``concat`` writes each chunk's output
    after the previous one (chunks start at multiples of ``chunking.unit(params)`` bytes);
    ``rows`` runs bands of whole rows with ``chunking.halo`` rows of context on each side
    (see `run_row_bands`).

    Raises:
        KernelError: the kernel declares no chunking, or ``params``/``seed`` do not give ``plan``.
    """
    chunking = getattr(kernel, "chunking", None)
    n = len(data)
    if chunking is None:
        raise KernelError(
            f"kernel {kernel.name!r}: a payload of {n} bytes (output {plan.output_len}) exceeds "
            f"the binding limit of {gpu.max_binding} bytes and this kernel's output does not "
            "compose over chunks; split the payload into smaller tasks"
        )
    resolved = kernel.resolve_params(params)
    if kernel.plan(n, resolved, seed) != plan:
        raise KernelError(
            f"kernel {kernel.name!r}: to stream {n} bytes pass the task's params= and seed= "
            "to GPU.run (they do not reproduce the given plan)"
        )
    unit = chunking.unit(resolved)
    if chunking.combine == "rows":
        run_row_bands(gpu, kernel, data, plan, resolved, seed, out, unit, chunking.halo)
        return
    step = gpu.max_binding // unit * unit
    if step == 0:
        raise KernelError(
            f"kernel {kernel.name!r}: chunks of {unit} bytes exceed the binding limit of "
            f"{gpu.max_binding}; use a smaller block"
        )
    starts = range(0, n, step) if n else range(1)
    if chunking.combine == "sum":
        acc = np.zeros(plan.output_len // np.dtype(plan.dtype).itemsize, dtype=plan.dtype)
        part = np.empty_like(acc)
        for start in starts:
            chunk = data[start : start + step]
            cplan = kernel.plan(len(chunk), resolved, seed)
            gpu.dispatch(kernel, chunk, cplan, memoryview(part).cast("B"))
            np.add(acc, part, out=acc)
        out[:] = memoryview(acc).cast("B")
        return
    pos = 0
    for start in starts:
        chunk = data[start : start + step]
        cplan = kernel.plan(len(chunk), resolved, seed)
        gpu.dispatch(kernel, chunk, cplan, out[pos : pos + cplan.output_len])
        pos += cplan.output_len
    if pos != plan.output_len:  # pragma: no cover - a chunking that does not match its plan
        raise KernelError(f"kernel {kernel.name!r}: chunks gave {pos} bytes, not {plan.output_len}")


def run_row_bands(
    gpu: GPU,
    kernel: Kernel,
    data: memoryview,
    plan: Plan,
    params: Mapping[str, Any],
    seed: int,
    out: memoryview,
    row_bytes: int,
    halo: int,
) -> None:
    """Run an image kernel over bands of rows that each fit the binding limit.

    ``data`` is ``params["height"]`` rows of ``row_bytes``. Each band is sent with up to
    ``halo`` rows above and below it (fewer at the image's top and bottom, where the kernel
    clamps as it does for the whole image), run with ``height`` set to the rows sent, and only
    the band's own output rows are kept, so the result equals the unstreamed run.

    Raises:
        KernelError: one band row plus its halo rows exceed the binding limit.
    """
    height = params["height"]
    out_row = plan.output_len // height
    rows_fit = gpu.max_binding // max(row_bytes, out_row, 1)
    band = rows_fit - 2 * halo
    if band < 1:
        raise KernelError(
            f"kernel {kernel.name!r}: {1 + 2 * halo} rows of {max(row_bytes, out_row)} bytes "
            f"exceed the binding limit of {gpu.max_binding}; use narrower images"
        )
    scratch = np.empty(min(rows_fit, height) * out_row, dtype=np.uint8)
    for r0 in range(0, height, band):
        r1 = min(height, r0 + band)
        s0, s1 = max(0, r0 - halo), min(height, r1 + halo)
        chunk = data[s0 * row_bytes : s1 * row_bytes]
        cplan = kernel.plan(len(chunk), {**params, "height": s1 - s0}, seed)
        part = memoryview(scratch)[: cplan.output_len]
        gpu.dispatch(kernel, chunk, cplan, part)
        keep = (r0 - s0) * out_row
        out[r0 * out_row : r1 * out_row] = part[keep : keep + (r1 - r0) * out_row]
