"""Built-in kernels on the real adapter (lavapipe on CPU machines) against their numpy oracles."""

import numpy as np
import pytest

from shardy.errors import KernelError
from shardy.kernels import Kernel, registry
from workers.gpu import GPU, list_adapters


@pytest.fixture(scope="module")
def gpu():
    return GPU()


SIZES = [0, 1, 3, 4, 5, 63, 64, 65, 1000, 65_537]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize(
    "name, params",
    [("histogram", {}), ("sha256", {}), ("sha256", {"block": 55}), ("sha256", {"block": 64})],
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
