"""A kernel that declares a preprocessor: WASM (and the numpy fallback) then WGSL, against an
oracle that recomputes the fixed-point EMA on its own."""

import numpy as np
import pytest

from shardy.errors import KernelError
from shardy.kernels import registry
from shardy.kernels.sha256 import ema_fixed_point
from shardy.workers.gpu import GPU
from shardy.workers.preprocess import Preprocessor


@pytest.fixture(scope="module")
def gpu():
    return GPU()


@pytest.mark.parametrize("use_wasm", [True, False])
@pytest.mark.parametrize(
    "n, params",
    [(0, {}), (1, {}), (999, {"alpha": 0.1, "block": 100}), (4096, {"dtype": "i16", "alpha": 1})],
)
def test_ema_sha256_runs_the_preprocessor_then_the_gpu(gpu, use_wasm, n, params):
    k = registry.get("ema_sha256")
    payload = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    pre = Preprocessor(use_wasm=use_wasm)
    assert pre.backend == ("wasm" if use_wasm else "numpy")
    smoothed = pre.run(k.preprocessor, payload, k.preprocess_args(params), 3)
    out = bytes(gpu.run(k, smoothed, k.make_plan(n, params, 3)))
    assert out == k.reference(payload, k.resolve_params(params), 3).tobytes()


def test_oracle_ema_is_the_textbook_recurrence_rounded():
    xs = np.array([0, 255, 255, 0, 10], dtype=np.uint8)
    ys = np.frombuffer(ema_fixed_point(xs, 0.5), dtype="<i4") / 256
    assert ys.tolist() == [0, 127.5, 191.25, 95.625, 52.8125]


@pytest.mark.parametrize(
    "n, params, message",
    [
        (4, {"alpha": 1.5}, "alpha must be"),
        (4, {"dtype": "f32"}, "dtype must be"),
        (3, {"dtype": "u16"}, "divisible by 2"),
    ],
)
def test_bad_ema_params_are_refused_before_dispatch(n, params, message):
    with pytest.raises(KernelError, match=message):
        registry.get("ema_sha256").make_plan(n, params, 0)
