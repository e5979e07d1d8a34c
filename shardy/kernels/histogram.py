"""histogram (shaders/histogram.wgsl): byte counts, 256 u32 bins; streams by summing chunks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shardy.kernels.kernel import Chunking, Kernel, Plan, groups_for, uniforms

#: Few workgroups, each adds its bins to the output once.
WORDS_PER_INVOCATION = 256


def plan(n: int, params: Mapping[str, Any], seed: int) -> Plan:
    """256 u32 bins; invocations each count WORDS_PER_INVOCATION words."""
    groups = groups_for(-(-n // 4), 256 * WORDS_PER_INVOCATION)
    return Plan(1024, groups, uniforms(n, seed), "uint32", (256,))


def reference(payload: bytes, params: Mapping[str, Any], seed: int) -> np.ndarray:
    """np.bincount of the bytes."""
    data = np.frombuffer(payload, dtype=np.uint8)
    return np.bincount(data, minlength=256).astype("<u4")


KERNELS = (
    Kernel(
        name="histogram",
        shader="histogram.wgsl",
        plan=plan,
        reference=reference,
        align=16,  # read as vec4<u32>
        chunking=Chunking("sum"),
    ),
)
