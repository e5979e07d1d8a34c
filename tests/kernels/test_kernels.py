"""The library kernels on the real adapter (lavapipe on CPU machines) against their numpy
oracles: exact kernels bit for bit, matmul_f32 within its declared tolerance of float64."""

import numpy as np
import pytest

from shardy.errors import KernelError
from shardy.kernels import Chunking, Plan, Registry, groups_for, register_wgsl, registry, uniforms
from shardy.kernels.conv2d_u8 import FILTERS
from shardy.workers.gpu import GPU


@pytest.fixture(scope="module")
def gpu():
    return GPU()


def _check(gpu, name, payload, params, seed=0):
    k = registry.get(name)
    plan = k.make_plan(len(payload), params, seed)
    out = gpu.run_array(k, payload, plan)
    ref = k.reference(payload, k.resolve_params(params), seed)
    if k.determinism.mode == "exact":
        assert out.tobytes() == np.ascontiguousarray(ref).astype(out.dtype).tobytes()
    else:
        d = k.determinism
        np.testing.assert_allclose(out, ref, atol=d.atol, rtol=d.rtol)
    return out


@pytest.mark.parametrize(
    "samples, offset, seed",
    [(1, 0, 0), (255, 0, 1), (257, 9, 2**40 + 3), (100_000, 2**32 - 100_000, 7), (1 << 20, 0, 9)],
)
def test_montecarlo_pi_counts_hits_exactly(gpu, samples, offset, seed):
    hits = _check(gpu, "montecarlo_pi", b"", {"samples": samples, "offset": offset}, seed)
    if samples >= 1 << 20:
        assert abs(4 * int(hits[0]) / samples - np.pi) < 0.01


def test_montecarlo_pi_counts_compose_over_offsets(gpu):
    k = registry.get("montecarlo_pi")
    parts = [
        int(gpu.run_array(k, b"", k.make_plan(0, {"samples": 5000, "offset": o}, 4))[0])
        for o in (0, 5000)
    ]
    assert sum(parts) == int(k.reference(b"", {"samples": 10_000, "offset": 0}, 4)[0])


# shapes for each path of the shader: byte (width % 4 != 0), word (width % 4 == 0) and vec4
# (width % 16 == 0; an odd or even number of vec4s per row), with odd and even heights
@pytest.mark.parametrize(
    "shape",
    [
        (1, 1), (3, 5), (67, 53), (1, 4), (2, 12), (37, 36),
        (1, 16), (5, 48), (8, 32), (9, 16), (19, 32), (128, 256),
    ],
)  # fmt: skip
@pytest.mark.parametrize("filt", sorted(FILTERS))
def test_conv2d_u8_is_bit_identical(gpu, shape, filt):
    h, w = shape
    img = np.random.default_rng(h * w).integers(0, 256, shape, dtype=np.uint8)
    _check(gpu, "conv2d_u8", img.tobytes(), {"width": w, "height": h, "filter": filt})


@pytest.mark.parametrize("w", [33, 36, 48])  # byte, word and vec4 paths
def test_conv2d_u8_custom_weights(gpu, w):
    img = np.random.default_rng(0).integers(0, 256, (40, w), dtype=np.uint8)
    params = {"width": w, "height": 40, "weights": [1, -2, 3, -4, 5, -6, 7, -8, 9]}
    _check(gpu, "conv2d_u8", img.tobytes(), {**params, "mul": 3, "shift": 2})
    _check(gpu, "conv2d_u8", img.tobytes(), {**params, "abs": 1, "shift": 3})
    _check(gpu, "conv2d_u8", img.tobytes(), {**params, "weights": [-128, 127] * 4 + [-128]})


@pytest.mark.parametrize("w", [33, 36, 64])
def test_conv2d_u8_extreme_images(gpu, w):
    # all-0, all-255 and checkerboard images reach the extreme sums of each filter, so both
    # ends of the final clamp (and the exact bias arithmetic around it) are exercised
    h = 11
    checker = (np.indices((h, w)).sum(axis=0) % 2 * 255).astype(np.uint8)
    for img in (np.zeros((h, w), np.uint8), np.full((h, w), 255, np.uint8), checker):
        for filt in sorted(FILTERS):
            _check(gpu, "conv2d_u8", img.tobytes(), {"width": w, "height": h, "filter": filt})
        params = {"width": w, "height": h, "weights": [9, -8, 7, -6, 5, -4, 3, -2, 1]}
        _check(gpu, "conv2d_u8", img.tobytes(), {**params, "mul": 3, "shift": 2})
        _check(gpu, "conv2d_u8", img.tobytes(), {**params, "abs": 1, "shift": 5})


