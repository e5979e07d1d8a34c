"""shardy.layout: hand-computed WGSL layouts, packing, and GPU round trips (lavapipe, H100)."""

from __future__ import annotations

import itertools
import os
import re
import struct as pystruct
from typing import Any

import numpy as np
import pytest

from shardy import layout as L
from shardy.errors import KernelError

# -- types shared by the tests ----------------------------------------------------------------

INNER = L.struct("Inner", [("a", L.u32), ("b", L.vec2(L.f32))])  # align 8, size 16
SMALL = L.struct("Small", [("x", L.f32), ("y", L.f32), ("z", L.f32)])  # align 4, size 12
OUTER = L.struct(
    "Outer",
    [
        ("pos", L.vec3(L.f32)),
        ("mass", L.f32),
        ("m", L.mat3x3(L.f32)),
        ("inner", INNER),
        ("tail", L.array(L.vec3(L.i32), 2)),
        ("flag", L.u32),
    ],
)
# uniform-legal only thanks to its attributes (same layout in storage)
PADDED = L.struct(
    "Padded",
    [
        ("a", L.u32),
        L.member("inner", INNER, align=16),
        ("b", L.f32),
        L.member("small", SMALL, align=16, size=16),
        ("c", L.u32),
        L.member("ms", L.array(L.mat2x2(L.f32), 2), align=16),
    ],
)
TAILED = L.struct("Tailed", [("n", L.u32), ("items", L.array(INNER))])
HALF = L.struct(
    "Half",
    [
        ("h", L.f16),
        ("v", L.vec3(L.f16)),
        ("m", L.mat2x3(L.f16)),
        ("x", L.f32),
        ("hs", L.array(L.f16, 3)),
    ],
)


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


# -- GPU round trips (lavapipe here, an H100 through the device tool) ----------------------


@pytest.fixture(scope="module")
def gpu() -> Any:
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # before wgpu: Mesa's WSI probe needs it
    wgpu = pytest.importorskip("wgpu")
    adapter = wgpu.gpu.request_adapter_sync(power_preference="low-power")
    if adapter is None:
        pytest.skip("no wgpu adapter (lavapipe) on this machine")
    features = ["shader-f16"] if "shader-f16" in adapter.features else []
    device = adapter.request_device_sync(required_features=features)
    yield wgpu, device
    device.destroy()


@pytest.fixture
def gpu_f16(gpu: Any) -> Any:
    if "shader-f16" not in gpu[1].features:
        pytest.skip("the adapter lacks the shader-f16 feature")
    return gpu


