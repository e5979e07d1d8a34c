"""Host side of a layout: numpy dtypes, byte sizes, and pack/unpack of values to buffer bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shardy.errors import KernelError
from shardy.layout.types import Array, Matrix, Scalar, Struct, Vector, WgslType
from shardy.layout.wgsl import Space, check


def byte_size(t: WgslType, count: int | None = None) -> int:
    """Bytes of one value of ``t``; ``count`` is the element count of its runtime-sized array.

    A struct ending in array<E> takes offset + count × stride bytes, the size at which WGSL's
    arrayLength returns count (wgpu also wants a binding of at least roundUp(align, offset +
    stride) bytes, so allocate the GPU buffer larger for small counts and slice the readback).
    """
    if not t.runtime_sized:
        if count is not None:
            raise KernelError(f"{t.wgsl} has a fixed size; pass count=None")
        return t.size
    if type(count) is not int or count < 0:
        raise KernelError(f"{t.wgsl} is runtime-sized; pass its element count, got {count!r}")
    return _head(t) + count * _tail(t).stride


def numpy_dtype(t: WgslType, space: Space = "storage", count: int | None = None) -> np.dtype[Any]:
    """The numpy dtype with exactly t's layout: offsets, itemsize and padding included.

    A vec3 inside an array or a matrix keeps its padding lane: array<vec3<f32>, N> is (N, 4)
    and mat3x3<f32> is (3, 4) float32. ``count`` sizes a runtime-sized array.

    Raises:
        KernelError: t is not allowed in ``space``, or count is missing or superfluous.
    """
    check(t, space)
    byte_size(t, count)
    return _dtype(t, count)


def pack(t: WgslType, value: Any, space: Space = "storage") -> bytes:
    """The bytes of ``value`` laid out as ``t`` (padding zeroed).

    Args:
        value: for scalars, vectors, matrices and arrays of them, an array-like of the logical
            shape (array<vec3<f32>, N> is (N, 3), matCxR is (C, R), column-major as in WGSL);
            for a struct, a structured array (e.g. of `numpy_dtype`) or a mapping of member
            names to values; for an array of structs, a structured array of shape (N,) or a
            mapping of member names to stacked values. A runtime-sized array's length is
            taken from the value.

    Raises:
        KernelError: naming the member, the expected shape and dtype, and what was given.
    """
    check(t, space)
    if isinstance(value, np.void):
        value = np.asarray(value)
    dt = _dtype(t, _count(t, value) if t.runtime_sized else None)
    out = np.zeros(dt.shape, dt.base)  # not np.zeros((), dt): numpy keeps (0,) subarrays as ()
    _assign(out, value, t, t.wgsl if isinstance(t, Struct) else "value")
    return out.tobytes()


def unpack(
    t: WgslType, data: Any, space: Space = "storage", count: int | None = None
) -> NDArray[Any]:
    """The value of ``t`` in ``data`` (bytes-like), as a new numpy array.

    Scalars, vectors, matrices and their arrays come back in their logical shape (as `pack`
    takes them); structs and arrays of structs as records of `numpy_dtype`. ``count`` is the
    element count of a runtime-sized array, inferred from len(data) when None.

    Raises:
        KernelError: the byte length does not match the layout.
    """
    check(t, space)
    try:
        raw = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise KernelError(f"data must be contiguous bytes-like, got {type(data).__name__}") from exc
    if t.runtime_sized and count is None:
        head, stride = _head(t), _tail(t).stride
        if raw.size < head or (raw.size - head) % stride:
            raise KernelError(
                f"{raw.size} bytes are not a {head}-byte head plus whole {stride}-byte elements "
                f"of {t.wgsl}; slice the data to byte_size(t, count) or pass count"
            )
        count = (raw.size - head) // stride
    want = byte_size(t, count)
    if raw.size != want:
        raise KernelError(
            f"{t.wgsl} takes {want} bytes, got {raw.size}; slice the data to byte_size(t, count)"
        )
    dt = _dtype(t, count)
    arr = np.ndarray(dt.shape, dt.base, buffer=bytearray(raw))
    if isinstance(_leaf(t), Struct):
        return arr
    return np.ascontiguousarray(arr[..., :3]) if _padded(t) else arr


def _head(t: WgslType) -> int:
    """Bytes before a runtime-sized type's array: its struct offset, or 0 for array<E>."""
    return t.offsets[-1] if isinstance(t, Struct) else 0


def _tail(t: WgslType) -> Array:
    """The runtime-sized array of t (t itself, or its struct's last member)."""
    tail = t.members[-1].type if isinstance(t, Struct) else t
    assert isinstance(tail, Array)
    return tail


