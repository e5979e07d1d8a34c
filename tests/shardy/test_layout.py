"""shardy.layout: hand-computed WGSL layouts and packing (the GPU round trips: test_layout_gpu)."""

from __future__ import annotations

import re
import struct as pystruct

import numpy as np
import pytest
from layout_cases import HALF, INNER, OUTER, PADDED, SMALL, TAILED

from shardy import layout as L
from shardy.errors import KernelError

# -- pure layouts, computed by hand from the WGSL spec ---------------------------------------

SPEC_TABLE = [  # (type, AlignOf, SizeOf) from https://www.w3.org/TR/WGSL/#alignment-and-size
    (L.u32, 4, 4), (L.i32, 4, 4), (L.f32, 4, 4), (L.f16, 2, 2),
    (L.vec2(L.f32), 8, 8), (L.vec3(L.f32), 16, 12), (L.vec4(L.f32), 16, 16),
    (L.vec2(L.f16), 4, 4), (L.vec3(L.f16), 8, 6), (L.vec4(L.f16), 8, 8),
    (L.mat2x2(L.f32), 8, 16), (L.mat3x2(L.f32), 8, 24), (L.mat4x2(L.f32), 8, 32),
    (L.mat2x3(L.f32), 16, 32), (L.mat3x3(L.f32), 16, 48), (L.mat4x3(L.f32), 16, 64),
    (L.mat2x4(L.f32), 16, 32), (L.mat3x4(L.f32), 16, 48), (L.mat4x4(L.f32), 16, 64),
    (L.mat2x2(L.f16), 4, 8), (L.mat3x2(L.f16), 4, 12), (L.mat4x2(L.f16), 4, 16),
    (L.mat2x3(L.f16), 8, 16), (L.mat3x3(L.f16), 8, 24), (L.mat4x3(L.f16), 8, 32),
    (L.mat2x4(L.f16), 8, 16), (L.mat3x4(L.f16), 8, 24), (L.mat4x4(L.f16), 8, 32),
]  # fmt: skip


@pytest.mark.parametrize(("t", "align", "size"), SPEC_TABLE, ids=lambda v: getattr(v, "wgsl", v))
def test_align_and_size_follow_the_spec_table(t, align, size):
    assert (t.align, t.size) == (align, size)
    assert L.numpy_dtype(t).itemsize == size


def test_f32_after_vec3_fills_the_vec3_padding():
    s = L.struct("A", [("v", L.vec3(L.f32)), ("s", L.f32)])
    assert (s.offsets, s.align, s.size) == ((0, 12), 16, 16)
    data = L.pack(s, {"v": [1, 2, 3], "s": 4})
    assert data == pystruct.pack("<4f", 1, 2, 3, 4)
    assert L.unpack(s, data)["s"] == 4


def test_vec3_then_mat3x3_pads_every_column():
    s = L.struct("B", [("v", L.vec3(L.f32)), ("m", L.mat3x3(L.f32))])
    assert (s.offsets, s.align, s.size) == ((0, 16), 16, 64)
    m = np.arange(9, dtype=np.float32).reshape(3, 3) + 10  # m[column][row]
    data = L.pack(s, {"v": [1, 2, 3], "m": m})
    assert data == pystruct.pack("<16f", 1, 2, 3, 0, 10, 11, 12, 0, 13, 14, 15, 0, 16, 17, 18, 0)
    dt = L.numpy_dtype(s)
    assert (dt.itemsize, dt.fields["m"][1], dt.fields["m"][0].shape) == (64, 16, (3, 4))
    np.testing.assert_array_equal(L.unpack(s, data)["m"][:, :3], m)


