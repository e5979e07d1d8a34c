"""Streaming a payload above the binding limit through the GPU in chunks, with disk-backed
(mmap) scratch for payloads and outputs that should not live in host memory, and a remote
worker's payloads arriving from its gateway in chunks (`Arrivals`)."""

from __future__ import annotations

import io
import logging
import mmap
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shardy.errors import KernelError, PayloadError
from shardy.kernels import Kernel, Plan
from shardy.messages import ReplicaOrder
from shardy.session import Inbound, Message

if TYPE_CHECKING:
    from shardy.workers.gpu import GPU

log = logging.getLogger("shardy.worker")

Key = tuple[str, int, int]  # (task id, round, replica)


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


class Spool:
    """A disk-backed scratch written piece by piece: an unlinked file in ``directory`` (its disk
    space is freed once the file and its map are dropped), then mapped read-only by `view`."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed in view/close
        self.size = 0

    def write(self, piece: Any) -> None:
        """Append ``piece`` (a buffer)."""
        self.size += self._file.write(piece)

    def view(self) -> memoryview:
        """The bytes written, mapped read-only (the file is closed; the map keeps them)."""
        with self._file as f:
            f.flush()
            if self.size == 0:
                return memoryview(b"")
            return memoryview(mmap.mmap(f.fileno(), self.size, access=mmap.ACCESS_READ))

    def close(self) -> None:
        """Drop what was written (a payload given up before it was whole)."""
        self._file.close()


def spool(pieces: Iterable[Any], directory: str | Path | None = None) -> memoryview:
    """Write ``pieces`` (buffers) one after another to a disk-backed scratch; its bytes."""
    out = Spool(directory)
    try:
        for piece in pieces:
            out.write(piece)
    except BaseException:
        out.close()
        raise
    return out.view()


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


# ---- a remote worker's streamed payloads ---------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """A streamed order whose payload is whole and checked."""

    frame: bytes
    payload: memoryview
    #: ``fetch``: seconds from its header to its last chunk; ``spool``: of which writing to disk
    timings: dict[str, float]


@dataclass(eq=False)
class _Arriving:
    frame: bytes
    inbound: Inbound
    sink: Spool | io.BytesIO
    since: float = field(default_factory=time.perf_counter)
    writing: float = 0.0


class Arrivals:
    """Streamed orders whose payloads are arriving at a remote worker in ``order_chunk``
    messages (`shardy.session`): from ``threshold`` bytes up into a disk-backed `Spool`, below
    it into memory; each chunk checked as it comes, the sha256 before the payload is handed
    out. Orders given up are remembered, so the rest of their chunks pass in silence.

    Args:
        threshold: SHARDY_STREAM_THRESHOLD.
        max_payload: SHARDY_MAX_PAYLOAD (a larger order is refused at its header).
        limit: how many payloads may arrive at once.
        directory: where spools go (the GPU's scratch directory).
    """

    def __init__(self, threshold: int, max_payload: int, limit: int,
                 directory: str | Path | None = None) -> None:  # fmt: skip
        self.threshold, self.max_payload, self.limit = threshold, max_payload, limit
        self.directory = directory
        self._arriving: dict[Key, _Arriving] = {}
        self._dropped: OrderedDict[Key, None] = OrderedDict()
        #: payloads spooled to disk so far
        self.spooled = 0

    def begin(self, frame: bytes, order: ReplicaOrder, chunks: int) -> bool:
        """Expect the payload of ``order`` (its header ``frame``, naming ``chunks``); True when it
        goes to disk.

        Raises:
            PayloadError: too large, too many arriving, ordered twice, or a chunk count that
                does not fit its size (the order is given up).
        """
        key, sink = (order.task_id, order.round, order.replica), None
        try:
            if key in self._arriving:
                self._arriving.pop(key).sink.close()
                raise PayloadError(f"replica {key} was ordered again while its payload came")
            if order.payload.size > self.max_payload:
                raise PayloadError(f"payload of {order.payload.size} bytes exceeds "
                                   "SHARDY_MAX_PAYLOAD")  # fmt: skip
            if len(self._arriving) >= self.limit:
                raise PayloadError(f"more than {self.limit} payloads arriving at once")
            spooled = order.payload.size >= self.threshold
            sink = Spool(self.directory) if spooled else io.BytesIO()
            self._arriving[key] = _Arriving(frame, Inbound(order, chunks, sink), sink)
        except PayloadError:
            if sink is not None:
                sink.close()
            self.drop(key)
            raise
        return spooled

    def take(self, key: Key, msg: Message) -> Ready | None:
        """Take an ``order_chunk`` for ``key``: the order once its payload is whole and checked,
        else None (more to come, an order given up before, or one the gateway aborted).

        Raises:
            PayloadError: a chunk for no order held here, or one that breaks the rules
                (`shardy.session.Inbound.take`): the order is given up.
        """
        arriving = self._arriving.get(key)
        if arriving is None:
            if key in self._dropped:
                return None
            self.drop(key)
            raise PayloadError(f"a payload chunk came for replica {key}, which this worker does "
                               "not hold (its order never came)")  # fmt: skip
        t0 = time.perf_counter()
        try:
            whole = arriving.inbound.take(msg)
        except PayloadError as exc:
            self.drop(key)
            if msg.meta.get("abort") is None:
                raise
            log.warning("replica %s: %s", key, exc)  # the gateway gave it up: no answer
            return None
        finally:
            arriving.writing += time.perf_counter() - t0
        if not whole:
            return None
        del self._arriving[key]
        timings = {"fetch": time.perf_counter() - arriving.since}
        if isinstance(arriving.sink, Spool):
            self.spooled += 1
            log.info("replica %s: its payload is on disk (%d bytes)", key, arriving.sink.size)
            timings["spool"] = arriving.writing
            return Ready(arriving.frame, arriving.sink.view(), timings)
        return Ready(arriving.frame, arriving.sink.getbuffer(), timings)

    def close(self) -> None:
        """Give up every payload arriving (the session ended)."""
        for arriving in self._arriving.values():
            arriving.sink.close()
        self._arriving.clear()

    def drop(self, key: Key) -> None:
        """Forget the order ``key`` (if held) and pass the rest of its chunks in silence."""
        arriving = self._arriving.pop(key, None)
        if arriving is not None:
            arriving.sink.close()
        self._dropped[key] = None
        while len(self._dropped) > 1024:
            self._dropped.popitem(last=False)
