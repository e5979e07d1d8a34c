"""Shipped kernels without a cluster: size rules, layouts as data, the kernel's canonical form
and hash, and running both examples on the GPU (lavapipe) against numpy."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from examples_support import example

import shardy
from shardy import layout as L
from shardy.errors import KernelError
from shardy.kernels import rules
from shardy.kernels.catalog import Catalog
from shardy.kernels.shipped import MAX_SPEC_BYTES, WgslKernel
from shardy.layout.serial import from_data, to_data
from shardy.messages import ReplicaOrder


@pytest.fixture(scope="module")
def gpu():
    from shardy.workers.gpu import GPU

    return GPU()


def run(gpu, spec: WgslKernel, inputs: dict, params: dict) -> np.ndarray:
    kernel = spec.as_kernel()
    resolved = spec.resolve_params(params)
    payload = spec.pack(inputs, resolved)
    plan = kernel.make_plan(len(payload), resolved, 0)
    return spec.unpack_output(bytes(gpu.run(kernel, payload, plan, params=resolved)), resolved)


# ---- rules ---------------------------------------------------------------------------------


def test_rules_evaluate_integers_only():
    assert rules.evaluate("ceil_div(n, 64) * 2 + min(m, 3) - -1", {"n": 130, "m": 5}) == 10
    assert rules.evaluate("m * k // 4 % 7 + max(m, k)", {"m": 8, "k": 12}) == 24 % 7 + 12
    assert rules.names("ceil_div(n, wg) + m") == {"n", "wg", "m"}


@pytest.mark.parametrize(
    "rule",
    ["n ** 2", "__import__('os')", "n.real", "1.5", "f(n)", "n if n else 1", "[n][0]",
     "min(n)", "ceil_div(n, 0)", "n // (n - n)", "n" + " * n" * 40, "x" * 300, ""],
)  # fmt: skip
def test_rules_refuse_anything_else(rule):
    with pytest.raises(KernelError):
        rules.evaluate(rule, {"n": 1 << 20})


def test_rules_need_integer_params():
    with pytest.raises(KernelError, match="must be an integer"):
        rules.evaluate("n * 2", {"n": 2.5})
    with pytest.raises(KernelError, match="must be an integer"):
        rules.evaluate("n * 2", {"n": True})


# ---- layouts as data -----------------------------------------------------------------------

Inner = L.struct("Inner", [("a", L.vec3(L.f32)), L.member("b", L.u32, align=16)])
TYPES = [
    L.u32, L.i32, L.f32, L.f16, L.vec2(L.f16), L.vec3(L.i32), L.vec4(L.u32), L.mat3x3(L.f32),
    L.mat2x4(L.f16), L.array(L.vec3(L.f32), 5), L.array(L.u32), Inner,
    L.struct("Outer", [("i", L.array(Inner, 2)), L.member("m", L.mat4x2(L.f32), size=64),
                       ("tail", L.array(L.f32))]),
]  # fmt: skip


@pytest.mark.parametrize("t", TYPES, ids=lambda t: t.wgsl)
def test_layout_data_round_trips(t):
    data = json.loads(json.dumps(to_data(t)))
    back = from_data(data)
    assert back == t and back.wgsl == t.wgsl and back.align == t.align
    assert L.byte_size(back, 3 if t.runtime_sized else None) == L.byte_size(
        t, 3 if t.runtime_sized else None
    )


@pytest.mark.parametrize(
    "data",
    ["bool", 7, None, {"vec": 5, "of": "f32"}, {"vec": 3, "of": {"vec": 2, "of": "f32"}},
     {"mat": [3], "of": "f32"}, {"array": "u32", "count": 0}, {"array": "u32", "count": True},
     {"array": {"array": "u32", "count": None}, "count": 2}, {"struct": "S", "members": []},
     {"struct": "fn", "members": [{"name": "a", "type": "u32", "align": None, "size": None}]},
     {"struct": "S", "members": [{"name": "a", "type": "u32"}]}, {"vec": 3, "of": "f32", "x": 1},
     {"array": {"array": {"array": {"array": {"array": {"array": {"array": {"array": {"array": {
         "array": "u32", "count": 1}, "count": 1}, "count": 1}, "count": 1}, "count": 1},
         "count": 1}, "count": 1}, "count": 1}, "count": 1}, "count": 1}],
)  # fmt: skip
def test_layout_data_refuses_malformed(data):
    with pytest.raises(KernelError):
        from_data(data)


# ---- the kernel as data --------------------------------------------------------------------


def test_examples_have_stable_hashes_and_round_trip():
    for spec in (example("particles").STEP, example("int8_gemm").GEMM):
        again = WgslKernel.from_json(spec.to_json(), expect_hash=spec.hash)
        assert again == spec and again.name == spec.name == f"wgsl-{spec.hash}"
        assert again.wgsl() == spec.wgsl()


def test_a_changed_kernel_has_another_hash():
    gemm = example("int8_gemm").GEMM
    data = json.loads(gemm.to_json())
    data["source"] = data["source"].replace("acc + ", "acc + 1 + ")
    changed = WgslKernel.from_json(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    assert changed.hash != gemm.hash
    data = json.loads(gemm.to_json())
    data["workgroup_size"] = [8, 8, 1]
    assert WgslKernel.from_json(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
                                ).hash != gemm.hash  # fmt: skip


def test_shipped_bytes_are_checked_before_they_are_parsed():
    gemm = example("int8_gemm").GEMM
    with pytest.raises(KernelError, match="do not hash"):
        WgslKernel.from_json(gemm.to_json(), expect_hash="0" * 64)
    with pytest.raises(KernelError, match="canonical"):
        WgslKernel.from_json(json.dumps(json.loads(gemm.to_json()), indent=1).encode())
    with pytest.raises(KernelError, match="exceeds"):
        WgslKernel.from_json(b" " * (MAX_SPEC_BYTES + 1))
    with pytest.raises(KernelError, match="not JSON"):
        WgslKernel.from_json(b"\xff{")
    with pytest.raises(KernelError, match="kernel description"):
        WgslKernel.from_json(b'{"format": "shardy.kernel/1"}')
    # a catalog refuses bytes that are not the named kernel's
    cat = Catalog(lambda digest: gemm.to_json())
    other = example("particles").STEP
    with pytest.raises(KernelError, match="do not hash"):
        cat.get(other.name)
    assert cat.get(gemm.name).spec == gemm


def _spec(**kw) -> WgslKernel:
    base = dict(source="@compute @workgroup_size(WG_X) fn main() {}",
                inputs=[shardy.Buffer("x", L.array(L.u32), count="n")],
                output=shardy.Buffer("y", L.array(L.u32), count="n"), grid=["n"],
                params={"n": 1})  # fmt: skip
    return WgslKernel(**{**base, **kw})


@pytest.mark.parametrize(
    "kw, match",
    [({"inputs": [shardy.Buffer("x", L.array(L.u32))]}, "count rule"),
     ({"inputs": [shardy.Buffer("x", L.u32, count="n")]}, "count rule"),
     ({"grid": ["m"]}, "not integer params"), ({"params": {"n": 1.5}}, "not integer params"),
     ({"params": {"n": True}}, "int or finite float"), ({"workgroup_size": (512, 1, 1)}, "limits"),
     ({"workgroup_size": (16, 16, 2)}, "limits"), ({"grid": []}, "1 to 3"),
     ({"output": shardy.Buffer("x", L.array(L.u32), count="n")}, "taken"),
     ({"uniforms": L.struct("P", [("dt", L.f32)])}, "not params"),
     ({"uniforms": L.struct("P", [("n", L.array(L.u32, 3))])}, "uniform"),
     ({"determinism": shardy.Determinism("tolerance", 1e-3, 0)}, "f32"),
     ({"entry": "fn"}, "entry"), ({"inputs": []}, "inputs"), ({"source": " "}, "source")],
)  # fmt: skip
def test_invalid_kernels_are_refused_when_made(kw, match):
    with pytest.raises(KernelError, match=match):
        _spec(**kw)


def test_packing_checks_inputs_against_their_rules():
    gemm = example("int8_gemm").GEMM
    params = {"m": 2, "n": 2, "k": 4}
    a = np.zeros((2, 4), np.int8)
    with pytest.raises(KernelError, match="count rule"):
        gemm.pack({"a_packed": a.view("<u4").reshape(-1), "bt_packed": np.zeros(3, "<u4")}, params)
    with pytest.raises(KernelError, match="takes inputs"):
        gemm.pack({"a_packed": a.view("<u4").reshape(-1)}, params)
    with pytest.raises(KernelError, match="no parameter"):
        gemm.resolve_params({"q": 1})
    with pytest.raises(KernelError, match="must be int"):
        gemm.resolve_params({"m": 1.0})
    payload = gemm.pack(example("int8_gemm").inputs(a, a.T.copy()), params)
    assert len(payload) == 256 + 8  # the second input starts at a 256-byte offset
    with pytest.raises(KernelError, match="expects a payload"):
        gemm.plan(len(payload) + 4, gemm.resolve_params(params), 0)


def test_orders_carry_a_shipped_kernel_inline():
    from shardy.blobs import BlobRef

    gemm = example("int8_gemm").GEMM
    order = ReplicaOrder("t", 0, 1, gemm.name, 0, 16, {}, BlobRef("0" * 64, 3, b"abc"), "k",
                         kernel_spec=gemm.to_json())  # fmt: skip
    back = ReplicaOrder.decode(order.encode())
    assert back.kernel_spec == gemm.to_json() and back.payload.inline == b"abc"
    plain = ReplicaOrder.decode(order.__class__(**{**order.__dict__, "kernel_spec": None}).encode())
    assert plain.kernel_spec is None and plain.payload.inline == b"abc"


# ---- on the GPU ----------------------------------------------------------------------------


def test_particle_step_matches_numpy(gpu):
    ex = example("particles")
    particles = ex.make(1000, seed=3)
    out = run(gpu, ex.STEP, {"particles": particles}, {"n": 1000, "dt": 0.02, "gravity": 3.0})
    got = np.concatenate([out["pos"][:, :3], out["vel"][:, :3]], axis=1)
    assert np.allclose(got, ex.reference(particles, 0.02, 3.0), atol=1e-5)


@pytest.mark.parametrize("m, n, k", [(1, 1, 4), (33, 17, 64), (64, 48, 128)])
def test_int8_gemm_matches_numpy(gpu, m, n, k):
    ex = example("int8_gemm")
    rng = np.random.default_rng(m)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    out = run(gpu, ex.GEMM, ex.inputs(a, b), {"m": m, "n": n, "k": k})
    assert np.array_equal(out.reshape(m, n), a.astype(np.int32) @ b.astype(np.int32))


BAD_SOURCES = {
    "malformed WGSL": "@compute @workgroup_size(WG_X) fn main( {",
    "a binding declared again": "@group(0) @binding(0) var<storage, read> x: array<f32>;\n"
    "@compute @workgroup_size(WG_X) fn main() {}",
    "a binding the layout lacks": "@group(0) @binding(7) var<storage, read> z: array<u32>;\n"
    "@compute @workgroup_size(WG_X) fn main() { y[0] = z[0]; }",
    "a layout mismatch": "@compute @workgroup_size(WG_X) fn main() { y[0] = x[0].pos; }",
    "a wrong binding type": "@compute @workgroup_size(WG_X) fn main() { y[0] = 1.5; }",
    "no entry point": "fn helper() {}",
}


@pytest.mark.parametrize("what", BAD_SOURCES)
def test_bad_shaders_give_kernel_errors_and_the_gpu_serves_on(gpu, what):
    spec = _spec(source=BAD_SOURCES[what])
    with pytest.raises(KernelError, match="WGSL does not compile"):
        run(gpu, spec, {"x": np.arange(4, dtype="<u4")}, {"n": 4})
    ex = example("int8_gemm")
    a = np.ones((2, 4), np.int8)
    out = run(gpu, ex.GEMM, ex.inputs(a, a.T.copy()), {"m": 2, "n": 2, "k": 4})
    assert out.tolist() == [4, 4, 4, 4]


def test_oversized_dispatches_are_refused():
    spec = _spec(grid=["n * 1000"])
    with pytest.raises(KernelError, match="workgroups"):
        spec.plan(4 * 70_000, spec.resolve_params({"n": 70_000}), 0)


# ---- hardening after an adversarial review -------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [({"source": "@compute @workgroup_size(1) fn main() {}\0 not WGSL"}, "NUL"),
     ({"source": "@compute @workgroup_size(1) fn main() {} // \ud800"}, "UTF-8"),
     ({"label": "x\x1b[31m"}, "label"), ({"grid": "nn"}, "list or tuple"),
     ({"grid": [None]}, "list of 1 to 3 rules"), ({"params": None}, "map names"),
     ({"inputs": 5}, "list or tuple"), ({"params": {"n": float("nan")}}, "finite"),
     ({"determinism": shardy.Determinism("exact", float("nan"), 0.0)}, "finite"),
     ({"uniforms": L.struct("P", [L.member("n", L.u32, size=(1 << 31) - 16)])}, "65536"),
     ({"uniforms": L.struct("P", [("n", L.array(L.vec4(L.u32), (1 << 31) - 1))])}, "65536")],
)  # fmt: skip
def test_hostile_descriptions_are_refused_cheaply(kw, match):
    with pytest.raises(KernelError, match=match):
        _spec(**kw)


@pytest.mark.parametrize(
    "mutate",
    [lambda d: d["determinism"].update(atol=10**400), lambda d: d.update(grid=[["n"]]),
     lambda d: d.update(params=[1]), lambda d: d.update(workgroup_size="abc"),
     lambda d: d["inputs"].append({"name": 1, "type": "u32", "count": None})],
)  # fmt: skip
def test_malformed_json_fields_give_kernel_errors(mutate):
    data = json.loads(_spec().to_json())
    mutate(data)
    with pytest.raises(KernelError):
        WgslKernel.from_json(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(KernelError):
        WgslKernel.from_json(b"[" * 100_000 + b"]" * 100_000)


def test_rules_take_decimal_integers_only():
    for rule in ("0xff", "1_0", "n \\\n+ 1", "1e3"):
        with pytest.raises(KernelError, match="decimal integers"):
            rules.evaluate(rule, {"n": 1})


def test_params_must_survive_the_order_frame():
    spec = _spec(params={"n": 1, "x": 1.0})
    for bad in ({"x": float("inf")}, {"n": 2**64}):
        with pytest.raises(KernelError, match="finite|64 bits"):
            spec.resolve_params(bad)
    with pytest.raises(KernelError, match="64 bits"):
        shardy.kernels.registry.get("sha256").resolve_params({"block": 2**70})


def test_a_runtime_struct_binding_must_be_a_multiple_of_its_alignment():
    s = L.struct("S", [("h", L.vec4(L.f32)), ("data", L.array(L.u32))])
    spec = _spec(output=shardy.Buffer("out", s, count="n"))
    with pytest.raises(KernelError, match="alignment 16"):
        spec.plan(4, spec.resolve_params({"n": 1}), 0)
    assert spec.plan(16, spec.resolve_params({"n": 4}), 0).output_len == 32


def test_packing_refuses_huge_inputs_before_allocating():
    with pytest.raises(KernelError, match="4 GiB"):
        _spec().pack({"x": np.arange(4, dtype="<u4")}, {"n": 2**40})


def test_an_unseen_kernel_is_compiled_in_a_child_first():
    """naga's parser recurses: a deeply nested expression kills the process that compiles it.
    The probe's child dies instead, and the kernel is refused with a KernelError."""
    from shardy.workers import typed

    body = "@compute @workgroup_size(WG_X) fn main() { y[0] = x[0]; }"
    typed.probe(_spec(source=body).as_kernel(), None, 60)
    deep = "fn f() -> u32 { return " + "(" * 4000 + "1u" + ")" * 4000 + "; }\n" + body
    with pytest.raises(KernelError, match="crashed"):
        typed.probe(_spec(source=deep).as_kernel(), None, 60)
    bad = "@compute @workgroup_size(WG_X) fn main() { y[0] = x[0].pos; }"
    with pytest.raises(KernelError, match="does not compile"):
        typed.probe(_spec(source=bad).as_kernel(), None, 60)
    slow = "const C = array(" + ",".join(["1u"] * 8000) + ");\n" + body.replace("x[0]", "C[x[0]]")
    with pytest.raises(KernelError, match="took more than"):
        typed.probe(_spec(source=slow).as_kernel(), None, 1)


