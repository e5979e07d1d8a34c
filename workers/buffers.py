"""A pool of GPU buffers reused across tasks, keyed by usage and size class."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MIN_CAPACITY = 256


def size_class(size: int, limit: int) -> int:
    """The capacity a buffer of ``size`` bytes is allocated with: at most 25% above ``size``.

    Sizes round up to a quarter-octave step (…, 1024, 1280, 1536, 1792, 2048, …), so tasks
    of similar size share buffers; never above ``limit`` (the adapter's max buffer size).
    """
    size = max(size, MIN_CAPACITY)
    step = 1 << max(0, size.bit_length() - 3)
    return min(-(-size // step) * step, max(size, limit))


@dataclass
class PoolStats:
    """Counters since the pool was made (``hits + misses`` acquisitions in all)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0


class BufferPool:
    """Idle GPU buffers of one device, handed out again for the same usage and size class.

    Args:
        device: the wgpu device the buffers belong to.
        max_idle_bytes: idle capacity kept at most; the least recently released go first.
        max_buffer: the device's max buffer size (caps the size classes).
    """

    def __init__(self, device: Any, *, max_idle_bytes: int = 512 << 20, max_buffer: int) -> None:
        self.device = device
        self.max_idle_bytes = max_idle_bytes
        self.max_buffer = max_buffer
        self.stats = PoolStats()
        self._idle: OrderedDict[int, tuple[int, int, Any]] = OrderedDict()  # id → (usage, cap, buf)
        self.idle_bytes = 0

    def acquire(self, size: int, usage: int, label: str = "") -> Any:
        """A buffer of at least ``size`` bytes with exactly ``usage``; reused when one is idle."""
        cap = size_class(size, self.max_buffer)
        for key, (u, c, buf) in self._idle.items():
            if u == usage and c == cap:
                del self._idle[key]
                self.idle_bytes -= c
                self.stats.hits += 1
                return buf
        self.stats.misses += 1
        return self.device.create_buffer(size=cap, usage=usage, label=label)

    def release(self, buf: Any) -> None:
        """Return ``buf`` to the pool (destroyed instead if it would exceed the idle budget)."""
        if buf.size > self.max_idle_bytes:
            buf.destroy()
            return
        self._idle[id(buf)] = (int(buf.usage), buf.size, buf)
        self.idle_bytes += buf.size
        while self.idle_bytes > self.max_idle_bytes:
            _, (_, c, old) = self._idle.popitem(last=False)
            self.idle_bytes -= c
            self.stats.evictions += 1
            old.destroy()

    def clear(self) -> None:
        """Destroy every idle buffer (the device is going away or was lost)."""
        for _, _, buf in self._idle.values():
            with contextlib.suppress(Exception):  # a lost device may refuse; memory goes too
                buf.destroy()
        self._idle.clear()
        self.idle_bytes = 0
