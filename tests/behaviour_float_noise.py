"""Test-only worker behaviour: a different float unit.

A test worker imports it through `Cluster(worker_modules=...)`.

For float kernels this worker's outputs are nudged, as another GPU's fused multiply-add
would: SHARDY_TEST_FLOAT_NOISE=ulp moves every element by one unit in the last place,
=far adds 0.5 (beyond any kernel tolerance), =mixed moves even elements up two units and odd
ones down one (within tolerance: a worker pulling the result its own way).
"""

import os

import numpy as np

from shardy.workers.gpu import GPU

_run = GPU.run
_MODE = os.environ.get("SHARDY_TEST_FLOAT_NOISE", "ulp")


def _noisy(self, kernel, payload, plan, **kw):
    out = _run(self, kernel, payload, plan, **kw)
    if plan.dtype != "float32":
        return out
    arr = np.frombuffer(bytes(out), dtype=np.float32).copy()
    up, down = np.float32(np.inf), np.float32(-np.inf)
    if _MODE == "ulp":
        arr = np.nextafter(arr, up)
    elif _MODE == "mixed":
        arr[0::2] = np.nextafter(np.nextafter(arr[0::2], up), up)
        arr[1::2] = np.nextafter(arr[1::2], down)
    else:
        arr = arr + np.float32(0.5)
    return arr.astype(np.float32).tobytes()


GPU.run = _noisy
