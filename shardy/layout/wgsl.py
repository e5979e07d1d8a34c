"""WGSL text for layout types (structs, bindings) and the uniform address space's checks."""

# The uniform space adds three constraints to the one layout WGSL gives a type: array strides are
# multiples of 16; struct and array members sit at, and are @align'ed to, multiples of
# roundUp(16, AlignOf); a struct member leaves roundUp(16, SizeOf) bytes before the next member
# (https://www.w3.org/TR/WGSL/#address-space-layout-constraints, #align-attr).

from __future__ import annotations

from typing import Literal

from shardy.errors import KernelError
from shardy.layout.types import (
    Array,
    Scalar,
    Struct,
    Vector,
    WgslType,
    check_name,
    round_up,
    structs_of,
)

Space = Literal["storage", "uniform"]
Access = Literal["read", "read_write"]


def declarations(*types: WgslType) -> str:
    """WGSL preamble for the types: ``enable f16;`` if needed, then each struct once."""
    head = ["enable f16;"] if any(t.needs_f16 for t in types) else []
    return "\n\n".join(head + [s.text() for s in structs_of(types)]) + "\n"


def binding(
    group: int,
    index: int,
    name: str,
    t: WgslType,
    space: Space = "storage",
    access: Access = "read",
) -> str:
    """``@group(g) @binding(i) var<space[, access]> name: T;`` after checking T for the space.

    Raises:
        KernelError: a bad name, space or access, or a type the space does not allow.
    """
    for what, v in (("group", group), ("binding", index)):
        if type(v) is not int or v < 0:
            raise KernelError(f"{what} index must be a non-negative int, got {v!r}")
    check_name(name, "binding name")
    if access not in ("read", "read_write"):
        raise KernelError(f"binding {name}: access {access!r} is not 'read' or 'read_write'")
    check(t, space, name)
    if space == "uniform":
        if access != "read":
            raise KernelError(f"binding {name}: uniform buffers are read-only; use storage")
        return f"@group({group}) @binding({index}) var<uniform> {name}: {t.wgsl};"
    return f"@group({group}) @binding({index}) var<storage, {access}> {name}: {t.wgsl};"


def check(t: WgslType, space: Space = "storage", where: str | None = None) -> None:
    """Check that ``t`` may be the type of a buffer binding in ``space``.

    Raises:
        KernelError: naming the offending member and the change that makes it legal.
    """
    if space not in ("storage", "uniform"):
        raise KernelError(f"unknown address space {space!r}; use 'storage' or 'uniform'")
    if not isinstance(t, WgslType):
        raise KernelError(f"expected a layout type (u32, vec3(f32), struct(...)), got {t!r}")
    if space == "uniform":
        _check_uniform(t, where or t.wgsl)


def _check_uniform(t: WgslType, where: str) -> None:
    if isinstance(t, Array):
        if t.count is None:
            raise KernelError(
                f"{where}: runtime-sized {t.wgsl} is not allowed in the uniform address space; "
                "give it a count or bind it as var<storage, read>"
            )
        if t.stride % 16:
            raise KernelError(
                f"{where}: array stride {t.stride} is not a multiple of 16 in the uniform "
                f"address space; use {_uniform_fix(t)}"
            )
        _check_uniform(t.element, f"{where}[]")
    elif isinstance(t, Struct):
        for i, (m, off) in enumerate(zip(t.members, t.offsets, strict=True)):
            where = f"{t.name}.{m.name}"
            _check_uniform(m.type, where)
            if not isinstance(m.type, Struct | Array):
                continue
            need = round_up(16, m.type.align)  # RequiredAlignOf(T, uniform)
            if off % need or (m.align or need) % need:
                at = f"is at offset {off}" if off % need else f"has align={m.align}"
                raise KernelError(
                    f"member {where} ({m.type.wgsl}) {at}, but the uniform address space "
                    f"needs a multiple of {need}; declare it member({m.name!r}, ..., "
                    f"align={need})"
                )
            if isinstance(m.type, Struct) and i + 1 < len(t.members):
                nxt, gap = t.members[i + 1], t.offsets[i + 1] - off
                room = round_up(16, m.type.size)
                if gap < room:
                    raise KernelError(
                        f"member {t.name}.{nxt.name} starts {gap} bytes after struct member "
                        f"{where}, but the uniform address space needs {room}; declare "
                        f"member({m.name!r}, ..., size={room}) or member({nxt.name!r}, ..., "
                        "align=16)"
                    )


def _uniform_fix(t: Array) -> str:
    """The uniform-legal replacement for an array whose stride is not a multiple of 16."""
    e = t.element
    comp = e if isinstance(e, Scalar) else e.component if isinstance(e, Vector) else None
    if comp is not None and comp.size == 4:
        lanes = (t.count or 0) * t.stride // 4  # 4-byte lanes of the whole array
        return f"array<vec4<{comp.name}>, {-(-lanes // 4)}>"
    room = round_up(16, t.stride)
    return (
        f"a struct element padded to {room} bytes, e.g. struct('E', [member('v', {e.wgsl}, "
        f"size={room})])"
    )
