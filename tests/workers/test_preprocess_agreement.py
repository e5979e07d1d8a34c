"""Property tests: wasm, numpy and pure Python agree bit for bit, errors included."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shardy.errors import PreprocessError
from shardy.workers.preprocess import Preprocessor, fallback
from shardy.workers.preprocess.plans import BOUNDS, DTYPES, EMA_DTYPES, plan
from shardy.workers.preprocess.reference import permutation

MAX_MEMORY = 4 << 20
BACKENDS = (
    Preprocessor(use_wasm=True, fuel=10**9, max_memory=MAX_MEMORY),
    Preprocessor(use_wasm=False, max_memory=MAX_MEMORY),
    Preprocessor(use_wasm=False, fallback="python", max_memory=MAX_MEMORY),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 2**64 - 1)
bytes_ = st.integers(0, 255)
f32_floats = st.floats(allow_nan=False, allow_infinity=False, width=32)
# Mostly f32-representable, sometimes beyond f32 range, sometimes ints.
scales = st.one_of(
    f32_floats, f32_floats, f32_floats, st.floats(allow_nan=False), st.integers(-(2**40), 2**40)
)


def rarely(common: st.SearchStrategy[int], rare: int) -> st.SearchStrategy[int]:
    """``common``, replaced by ``rare`` about one time in ten."""
    # Hypothesis favours boundary values, so the trigger is an interior one.
    return st.tuples(common, st.integers(0, 9)).map(lambda t: rare if t[1] == 7 else t[0])


def outcome(name: str, data: bytes, params: Mapping, seed: int) -> list[tuple[str, object]]:
    """Each backend's result: ("ok", bytes) or ("error", message)."""
    results: list[tuple[str, object]] = []
    for backend in BACKENDS:
        try:
            results.append(("ok", backend.run(name, data, params, seed)))
        except PreprocessError as exc:
            results.append(("error", str(exc)))
    return results


def assert_agree(name: str, data: bytes, params: Mapping, seed: int = 0) -> None:
    wasm, numpy, python = outcome(name, data, params, seed)
    assert wasm == numpy == python, (name, params, seed, wasm, numpy, python)


@SETTINGS
@given(
    items=st.integers(0, 150),
    extra=rarely(st.just(0), 1),
    itemsize=st.integers(1, 5),
    size=rarely(st.integers(1, 40), 2**31),
    stride=st.one_of(st.none(), st.integers(1, 40)),
    offset=st.integers(0, 60),
    pad=bytes_,
    count=st.integers(0, 12),
    shuffle=st.integers(0, 1),
    seed=seeds,
)
@example(items=0, extra=0, itemsize=1, size=1, stride=None, offset=0, pad=0, count=0, shuffle=1,
         seed=0)  # fmt: skip
def test_chunks(items, extra, itemsize, size, stride, offset, pad, count, shuffle, seed) -> None:
    data = bytes((i * 37 + seed) % 251 for i in range(items * itemsize + extra))
    params = {"size": size, "itemsize": itemsize, "offset": offset, "pad": pad}
    params.update(count=count, shuffle=shuffle)
    if stride is not None:
        params["stride"] = stride
    assert_agree("chunks", data, params, seed)


@SETTINGS
@given(st.data())
def test_tiles(draw) -> None:
    w, h = draw.draw(st.integers(1, 12)), draw.draw(st.integers(1, 12))
    channels, itemsize = draw.draw(st.integers(1, 3)), draw.draw(st.integers(1, 2))
    n = w * h * channels * itemsize
    n = draw.draw(st.sampled_from([n] * 8 + [n - 1, n + 1]))
    params = {
        "width": w,
        "height": h,
        "channels": channels,
        "itemsize": itemsize,
        "tile_w": draw.draw(st.integers(1, 8)),
        "halo": draw.draw(rarely(st.integers(0, 6), 300)),
        "mode": draw.draw(st.sampled_from(["constant", "edge"])),
        "pad": draw.draw(bytes_),
        "count": draw.draw(st.integers(0, 5)),
        "shuffle": draw.draw(st.integers(0, 1)),
    }
    if draw.draw(st.booleans()):
        params["tile_h"] = draw.draw(st.integers(1, 8))
    payload = draw.draw(st.binary(min_size=max(n, 0), max_size=max(n, 0)))
    assert_agree("tiles", payload, params, draw.draw(seeds))