def _leaf(t: WgslType) -> WgslType:
    """The innermost element type of (nested) arrays; t itself if it is not an array."""
    while isinstance(t, Array):
        t = t.element
    return t


def _dtype(t: WgslType, count: int | None = None) -> np.dtype[Any]:
    if isinstance(t, Scalar):
        return t.dtype
    if isinstance(t, Vector):
        return np.dtype((t.component.dtype, (t.n,)))
    if isinstance(t, Matrix):
        return np.dtype((t.component.dtype, (t.columns, t.align // t.component.size)))
    if isinstance(t, Array):
        e = t.element
        slot = np.dtype((e.component.dtype, (4,))) if isinstance(e, Vector) and e.n == 3 else None
        slot = slot or _dtype(e)
        n = t.count if t.count is not None else count
        return np.dtype((slot.base, (n, *slot.shape)))
    assert isinstance(t, Struct)
    return np.dtype(
        {
            "names": [m.name for m in t.members],
            "formats": [_dtype(m.type, count) for m in t.members],
            "offsets": list(t.offsets),
            "itemsize": byte_size(t, count if t.runtime_sized else None),
        }
    )


def _padded(t: WgslType) -> bool:
    """True when t's numpy_dtype ends in an axis with a padding lane (a vec3 in a slot of 4)."""
    if isinstance(t, Matrix):
        return t.rows == 3
    if isinstance(t, Array):
        e = t.element
        return (isinstance(e, Vector) and e.n == 3) or _padded(e)
    return False


def _field(value: Any, name: str, where: str) -> Any:
    names = getattr(getattr(value, "dtype", None), "names", None)
    if isinstance(value, Mapping) and name in value or names and name in names:
        return value[name]
    if isinstance(value, Mapping) or names:
        raise KernelError(f"{where}: the value has no member {name!r}; add it")
    raise KernelError(
        f"{where}: expected a structured numpy array or a mapping of member names, "
        f"got {type(value).__name__}"
    )


def _count(t: WgslType, value: Any) -> int:
    if isinstance(t, Struct):
        value = _field(value, t.members[-1].name, t.name)
    if isinstance(value, Mapping):
        value = next(iter(value.values()), ())
    shape = np.shape(value)
    if not shape:
        raise KernelError(f"{t.wgsl}: a runtime-sized array takes a sequence of elements")
    return shape[0]


def _assign(dst: NDArray[Any], value: Any, t: WgslType, where: str) -> None:
    leaf = _leaf(t)
    if isinstance(leaf, Struct):
        if isinstance(value, np.ndarray) and value.shape != dst.shape:
            if value.shape != (1,) or dst.shape != ():
                raise KernelError(
                    f"{where}: expected records of {leaf.name} of shape {dst.shape}, "
                    f"got shape {value.shape}"
                )
            value = value.reshape(())
        where = f"{where}[]" if isinstance(t, Array) else where
        for m in leaf.members:
            _assign(dst[m.name], _field(value, m.name, where), m.type, f"{where}.{m.name}")
        return
    assert isinstance(leaf, Scalar | Vector | Matrix)
    comp = leaf if isinstance(leaf, Scalar) else leaf.component
    target = dst[..., :3] if _padded(t) else dst
    v = np.asarray(value)
    if v.shape != target.shape and v.shape == dst.shape:
        v = v[..., :3]  # given with the padding lane of numpy_dtype
    ints = comp.name in ("u32", "i32")
    if v.shape != target.shape or v.size and v.dtype.kind not in ("ui" if ints else "uif"):
        raise KernelError(
            f"{where} ({t.wgsl}): expected shape {target.shape} of "
            f"{'integers' if ints else 'numbers'} for {comp.dtype}, "
            f"got shape {v.shape} of {v.dtype}"
        )
    if v.size:
        _check_range(v, comp, where)
    target[...] = v


def _check_range(v: NDArray[Any], comp: Scalar, where: str) -> None:
    """Refuse values that the cast to ``comp`` would wrap (integers) or turn into inf (floats)."""
    if comp.name in ("u32", "i32"):
        info = np.iinfo(comp.dtype)
        if int(v.min()) < info.min or int(v.max()) > info.max:
            raise KernelError(f"{where}: values {v.min()}..{v.max()} do not fit in {comp.name}")
        return
    with np.errstate(over="ignore"):
        overflow = np.isinf(v.astype(comp.dtype)) & np.isfinite(v)
    if overflow.any():
        biggest, wider = np.abs(v[overflow]).max(), " or use f32" if comp.name == "f16" else ""
        raise KernelError(
            f"{where}: {biggest} overflows {comp.name} (largest {np.finfo(comp.dtype).max}); "
            f"scale the values{wider}"
        )