@pytest.mark.parametrize("w", [33, 36, 64])
def test_conv2d_u8_at_the_range_limit(gpu, w):
    # the largest mul the plan accepts for the widest weights: the shader folds 128*sum(w)*mul
    # into the rounding constant without abs, so its i32 sums run near 2**31 here
    weights = [127, -128] * 4 + [127]
    shift = 16
    mul = (2**31 - (1 << shift) - 1) // (255 * sum(abs(x) for x in weights))
    checker = (np.indices((9, w)).sum(axis=0) % 2 * 255).astype(np.uint8)
    noise = np.random.default_rng(w).integers(0, 256, (9, w), dtype=np.uint8)
    for img in (checker, noise, np.full((9, w), 255, np.uint8)):
        for use_abs in (0, 1):
            params = {"width": w, "height": 9, "weights": weights, "mul": mul, "shift": shift}
            _check(gpu, "conv2d_u8", img.tobytes(), {**params, "abs": use_abs})
    with pytest.raises(KernelError, match="below 2"):
        registry.get("conv2d_u8").make_plan(9 * w, {**params, "mul": mul + 1}, 0)


@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (3, 130, 7), (130, 70, 33), (200, 129, 300)])
def test_matmul_f32_is_within_tolerance_of_float64(gpu, m, n, k):
    ab = np.random.default_rng(m + n + k).uniform(-1, 1, m * k + k * n).astype("<f4")
    _check(gpu, "matmul_f32", ab.tobytes(), {"m": m, "n": n, "k": k})


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"width": 61, "height": 37, "x0": -0.75, "y0": 0.1, "step": 1e-4, "max_iter": 400},
        {"width": 1, "height": 1, "x0": 2, "y0": 2, "step": 1, "max_iter": 5},
    ],
)
def test_mandelbrot_fixed_point_is_bit_identical(gpu, params):
    _check(gpu, "mandelbrot", b"", params)


@pytest.mark.parametrize(
    "name, n, params, message",
    [
        ("montecarlo_pi", 0, {"samples": 0}, "samples must be"),
        ("montecarlo_pi", 0, {"samples": 10, "offset": 2**32 - 5}, "offset must be"),
        ("conv2d_u8", 10, {"width": 3, "height": 3}, "needs a payload of 9 bytes"),
        ("conv2d_u8", 9, {"width": 3, "height": 3, "filter": "blur"}, "filter must be one of"),
        ("conv2d_u8", 9, {"width": 3, "height": 3, "weights": [1] * 8}, "9 integers"),
        (
            "conv2d_u8",
            9,
            {"width": 3, "height": 3, "weights": [127] * 9, "mul": 1 << 16},
            "2\\*\\*31",
        ),
        ("matmul_f32", 12, {"m": 1, "n": 1, "k": 2}, "need 16 bytes"),
        ("mandelbrot", 0, {"x0": -3.0}, "within \\[-2, 2\\]"),
        ("mandelbrot", 0, {"step": float("nan")}, "finite"),
    ],
)
def test_bad_params_are_refused_before_dispatch(name, n, params, message):
    with pytest.raises(KernelError, match=message):
        registry.get(name).make_plan(n, params, 0)


# ---- custom kernels -----------------------------------------------------------------------

XOR_SEED = """
struct Params { p: array<vec4<u32>, 4> }
@group(0) @binding(0) var<storage, read> payload: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < (params.p[0].x + 3u) / 4u) { out[gid.x] = payload[gid.x] ^ params.p[0].y; }
}
"""


def _xor_plan(n, params, seed):
    words = -(-n // 4)
    return Plan(4 * words, groups_for(words, 64), uniforms(n, seed), "uint32")


def _xor_reference(payload, params, seed):
    words = np.frombuffer(payload.ljust(-(-len(payload) // 4) * 4, b"\0"), dtype="<u4")
    return words ^ np.uint32(seed & 0xFFFFFFFF)


def test_register_wgsl_runs_a_custom_kernel(gpu):
    reg = Registry()
    k = register_wgsl(
        "xor_seed",
        XOR_SEED,
        plan=_xor_plan,
        reference=_xor_reference,
        chunking=Chunking("concat"),
        device=gpu,
        into=reg,
    )
    assert reg.get("xor_seed") is k
    payload = bytes(range(200)) * 3
    out = gpu.run_array(k, payload, k.make_plan(len(payload), {}, 0xDEADBEEF))
    assert np.array_equal(out, _xor_reference(payload, {}, 0xDEADBEEF))
    with pytest.raises(KernelError, match="already registered"):
        register_wgsl("xor_seed", XOR_SEED, plan=_xor_plan, into=reg)


def test_register_wgsl_refuses_invalid_wgsl_with_the_compiler_line():
    bad = XOR_SEED.replace("payload[gid.x] ^", "payload[gid.x] ^ missing ^")
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if "missing" in t)
    with pytest.raises(KernelError, match=rf"(?s)xor_bad.*wgsl:{line}:.*missing"):
        register_wgsl("xor_bad", bad, plan=_xor_plan, into=Registry())


def test_register_wgsl_refuses_shaders_that_break_the_binding_abi(gpu):
    read_only_out = XOR_SEED.replace("read_write> out", "read> out")
    with pytest.raises(KernelError, match="does not compile"):
        register_wgsl("xor_abi", read_only_out, plan=_xor_plan, device=gpu, into=Registry())