@SETTINGS
@given(
    items=st.integers(0, 100),
    extra=rarely(st.just(0), 1),
    dtype=st.sampled_from(list(DTYPES)),
    scale=scales,
    bias=scales,
    raw=st.randoms(use_true_random=False),
)
@example(items=2, extra=0, dtype="u32", scale=1.0, bias=0.0, raw=None)
@example(items=1, extra=0, dtype="i32", scale=-1.0, bias=0.5, raw=None)
@example(items=1, extra=0, dtype="u16", scale=3.4e38, bias=3.4e38, raw=None)
@example(items=1, extra=0, dtype="u8", scale=1e-45, bias=0.0, raw=None)
def test_decode(items, extra, dtype, scale, bias, raw) -> None:
    n = items * DTYPES[dtype][1] + extra
    data = raw.randbytes(n) if raw is not None else b"\xff" * n  # None: all-ones items
    assert_agree("decode", data, {"dtype": dtype, "scale": scale, "bias": bias})


@SETTINGS
@given(st.data())
@example(draw=None)
def test_quantize(draw) -> None:
    if draw is None:  # specials: NaNs with payloads, ±inf, ±0, subnormals, ties
        specials = b"\x01\x00\xc0\x7f\x00\x00\x80\xff\x00\x00\x00\x80\x01\x00\x00\x00"
        assert_agree("quantize", specials + b"\x00\x00\x20\x40", {"dtype": "i8"})
        return
    dtype = draw.draw(st.sampled_from(list(DTYPES)))
    lo, hi = BOUNDS[dtype]
    # Raw bytes cover NaN payloads, infinities and subnormals; floats cover ties and ranges.
    floats = st.lists(st.floats(width=32, allow_nan=True), max_size=60)
    values = draw.draw(st.one_of(st.binary(max_size=240), floats))
    if isinstance(values, list):
        values = np.array(values, dtype="<f4").tobytes()
    params = {
        "dtype": dtype,
        "scale": draw.draw(scales),
        "zero_point": draw.draw(st.one_of(st.integers(lo, hi), st.integers(lo - 2, hi + 2))),
    }
    assert_agree("quantize", values, params)


@SETTINGS
@given(st.data())
def test_ema(draw) -> None:
    dtype = draw.draw(st.sampled_from(list(EMA_DTYPES)))
    isz = DTYPES[dtype][1]
    channels = draw.draw(st.one_of(st.integers(1, 4), st.just(33)))
    params = {
        "dtype": dtype,
        "channels": channels,
        "alpha": draw.draw(st.one_of(st.floats(0, 1), st.sampled_from([0, 1, 0.5, 1.01]))),
        "frac_bits": draw.draw(rarely(st.integers(0, 31 - 8 * isz), 32 - 8 * isz)),
    }
    samples = draw.draw(st.integers(0, 40)) * channels + draw.draw(rarely(st.just(0), 1))
    data = draw.draw(st.binary(min_size=samples * isz, max_size=samples * isz))
    assert_agree("ema", data, params)


@SETTINGS
@given(
    name=st.sampled_from(["chunks", "tiles", "decode", "ema", "quantize", "resize", ""]),
    params=st.dictionaries(
        st.sampled_from(["size", "width", "height", "tile_w", "alpha", "dtype", "bogus"]),
        st.one_of(st.integers(-5, 2**33), st.floats(), st.text(max_size=3), st.booleans()),
        max_size=4,
    ),
    data=st.binary(max_size=64),
    seed=st.integers(-2, 2**64 + 1),
)
def test_arbitrary_calls_agree_and_only_raise_preprocess_error(name, params, data, seed) -> None:
    assert_agree(name, data, params, seed)


@SETTINGS
@given(
    w=st.integers(1, 9),
    h=st.integers(1, 9),
    px=st.integers(1, 3),
    tile_w=st.integers(1, 5),
    tile_h=st.integers(1, 5),
    halo=st.integers(0, 7),
    mode=st.sampled_from(["constant", "edge"]),
    seed=seeds,
)
def test_tiles_gather_path_matches_pad_path(w, h, px, tile_w, tile_h, halo, mode, seed) -> None:
    # numpy gathers tile by tile when padding the whole image would cost too much memory.
    params = {"width": w, "height": h, "channels": px, "tile_w": tile_w, "tile_h": tile_h}
    params.update(halo=halo, mode=mode, pad=3, shuffle=1)
    data = bytes(range(w * h * px))  # at most 243 bytes
    pl = plan("tiles", len(data), params, seed, MAX_MEMORY)
    img = np.frombuffer(data, np.uint8).reshape(h, w, px)
    order = np.asarray(permutation(pl.p["nx"] * pl.p["ny"], seed))
    assert fallback._tiles_by_index(img, pl.p, order) == fallback.tiles(pl, data)
