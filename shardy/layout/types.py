"""The layout types: WGSL scalars, vectors, matrices, arrays and structs, with AlignOf/SizeOf."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from shardy.errors import KernelError

_SCALARS = {"u32": (4, "<u4"), "i32": (4, "<i4"), "f32": (4, "<f4"), "f16": (2, "<f2")}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = re.compile(  # keywords, and the predeclared type names our WGSL text refers to
    r"alias|break|case|const|const_assert|continue|continuing|default|diagnostic|discard|else"
    r"|enable|false|fn|for|if|let|loop|override|requires|return|struct|switch|true|var|while"
    r"|bool|[iuf]32|f16|array|atomic|ptr|vec[234][iuhf]?|mat[234]x[234][hf]?"
)


def round_up(k: int, n: int) -> int:
    """roundUp(k, n): the least multiple of k that is at least n."""
    return -(-n // k) * k


def check_name(name: object, what: str) -> None:
    """Refuse a struct, member or binding name that WGSL would not accept there."""
    if not isinstance(name, str) or not _IDENT.match(name) or name == "_" or name[:2] == "__":
        raise KernelError(f"{what} {name!r} is not a WGSL identifier; use letters, digits and _")
    if _RESERVED.fullmatch(name):
        raise KernelError(f"{what} {name!r} is a WGSL keyword or type name; choose another name")


def _is_lanes(n: object) -> bool:
    return type(n) is int and n in (2, 3, 4)


@dataclass(frozen=True)
class WgslType:
    """A host-shareable WGSL type: `align` and `size` in bytes, `wgsl` its type expression;
    ``runtime_sized`` marks `array<T>` and a struct ending in one, ``needs_f16`` ``enable f16;``."""

    align: int = field(init=False, repr=False, compare=False)
    wgsl: str = field(init=False, repr=False, compare=False)
    runtime_sized: bool = field(init=False, repr=False, compare=False)
    needs_f16: bool = field(init=False, repr=False, compare=False)
    _size: int = field(init=False, repr=False, compare=False)

    @property
    def size(self) -> int:
        """SizeOf(T); runtime-sized types raise KernelError (use `byte_size`)."""
        if self.runtime_sized:
            raise KernelError(f"{self.wgsl} is runtime-sized; use byte_size(t, count)")
        return self._size

    def _set(self, align: int, size: int, wgsl: str, f16: bool, runtime: bool = False) -> None:
        for k, v in (("align", align), ("_size", size), ("wgsl", wgsl), ("needs_f16", f16)):
            object.__setattr__(self, k, v)
        object.__setattr__(self, "runtime_sized", runtime)


@dataclass(frozen=True)
class Scalar(WgslType):
    """u32, i32, f32 or f16."""

    name: str

    def __post_init__(self) -> None:
        if self.name == "bool":
            raise KernelError("bool is not host-shareable (no buffer can hold it); use u32 0/1")
        if self.name not in _SCALARS:
            raise KernelError(
                f"unknown WGSL scalar {self.name!r}; use one of {', '.join(_SCALARS)}"
            )
        n = _SCALARS[self.name][0]
        self._set(n, n, self.name, self.name == "f16")

    @property
    def dtype(self) -> np.dtype[Any]:
        """The little-endian numpy dtype of one value."""
        return np.dtype(_SCALARS[self.name][1])


@dataclass(frozen=True)
class Vector(WgslType):
    """vecN<T>: vec3 is 16-byte aligned (8 for f16) but 12 (6) bytes long."""

    component: Scalar
    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.component, Scalar):
            name = getattr(self.component, "wgsl", repr(self.component))
            raise KernelError(f"vector components must be scalars, not {name}; use a struct")
        n = self.n
        if not _is_lanes(n):
            raise KernelError(f"vectors have 2, 3 or 4 components, not {n!r}")
        s = self.component.size
        wgsl = f"vec{n}<{self.component.name}>"
        self._set(s * (2 if n == 2 else 4), s * n, wgsl, self.component.needs_f16)


@dataclass(frozen=True)
class Matrix(WgslType):
    """matCxR<T>: C column vectors vecR<T>, laid out like array<vecR<T>, C>."""

    component: Scalar
    columns: int
    rows: int

    def __post_init__(self) -> None:
        c, r, name = self.columns, self.rows, getattr(self.component, "wgsl", self.component)
        if name not in ("f32", "f16"):
            raise KernelError(f"matrices hold f32 or f16, not {name}; use an array of vectors")
        if not (_is_lanes(c) and _is_lanes(r)):
            raise KernelError(f"matrices have 2 to 4 columns and rows, not {c!r}x{r!r}")
        col = Vector(self.component, r)
        wgsl = f"mat{c}x{r}<{self.component.name}>"
        self._set(col.align, c * round_up(col.align, col.size), wgsl, col.needs_f16)


@dataclass(frozen=True)
class Array(WgslType):
    """array<T, N>, or the runtime-sized array<T> when count is None."""

    element: WgslType
    count: int | None = None
    stride: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        e = self.element
        if not isinstance(e, WgslType):
            raise KernelError(f"array element must be a layout type such as u32, got {e!r}")
        if e.runtime_sized:
            raise KernelError(
                f"array element {e.wgsl} is runtime-sized; only a storage binding or the last "
                "member of its struct may be runtime-sized"
            )
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            raise KernelError(f"array count must be a positive int or None, got {self.count!r}")
        object.__setattr__(self, "stride", round_up(e.align, e.size))
        n = "" if self.count is None else f", {self.count}"
        size = (self.count or 0) * self.stride
        self._set(e.align, size, f"array<{e.wgsl}{n}>", e.needs_f16, self.count is None)


@dataclass(frozen=True)
class Member:
    """A struct member; align and size are WGSL's @align(n) and @size(n) attributes."""

    name: str
    type: WgslType
    align: int | None = field(default=None, kw_only=True)
    size: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Struct(WgslType):
    """A named struct; member offsets follow WGSL (offset = roundUp(align, previous end))."""

    name: str
    members: tuple[Member, ...]
    offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name, "struct name")
        if not self.members:
            raise KernelError(f"struct {self.name} has no members; WGSL needs at least one")
        offsets: list[int] = []
        end, align, seen = 0, 1, set()
        for i, m in enumerate(self.members):
            check_name(m.name, f"member name in struct {self.name}")
            if m.name in seen:
                raise KernelError(f"struct {self.name} declares member {m.name!r} twice")
            seen.add(m.name)
            _check_member(m, f"{self.name}.{m.name}", last=i == len(self.members) - 1)
            m_align = m.align or m.type.align
            offsets.append(round_up(m_align, end))
            end = offsets[-1] + (0 if m.type.runtime_sized else m.size or m.type.size)
            align = max(align, m_align)
        object.__setattr__(self, "offsets", tuple(offsets))
        runtime = self.members[-1].type.runtime_sized
        size = offsets[-1] if runtime else round_up(align, end)  # runtime: its array's offset
        f16 = any(m.type.needs_f16 for m in self.members)
        self._set(align, size, self.name, f16, runtime)

    def offset(self, name: str) -> int:
        """Byte offset of member ``name``."""
        for m, off in zip(self.members, self.offsets, strict=True):
            if m.name == name:
                return off
        raise KernelError(f"struct {self.name} has no member {name!r}")

    def declaration(self) -> str:
        """``struct Name { ... }`` text, preceded by the structs it uses (each once)."""
        return "\n\n".join(s.text() for s in structs_of([self]))

    def text(self) -> str:
        """This struct's own ``struct Name { ... }`` text (without the structs it uses)."""
        lines = []
        for m in self.members:
            attrs = f"@align({m.align}) " if m.align else ""
            attrs += f"@size({m.size}) " if m.size else ""
            lines.append(f"    {attrs}{m.name}: {m.type.wgsl},\n")
        return f"struct {self.name} {{\n{''.join(lines)}}}"


