"""Built-in kernels on the real adapter (lavapipe on CPU machines) against their numpy oracles."""

import tracemalloc

import numpy as np
import pytest

from shardy.errors import GPUError, KernelError, TransientError
from shardy.kernels import Kernel, registry
from shardy.workers.gpu import GPU, list_adapters
from shardy.workers.streaming import scratch_array, spool


@pytest.fixture(scope="module")
def gpu():
    return GPU()


SIZES = [0, 1, 3, 4, 5, 63, 64, 65, 1000, 65_537]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize(
    "name, params",
    [
        ("histogram", {}),
        ("sha256", {}),  # blocks start on 16 bytes: vec4 loads, word-built tails
        ("sha256", {"block": 55}),  # byte-built words
        ("sha256", {"block": 64}),
        ("sha256", {"block": 68}),  # blocks start on words: word loads
        ("sha256", {"block": 1000}),
    ],
)
def test_builtin_kernels_are_bit_identical_to_numpy(gpu, name, params, n):
    rng = np.random.default_rng(n)
    payload = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    k = registry.get(name)
    plan = k.make_plan(n, params, 9)
    out = bytes(gpu.run(k, payload, plan))
    assert out == k.reference(payload, k.resolve_params(params), 9).tobytes()


def test_pipelines_are_cached(gpu):
    k = registry.get("histogram")
    assert gpu.pipeline(k) is gpu.pipeline(k)


def test_invalid_wgsl_is_a_kernel_error_with_the_compiler_message(gpu):
    bad = Kernel(
        name="bad",
        shader="inline",
        plan=registry.get("histogram").plan,
        reference=registry.get("histogram").reference,
        source_override="@compute @workgroup_size(1) fn main() { let x: u32 = undefined_name; }",
    )
    with pytest.raises(KernelError, match="undefined_name|no definition"):
        gpu.run(bad, b"abcd", bad.make_plan(4, {}, 0))


def test_bad_params_and_unknown_kernels():
    with pytest.raises(KernelError, match="unknown kernel 'nope'.*histogram"):
        registry.get("nope")
    with pytest.raises(KernelError, match="no parameter"):
        registry.get("histogram").make_plan(4, {"block": 3}, 0)
    with pytest.raises(KernelError, match="block must be"):
        registry.get("sha256").make_plan(4, {"block": 0}, 0)


def test_adapters_are_listed():
    adapters = list_adapters()
    assert adapters and all(a.max_binding > 0 for a in adapters)


# ---- device layer: buffer pool, zero-copy, streaming, device loss ----------------------------


def _histogram(gpu, payload, **kw):
    k = registry.get("histogram")
    return gpu.run(k, payload, k.make_plan(len(payload), {}, 0), **kw)


def test_buffers_are_reused_across_tasks(gpu):
    payload = np.arange(10_000, dtype=np.uint8)
    _histogram(gpu, payload)
    before = (gpu.pool.stats.hits, gpu.pool.stats.misses)
    for _ in range(3):
        _histogram(gpu, payload[:9_000])  # a neighbouring size falls in the same size class
    assert gpu.pool.stats.misses == before[1]
    assert gpu.pool.stats.hits == before[0] + 3 * 4  # payload, output, uniforms, staging


