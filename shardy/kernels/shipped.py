"""Kernels as data: WGSL plus typed bindings and size rules, content-addressed, shipped with tasks.

A `WgslKernel` is everything a worker needs to run a kernel it has never seen: the WGSL source,
the typed layout of each input, of the output and of the uniform params (`shardy.layout`), the
workgroup size, a rule for the dispatch grid and for each runtime-sized buffer's length
(`shardy.kernels.rules`), and its determinism. Its canonical JSON is hashed; the kernel's name
is ``wgsl-<sha256>``, so the task, verified and gossip records that carry the name bind the
exact kernel. The bindings of group 0 are generated from the layout: inputs at 0..n-1
(``var<storage, read>``), the output at n (``var<storage, read_write>``, zeroed), the uniform
struct at n+1. The payload holds the inputs back to back, each at a 256-byte-aligned offset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shardy.blobs import is_sha256
from shardy.errors import KernelError
from shardy.kernels import rules
from shardy.kernels.checks import MAX_INPUTS, check_value, leaf_scalar, validate
from shardy.kernels.kernel import EXACT, MAX_GROUPS, Determinism, Kernel, Plan
from shardy.layout import (
    Struct,
    WgslType,
    binding,
    byte_size,
    declarations,
    pack,
    unpack,
)
from shardy.layout.serial import from_data, to_data

PREFIX = "wgsl-"
FORMAT = "shardy.kernel/1"
MAX_SPEC_BYTES = 256 << 10
#: WebGPU's default minStorageBufferOffsetAlignment: every input starts at a multiple of it.
OFFSET_ALIGN = 256
#: The largest buffer a kernel binds (bytes).
MAX_BUFFER = 1 << 32


@dataclass(frozen=True)
class Buffer:
    """A typed binding: ``count`` is the element-count rule of a runtime-sized array (None for
    fixed-size types)."""

    name: str
    type: WgslType
    count: str | None = None

    def elements(self, params: Mapping[str, Any]) -> int | None:
        """The runtime-sized array's element count for these params (None: fixed size)."""
        if self.count is None:
            return None
        n = rules.evaluate(self.count, params)
        if n < 1:
            raise KernelError(f"buffer {self.name!r}: count {self.count!r} is {n}; it must be >= 1")
        return n

    def nbytes(self, params: Mapping[str, Any]) -> int:
        """Bytes the buffer takes for these params (a multiple of 4, as WebGPU binds)."""
        size = byte_size(self.type, self.elements(params))
        if size % 4:
            raise KernelError(
                f"buffer {self.name!r} takes {size} bytes; WebGPU binds multiples of 4"
            )
        if isinstance(self.type, Struct) and size % self.type.align:
            raise KernelError(
                f"buffer {self.name!r}: {size} bytes of {self.type.wgsl} is not a multiple of its "
                f"alignment {self.type.align}, which WebGPU requires of a binding; choose a count "
                "that makes it one"
            )
        if size > MAX_BUFFER:
            raise KernelError(f"buffer {self.name!r} takes {size} bytes; the limit is 4 GiB")
        return size