def _check_member(m: Member, where: str, *, last: bool) -> None:
    """Refuse a member type or @align/@size attribute that WGSL does not allow."""
    t = m.type
    if not isinstance(t, WgslType):
        raise KernelError(f"member {where} must have a layout type, got {t!r}")
    if t.runtime_sized and (not last or isinstance(t, Struct)):
        raise KernelError(
            f"member {where} is runtime-sized ({t.wgsl}); only a runtime-sized "
            "array, as the last member, may be; move it last or give it a count"
        )
    a = m.align
    if a is not None and (type(a) is not int or a < 1 or a & (a - 1) or a % t.align):
        raise KernelError(
            f"member {where}: align={a!r} must be a power of two and a multiple "
            f"of {t.wgsl}'s alignment {t.align}"
        )
    s = m.size
    if s is not None and (t.runtime_sized or type(s) is not int or s < t.size):
        raise KernelError(
            f"member {where}: size={s!r} must be an int of at least {t.wgsl}'s size and "
            "cannot apply to a runtime-sized array; drop it or raise it"
        )


def structs_of(types: Sequence[WgslType]) -> list[Struct]:
    """Every struct the types use, dependencies first, each once (a clash of names raises)."""
    found: dict[str, Struct] = {}

    def visit(t: WgslType) -> None:
        if isinstance(t, Array):
            visit(t.element)
        elif isinstance(t, Struct):
            for m in t.members:
                visit(m.type)
            if found.setdefault(t.name, t) != t:
                raise KernelError(f"two different structs are named {t.name}; rename one")

    for t in types:
        visit(t)
    return list(found.values())


