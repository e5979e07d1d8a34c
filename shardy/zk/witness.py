"""Circom witness calculator: runs the circuit's witness wasm under wasmtime.

Implements the protocol of circom 2's generated wasm: four ``runtime`` imports, input signals set
by the FNV-1a-64 hash of their names through the shared read/write memory region, and the witness
read back wire by wire from that region. The read-back loop runs inside wasm: a small reader module
linked to the circuit's instance calls ``getWitness`` for every wire and copies the region into its
own memory, which Python then reads in one slice. (From Python, each wasmtime call costs about
30 us: 8 of the 9.6 ms a 253-wire witness took.)
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from pathlib import Path

import wasmtime

from shardy.errors import ProofError
from shardy.zk.field import R

_CIRCOM_ERRORS = {
    1: "signal not found",
    2: "too many signals set",
    3: "signal already set",
    4: "assert failed (the inputs do not satisfy the circuit's constraints)",
    5: "not enough memory",
    6: "input signal array access exceeds the size",
    7: "out of bounds array access",
}


def fnv1a_64(name: str) -> int:
    """FNV-1a 64-bit hash of a signal name, as circom keys its input signals."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _i32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


#: The reader module: imports the circuit's memory and getWitness, exports ``readWitness`` and the
#: memory it fills (wire i at i·len bytes). Needs multi-memory (on by default since wasmtime 20).
_READER_WAT = """(module
  (import "circom" "memory" (memory $src 0))
  (import "circom" "getWitness" (func $get (param i32)))
  (memory $dst (export "witness") {pages})
  (func (export "readWitness") (param $n i32) (param $shared i32) (param $len i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $get (local.get $i))
        (memory.copy $dst $src
          (i32.mul (local.get $i) (local.get $len)) (local.get $shared) (local.get $len))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)"""


