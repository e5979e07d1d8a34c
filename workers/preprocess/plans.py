"""Preprocessor params: validation, documentation, and the plan every backend executes."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shardy.errors import PreprocessError

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
#: Linear memory the module itself uses (stack, data) plus allocator rounding, in bytes.
WASM_RESERVE = 256 * 1024
#: Largest `max_memory` a wasm32 module can address.
WASM32_MEMORY = 2**32 - 65536

#: dtype name -> (wasm code, itemsize, array typecode, numpy little-endian dtype).
DTYPES: dict[str, tuple[int, int, str, str]] = {
    "u8": (0, 1, "B", "<u1"),
    "i8": (1, 1, "b", "<i1"),
    "u16": (2, 2, "H", "<u2"),
    "i16": (3, 2, "h", "<i2"),
    "u32": (4, 4, "I", "<u4"),
    "i32": (5, 4, "i", "<i4"),
}
#: Smallest and largest value of each integer dtype.
BOUNDS: dict[str, tuple[int, int]] = {
    "u8": (0, 255),
    "i8": (-128, 127),
    "u16": (0, 65535),
    "i16": (-32768, 32767),
    "u32": (0, U32_MAX),
    "i32": (-(2**31), 2**31 - 1),
}
EMA_DTYPES = ("u8", "i8", "u16", "i16")
TILE_MODES = ("constant", "edge")


@dataclass(frozen=True)
class Plan:
    """A validated call: the params every backend needs, and the sizes the host budgets for."""

    name: str
    in_len: int
    out_len: int
    scratch: int
    #: Arguments after (in_ptr, in_len, out_ptr, out_len) of the wasm export `name`.
    wasm_args: tuple[int, ...]
    #: Validated params (names as documented; floats already rounded to f32 where stated).
    p: Mapping[str, Any]


class _Params:
    """Reads one preprocessor's params, refusing unknown names and out-of-range values."""

    def __init__(self, name: str, params: Mapping[str, int | float | str]) -> None:
        if not isinstance(params, Mapping):
            raise PreprocessError(
                f"preprocessor {name!r}: params must be a mapping of name to int, float or str, "
                f"got {type(params).__name__}"
            )
        self.name, self.params, self.seen = name, params, set()

    def _get(self, key: str, default: Any) -> Any:
        self.seen.add(key)
        if key in self.params:
            return self.params[key]
        if default is None:
            raise PreprocessError(
                f"preprocessor {self.name!r}: missing required param {key!r}; "
                f"see help for {self.name!r} in docs/kernels.md#preprocessors"
            )
        return default

    def int(self, key: str, default: int | None = None, lo: int = 0, hi: int = U32_MAX) -> int:
        v = self._get(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise PreprocessError(
                f"preprocessor {self.name!r}: param {key!r} must be an int, got {v!r}"
            )
        if not lo <= v <= hi:
            raise PreprocessError(
                f"preprocessor {self.name!r}: param {key!r}={v} is out of range; "
                f"use a value in [{lo}, {hi}]"
            )
        return v

    def f32(self, key: str, default: float | None = None) -> tuple[float, int]:
        """A finite float rounded to f32: returns (value, f32 bits)."""
        v = self._get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise PreprocessError(
                f"preprocessor {self.name!r}: param {key!r} must be a finite number, got {v!r}"
            )
        try:
            packed = struct.pack("<f", v)
        except OverflowError:
            raise PreprocessError(
                f"preprocessor {self.name!r}: param {key!r}={v!r} does not fit in f32; "
                f"use a magnitude below 3.4e38"
            ) from None
        return struct.unpack("<f", packed)[0], struct.unpack("<I", packed)[0]

    def choice(self, key: str, default: str | None, choices: tuple[str, ...]) -> str:
        v = self._get(key, default)
        if v not in choices:
            raise PreprocessError(
                f"preprocessor {self.name!r}: param {key!r}={v!r} is not one of {choices}"
            )
        return v

    def done(self) -> None:
        unknown = sorted(set(self.params) - self.seen)
        if unknown:
            raise PreprocessError(
                f"preprocessor {self.name!r}: unknown param(s) {unknown}; "
                f"valid params are {sorted(self.seen)}"
            )


def _length_error(name: str, why: str) -> PreprocessError:
    return PreprocessError(f"preprocessor {name!r}: {why}")


def _kept(n: int, count: int) -> int:
    return n if count == 0 else min(n, count)


def chunks(in_len: int, params: Mapping[str, int | float | str], seed: int) -> Plan:
    """Aligned, possibly overlapping shards of an array, optionally in a seeded order.

    Params (lengths in items of ``itemsize`` bytes):
        size: items per shard (required, ≥ 1).
        stride: items between shard starts (default ``size``; below ``size`` shards overlap).
        offset: items skipped before the first shard (default 0).
        itemsize: bytes per item (default 1); the payload length must be a multiple of it.
        pad: byte 0..255 filling the tail of shards that run past the end (default 0).
        count: keep at most this many shards, 0 keeps all (default 0).
        shuffle: 1 emits shards in the seeded Fisher–Yates order (SplitMix64 of ``seed``),
            0 in natural order (default 0; the seed is then unused).

    Output: ``m`` shards of ``size·itemsize`` bytes back to back, where there are
    ``n = ceil((items − offset) / stride)`` shards (0 when ``offset ≥ items``) and
    ``m = min(n, count or n)``; shard ``k`` starts at item ``offset + order[k]·stride``.
    """
    r = _Params("chunks", params)
    size = r.int("size", None, lo=1)
    p = {
        "size": size,
        "stride": r.int("stride", size, lo=1),
        "offset": r.int("offset", 0),
        "itemsize": r.int("itemsize", 1, lo=1, hi=65536),
        "pad": r.int("pad", 0, hi=255),
        "count": r.int("count", 0),
        "shuffle": r.int("shuffle", 0, hi=1),
    }
    r.done()
    if in_len % p["itemsize"]:
        raise _length_error(
            "chunks",
            f"payload of {in_len} bytes is not a whole number of {p['itemsize']}-byte "
            "items; fix itemsize or the payload",
        )
    items = in_len // p["itemsize"]
    n = -(-(items - p["offset"]) // p["stride"]) if items > p["offset"] else 0
    m = _kept(n, p["count"])
    p.update(items=items, shards=n, kept=m, seed=seed)
    args = ("itemsize", "size", "stride", "offset", "pad", "count", "shuffle")
    return Plan(
        name="chunks",
        in_len=in_len,
        out_len=m * size * p["itemsize"],
        scratch=4 * n + 8 if p["shuffle"] and m else 0,
        wasm_args=(*(p[a] for a in args), seed),
        p=p,
    )


def tiles(in_len: int, params: Mapping[str, int | float | str], seed: int) -> Plan:
    """Tiles of a row-major image with a halo on every side, e.g. for a conv2d kernel.

    Params:
        width, height: image size in pixels (required, ≥ 1).
        channels: values per pixel (default 1); itemsize: bytes per value (default 1).
            The payload must be exactly ``width·height·channels·itemsize`` bytes.
        tile_w: tile width in pixels, halo excluded (required, ≥ 1).
        tile_h: tile height in pixels, halo excluded (default ``tile_w``).
        halo: extra pixels on each side of every tile (default 0; a 3×3 conv needs 1).
        mode: ``"constant"`` fills pixels outside the image with ``pad`` bytes,
            ``"edge"`` repeats the nearest edge pixel (default ``"constant"``).
        pad: byte 0..255 for ``mode="constant"`` (default 0).
        count: keep at most this many tiles, 0 keeps all (default 0).
        shuffle: 1 emits tiles in the seeded Fisher–Yates order, 0 row-major (default 0).

    Output: ``m`` tiles of ``(tile_h + 2·halo)·(tile_w + 2·halo)`` pixels each, row-major,
    back to back. The grid is ``ceil(height / tile_h) × ceil(width / tile_w)`` tiles numbered
    row-major; tiles on the right and bottom edges are padded by ``mode`` like the halo.
    """
    r = _Params("tiles", params)
    p: dict[str, Any] = {
        "width": r.int("width", None, lo=1),
        "height": r.int("height", None, lo=1),
        "channels": r.int("channels", 1, lo=1, hi=65536),
        "itemsize": r.int("itemsize", 1, lo=1, hi=65536),
    }
    tile_w = r.int("tile_w", None, lo=1)
    p.update(
        tile_w=tile_w,
        tile_h=r.int("tile_h", tile_w, lo=1),
        halo=r.int("halo", 0, hi=2**30),
        mode=r.choice("mode", "constant", TILE_MODES),
        pad=r.int("pad", 0, hi=255),
        count=r.int("count", 0),
        shuffle=r.int("shuffle", 0, hi=1),
    )
    r.done()
    pixel = p["channels"] * p["itemsize"]
    expected = p["width"] * p["height"] * pixel
    if in_len != expected:
        raise _length_error(
            "tiles",
            f"payload is {in_len} bytes but width·height·channels·itemsize = "
            f"{p['width']}·{p['height']}·{p['channels']}·{p['itemsize']} = {expected}; "
            "fix the image params or the payload",
        )
    nx = -(-p["width"] // tile_w)
    ny = -(-p["height"] // p["tile_h"])
    m = _kept(nx * ny, p["count"])
    tw2, th2 = tile_w + 2 * p["halo"], p["tile_h"] + 2 * p["halo"]
    p.update(pixel=pixel, nx=nx, ny=ny, kept=m, seed=seed)
    return Plan(
        name="tiles",
        in_len=in_len,
        out_len=m * tw2 * th2 * pixel,
        scratch=4 * nx * ny + 8 if p["shuffle"] else 0,
        wasm_args=(
            p["width"], p["height"], pixel, tile_w, p["tile_h"], p["halo"],
            TILE_MODES.index(p["mode"]), p["pad"], p["count"], p["shuffle"], seed,
        ),
        p=p,
    )  # fmt: skip


def decode(in_len: int, params: Mapping[str, int | float | str], seed: int) -> Plan:
    """Little-endian integers to normalised little-endian f32: ``y = f32(x)·scale + bias``.

    Params:
        dtype: ``"u8"``, ``"i8"``, ``"u16"``, ``"i16"``, ``"u32"`` or ``"i32"`` (default u8).
        scale: finite float, rounded to f32 (default 1.0; e.g. 1/255 maps u8 to [0, 1]).
        bias: finite float, rounded to f32 (default 0.0).

    Each step (conversion, product, sum) rounds to f32, nearest-even, with no fused
    multiply-add, so every backend gives the same bits. The seed is unused.
    """
    r = _Params("decode", params)
    dtype = r.choice("dtype", "u8", tuple(DTYPES))
    scale, scale_bits = r.f32("scale", 1.0)
    bias, bias_bits = r.f32("bias", 0.0)
    r.done()
    code, isz, _, _ = DTYPES[dtype]
    if in_len % isz:
        raise _length_error(
            "decode",
            f"payload of {in_len} bytes is not a whole number of {dtype} items",
        )
    p = {"dtype": dtype, "scale": scale, "bias": bias}
    return Plan("decode", in_len, in_len // isz * 4, 0, (code, scale_bits, bias_bits), p)


def quantize(in_len: int, params: Mapping[str, int | float | str], seed: int) -> Plan:
    """Little-endian f32 to fixed point: ``q = clamp(round_half_even(f32(x·scale)) + zero_point)``.

    Params:
        dtype: output integer type, as for decode (default ``"i8"``), written little-endian.
        scale: finite float, rounded to f32 (default 1.0; use ``2**n`` for Qm.n fixed point).
        zero_point: int within the dtype's range (default 0).

    NaN becomes ``zero_point``; values beyond the range (±inf included) saturate. The seed is
    unused.
    """
    r = _Params("quantize", params)
    dtype = r.choice("dtype", "i8", tuple(DTYPES))
    scale, scale_bits = r.f32("scale", 1.0)
    lo, hi = BOUNDS[dtype]
    zero_point = r.int("zero_point", 0, lo=lo, hi=hi)
    r.done()
    code, isz, _, _ = DTYPES[dtype]
    if in_len % 4:
        raise _length_error(
            "quantize",
            f"payload of {in_len} bytes is not a whole number of f32 items",
        )
    p = {"dtype": dtype, "scale": scale, "zero_point": zero_point}
    return Plan("quantize", in_len, in_len // 4 * isz, 0, (code, scale_bits, zero_point), p)


def ema(in_len: int, params: Mapping[str, int | float | str], seed: int) -> Plan:
    """Exponential moving average ``y_t = α·x_t + (1 − α)·y_{t−1}`` in fixed point, per channel.

    Params:
        alpha: smoothing factor in [0, 1] (required); used as ``A = round(alpha·2**16)``
            (half to even).
        dtype: ``"u8"``, ``"i8"``, ``"u16"`` or ``"i16"`` little-endian samples (default u8).
        channels: interleaved channels smoothed independently (default 1); the sample count
            must be a multiple of it.
        frac_bits: fractional bits F of the output (default 8; at most 31 − 8·itemsize).

    With ``X_t = x_t·2**F``: ``Y_0 = X_0`` and
    ``Y_t = (A·X_t + (2**16 − A)·Y_{t−1} + 2**15) >> 16`` (floor shift), written as
    little-endian i32 in Q(F). Integer arithmetic only, so every platform gets the same bits.
    The seed is unused.
    """
    r = _Params("ema", params)
    alpha, _ = r.f32("alpha", None)
    dtype = r.choice("dtype", "u8", EMA_DTYPES)
    channels = r.int("channels", 1, lo=1)
    _, isz, _, _ = DTYPES[dtype]
    frac_bits = r.int("frac_bits", 8, hi=31 - 8 * isz)
    r.done()
    raw = params["alpha"]
    if not 0.0 <= raw <= 1.0:
        raise PreprocessError(f"preprocessor 'ema': param 'alpha'={raw!r} must lie in [0, 1]")
    a_q16 = round(raw * 65536)
    if in_len % isz or (in_len // isz) % channels:
        raise _length_error(
            "ema",
            f"payload of {in_len} bytes is not a whole number of {channels}-channel "
            f"{dtype} samples; fix channels/dtype or the payload",
        )
    p = {"dtype": dtype, "channels": channels, "alpha_q16": a_q16, "frac_bits": frac_bits}
    args = (DTYPES[dtype][0], channels, a_q16, frac_bits)
    return Plan("ema", in_len, in_len // isz * 4, 0, args, p)


_PLANNERS: dict[str, Callable[[int, Mapping[str, int | float | str], int], Plan]] = {
    "chunks": chunks,
    "tiles": tiles,
    "decode": decode,
    "ema": ema,
    "quantize": quantize,
}
#: Names accepted by `plan` (and `Preprocessor.run`).
PREPROCESSORS: tuple[str, ...] = tuple(_PLANNERS)


def plan(
    name: str,
    in_len: int,
    params: Mapping[str, int | float | str],
    seed: int,
    max_memory: int,
) -> Plan:
    """Validate a call and size it against ``max_memory`` (the same check for every backend).

    Raises:
        PreprocessError: unknown name, bad params or seed, a payload length the params do not
            fit, or a call needing more than ``max_memory`` bytes of working memory.
    """
    planner = _PLANNERS.get(name) if isinstance(name, str) else None
    if planner is None:
        raise PreprocessError(
            f"unknown preprocessor {name!r}; use one of {', '.join(PREPROCESSORS)}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= U64_MAX:
        raise PreprocessError(
            f"preprocessor {name!r}: seed must be an int in [0, 2**64), got {seed!r}"
        )
    pl = planner(in_len, params, seed)
    need = WASM_RESERVE + pl.in_len + pl.out_len + pl.scratch
    if need > max_memory:
        raise PreprocessError(
            f"preprocessor {name!r}: needs {need} bytes of working memory "
            f"({pl.in_len} in, {pl.out_len} out, {pl.scratch} scratch, {WASM_RESERVE} reserve) "
            f"but max_memory is {max_memory}; raise max_memory or split the payload"
        )
    return pl
