"""shardy.layout on a GPU: what the host packs the shader reads, and what it writes the host
unpacks (lavapipe here, an H100 through the device tool), for the layouts of test_layout."""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import pytest
from layout_cases import HALF, INNER, OUTER, PADDED, SMALL, TAILED

from shardy import layout as L
from shardy.errors import KernelError

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