class _CircomAbort(Exception):
    """Raised inside the exceptionHandler import to unwind out of the wasm."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class WitnessCalculator:
    """One compiled witness wasm with its own wasmtime engine, store and instance.

    Not thread-safe: give each worker thread its own calculator.
    """

    def __init__(self, wasm: bytes | str | Path) -> None:
        code = Path(wasm).read_bytes() if isinstance(wasm, str | Path) else wasm
        config = wasmtime.Config()
        config.wasm_multi_memory = True  # the witness reader copies between two memories
        self._engine = wasmtime.Engine(config)
        try:
            module = wasmtime.Module(self._engine, code)
        except wasmtime.WasmtimeError as exc:
            raise ProofError(f"witness wasm does not compile: {exc}") from exc
        self._store = wasmtime.Store(self._engine)
        self._messages: list[str] = []
        self._signals: dict[str, tuple[int, int, int]] = {}
        linker = wasmtime.Linker(self._engine)
        linker.define_func(
            "runtime", "exceptionHandler", wasmtime.FuncType([wasmtime.ValType.i32()], []),
            self._on_exception,
        )  # fmt: skip
        void = wasmtime.FuncType([], [])
        linker.define_func("runtime", "printErrorMessage", void, self._on_error_message)
        linker.define_func("runtime", "writeBufferMessage", void, self._on_error_message)
        linker.define_func("runtime", "showSharedRWMemory", void, lambda: None)
        try:
            instance = linker.instantiate(self._store, module)
        except wasmtime.WasmtimeError as exc:
            raise ProofError(f"witness wasm is not a circom 2 witness calculator: {exc}") from exc
        ex = instance.exports(self._store)
        try:
            self._memory: wasmtime.Memory = ex["memory"]  # type: ignore[assignment]
            self._f = {
                name: ex[name]
                for name in (
                    "getSharedRWMemoryStart", "init", "setInputSignal", "getInputSignalSize",
                    "getRawPrime", "getFieldNumLen32", "getWitnessSize", "getInputSize",
                    "getWitness", "getMessageChar",
                )
            }  # fmt: skip
        except KeyError as exc:
            raise ProofError(f"witness wasm lacks the export {exc}") from exc
        self.n32: int = self._call("getFieldNumLen32")
        self._shared: int = self._call("getSharedRWMemoryStart")
        self._call("getRawPrime")
        #: The field the circuit was compiled for (must be BLS12-381's Fr).
        self.prime = int.from_bytes(self._read_shared(), "little")
        #: Number of wires the witness has.
        self.witness_size: int = self._call("getWitnessSize")
        #: Number of input field elements the circuit expects.
        self.input_size: int = self._call("getInputSize")
        if self.prime != R:
            raise ProofError(
                f"witness wasm was compiled for prime {self.prime}, not BLS12-381's scalar field; "
                "recompile with circom --prime bls12381"
            )
        self._read_witness, self._witness_memory = self._link_reader()

    def _link_reader(self) -> tuple[wasmtime.Func, wasmtime.Memory]:
        """Instantiate the reader module against this circuit's memory and getWitness."""
        pages = max(1, -(-self.witness_size * 4 * self.n32 // 65536))
        module = wasmtime.Module(self._engine, _READER_WAT.format(pages=pages))
        try:
            instance = wasmtime.Instance(self._store, module, [self._memory, self._f["getWitness"]])
        except wasmtime.WasmtimeError as exc:
            raise ProofError(
                f"witness wasm's memory or getWitness has the wrong type: {exc}"
            ) from exc
        ex = instance.exports(self._store)
        return ex["readWitness"], ex["witness"]  # type: ignore[return-value]

    def _call(self, name: str, *args: int) -> int:
        return self._f[name](self._store, *args)  # type: ignore[operator,no-any-return]

    def _on_exception(self, code: int) -> None:
        raise _CircomAbort(code)

    def _on_error_message(self) -> None:
        chars = []
        c = self._call("getMessageChar")
        while c:
            chars.append(chr(c))
            c = self._call("getMessageChar")
        self._messages.append("".join(chars))

    def _read_shared(self) -> bytes:
        base = ctypes.addressof(self._memory.data_ptr(self._store).contents)
        return ctypes.string_at(base + self._shared, 4 * self.n32)

    def calculate(self, inputs: Mapping[str, int | Sequence[int]]) -> list[int]:
        """The full witness (wire 0 is the constant 1) for these input signals.

        Raises:
            ProofError: an input is unknown, missing, of the wrong size or not a field element,
                or the inputs violate a constraint (e.g. a commitment that does not match).
        """
        self._messages.clear()
        try:
            return self._calculate(inputs)
        except (_CircomAbort, wasmtime.WasmtimeError) as exc:
            cause = exc if isinstance(exc, _CircomAbort) else exc.__cause__ or exc.__context__
            if isinstance(cause, _CircomAbort):
                what = _CIRCOM_ERRORS.get(cause.code, f"circom error {cause.code}")
            else:
                what = f"wasm trap: {exc}"
            detail = " ".join(m.strip() for m in self._messages if m.strip())
            raise ProofError(f"witness computation failed: {what}. {detail}".strip()) from None

    def _signal(self, name: str) -> tuple[int, int, int]:
        """An input signal's hash (two i32 halves) and size, looked up once per name (a wasm
        call costs tens of µs from Python; the sizes are fixed by the wasm)."""
        found = self._signals.get(name)
        if found is None:
            h = fnv1a_64(name)
            hi, lo = _i32(h >> 32), _i32(h & 0xFFFFFFFF)
            found = (hi, lo, self._call("getInputSignalSize", hi, lo))
            if len(self._signals) < 1024:  # names come from the caller: bounded
                self._signals[name] = found
        return found

    def _calculate(self, inputs: Mapping[str, int | Sequence[int]]) -> list[int]:
        self._call("init", 0)
        nbytes = 4 * self.n32
        count = 0
        for name, value in inputs.items():
            values = [value] if isinstance(value, int) else list(value)
            hi, lo, size = self._signal(name)
            if size <= 0:
                raise ProofError(f"the circuit has no input signal {name!r}")
            if size != len(values):
                raise ProofError(f"input {name!r} takes {size} values, got {len(values)}")
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < R:
                    raise ProofError(f"input {name!r} must be an int in [0, r), got {v!r}")
                self._memory.write(self._store, v.to_bytes(nbytes, "little"), self._shared)
                self._call("setInputSignal", hi, lo, i)
                count += 1
        if count < self.input_size:
            raise ProofError(f"only {count} of the circuit's {self.input_size} inputs were given")
        self._read_witness(self._store, self.witness_size, self._shared, nbytes)
        base = ctypes.addressof(self._witness_memory.data_ptr(self._store).contents)
        raw = ctypes.string_at(base, nbytes * self.witness_size)
        return [int.from_bytes(raw[i : i + nbytes], "little") for i in range(0, len(raw), nbytes)]