# -- constructors ----------------------------------------------------------------------------

u32, i32, f32, f16 = Scalar("u32"), Scalar("i32"), Scalar("f32"), Scalar("f16")


def scalar(name: str | Scalar) -> Scalar:
    """The scalar named ``name`` (u32, i32, f32, f16). Raises KernelError for others (bool)."""
    return name if isinstance(name, Scalar) else Scalar(name)


def _component(component: Scalar | str) -> Scalar:
    return scalar(component) if isinstance(component, str) else component


def vec(n: int, component: Scalar | str) -> Vector:
    """vecN<component> for N in 2..4."""
    return Vector(_component(component), n)


def mat(columns: int, rows: int, component: Scalar | str) -> Matrix:
    """matCxR<component>: C columns of vecR, for C, R in 2..4 and component f32 or f16."""
    return Matrix(_component(component), columns, rows)


def array(element: WgslType, n: int | None = None) -> Array:
    """array<element, n>, or the runtime-sized array<element> when n is None."""
    return Array(element, n)


def struct(name: str, members: Sequence[Member | tuple[str, WgslType]]) -> Struct:
    """A struct of ordered members, each a `member(...)` or a ``(name, type)`` pair."""
    for m in members:
        if not isinstance(m, Member) and (not isinstance(m, tuple) or len(m) != 2):
            raise KernelError(
                f"struct {name}: member {m!r} is neither member(...) nor a (name, type) pair; "
                "give attributes as member(name, type, align=..., size=...)"
            )
    return Struct(name, tuple(m if isinstance(m, Member) else Member(*m) for m in members))


member = Member  # member("inner", Inner, align=16)
vec2, vec3, vec4 = partial(vec, 2), partial(vec, 3), partial(vec, 4)
mat2x2, mat2x3, mat2x4 = partial(mat, 2, 2), partial(mat, 2, 3), partial(mat, 2, 4)
mat3x2, mat3x3, mat3x4 = partial(mat, 3, 2), partial(mat, 3, 3), partial(mat, 3, 4)
mat4x2, mat4x3, mat4x4 = partial(mat, 4, 2), partial(mat, 4, 3), partial(mat, 4, 4)
