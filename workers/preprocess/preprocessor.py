"""The one entry point: validate a preprocessor call, then run it under wasmtime or the fallback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shardy.errors import PreprocessError
from shardy.workers.preprocess import fallback as numpy_fallback
from shardy.workers.preprocess import reference
from shardy.workers.preprocess.plans import PREPROCESSORS, WASM32_MEMORY, plan

if TYPE_CHECKING:
    from shardy.workers.wasm import WasmHost

log = logging.getLogger(__name__)

#: Default fuel per call: ample for payloads of hundreds of MB (~10–40 units per byte).
DEFAULT_FUEL = 20_000_000_000
#: Default linear-memory limit per call (payload + output + scratch + 256 KiB).
DEFAULT_MAX_MEMORY = 1 << 30


class Preprocessor:
    """Runs named preprocessors on payload bytes; owns the wasmtime engine and module.

    Args:
        use_wasm: run under wasmtime; when False, or wasmtime is not installed, the numpy
            fallback runs instead. Both produce the same bytes.
        fuel: wasm fuel per call (ignored by the fallback).
        max_memory: working-memory limit per call in bytes, enforced for both backends.
        fallback: ``"numpy"`` (default) or ``"python"``, the pure-Python reference (slow; for
            tests and benchmarks), used whenever wasm is not.

    Raises:
        PreprocessError: limits out of range, or the committed module is missing or broken.
    """

    def __init__(
        self,
        use_wasm: bool = True,
        fuel: int = DEFAULT_FUEL,
        max_memory: int = DEFAULT_MAX_MEMORY,
        *,
        fallback: str = "numpy",
    ) -> None:
        if fuel < 1:
            raise PreprocessError(f"fuel must be ≥ 1, got {fuel}")
        if not 65536 <= max_memory <= WASM32_MEMORY:
            raise PreprocessError(
                f"max_memory must lie in [65536, {WASM32_MEMORY}] bytes (the wasm32 limit), "
                f"got {max_memory}"
            )
        if fallback not in ("numpy", "python"):
            raise PreprocessError(f"fallback must be 'numpy' or 'python', got {fallback!r}")
        self.fuel, self.max_memory = fuel, max_memory
        self._fallback = reference.run if fallback == "python" else numpy_fallback.run
        self._host: WasmHost | None = None
        if use_wasm:
            try:
                from shardy.workers.wasm import WasmHost
            except ImportError as exc:
                log.warning("wasmtime unavailable (%s); using the numpy preprocessors", exc)
            else:
                self._host = WasmHost(fuel=fuel, max_memory=max_memory)

    @property
    def backend(self) -> str:
        """``"wasm"``, ``"numpy"`` or ``"python"``: what `run` executes."""
        if self._host is not None:
            return "wasm"
        return "python" if self._fallback is reference.run else "numpy"

    def run(
        self,
        name: str,
        data: bytes | bytearray | memoryview,
        params: Mapping[str, int | float | str] | None = None,
        seed: int = 0,
    ) -> bytes:
        """Run preprocessor ``name`` on ``data``; see `PREPROCESSORS` and docs/kernels.md.

        Args:
            name: one of `PREPROCESSORS`.
            data: the payload (any C-contiguous buffer; read as bytes).
            params: the preprocessor's params, as documented on its planner in
                `shardy.workers.preprocess.plans`; None means all defaults.
            seed: 0 ≤ seed < 2**64; drives the shard order of chunks/tiles when shuffle=1.

        Returns:
            The output bytes, identical for every backend.

        Raises:
            PreprocessError: unknown name, bad params, a payload the params do not fit, a call
                exceeding max_memory, or (wasm) a trap or exhausted fuel.
        """
        try:
            view = memoryview(data).cast("B")
        except (TypeError, ValueError) as exc:
            raise PreprocessError(
                f"preprocessor {name!r}: data must be a C-contiguous bytes-like object ({exc})"
            ) from exc
        pl = plan(name, view.nbytes, {} if params is None else params, seed, self.max_memory)
        if self._host is not None:
            return self._host.call(name, view, pl.out_len, pl.wasm_args)
        return self._fallback(pl, view)


__all__ = ["PREPROCESSORS", "Preprocessor"]