@dataclass(frozen=True)
class WgslKernel:
    """A kernel that travels with its task (see the module docs and docs/kernels.md).

    Attributes:
        source: WGSL with the entry point; it uses the generated bindings and may use the
            constants ``WG_X``, ``WG_Y``, ``WG_Z`` (the workgroup size).
        inputs: typed read-only inputs, bound at 0..n-1.
        output: the typed output, bound at n (zeroed before the dispatch).
        grid: invocations per dimension (1 to 3 rules); workgroups = ceil(grid / workgroup).
        workgroup_size: (x, y, z), within WebGPU's default limits.
        uniforms: a struct whose members are params of the same names, bound at n+1.
        params: accepted params with their defaults (ints or floats).
        determinism: exact, or tolerance (outputs of f32/f16 only).
        entry: the compute entry point.
        label: a human name for logs and `shardy status` (part of the hash).
    """

    source: str
    inputs: tuple[Buffer, ...]
    output: Buffer
    grid: tuple[str, ...]
    workgroup_size: tuple[int, int, int] = (64, 1, 1)
    uniforms: Struct | None = None
    params: Mapping[str, int | float] = field(default_factory=dict)
    determinism: Determinism = EXACT
    entry: str = "main"
    label: str = "wgsl"
    #: sha256 of `to_json` (set on construction)
    hash: str = field(init=False, repr=False, compare=False, default="")
    _json: bytes = field(init=False, repr=False, compare=False, default=b"")

    def __post_init__(self) -> None:
        for name in ("inputs", "grid", "workgroup_size"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise KernelError(f"{name} must be a list or tuple, got {type(value).__name__}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.params, Mapping):
            raise KernelError(f"params must map names to defaults, got {self.params!r:.40}")
        object.__setattr__(self, "params", dict(self.params))
        validate(self)
        data = json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "_json", data.encode())
        object.__setattr__(self, "hash", hashlib.sha256(self._json).hexdigest())

    # ---- identity ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``wgsl-<sha256 of the canonical JSON>``: the name tasks and records carry."""
        return PREFIX + self.hash

    def to_data(self) -> dict[str, Any]:
        """The kernel as JSON-able data (the hashed form)."""
        det = self.determinism
        return {
            "format": FORMAT,
            "label": self.label,
            "source": self.source,
            "entry": self.entry,
            "inputs": [_buffer_data(b) for b in self.inputs],
            "output": _buffer_data(self.output),
            "uniforms": None if self.uniforms is None else to_data(self.uniforms),
            "params": self.params,
            "grid": list(self.grid),
            "workgroup_size": list(self.workgroup_size),
            "determinism": {"mode": det.mode, "atol": det.atol, "rtol": det.rtol},
        }

    def to_json(self) -> bytes:
        """Canonical JSON bytes (sorted keys, no spaces): what is stored and hashed."""
        return self._json

    @classmethod
    def from_json(cls, data: bytes, expect_hash: str | None = None) -> WgslKernel:
        """Parse a shipped kernel (untrusted bytes), checking its hash when given.

        Raises:
            KernelError: too large, not the canonical JSON of a valid kernel, or another hash.
        """
        if len(data) > MAX_SPEC_BYTES:
            raise KernelError(f"kernel description of {len(data)} bytes exceeds {MAX_SPEC_BYTES}")
        if expect_hash is not None and hashlib.sha256(data).hexdigest() != expect_hash:
            raise KernelError(f"kernel bytes do not hash to {expect_hash[:12]}; refusing them")
        try:  # orjson: nesting capped (1024) in Rust, where json's C parser can overflow the stack
            d = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise KernelError(f"kernel description is not JSON: {exc}") from None
        try:
            kernel = _from_data(d)
        except (TypeError, ValueError, OverflowError, RecursionError, AttributeError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise KernelError(f"kernel description is malformed: {why}") from None
        if kernel.to_json() != bytes(data):
            raise KernelError("kernel description is not in canonical form (sorted, compact)")
        return kernel

    # ---- the WGSL --------------------------------------------------------------------------

    def wgsl(self) -> str:
        """The full module: generated types, constants and bindings, then the source."""
        types = [b.type for b in self.inputs] + [self.output.type]
        types += [self.uniforms] if self.uniforms is not None else []
        n = len(self.inputs)
        lines = [
            binding(0, i, b.name, b.type, "storage", "read") for i, b in enumerate(self.inputs)
        ]
        lines.append(binding(0, n, self.output.name, self.output.type, "storage", "read_write"))
        if self.uniforms is not None:
            lines.append(binding(0, n + 1, "params", self.uniforms, "uniform"))
        x, y, z = self.workgroup_size
        consts = f"const WG_X: u32 = {x}u;\nconst WG_Y: u32 = {y}u;\nconst WG_Z: u32 = {z}u;\n"
        head = "// generated by shardy from the kernel's typed layout\n" + declarations(*types)
        return f"{head}\n{consts}\n" + "\n".join(lines) + "\n\n" + self.source

    # ---- sizes and packing -----------------------------------------------------------------

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults merged with ``params``; unknown names or changed types raise KernelError."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise KernelError(
                f"kernel {self.label!r} has no parameter(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(self.params)) or 'none'}"
            )
        for k, v in given.items():
            want = type(self.params[k])
            if type(v) is not want and not (want is float and type(v) is int):
                raise KernelError(f"kernel {self.label!r}: param {k!r} must be {want.__name__}")
            check_value(k, v)
        return {**self.params, **given}

    def offsets(self, params: Mapping[str, Any]) -> tuple[list[tuple[int, int]], int]:
        """(offset, size) of each input in the payload, and the payload's length."""
        spans, end = [], 0
        for b in self.inputs:
            start = -(-end // OFFSET_ALIGN) * OFFSET_ALIGN
            size = b.nbytes(params)
            spans.append((start, size))
            end = start + size
        return spans, end

    def pack(self, inputs: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> bytes:
        """The payload for ``inputs`` (name -> value, as `shardy.layout.pack` takes them).

        Raises:
            KernelError: a missing or unknown input, or one whose size disagrees with its rule.
        """
        resolved = self.resolve_params(params)
        names = {b.name for b in self.inputs}
        if set(inputs) != names:
            raise KernelError(
                f"kernel {self.label!r} takes inputs {sorted(names)}, got {sorted(inputs)}"
            )
        spans, total = self.offsets(resolved)
        if total > MAX_BUFFER:
            raise KernelError(f"inputs of {total} bytes exceed the 4 GiB payload limit")
        out = bytearray(total)
        for b, (start, size) in zip(self.inputs, spans, strict=True):
            data = pack(b.type, inputs[b.name])
            if len(data) != size:
                raise KernelError(
                    f"input {b.name!r} packs to {len(data)} bytes but its count rule "
                    f"{b.count!r} gives {size}; fix the params or the array"
                )
            out[start : start + size] = data
        return bytes(out)

    def uniform_bytes(self, params: Mapping[str, Any]) -> bytes:
        """The uniform struct packed from the params (empty without uniforms)."""
        if self.uniforms is None:
            return b""
        return pack(
            self.uniforms, {m.name: params[m.name] for m in self.uniforms.members}, "uniform"
        )

    def plan(self, payload_len: int, params: Mapping[str, Any], seed: int) -> Plan:
        """The dispatch plan; checks the payload's length against the input rules."""
        _, total = self.offsets(params)
        if payload_len != total:
            raise KernelError(
                f"kernel {self.label!r} expects a payload of {total} bytes for these params "
                f"(its inputs packed by WgslKernel.pack), got {payload_len}"
            )
        groups = []
        for rule, wg in zip(self.grid, self.workgroup_size, strict=False):
            g = -(-rules.evaluate(rule, params) // wg)
            if not 1 <= g <= MAX_GROUPS:
                raise KernelError(
                    f"kernel {self.label!r}: grid rule {rule!r} needs {g} workgroups in one "
                    f"dimension; WebGPU allows 1..{MAX_GROUPS}"
                )
            groups.append(g)
        groups += [1] * (3 - len(groups))
        leaf = leaf_scalar(self.output.type)
        dtype = leaf.dtype.name if leaf is not None else "uint8"
        return Plan(self.output.nbytes(params), (groups[0], groups[1], groups[2]), (), dtype)

    def unpack_output(self, data: Any, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """The output bytes as the output type's values (`shardy.layout.unpack`)."""
        resolved = self.resolve_params(params)
        return unpack(self.output.type, data, count=self.output.elements(resolved))

    def as_kernel(self) -> Kernel:
        """This kernel as a `Kernel` the pipeline runs (registered nowhere)."""

        def no_reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
            raise KernelError("a shipped kernel carries no numpy reference; compare yourself")

        return Kernel(
            name=self.name,
            shader=f"<{self.label}>",
            plan=self.plan,
            reference=no_reference,
            determinism=self.determinism,
            entry=self.entry,
            params=self.params,
            source_override=self.wgsl(),
            spec=self,
        )


def _buffer_data(b: Buffer) -> dict[str, Any]:
    return {"name": b.name, "type": to_data(b.type), "count": b.count}


def _from_data(d: Any) -> WgslKernel:
    keys = {"format", "label", "source", "entry", "inputs", "output", "uniforms", "params",
            "grid", "workgroup_size", "determinism"}  # fmt: skip
    if not isinstance(d, dict) or set(d) != keys or d["format"] != FORMAT:
        raise KernelError(f"not a {FORMAT} kernel description")
    det = d["determinism"]
    if not isinstance(det, dict) or set(det) != {"mode", "atol", "rtol"}:
        raise KernelError("determinism must be {mode, atol, rtol}")
    if not all(type(v) in (int, float) for v in (det["atol"], det["rtol"])):
        raise KernelError("determinism atol/rtol must be numbers")
    for key, typ in (("inputs", list), ("grid", list), ("workgroup_size", list), ("params", dict),
                     ("source", str), ("label", str), ("entry", str)):  # fmt: skip
        if not isinstance(d[key], typ):
            raise KernelError(f"kernel description field {key!r} must be a {typ.__name__}")
    return WgslKernel(
        source=d["source"],
        inputs=tuple(_buffer(b) for b in d["inputs"][: MAX_INPUTS + 1]),
        output=_buffer(d["output"]),
        grid=tuple(d["grid"]),
        workgroup_size=tuple(d["workgroup_size"]),  # type: ignore[arg-type]
        uniforms=None if d["uniforms"] is None else _struct(d["uniforms"]),
        params=d["params"],
        determinism=Determinism(det["mode"], float(det["atol"]), float(det["rtol"])),
        entry=d["entry"],
        label=d["label"],
    )


def _buffer(b: Any) -> Buffer:
    if not isinstance(b, dict) or set(b) != {"name", "type", "count"}:
        raise KernelError("a buffer is {name, type, count}")
    if not isinstance(b["name"], str) or not (b["count"] is None or isinstance(b["count"], str)):
        raise KernelError("buffer name must be a string and count a rule or null")
    return Buffer(b["name"], from_data(b["type"], b["name"]), b["count"])


def _struct(d: Any) -> Struct:
    t = from_data(d, "uniforms")
    if not isinstance(t, Struct):
        raise KernelError("uniforms must be a struct")
    return t


def is_shipped(name: str) -> bool:
    """True for a shipped kernel's name (``wgsl-`` and 64 hex digits)."""
    return name.startswith(PREFIX) and is_sha256(name[len(PREFIX) :])