def test_upload_and_readback_make_no_host_copies(gpu):
    payload = np.random.default_rng(1).integers(0, 256, 8 << 20, dtype=np.uint8)
    out = np.empty(256, dtype="<u4")
    _histogram(gpu, payload, out=out)  # compile and fill the pool first
    tracemalloc.start()
    try:
        result = _histogram(gpu, payload, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 10, f"{peak} bytes allocated for an {payload.nbytes}-byte payload"
    assert result.obj is out
    assert np.array_equal(out, np.bincount(payload, minlength=256))


def test_out_must_fit_the_plan(gpu):
    with pytest.raises(KernelError, match="writable C-contiguous buffer of 1024 bytes"):
        _histogram(gpu, b"abcd", out=bytearray(16))


@pytest.fixture(scope="module")
def small_gpu():
    return GPU(max_binding=4096)


@pytest.mark.parametrize(
    "name, params, n",
    [
        ("histogram", {}, 100_003),
        ("sha256", {}, 40_000),
        ("sha256", {"block": 1000}, 50_001),
        ("sha256", {"block": 64}, 4096 * 3),
    ],
)
def test_payloads_above_the_binding_limit_stream_in_chunks(small_gpu, name, params, n):
    k = registry.get(name)
    payload = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    plan = k.make_plan(n, params, 3)
    ref = k.reference(payload, k.resolve_params(params), 3).tobytes()
    assert bytes(small_gpu.run(k, payload, plan, params=params, seed=3)) == ref
    pieces = [payload[i : i + 7777] for i in range(0, n, 7777)]  # spooled through mmap scratch
    assert bytes(small_gpu.run_stream(k, pieces, plan, params=params)) == ref


@pytest.mark.parametrize(
    "w, h, params",
    [
        (100, 300, {"filter": "gaussian"}),  # bands of 38 rows, word path (width % 4 == 0)
        (64, 257, {"filter": "sobel_x"}),  # bands of 62 rows, vec4 path (width % 16 == 0)
        (96, 130, {"weights": [1, -2, 3, -4, 5, -6, 7, -8, 9], "mul": 3, "shift": 2, "abs": 1}),
        (1364, 9, {"filter": "laplacian"}),  # 3 rows fit: bands of a single row
        (7, 5000, {"filter": "box"}),  # byte path
    ],
)
def test_conv2d_u8_streams_in_row_bands_with_a_halo(gpu, small_gpu, w, h, params):
    k = registry.get("conv2d_u8")
    params = {"width": w, "height": h, **params}
    img = np.random.default_rng(w * h).integers(0, 256, w * h, dtype=np.uint8).tobytes()
    plan = k.make_plan(len(img), params, 5)
    assert len(img) > small_gpu.max_binding  # streamed in bands below, in one dispatch here
    whole = bytes(gpu.run(k, img, plan))
    assert whole == k.reference(img, k.resolve_params(params), 5).tobytes()
    assert bytes(small_gpu.run(k, img, plan, params=params, seed=5)) == whole
    pieces = [img[i : i + 3001] for i in range(0, len(img), 3001)]  # spooled through mmap scratch
    assert bytes(small_gpu.run_stream(k, pieces, plan, params=params, seed=5)) == whole


def test_conv2d_u8_rows_wider_than_the_binding_limit_are_refused(small_gpu):
    k = registry.get("conv2d_u8")
    params = {"width": 2048, "height": 8}
    with pytest.raises(KernelError, match="3 rows of 2048 bytes exceed the binding limit"):
        small_gpu.run(k, bytes(2048 * 8), k.make_plan(2048 * 8, params, 0), params=params)


def test_streaming_refuses_what_cannot_be_chunked(small_gpu):
    sha = registry.get("sha256")
    payload = bytes(20_000)
    with pytest.raises(KernelError, match="pass the task's params"):
        small_gpu.run(sha, payload, sha.make_plan(len(payload), {"block": 100}, 0))
    matmul = registry.get("matmul_f32")
    params = {"m": 40, "n": 40, "k": 40}
    with pytest.raises(KernelError, match="does not compose over chunks"):
        small_gpu.run(matmul, bytes(12_800), matmul.make_plan(12_800, params, 0), params=params)


def test_scratch_is_disk_backed(tmp_path):
    data = spool([b"ab", memoryview(b"cd"), np.arange(3, dtype=np.uint8)], tmp_path)
    assert bytes(data) == b"abcd\x00\x01\x02"
    arr = scratch_array(1 << 20, tmp_path)
    arr[-1] = 7
    assert arr.nbytes == 1 << 20 and arr[-1] == 7
    assert list(tmp_path.iterdir()) == []  # unlinked files: freed with the maps


def test_a_lost_device_is_a_retryable_error_and_is_recreated():
    gpu = GPU()
    payload = b"hello gpu"
    expected = bytes(_histogram(gpu, payload))
    gpu.device.destroy()
    with pytest.raises(GPUError, match="device was recreated") as info:
        _histogram(gpu, payload)
    assert isinstance(info.value, TransientError)
    assert gpu.resets == 1
    assert bytes(_histogram(gpu, payload)) == expected