def _run(gpu: Any, code: str, out_size: int, inputs: list[tuple[bytes, str]], n: int = 1) -> bytes:
    """Run ``main`` (n workgroups of 1); binding 0 is the output, then the inputs in order."""
    wgpu, device = gpu
    usage = wgpu.BufferUsage
    module = device.create_shader_module(code=code)
    pipeline = device.create_compute_pipeline(
        layout="auto", compute={"module": module, "entry_point": "main"}
    )
    padded = -(-out_size // 16) * 16
    out = device.create_buffer(size=padded, usage=usage.STORAGE | usage.COPY_SRC)
    buffers = [out]
    for data, space in inputs:
        kind = usage.UNIFORM if space == "uniform" else usage.STORAGE
        data = data.ljust(-(-len(data) // 16) * 16, b"\0")
        buffers.append(device.create_buffer_with_data(data=data, usage=kind | usage.COPY_DST))
    entries = [
        {"binding": i, "resource": {"buffer": b, "offset": 0, "size": b.size}}
        for i, b in enumerate(buffers)
    ]
    bind = device.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=entries)
    encoder = device.create_command_encoder()
    cpass = encoder.begin_compute_pass()
    cpass.set_pipeline(pipeline)
    cpass.set_bind_group(0, bind)
    cpass.dispatch_workgroups(n, 1, 1)
    cpass.end()
    device.queue.submit([encoder.finish()])
    return bytes(device.queue.read_buffer(out))[:out_size]


def _leaves(t: L.WgslType, expr: str) -> list[tuple[str, L.Scalar]]:
    """Every scalar of a fixed-size t as (WGSL reference, scalar), in logical C order."""
    if isinstance(t, L.Scalar):
        return [(expr, t)]
    if isinstance(t, L.Vector):
        return [(f"{expr}[{j}]", t.component) for j in range(t.n)]
    if isinstance(t, L.Matrix):
        return [(f"{expr}[{c}][{r}]", t.component) for c in range(t.columns) for r in range(t.rows)]
    if isinstance(t, L.Array):
        return [leaf for i in range(t.count) for leaf in _leaves(t.element, f"{expr}[{i}]")]
    return [leaf for m in t.members for leaf in _leaves(m.type, f"{expr}.{m.name}")]


def _value(s: L.Scalar, i: int, k: int) -> float:
    """The known value of leaf k of element i (exact in every scalar type)."""
    return {
        "u32": i * 1000 + 3 * k + 1,
        "i32": -(i * 1000 + 3 * k + 1),
        "f32": (i * 1000 + k) * 0.5 + 0.25,
        "f16": (i * 64 + k) * 0.5 + 0.25,
    }[s.name]


def _wgsl_value(s: L.Scalar, k: int) -> str:
    """_value as a WGSL expression of the u32 `i`."""
    return {
        "u32": f"i * 1000u + {3 * k + 1}u",
        "i32": f"-i32(i * 1000u + {3 * k + 1}u)",
        "f32": f"f32(i * 1000u + {k}u) * 0.5 + 0.25",
        "f16": f"f16(i * 64u + {k}u) * 0.5h + 0.25h",
    }[s.name]


def _stack(items: list[Any]) -> Any:
    if isinstance(items[0], dict):
        return {key: _stack([item[key] for item in items]) for key in items[0]}
    return np.stack(items)


def _expected(t: L.WgslType, i: int) -> Any:
    """The value whose leaves are _value(i, 0), _value(i, 1), ... : ndarrays and dicts."""
    k = itertools.count()

    def build(t: L.WgslType) -> Any:
        if isinstance(t, L.Struct):
            return {m.name: build(m.type) for m in t.members}
        if isinstance(t, L.Array):
            return _stack([build(t.element) for _ in range(t.count)])
        leaves = _leaves(t, "")
        flat = [_value(s, i, next(k)) for _, s in leaves]
        shape = (t.n,) if isinstance(t, L.Vector) else ()
        shape = (t.columns, t.rows) if isinstance(t, L.Matrix) else shape
        return np.array(flat, leaves[0][1].dtype).reshape(shape)

    return build(t)


def _assert_same(got: Any, want: Any) -> None:
    """Compare unpacked records with expected dicts; a vec3 padding lane must read 0."""
    if isinstance(want, dict):
        for key in want:
            _assert_same(got[key], want[key])
        return
    if got.shape[-1:] == (4,) and want.shape[-1:] == (3,):
        assert not got[..., 3].any(), "padding lane written"
        got = got[..., :3]
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


def _head(t: L.Struct) -> L.Struct:
    """The members of a runtime-sized struct before its runtime array, as a struct."""
    return L.struct(t.name, [(m.name, m.type) for m in t.members[:-1]])


def _expected_runtime(t: L.WgslType, n: int) -> Any:
    if isinstance(t, L.Array):
        return _stack([_expected(t.element, i) for i in range(n)])
    tail = t.members[-1]
    return {**_expected(_head(t), 0), tail.name: _expected_runtime(tail.type, n)}


def _write_shader(t: L.WgslType) -> str:
    """A shader whose invocation i writes _value(i, k) into element i of out (0 when fixed)."""
    if isinstance(t, L.Array) and t.count is None:
        body = _assignments(t.element, "out[i]")
    elif isinstance(t, L.Struct) and t.runtime_sized:
        tail = t.members[-1]
        body = f"if i == 0u {{ {_assignments(_head(t), 'out')} }}\n"
        body += _assignments(tail.type.element, f"out.{tail.name}[i]")
    else:
        body = _assignments(t, "out")
    return (
        L.declarations(t)
        + L.binding(0, 0, "out", t, access="read_write")
        + "\n@compute @workgroup_size(1)\nfn main(@builtin(workgroup_id) wid: vec3<u32>) {\n"
        + f"let i = wid.x;\n{body}\n}}\n"
    )


def _assignments(t: L.WgslType, base: str) -> str:
    return "\n".join(f"{base}{e} = {_wgsl_value(s, k)};" for k, (e, s) in enumerate(_leaves(t, "")))


def _flat(value: Any, t: L.WgslType) -> list[float]:
    """Leaves of an expected value in _leaves order, as Python floats."""
    if isinstance(t, L.Struct):
        return [x for m in t.members for x in _flat(value[m.name], m.type)]
    if isinstance(t, L.Array) and isinstance(value, dict):  # an array of structs
        n = len(next(iter(value.values())))
        pick = [_pick(value, j) for j in range(n)]
        return [x for item in pick for x in _flat(item, t.element)]
    return np.asarray(value, np.float64).ravel().tolist()


def _pick(value: Any, j: int) -> Any:
    return {k: _pick(v, j) for k, v in value.items()} if isinstance(value, dict) else value[j]


def _read_shader(t: L.WgslType, space: str, count: int | None) -> tuple[str, int]:
    """A shader copying every leaf of src (as f32) to out[k]; returns (code, leaf count)."""
    if t.runtime_sized:
        tail = t if isinstance(t, L.Array) else t.members[-1].type
        fixed = L.array(tail.element, count)
        if isinstance(t, L.Struct):
            leaves = _leaves(_head(t), "") + _leaves(fixed, f".{t.members[-1].name}")
        else:
            leaves = _leaves(fixed, "")
    else:
        leaves = _leaves(t, "")
    body = "\n".join(f"out[{k}] = f32(src{e});" for k, (e, _) in enumerate(leaves))
    code = (
        L.declarations(t)
        + L.binding(0, 0, "out", L.array(L.f32), access="read_write")
        + "\n"
        + L.binding(0, 1, "src", t, space)  # type: ignore[arg-type]
        + f"\n@compute @workgroup_size(1)\nfn main() {{\n{body}\n}}\n"
    )
    return code, len(leaves)


FAMILIES = (
    [(s, True) for s in (L.u32, L.i32, L.f32)]
    + [(L.vec(n, s), True) for n in (2, 3, 4) for s in (L.u32, L.i32, L.f32)]
    + [(L.mat(c, r, L.f32), True) for c in (2, 3, 4) for r in (2, 3, 4)]
    + [
        (L.array(L.u32, 5), False),
        (L.array(L.vec2(L.f32), 3), False),
        (L.array(L.vec3(L.f32), 4), True),
        (L.array(L.mat3x3(L.f32), 2), True),
        (L.array(L.mat2x2(L.f32), 3), True),
        (L.array(L.array(L.vec3(L.i32), 2), 3), True),
        (INNER, True),
        (OUTER, True),
        (PADDED, True),
        (L.array(OUTER, 2), True),
    ]
)
RUNTIME = [L.array(OUTER), L.array(L.vec3(L.u32)), TAILED]
HALVES = [
    (L.f16, True),
    (L.vec2(L.f16), True),
    (L.vec3(L.f16), True),
    (L.vec4(L.f16), True),
    (L.mat3x3(L.f16), True),
    (L.mat2x3(L.f16), True),
    (L.mat4x2(L.f16), True),
    (L.array(L.vec3(L.f16), 3), False),
    (HALF, False),
]


def _ids(case: Any) -> str:
    t = case[0] if isinstance(case, tuple) else case
    return t.wgsl


def _gpu_writes_and_host_reads(gpu: Any, t: L.WgslType, n: int | None = None) -> None:
    want = _expected(t, 0) if n is None else _expected_runtime(t, n)
    data = _run(gpu, _write_shader(t), L.byte_size(t, n), [], n or 1)
    assert data == L.pack(t, want)  # exact bytes, padding included
    _assert_same(L.unpack(t, data), want)


def _host_writes_and_gpu_reads(gpu: Any, t: L.WgslType, space: str, n: int | None = None) -> None:
    want = _expected(t, 0) if n is None else _expected_runtime(t, n)
    code, leaves = _read_shader(t, space, n)
    got = _run(gpu, code, 4 * leaves, [(L.pack(t, want, space), space)])  # type: ignore[arg-type]
    assert np.frombuffer(got, "<f4").tolist() == _flat(want, t)


@pytest.mark.parametrize("case", FAMILIES, ids=_ids)
def test_gpu_writes_host_unpacks(gpu, case):
    _gpu_writes_and_host_reads(gpu, case[0])


def _host_writes_and_gpu_reads_both_spaces(gpu: Any, t: L.WgslType, uniform_ok: bool) -> None:
    """Storage always; uniform where its 16-byte stride rule allows t, else the refusal."""
    _host_writes_and_gpu_reads(gpu, t, "storage")
    if uniform_ok:
        _host_writes_and_gpu_reads(gpu, t, "uniform")
    else:
        with pytest.raises(KernelError, match="not a multiple of 16 in the uniform"):
            L.check(t, "uniform")


@pytest.mark.parametrize("case", FAMILIES, ids=_ids)
def test_host_packs_gpu_reads_storage_and_uniform(gpu, case):
    _host_writes_and_gpu_reads_both_spaces(gpu, *case)


@pytest.mark.parametrize("t", RUNTIME, ids=_ids)
def test_runtime_sized_round_trips(gpu, t):
    _gpu_writes_and_host_reads(gpu, t, 3)
    _host_writes_and_gpu_reads(gpu, t, "storage", 3)


@pytest.mark.parametrize("case", HALVES, ids=_ids)
def test_f16_round_trips(gpu_f16, case):
    _gpu_writes_and_host_reads(gpu_f16, case[0])
    _host_writes_and_gpu_reads_both_spaces(gpu_f16, *case)


NAGA_CASES = [  # (type, whether our uniform check accepts it): naga must agree
    (L.array(L.u32, 4), False),
    (L.struct("N1", [("a", L.u32), ("inner", INNER), ("b", L.u32)]), False),
    (L.struct("N2", [("a", L.u32), L.member("inner", INNER, align=16), ("b", L.u32)]), True),
    (L.struct("H1", [("s", SMALL), ("b", L.u32)]), False),
    (L.struct("H2", [L.member("s", SMALL, size=16), ("b", L.u32)]), True),
    (L.struct("M1", [("a", L.u32), ("ms", L.array(L.mat2x2(L.f32), 2))]), False),
    (L.struct("M2", [("a", L.u32), L.member("ms", L.array(L.mat2x2(L.f32), 2), align=16)]), True),
    (OUTER, True),
    (PADDED, True),
]


@pytest.mark.parametrize("case", NAGA_CASES, ids=_ids)
def test_uniform_check_agrees_with_naga(gpu, case):
    wgpu, device = gpu
    t, ok = case
    code = L.declarations(t) + f"@group(0) @binding(0) var<uniform> u: {t.wgsl};\n"
    code += "@compute @workgroup_size(1)\nfn main() { _ = u; }\n"
    if ok:
        L.check(t, "uniform")
        device.create_shader_module(code=code)
    else:
        with pytest.raises(KernelError):
            L.check(t, "uniform")
        with pytest.raises(wgpu.GPUValidationError, match="Alignment requirements"):
            device.create_shader_module(code=code)
