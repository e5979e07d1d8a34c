"""Layout types as plain data (JSON-able), for kernels that travel with their tasks.

`to_data` and `from_data` round-trip every type: ``"u32"``, ``{"vec": 3, "of": "f32"}``,
``{"mat": [3, 3], "of": "f32"}``, ``{"array": T, "count": 8}`` (count null: runtime-sized) and
``{"struct": "Name", "members": [{"name": ..., "type": T, "align": null, "size": null}]}``.
`from_data` reads untrusted input: it is strict, bounded in depth and width, and every
problem is a KernelError naming where it is.
"""

from __future__ import annotations

from typing import Any

from shardy.errors import KernelError
from shardy.layout.types import Array, Matrix, Member, Scalar, Struct, Vector, WgslType

MAX_DEPTH = 8
MAX_MEMBERS = 64


def to_data(t: WgslType) -> Any:
    """``t`` as JSON-able data (the form `from_data` reads)."""
    if isinstance(t, Scalar):
        return t.name
    if isinstance(t, Vector):
        return {"vec": t.n, "of": t.component.name}
    if isinstance(t, Matrix):
        return {"mat": [t.columns, t.rows], "of": t.component.name}
    if isinstance(t, Array):
        return {"array": to_data(t.element), "count": t.count}
    if isinstance(t, Struct):
        members = [
            {"name": m.name, "type": to_data(m.type), "align": m.align, "size": m.size}
            for m in t.members
        ]
        return {"struct": t.name, "members": members}
    raise KernelError(f"not a layout type: {t!r}")


def from_data(data: Any, where: str = "type", depth: int = 0) -> WgslType:
    """The layout type ``data`` describes.

    Raises:
        KernelError: malformed data, or a type WGSL does not allow (naming ``where``).
    """
    if depth > MAX_DEPTH:
        raise KernelError(f"{where}: types nest deeper than {MAX_DEPTH} levels")
    if isinstance(data, str):
        return Scalar(data)
    if not isinstance(data, dict):
        raise KernelError(f"{where}: a type is a scalar name or an object, got {data!r:.60}")
    keys = set(data)
    if keys == {"vec", "of"}:
        return Vector(_scalar(data["of"], where), _int(data["vec"], where))
    if keys == {"mat", "of"}:
        cr = data["mat"]
        if not (isinstance(cr, list) and len(cr) == 2):
            raise KernelError(f"{where}: mat must be [columns, rows]")
        return Matrix(_scalar(data["of"], where), _int(cr[0], where), _int(cr[1], where))
    if keys == {"array", "count"}:
        count = data["count"]
        element = from_data(data["array"], f"{where}[]", depth + 1)
        return Array(element, None if count is None else _int(count, where))
    if keys == {"struct", "members"}:
        name, members = data["struct"], data["members"]
        if not isinstance(name, str) or not isinstance(members, list):
            raise KernelError(f"{where}: struct needs a name and a list of members")
        if len(members) > MAX_MEMBERS:
            raise KernelError(f"{where}: struct {name} has more than {MAX_MEMBERS} members")
        return Struct(name, tuple(_member(m, f"{name}", depth) for m in members))
    raise KernelError(f"{where}: unrecognised type description with keys {sorted(keys)}")


def _member(m: Any, where: str, depth: int) -> Member:
    if not isinstance(m, dict) or set(m) != {"name", "type", "align", "size"}:
        raise KernelError(f"{where}: a member is {{name, type, align, size}}, got {m!r:.60}")
    name = m["name"]
    if not isinstance(name, str):
        raise KernelError(f"{where}: member name must be a string")
    t = from_data(m["type"], f"{where}.{name}", depth + 1)
    align = None if m["align"] is None else _int(m["align"], where)
    size = None if m["size"] is None else _int(m["size"], where)
    return Member(name, t, align=align, size=size)


def _scalar(name: Any, where: str) -> Scalar:
    if not isinstance(name, str):
        raise KernelError(f"{where}: component must be a scalar name, got {name!r:.40}")
    return Scalar(name)


def _int(v: Any, where: str) -> int:
    if type(v) is not int or not 0 < v < 1 << 31:
        raise KernelError(f"{where}: expected a positive integer, got {v!r:.40}")
    return v
