"""The wasmtime host: compiles a preprocessing module once, runs each call under fuel and memory
limits, and moves bytes through linear memory in bulk.

Call ABI (see wasm/src/frame.rs): ``alloc_bytes(128 + in_len + out_len) -> ptr``; the host writes
a 128-byte header (``in_len``, ``out_len``, then up to 14 params, each a little-endian u64) and
the payload at ``ptr``; ``func(ptr) -> status`` writes ``out_len`` bytes after the payload. One
argument per call because wasmtime-py spends ~5 µs converting each argument.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import wasmtime

from shardy.errors import PreprocessError

#: Where the committed module is looked for: in this package (a link to wasm/ in a checkout,
#: the file itself in a wheel).
WASM_CANDIDATES = (Path(__file__).resolve().parent / "shardy_preprocess.wasm",)
#: Status codes returned by the module's preprocessors (see wasm/src/lib.rs).
STATUS_REASONS = {
    1: "the module refused a parameter",
    2: "the payload length does not fit the params",
    3: "no memory left for scratch space",
}
_WASM32_MAX_MEMORY = 2**32
#: Header bytes before the payload in a call frame, and the params it holds.
FRAME_BYTES, FRAME_PARAMS = 128, 14
_FRAME = struct.Struct(f"<{2 + FRAME_PARAMS}Q")


def default_wasm_path() -> Path:
    """The committed ``shardy_preprocess.wasm``.

    Raises:
        PreprocessError: it is in none of `WASM_CANDIDATES`.
    """
    for path in WASM_CANDIDATES:
        if path.is_file():
            return path
    raise PreprocessError(
        f"shardy_preprocess.wasm not found (looked in {[str(p) for p in WASM_CANDIDATES]}); "
        "reinstall shardy, run wasm/build.sh, or set SHARDY_WASM=off to use the fallback"
    )


def _signed(value: int, bits: int) -> int:
    """Two's-complement view of an unsigned value, as wasmtime-py expects for i32."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class WasmHost:
    """Owns one wasmtime engine and compiled module; every `call` gets a fresh store.

    Args:
        wasm: module bytes, or WAT text, or None for the committed module.
        fuel: wasm instructions (roughly) one call may execute, instantiation included.
        max_memory: bytes of linear memory one call may use.

    Raises:
        PreprocessError: the module does not compile, lacks the ABI exports, or the limits
            are out of range.
    """

    def __init__(self, wasm: bytes | str | None = None, *, fuel: int, max_memory: int) -> None:
        if fuel < 1:
            raise PreprocessError(f"fuel must be ≥ 1, got {fuel}; use e.g. 10**10")
        if not 65536 <= max_memory <= _WASM32_MAX_MEMORY:
            raise PreprocessError(
                f"max_memory must lie in [65536, 2**32] bytes (wasm32), got {max_memory}"
            )
        self.fuel, self.max_memory = fuel, max_memory
        source = wasm if wasm is not None else default_wasm_path().read_bytes()
        config = wasmtime.Config()
        config.consume_fuel = True
        self._engine = wasmtime.Engine(config)
        try:
            self._module = wasmtime.Module(self._engine, source)
        except wasmtime.WasmtimeError as exc:
            raise PreprocessError(f"preprocessing module does not compile: {exc}") from exc
        kinds = {export.name: export.type for export in self._module.exports}
        self._funcs = tuple(n for n, t in kinds.items() if isinstance(t, wasmtime.FuncType))
        if not isinstance(kinds.get("memory"), wasmtime.MemoryType) or "alloc_bytes" not in kinds:
            raise PreprocessError(
                "preprocessing module must export 'memory' and 'alloc_bytes'; rebuild it with "
                "wasm/build.sh"
            )

    @property
    def exports(self) -> tuple[str, ...]:
        """Names of the module's exported functions."""
        return self._funcs

    def call(self, func: str, data: bytes | memoryview, out_len: int, args: Sequence[int]) -> bytes:
        """Run ``func(frame_ptr) -> status`` on a frame holding ``args`` and ``data``.

        Each call gets a fresh store and instance with the fuel and memory limits. The frame is
        copied once into linear memory and the output once out of it.

        Args:
            func: an exported function taking one i32 and returning an i32 status.
            data: the payload.
            out_len: bytes of output the function must write.
            args: up to 14 integer params (negative ones are sent as two's complement).

        Returns:
            The ``out_len`` bytes the function wrote.

        Raises:
            PreprocessError: unknown export, too many args, nonzero status, a trap, exhausted
                fuel or memory; the message names ``func`` and the reason.
        """
        view = memoryview(data).cast("B")
        n_in = view.nbytes
        if func not in self._funcs or len(args) > FRAME_PARAMS:
            raise PreprocessError(
                f"wasm preprocessor {func!r}: no such export, or more than {FRAME_PARAMS} "
                f"params ({len(args)}); exports are {self.exports}"
            )
        frame_len = FRAME_BYTES + n_in + out_len
        if frame_len > self.max_memory:
            raise self._oom(func, frame_len)
        words = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * (FRAME_PARAMS - len(args))
        header = _FRAME.pack(n_in, out_len, *words)
        store = wasmtime.Store(self._engine)
        store.set_limits(memory_size=self.max_memory)
        store.set_fuel(self.fuel)
        memory: wasmtime.Memory | None = None
        try:
            instance = wasmtime.Instance(store, self._module, [])
            exports = instance.exports(store)
            memory = exports["memory"]
            ptr = exports["alloc_bytes"](store, _signed(frame_len, 32)) & 0xFFFFFFFF
            if ptr == 0:
                raise self._oom(func, frame_len)
            frame = memoryview(memory.get_buffer_ptr(store, FRAME_BYTES + n_in, ptr)).cast("B")
            frame[:FRAME_BYTES] = header
            frame[FRAME_BYTES:] = view
            status = exports[func](store, _signed(ptr, 32))
            if status == 3:
                raise self._oom(func, frame_len)
            if status:
                reason = STATUS_REASONS.get(status, f"unknown status {status}")
                raise PreprocessError(
                    f"wasm preprocessor {func!r} refused the call: {reason}; check the params "
                    "against docs/kernels.md#preprocessors"
                )
            if not out_len:
                return b""
            return bytes(memory.get_buffer_ptr(store, out_len, ptr + FRAME_BYTES + n_in))
        except wasmtime.Trap as exc:
            used = memory.data_len(store) if memory is not None else 0
            raise self._trap(func, exc, used) from exc
        except wasmtime.WasmtimeError as exc:
            raise PreprocessError(
                f"wasm preprocessor {func!r} could not run: {_first_line(exc)}; if this is about "
                f"memory, raise max_memory (now {self.max_memory})"
            ) from exc

    def _oom(self, func: str, need: int) -> PreprocessError:
        return PreprocessError(
            f"wasm preprocessor {func!r} ran out of memory: a {need}-byte frame (header, payload, "
            f"output) does not fit max_memory={self.max_memory}; raise max_memory or split the "
            "payload"
        )

    def _trap(self, func: str, exc: wasmtime.Trap, used: int) -> PreprocessError:
        if exc.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return PreprocessError(
                f"wasm preprocessor {func!r} ran out of fuel ({self.fuel} units); raise fuel "
                "or split the payload (a module that never returns also ends here)"
            )
        code = exc.trap_code.name.lower() if exc.trap_code else "trap"
        if used + 65536 > self.max_memory:
            return PreprocessError(
                f"wasm preprocessor {func!r} trapped ({code}) after its memory reached the "
                f"limit ({used} of max_memory={self.max_memory} bytes); raise max_memory or "
                "split the payload"
            )
        return PreprocessError(
            f"wasm preprocessor {func!r} trapped ({code}); this is a bug in the module or a "
            "check it missed: report it with the params and payload size"
        )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