def test_array_of_vec3_has_stride_16():
    t = L.array(L.vec3(L.f32), 4)
    assert (t.stride, t.align, t.size, t.wgsl) == (16, 16, 64, "array<vec3<f32>, 4>")
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    data = L.pack(t, values)
    assert np.frombuffer(data, "<f4").reshape(4, 4)[:, 3].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(np.frombuffer(data, "<f4").reshape(4, 4)[:, :3], values)
    got = L.unpack(t, data)
    assert got.shape == (4, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


def test_struct_offsets_alignment_and_size():
    s = L.struct("S", [("a", L.f32), ("b", L.vec2(L.f32)), ("c", L.vec4(L.f32)), ("d", L.f32)])
    assert (s.offsets, s.align, s.size) == ((0, 8, 16, 32), 16, 48)
    assert (INNER.offsets, INNER.align, INNER.size) == ((0, 8), 8, 16)
    assert (OUTER.offsets, OUTER.align, OUTER.size) == ((0, 12, 16, 64, 80, 112), 16, 128)
    assert OUTER.offset("flag") == 112
    nested = L.struct("N", [("a", L.u32), ("inner", INNER), ("b", L.u32)])
    assert (nested.offsets, nested.size) == ((0, 8, 24), 32)  # storage: no 16-byte rule


def test_member_attributes_move_offsets_and_are_declared():
    s = L.struct(
        "Attr",
        [
            ("a", L.u32),
            L.member("b", L.u32, align=16),
            L.member("c", L.vec2(L.f32), size=32),
            ("d", L.u32),
        ],
    )
    assert (s.offsets, s.align, s.size) == ((0, 16, 24, 56), 16, 64)
    assert s.declaration() == (
        "struct Attr {\n    a: u32,\n    @align(16) b: u32,\n    @size(32) c: vec2<f32>,\n"
        "    d: u32,\n}"
    )


def test_declaration_emits_nested_structs_once_dependencies_first():
    twice = L.struct("Twice", [("x", INNER), ("y", L.array(INNER, 2)), ("o", OUTER)])
    text = twice.declaration()
    assert text.count("struct Inner {") == 1
    assert text.index("struct Inner") < text.index("struct Outer") < text.index("struct Twice")
    assert text.endswith("struct Twice {\n    x: Inner,\n    y: array<Inner, 2>,\n    o: Outer,\n}")
    assert "    m: mat3x3<f32>,\n    inner: Inner,\n    tail: array<vec3<i32>, 2>,\n" in text
    assert L.declarations(L.u32) == "\n"
    clash = L.struct("Inner", [("z", L.f32)])
    with pytest.raises(KernelError, match="two different structs are named Inner"):
        L.declarations(INNER, clash)


def test_f16_layout_needs_enable_f16():
    assert (HALF.offsets, HALF.align, HALF.size) == ((0, 8, 16, 32, 36), 8, 48)
    assert HALF.needs_f16 and not OUTER.needs_f16
    assert L.declarations(HALF).startswith("enable f16;\n\nstruct Half {\n    h: f16,\n")
    assert "enable" not in L.declarations(OUTER)
    data = L.pack(L.vec3(L.f16), [1.5, -2, 0.25])
    assert data == np.array([1.5, -2, 0.25], "<f2").tobytes()


def test_runtime_sized_struct_and_array():
    assert TAILED.runtime_sized and TAILED.offsets == (0, 8)
    assert L.byte_size(TAILED, 3) == 8 + 3 * 16
    value = {"n": 2, "items": {"a": [7, 8], "b": [[1, 2], [3, 4]]}}
    data = L.pack(TAILED, value)
    assert data == pystruct.pack("<2I2I2f2I2f", 2, 0, 7, 0, 1, 2, 8, 0, 3, 4)
    got = L.unpack(TAILED, data)  # count inferred: (40 - 8) / 16
    assert got["items"].shape == (2,) and got["items"]["a"].tolist() == [7, 8]
    assert L.unpack(TAILED, data, count=2)["n"] == 2
    arr = L.array(L.vec2(L.i32))
    assert L.unpack(arr, L.pack(arr, [[1, -1], [2, -2]])).tolist() == [[1, -1], [2, -2]]
    with pytest.raises(KernelError, match="runtime-sized; use byte_size"):
        _ = TAILED.size
    with pytest.raises(KernelError, match="pass its element count"):
        L.numpy_dtype(TAILED)
    with pytest.raises(KernelError, match="not a 8-byte head plus whole 16-byte elements"):
        L.unpack(TAILED, data[:-4])
    with pytest.raises(KernelError, match="takes 24 bytes, got 40"):
        L.unpack(TAILED, data, count=1)


def test_binding_text():
    assert L.binding(0, 1, "items", L.array(OUTER)) == (
        "@group(0) @binding(1) var<storage, read> items: array<Outer>;"
    )
    assert L.binding(1, 0, "out", OUTER, access="read_write") == (
        "@group(1) @binding(0) var<storage, read_write> out: Outer;"
    )
    assert L.binding(0, 2, "params", PADDED, "uniform") == (
        "@group(0) @binding(2) var<uniform> params: Padded;"
    )
    with pytest.raises(KernelError, match="uniform buffers are read-only"):
        L.binding(0, 0, "p", L.u32, "uniform", "read_write")
    with pytest.raises(KernelError, match="unknown address space 'private'"):
        L.binding(0, 0, "p", L.u32, "private")  # type: ignore[arg-type]
    with pytest.raises(KernelError, match="'2x' is not a WGSL identifier"):
        L.binding(0, 0, "2x", L.u32)


# -- the uniform address space: accepted when legal, refused naming member and fix ------------


def test_uniform_refuses_array_stride_4():
    with pytest.raises(KernelError) as err:
        L.check(L.array(L.u32, 4), "uniform")
    assert str(err.value) == (
        "array<u32, 4>: array stride 4 is not a multiple of 16 in the uniform address space; "
        "use array<vec4<u32>, 1>"
    )
    with pytest.raises(KernelError, match=r"stride 8 .* use array<vec4<f32>, 3>"):
        L.numpy_dtype(L.array(L.vec2(L.f32), 5), "uniform")
    L.check(L.array(L.u32, 4), "storage")  # legal in storage


def test_uniform_nested_struct_needs_16_alignment():
    nested = L.struct("N", [("a", L.u32), ("inner", INNER), ("b", L.u32)])
    with pytest.raises(KernelError) as err:
        L.pack(nested, {"a": 1, "inner": {"a": 2, "b": [3, 4]}, "b": 5}, "uniform")
    assert "member N.inner (Inner) is at offset 8" in str(err.value)
    assert "member('inner', ..., align=16)" in str(err.value)
    fixed = L.struct("N", [("a", L.u32), L.member("inner", INNER, align=16), ("b", L.u32)])
    assert (fixed.offsets, fixed.size) == ((0, 16, 32), 48)
    data = L.pack(fixed, {"a": 1, "inner": {"a": 2, "b": [3, 4]}, "b": 5}, "uniform")
    assert data == pystruct.pack("<4I2I2f4I", 1, 0, 0, 0, 2, 0, 3, 4, 5, 0, 0, 0)
    # at offset 16 only by chance: the spec wants @align itself to be a multiple of
    # RequiredAlignOf(Inner, uniform) = 16 (naga does not check this; Tint does)
    low = L.struct("Low", [("v", L.vec4(L.f32)), L.member("inner", INNER, align=8)])
    assert low.offsets == (0, 16)
    with pytest.raises(KernelError, match=r"Low\.inner \(Inner\) has align=8, .* align=16\)$"):
        L.check(low, "uniform")
    L.check(L.struct("Low", [("v", L.vec4(L.f32)), L.member("inner", INNER, align=16)]), "uniform")


def test_uniform_member_after_struct_needs_room():
    holder = L.struct("Holder", [("s", SMALL), ("b", L.u32)])
    with pytest.raises(
        KernelError, match=r"Holder\.b starts 12 bytes after struct member Holder\.s"
    ):
        L.check(holder, "uniform")
    sized = L.struct("Holder", [L.member("s", SMALL, size=16), ("b", L.u32)])
    L.check(sized, "uniform")
    assert sized.offsets == (0, 16)


def test_uniform_array_member_needs_16_alignment_and_no_runtime_arrays():
    s = L.struct("M", [("a", L.u32), ("ms", L.array(L.mat2x2(L.f32), 2))])
    with pytest.raises(KernelError, match=r"M\.ms .* at offset 8, .* align=16"):
        L.check(s, "uniform")
    with pytest.raises(KernelError, match="runtime-sized array<u32> is not allowed in the uniform"):
        L.check(L.array(L.u32), "uniform")
    L.check(PADDED, "uniform")
    assert PADDED.offsets == (0, 16, 32, 48, 64, 80) and PADDED.size == 112


# -- refusing bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: L.scalar("f64"), "unknown WGSL scalar 'f64'; use one of u32, i32, f32, f16"),
        (lambda: L.scalar("bool"), "bool is not host-shareable"),
        (lambda: L.vec3("bool"), "bool is not host-shareable"),
        (lambda: L.vec3(INNER), "vector components must be scalars, not Inner"),
        (lambda: L.vec(5, L.f32), "vectors have 2, 3 or 4 components"),
        (lambda: L.mat3x3(L.u32), "matrices hold f32 or f16, not u32"),
        (lambda: L.array(L.array(L.u32)), "array element array<u32> is runtime-sized"),
        (lambda: L.array(L.u32, 0), "array count must be a positive int"),
        (lambda: L.struct("Bad", [("xs", L.array(L.u32)), ("n", L.u32)]), "Bad.xs is runtime"),
        (lambda: L.struct("Bad", [("t", TAILED)]), "member Bad.t is runtime-sized"),
        (lambda: L.struct("Bad", [("a", L.u32), ("a", L.f32)]), "member 'a' twice"),
        (lambda: L.struct("Bad", []), "struct Bad has no members"),
        (lambda: L.struct("Bad", [L.member("a", L.vec4(L.f32), align=8)]), "align=8 must be"),
        (lambda: L.struct("Bad", [L.member("a", L.vec4(L.f32), size=8)]), "size=8 must be"),
        (lambda: L.struct("my struct", [("a", L.u32)]), "is not a WGSL identifier"),
        (lambda: L.struct("_", [("a", L.u32)]), "'_' is not a WGSL identifier"),
        (lambda: L.struct("loop", [("a", L.u32)]), "'loop' is a WGSL keyword or type name"),
        (lambda: L.struct("Bad", [("vec3f", L.u32)]), "'vec3f' is a WGSL keyword or type name"),
        (lambda: L.struct("Bad", [L.member("a", L.u32, align=0)]), "align=0 must be a power"),
        (lambda: L.struct("Bad", [L.member("a", L.u32, align=8.0)]), "align=8.0 must be"),
        (lambda: L.struct("Bad", [L.member("a", L.u32, size=6.5)]), "size=6.5 must be an int"),
        (lambda: L.struct("Bad", [("a", L.u32, 4)]), "neither member(...) nor a (name, type)"),
        (lambda: L.vec(2.0, L.f32), "vectors have 2, 3 or 4 components, not 2.0"),
        (lambda: L.mat(2, 5, L.f32), "matrices have 2 to 4 columns and rows, not 2x5"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_types_are_refused(make, message):
    with pytest.raises(KernelError, match=re.escape(message)):
        make()


def test_names_that_only_resemble_keywords_are_accepted():
    s = L.struct("loop_state", [("vec3_pos", L.vec3(L.f32)), ("f32s", L.u32), ("_n", L.u32)])
    assert s.offsets == (0, 12, 16)
    assert "    vec3_pos: vec3<f32>,\n    f32s: u32,\n    _n: u32,\n" in s.declaration()
    assert L.binding(0, 0, "loop_states", s) == (
        "@group(0) @binding(0) var<storage, read> loop_states: loop_state;"
    )


def test_pack_names_member_and_expected_shape_and_dtype():
    good = {"a": 1, "b": [1.0, 2.0]}
    with pytest.raises(KernelError) as err:
        L.pack(INNER, {"a": 1, "b": [1.0, 2.0, 3.0]})
    assert str(err.value) == (
        "Inner.b (vec2<f32>): expected shape (2,) of numbers for float32, got shape (3,) of float64"
    )
    with pytest.raises(KernelError, match=r"Inner\.a \(u32\): expected shape \(\) of integers"):
        L.pack(INNER, {**good, "a": 1.5})
    with pytest.raises(KernelError, match=r"Inner\.a: values -1\.\.-1 do not fit in u32"):
        L.pack(INNER, {**good, "a": -1})
    with pytest.raises(KernelError, match="Inner: the value has no member 'b'; add it"):
        L.pack(INNER, {"a": 1})
    with pytest.raises(KernelError, match="expected a structured numpy array or a mapping"):
        L.pack(INNER, [1, 2, 3])
    arr = L.array(INNER, 3)
    records = np.zeros(2, L.numpy_dtype(INNER))
    with pytest.raises(KernelError, match=r"records of Inner of shape \(3,\), got shape \(2,\)"):
        L.pack(arr, records)
    with pytest.raises(KernelError, match=r"Outer\.m \(mat3x3<f32>\): expected shape \(3, 3\)"):
        L.pack(OUTER, {"pos": [0, 0, 0], "mass": 1, "m": np.eye(2)})
    with pytest.raises(
        KernelError, match=r"value \(array<vec3<f32>, 4>\): expected shape \(4, 3\)"
    ):
        L.pack(L.array(L.vec3(L.f32), 4), np.zeros((3, 3)))
    with pytest.raises(KernelError, match="array<u32, 2> takes 8 bytes, got 12"):
        L.unpack(L.array(L.u32, 2), bytes(12))


def test_pack_refuses_floats_that_would_overflow_to_inf():
    assert L.pack(L.f16, 65504.0) == np.float16(65504).tobytes()  # the largest f16
    assert L.pack(L.f32, np.inf) == np.float32(np.inf).tobytes()  # inf given is kept
    with pytest.raises(KernelError) as err:
        L.pack(HALF, {"h": 1, "v": [1, 2, 7e4], "m": np.zeros((2, 3)), "x": 0, "hs": [0, 0, 0]})
    assert str(err.value) == (
        "Half.v: 70000.0 overflows f16 (largest 65504.0); scale the values or use f32"
    )
    with pytest.raises(KernelError, match=r"value: 1e\+39 overflows f32 .*; scale the values$"):
        L.pack(L.array(L.f32, 2), [1.0, 1e39])


def test_pack_accepts_numpy_dtype_records_and_unpack_inverts_pack():
    records = np.zeros(3, L.numpy_dtype(OUTER))
    records["pos"] = np.arange(9).reshape(3, 3)
    records["m"][..., :3] = np.arange(27).reshape(3, 3, 3)
    records["m"][..., 3] = 99  # padding lanes given by the caller are not packed
    records["inner"]["b"] = [[1, 2], [3, 4], [5, 6]]
    records["tail"][..., :3] = -np.arange(18).reshape(3, 2, 3)
    records["flag"] = [7, 8, 9]
    t = L.array(OUTER, 3)
    data = L.pack(t, records)
    assert len(data) == 3 * 128
    assert np.frombuffer(data, "<f4").reshape(3, 32)[:, 4:16].reshape(3, 3, 4)[..., 3].max() == 0
    got = L.unpack(t, data)
    assert got.dtype == records.dtype
    records["m"][..., 3] = 0
    assert got.tobytes() == records.tobytes()
    assert L.pack(OUTER, records[1]) == data[128:256]  # one record (np.void) packs alone