def test_replicas_waiting_for_the_gpu_get_their_own_time_limit():
    """Two honest replicas of ``a`` seconds each share one engine whose limit is ~1.25 a: the
    second waits for the first and ends after ~2 a, past the limit, yet neither is given up
    (each dispatch had its own limit) nor is the GPU declared wedged."""
    import hashlib
    import threading

    from shardy.blobs import BlobRef
    from shardy.config import Settings
    from shardy.workers.engine import Engine, _run

    source = """
@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    var s = id.x;
    for (var i = 0u; i < params.iters; i++) { s = s * 1664525u + x[i & 3u]; }
    if (id.x < arrayLength(&y)) { y[id.x] = s; }
}"""
    spec = _spec(source=source, uniforms=L.struct("P", [("iters", L.u32)]),
                 params={"n": 4, "iters": 1}, workgroup_size=(1, 1, 1))  # fmt: skip
    settings = Settings(home=Path("/tmp/shy-engine-test"), task_time_limit=60, attest_batch=1)
    engine = Engine(settings, 1, None, None)
    wedges: list[int] = []
    engine.on_wedged = lambda: wedges.append(1)

    def order(n: int, iters: int) -> tuple[ReplicaOrder, bytes]:
        p = spec.resolve_params({"n": n, "iters": iters})
        payload = spec.pack({"x": np.arange(n, dtype="<u4")}, p)
        ref = BlobRef(hashlib.sha256(payload).hexdigest(), len(payload), payload)
        return ReplicaOrder("t", 0, 1, spec.name, 0, 4 * n, p, ref, "k",
                            kernel_spec=spec.to_json()), payload  # fmt: skip

    def run_one(n: int, iters: int = 1) -> float:
        o, payload = order(n, iters)
        t0 = time.perf_counter()
        engine.bounded(lambda: _run(engine, o, payload, lambda b: "", lambda *a: None),
                       o.summary(), shipped=True)  # fmt: skip
        return time.perf_counter() - t0

    run_one(4)  # probe and compile
    n = 4
    iters = 65535  # lavapipe stops an invocation's loops there: grow n first, then iters
    while (alone := run_one(n, iters)) < 1.5:  # size a replica at 1.5 to 3 s on this machine
        n, iters = (n * 2, iters) if n < 32768 else (n, iters * 2)
    limit = math.ceil(alone * 1.25)
    assert 2 * alone > limit  # together they outlast the limit
    engine.settings = dataclasses.replace(settings, task_time_limit=limit)
    results: dict[str, object] = {}

    def go(name: str) -> None:
        try:
            results[name] = run_one(n, iters)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[name] = exc

    threads = [threading.Thread(target=go, args=(name,)) for name in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(v, float) for v in results.values()), results
    assert not engine.wedged and not wedges
