"""Preprocessors: known answers on every backend, and the errors bad calls get."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shardy.config import Settings
from shardy.errors import PreprocessError
from shardy.workers.preprocess import PREPROCESSORS, Preprocessor
from shardy.workers.preprocess.reference import permutation, splitmix64

BACKENDS = {
    "wasm": Preprocessor(use_wasm=True, fuel=10**9, max_memory=8 << 20),
    "numpy": Preprocessor(use_wasm=False, max_memory=8 << 20),
    "python": Preprocessor(use_wasm=False, fallback="python", max_memory=8 << 20),
}


@pytest.fixture(params=list(BACKENDS))
def pre(request: pytest.FixtureRequest) -> Preprocessor:
    return BACKENDS[request.param]


def f32s(*values: float) -> bytes:
    return np.array(values, dtype="<f4").tobytes()


def test_backends_are_what_they_say() -> None:
    assert [b.backend for b in BACKENDS.values()] == ["wasm", "numpy", "python"]
    assert PREPROCESSORS == ("chunks", "tiles", "decode", "ema", "quantize")


def test_chunks_overlap_offset_and_pad(pre: Preprocessor) -> None:
    out = pre.run("chunks", b"abcdefg", {"size": 3, "stride": 2, "offset": 1, "pad": ord(".")})
    assert out == b"bcd" + b"def" + b"fg."


def test_chunks_align_to_items(pre: Preprocessor) -> None:
    params = {"size": 2, "itemsize": 2, "pad": 0xEE}
    assert pre.run("chunks", b"AaBbCc", params) == b"AaBb" + b"Cc\xee\xee"
    assert pre.run("chunks", b"AaBbCc", {**params, "count": 1}) == b"AaBb"
    assert pre.run("chunks", b"AaBbCc", {**params, "offset": 3}) == b""
    assert pre.run("chunks", b"", params) == b""


def test_chunks_shuffle_is_a_seeded_permutation(pre: Preprocessor) -> None:
    data = bytes(range(10))
    out = pre.run("chunks", data, {"size": 1, "shuffle": 1}, seed=0)
    assert list(out) == permutation(10, 0) == [6, 3, 2, 9, 8, 1, 4, 7, 0, 5]
    assert pre.run("chunks", data, {"size": 1, "shuffle": 1}, seed=1) != out
    assert pre.run("chunks", data, {"size": 1, "shuffle": 1, "count": 3}, seed=0) == out[:3]
    assert pre.run("chunks", data, {"size": 1}, seed=7) == data  # seed unused without shuffle


def test_splitmix64_matches_the_published_sequence() -> None:
    draws = splitmix64(0)
    assert [next(draws) for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


IMG = bytes(range(16))  # 4×4, one byte per pixel


def test_tiles_constant_halo(pre: Preprocessor) -> None:
    out = pre.run("tiles", IMG, {"width": 4, "height": 4, "tile_w": 2, "halo": 1, "pad": 99})
    assert len(out) == 4 * 16
    first = np.frombuffer(out[:16], np.uint8).reshape(4, 4)
    assert first.tolist() == [[99] * 4, [99, 0, 1, 2], [99, 4, 5, 6], [99, 8, 9, 10]]
    last = np.frombuffer(out[48:], np.uint8).reshape(4, 4)
    assert last.tolist() == [[5, 6, 7, 99], [9, 10, 11, 99], [13, 14, 15, 99], [99] * 4]


def test_tiles_edge_mode_and_ragged_grid(pre: Preprocessor) -> None:
    params = {"width": 4, "height": 4, "tile_w": 3, "tile_h": 4, "halo": 1, "mode": "edge"}
    out = pre.run("tiles", IMG, params)
    assert len(out) == 2 * 6 * 5
    second = np.frombuffer(out[30:], np.uint8).reshape(6, 5)
    assert second.tolist() == [
        [2, 3, 3, 3, 3],
        [2, 3, 3, 3, 3],
        [6, 7, 7, 7, 7],
        [10, 11, 11, 11, 11],
        [14, 15, 15, 15, 15],
        [14, 15, 15, 15, 15],
    ]


def test_tiles_multibyte_pixels_and_shuffle(pre: Preprocessor) -> None:
    rgb = bytes(range(2 * 2 * 3))
    params = {"width": 2, "height": 2, "channels": 3, "tile_w": 1, "shuffle": 1}
    out = pre.run("tiles", rgb, params, seed=5)
    order = permutation(4, 5)
    assert out == b"".join(rgb[3 * t : 3 * t + 3] for t in order)


@pytest.mark.parametrize("mode", ["constant", "edge"])
def test_tiles_big_halo_on_a_long_image_agrees(mode: str) -> None:
    # The padded image would be far larger than the output: numpy gathers tile by tile.
    column = bytes(i % 251 for i in range(5000))
    params = {"width": 1, "height": 5000, "tile_w": 1, "halo": 50, "mode": mode, "pad": 7}
    params.update(count=3, shuffle=1)
    outs = [b.run("tiles", column, params, seed=9) for b in BACKENDS.values()]
    assert outs[0] == outs[1] == outs[2] and len(outs[0]) == 3 * 101 * 101
    t = permutation(5000, 9)[0]
    ys = [min(max(t + d, 0), 4999) for d in range(-50, 51)]
    first = np.frombuffer(outs[0][: 101 * 101], np.uint8).reshape(101, 101)
    if mode == "edge":
        assert first.tolist() == [[column[y]] * 101 for y in ys]
    else:
        assert first[:, 50].tolist() == [
            column[t + d] if 0 <= t + d < 5000 else 7 for d in range(-50, 51)
        ]
        assert set(first[:, :50].ravel().tolist()) == {7}


def test_decode_normalises(pre: Preprocessor) -> None:
    out = pre.run("decode", bytes([0, 51, 255]), {"scale": 1 / 255})
    assert np.frombuffer(out, "<f4").tolist() == [0.0, np.float32(51) * np.float32(1 / 255), 1.0]
    i16 = struct.pack("<3h", -32768, -1, 32767)
    out = pre.run("decode", i16, {"dtype": "i16", "scale": 2.0, "bias": -1.0})
    assert np.frombuffer(out, "<f4").tolist() == [-65537.0, -3.0, 65533.0]
    u32 = struct.pack("<I", 2**32 - 1)
    assert pre.run("decode", u32, {"dtype": "u32"}) == struct.pack("<f", 2.0**32)
    assert pre.run("decode", b"", {"dtype": "i32"}) == b""
    assert (
        pre.run("decode", b"\x02", None) == pre.run("decode", b"\x02", {}) == struct.pack("<f", 2)
    )


def test_decode_rounds_each_step_to_f32_without_fma(pre: Preprocessor) -> None:
    # x·s rounds to 1 exactly; a fused x·s − 1 would keep the tiny product error instead.
    x, s = 3, struct.unpack("<f", struct.pack("<f", 1 / 3))[0]
    out = pre.run("decode", bytes([x]), {"scale": s, "bias": -1.0})
    assert out == struct.pack("<f", 0.0)


def test_quantize_rounds_half_to_even_and_saturates(pre: Preprocessor) -> None:
    data = f32s(0.5, 1.5, 2.5, -0.5, -1.5, 126.6, 1e30, -math.inf, math.nan)
    out = pre.run("quantize", data, {"dtype": "i8"})
    assert list(np.frombuffer(out, "<i1")) == [0, 2, 2, 0, -2, 127, 127, -128, 0]
    out = pre.run("quantize", data, {"dtype": "u8", "zero_point": 128, "scale": 2.0})
    assert list(np.frombuffer(out, "<u1")) == [129, 131, 133, 127, 125, 255, 255, 0, 128]
    q4 = pre.run("quantize", f32s(1.03125, -0.5), {"dtype": "i16", "scale": 16})
    assert list(np.frombuffer(q4, "<i2")) == [16, -8]  # 16.5 → 16 (half to even)
    big = pre.run("quantize", f32s(5e9, -1.0), {"dtype": "u32"})
    assert list(np.frombuffer(big, "<u4")) == [2**32 - 1, 0]


def test_ema_fixed_point(pre: Preprocessor) -> None:
    out = pre.run("ema", bytes([0, 255, 255]), {"alpha": 0.5, "frac_bits": 0})
    # Y1 = (32768·255 + 32768·0 + 32768) >> 16 = 128; Y2 = (32768·255 + 32768·128 + 32768) >> 16
    assert list(np.frombuffer(out, "<i4")) == [0, 128, 192]
    assert pre.run("ema", bytes([7, 9]), {"alpha": 1.0, "frac_bits": 4}) == struct.pack(
        "<2i", 7 << 4, 9 << 4
    )
    neg = pre.run("ema", struct.pack("<2h", -3, 5), {"alpha": 0.0, "dtype": "i16"})
    assert list(np.frombuffer(neg, "<i4")) == [-3 << 8, -3 << 8]


def test_ema_channels_are_independent(pre: Preprocessor) -> None:
    series = np.arange(40, dtype=np.uint8)
    stereo = np.stack([series, 255 - series], axis=1).tobytes()
    out = np.frombuffer(pre.run("ema", stereo, {"alpha": 0.25, "channels": 2}), "<i4")
    left = np.frombuffer(pre.run("ema", series.tobytes(), {"alpha": 0.25}), "<i4")
    right = np.frombuffer(pre.run("ema", (255 - series).tobytes(), {"alpha": 0.25}), "<i4")
    assert out[0::2].tolist() == left.tolist() and out[1::2].tolist() == right.tolist()


def test_wide_ema_uses_the_vectorised_path_and_agrees() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(-32768, 32767, size=(50, 64), dtype="<i2").tobytes()
    params = {"alpha": 0.1, "channels": 64, "dtype": "i16", "frac_bits": 15}
    outs = {name: b.run("ema", data, params) for name, b in BACKENDS.items()}
    assert outs["wasm"] == outs["numpy"] == outs["python"]


def test_accepts_any_contiguous_buffer(pre: Preprocessor) -> None:
    arr = np.arange(12, dtype="<u2")
    out = pre.run("decode", memoryview(arr), {"dtype": "u16"})
    assert out == pre.run("decode", arr.tobytes(), {"dtype": "u16"})
    assert pre.run("chunks", bytearray(b"xyz"), {"size": 2}) == b"xyz\x00"


@pytest.mark.parametrize(
    ("name", "data", "params", "seed", "message"),
    [
        ("nope", b"", {}, 0, "unknown preprocessor 'nope'; use one of chunks, tiles"),
        ("chunks", b"ab", {}, 0, "missing required param 'size'"),
        ("chunks", b"ab", {"size": 1, "sise": 2}, 0, r"unknown param\(s\) \['sise'\]"),
        ("chunks", b"ab", {"size": 0}, 0, r"'size'=0 is out of range; use a value in \[1,"),
        ("chunks", b"ab", {"size": 1.0}, 0, "'size' must be an int"),
        ("chunks", b"ab", {"size": True}, 0, "'size' must be an int"),
        ("chunks", b"ab", {"size": 2**32}, 0, "out of range"),
        ("chunks", b"abc", {"size": 1, "itemsize": 2}, 0, "not a whole number of 2-byte"),
        ("chunks", b"ab", {"size": 1}, -1, r"seed must be an int in \[0, 2\*\*64\)"),
        ("chunks", b"ab", {"size": 1}, 2**64, "seed must be"),
        ("chunks", b"abcd", {"size": 2**31, "itemsize": 4}, 0, "needs .* bytes of working"),
        ("chunks", b"ab", {"size": 1, "shuffle": 2}, 0, "'shuffle'=2 is out of range"),
        ("tiles", b"ab", {"width": 2**20, "height": 2**20, "tile_w": 1}, 0, "payload is 2 bytes"),
        ("tiles", IMG, {"width": 4, "height": 4, "tile_w": 1, "halo": 2**30}, 0, "working mem"),
        ("tiles", IMG, {"width": 4, "height": 4, "tile_w": 2, "mode": "wrap"}, 0, "not one of"),
        ("decode", b"abc", {"dtype": "u16"}, 0, "not a whole number of u16 items"),
        ("decode", b"ab", {"dtype": "f16"}, 0, "'dtype'='f16' is not one of"),
        ("decode", b"ab", {"scale": math.inf}, 0, "'scale' must be a finite number"),
        ("decode", b"ab", {"scale": 1e39}, 0, "does not fit in f32"),
        ("decode", b"ab", {"bias": "1"}, 0, "'bias' must be a finite number"),
        ("quantize", b"abc", {}, 0, "not a whole number of f32 items"),
        ("quantize", b"", {"dtype": "u8", "zero_point": 256}, 0, "'zero_point'=256 is out"),
        ("ema", b"ab", {}, 0, "missing required param 'alpha'"),
        ("ema", b"ab", {"alpha": 1.5}, 0, r"'alpha'=1.5 must lie in \[0, 1\]"),
        ("ema", b"ab", {"alpha": 0.5, "dtype": "i32"}, 0, "'dtype'='i32' is not one of"),
        ("ema", b"ab", {"alpha": 0.5, "frac_bits": 24}, 0, r"use a value in \[0, 23\]"),
        ("ema", b"abc", {"alpha": 0.5, "channels": 2}, 0, "2-channel u8 samples"),
        ("ema", b"ab", ["alpha"], 0, "params must be a mapping"),
    ],
)
def test_bad_calls_raise_the_same_clear_error_everywhere(
    pre: Preprocessor, name: str, data: bytes, params: dict, seed: int, message: str
) -> None:
    with pytest.raises(PreprocessError, match=message):
        pre.run(name, data, params, seed)


def test_non_contiguous_data_is_refused(pre: Preprocessor) -> None:
    strided = memoryview(np.arange(8, dtype=np.uint8)[::2])
    with pytest.raises(PreprocessError, match="C-contiguous"):
        pre.run("chunks", strided, {"size": 1})


def test_limits_are_checked_at_construction() -> None:
    with pytest.raises(PreprocessError, match="max_memory must lie"):
        Preprocessor(use_wasm=False, max_memory=2**40)
    with pytest.raises(PreprocessError, match="fuel must be"):
        Preprocessor(fuel=0)
    with pytest.raises(PreprocessError, match="fallback must be"):
        Preprocessor(fallback="rust")


def test_wasm_fuel_limit_applies_to_real_preprocessors() -> None:
    starved = Preprocessor(use_wasm=True, fuel=10_000)
    with pytest.raises(PreprocessError, match="'decode' ran out of fuel"):
        starved.run("decode", bytes(100_000), {})


def test_shardy_wasm_switch() -> None:
    assert Settings.from_env({}).wasm and Settings.from_env({"SHARDY_WASM": "on"}).wasm
    for off in ("off", "OFF", "0", "false", "no"):
        assert not Settings.from_env({"SHARDY_WASM": off}).wasm


def test_falls_back_to_numpy_when_wasmtime_is_missing() -> None:
    # A child interpreter where `import wasmtime` fails, as on a box without the wheel.
    code = (
        "import sys; sys.modules['wasmtime'] = None\n"
        "from shardy.workers.preprocess import Preprocessor\n"
        "p = Preprocessor(use_wasm=True)\n"
        "print(p.backend, p.run('chunks', b'abc', {'size': 2}).hex())\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split() == ["numpy", b"abc\x00".hex()]
    assert "wasmtime unavailable" in done.stderr
