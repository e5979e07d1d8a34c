"""Wire codec: a versioned frame is a JSON header (orjson) followed by raw binary segments.

Layout::

    b"SHF" version:u8 | header_len:u32le | header (JSON) | segment 0 | segment 1 | ...

The header is ``{"m": <meta>, "s": [len0, len1, ...]}``. Inside ``meta`` any bytes value is
replaced by ``{"$seg": i}`` (its index among the segments), a datetime by ``{"$dt": iso}``;
a user dict that looks like one of these markers is escaped as ``{"$esc": {...}}``. The same
codec is registered with kombu as the ``shardy`` serializer, so Celery task messages and
results carry bytes without base64.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from kombu import serialization

from shardy.errors import FrameError

MAGIC = b"SHF"
VERSION = 1
CONTENT_TYPE = "application/x-shardy-frame"
SERIALIZER = "shardy"

_PREFIX = struct.Struct("<3sBI")
MAX_HEADER = 1 << 20
MAX_SEGMENTS = 4096
MAX_FRAME = 1 << 31
MAX_DEPTH = 64
_MARKERS = frozenset({"$seg", "$dt", "$esc"})


@dataclass(frozen=True)
class Frame:
    """A decoded frame: JSON-able metadata plus zero-copy views on its binary segments."""

    meta: Any
    segments: tuple[memoryview, ...]


def encode_frame(meta: Any, segments: Sequence[bytes | bytearray | memoryview] = ()) -> bytes:
    """Encode metadata and raw segments into one frame.

    Raises:
        FrameError: the metadata is not JSON-able or a limit is exceeded.
    """
    try:
        header = orjson.dumps({"m": meta, "s": [len(memoryview(s)) for s in segments]})
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise FrameError(f"frame metadata is not JSON-serialisable: {exc}") from exc
    if len(header) > MAX_HEADER:
        raise FrameError(f"frame header is {len(header)} bytes; the limit is {MAX_HEADER}")
    if len(segments) > MAX_SEGMENTS:
        raise FrameError(f"{len(segments)} segments; the limit is {MAX_SEGMENTS}")
    return b"".join([_PREFIX.pack(MAGIC, VERSION, len(header)), header, *segments])


def decode_frame(data: bytes | bytearray | memoryview, *, max_size: int = MAX_FRAME) -> Frame:
    """Decode a frame strictly; segments are memoryviews into ``data``.

    Raises:
        FrameError: for any malformed input (bad magic or version, lengths that do not add
            up, invalid JSON, trailing bytes, limits exceeded) and nothing else.
    """
    try:
        view = memoryview(data).cast("B")
    except TypeError as exc:
        raise FrameError(f"a frame must be bytes-like, got {type(data).__name__}") from exc
    if len(view) > max_size:
        raise FrameError(f"frame of {len(view)} bytes exceeds the limit of {max_size}")
    if len(view) < _PREFIX.size:
        raise FrameError(
            f"frame of {len(view)} bytes is shorter than its {_PREFIX.size}-byte prefix"
        )
    magic, version, header_len = _PREFIX.unpack_from(view)
    if magic != MAGIC:
        raise FrameError(f"not a Shardy frame (magic {bytes(magic)!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise FrameError(f"frame version {version} is not supported (this build reads {VERSION})")
    if header_len > MAX_HEADER or _PREFIX.size + header_len > len(view):
        raise FrameError(f"frame header length {header_len} exceeds the frame or the limit")
    start = _PREFIX.size + header_len
    try:
        header = orjson.loads(view[_PREFIX.size : start])
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"frame header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict) or set(header) != {"m", "s"}:
        raise FrameError("frame header must be an object with exactly the keys 'm' and 's'")
    lengths = header["s"]
    if (
        not isinstance(lengths, list)
        or len(lengths) > MAX_SEGMENTS
        or not all(type(n) is int and n >= 0 for n in lengths)
    ):
        raise FrameError("frame segment table must be a list of non-negative integers")
    if start + sum(lengths) != len(view):
        raise FrameError(
            f"frame segments declare {sum(lengths)} bytes but {len(view) - start} follow the header"
        )
    segments = []
    for n in lengths:
        segments.append(view[start : start + n])
        start += n
    return Frame(meta=header["m"], segments=tuple(segments))


# ---- kombu serializer: arbitrary Celery bodies with bytes lifted into segments --------------


def dumps(obj: Any) -> bytes:
    """Serialise a Celery body (tuples, dicts, bytes, datetimes) into a frame."""
    segments: list[bytes | bytearray | memoryview] = []
    return encode_frame(_lift(obj, segments, 0), segments)


def loads(data: bytes | bytearray | memoryview) -> Any:
    """Inverse of `dumps`; raises FrameError on malformed input."""
    frame = decode_frame(data)
    used: set[int] = set()
    value = _lower(frame.meta, frame.segments, used, 0)
    if len(used) != len(frame.segments):
        raise FrameError(f"frame carries {len(frame.segments) - len(used)} unreferenced segments")
    return value


def _lift(obj: Any, segments: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise FrameError(f"value nests deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        segments.append(obj)
        return {"$seg": len(segments) - 1}
    if isinstance(obj, datetime):
        return {"$dt": obj.isoformat()}
    if isinstance(obj, (list, tuple)):
        return [_lift(v, segments, depth + 1) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise FrameError(f"dict keys must be strings, got {type(k).__name__}")
            out[k] = _lift(v, segments, depth + 1)
        if len(out) == 1 and next(iter(out)) in _MARKERS:
            return {"$esc": out}
        return out
    raise FrameError(f"cannot put a {type(obj).__name__} into a frame")


def _lower(obj: Any, segments: tuple[memoryview, ...], used: set[int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise FrameError(f"frame metadata nests deeper than {MAX_DEPTH} levels")
    if isinstance(obj, list):
        return [_lower(v, segments, used, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        key, val = next(iter(obj.items()))
        if key == "$seg":
            if type(val) is not int or not 0 <= val < len(segments) or val in used:
                raise FrameError(f"frame references segment {val!r}, which is absent or reused")
            used.add(val)
            return bytes(segments[val])
        if key == "$dt":
            try:
                return datetime.fromisoformat(val)
            except (TypeError, ValueError) as exc:
                raise FrameError(f"bad datetime {val!r} in frame") from exc
        if key == "$esc":
            if not isinstance(val, dict):
                raise FrameError("escaped value in frame must be an object")
            return {k: _lower(v, segments, used, depth + 1) for k, v in val.items()}
    return {k: _lower(v, segments, used, depth + 1) for k, v in obj.items()}


def register() -> None:
    """Register the ``shardy`` serializer with kombu (idempotent)."""
    serialization.register(
        SERIALIZER, dumps, loads, content_type=CONTENT_TYPE, content_encoding="binary"
    )
