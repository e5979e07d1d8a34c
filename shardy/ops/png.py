"""A minimal PNG writer (8-bit grayscale) for pictures the demo verifies; zlib + struct only."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_gray(path: str | Path, image: np.ndarray) -> None:
    """Write a 2-D uint8 array as an 8-bit grayscale PNG."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("write_gray needs a 2-D uint8 array")
    h, w = image.shape
    rows = b"".join(b"\x00" + image[y].tobytes() for y in range(h))  # filter 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def escape_counts_to_gray(counts: np.ndarray, max_iter: int) -> np.ndarray:
    """Shade Mandelbrot escape counts: points inside the set black, the rest by sqrt(count)."""
    shade = np.sqrt(counts.astype(np.float64) / max_iter) * 255
    shade[counts >= max_iter] = 0
    return shade.astype(np.uint8)
