"""Test-only kernels that fail on purpose. Test workers import it (`Cluster(worker_modules=...)`).

``flaky_histogram`` raises a transient GPU error while the file named by
SHARDY_TEST_FAULT_FILE exists (in the worker's environment); ``slow_histogram`` sleeps
SHARDY_TEST_SLOW seconds first. Both otherwise compute `histogram`.
"""

import os
import time

from shardy.errors import GPUError
from shardy.kernels import Kernel, registry

_histogram = registry.get("histogram")


def _flaky_plan(n, params, seed):
    fault = os.environ.get("SHARDY_TEST_FAULT_FILE")
    if fault and os.path.exists(fault):
        raise GPUError("injected transient GPU fault (test kernel)")
    return _histogram.plan(n, params, seed)


def _slow_plan(n, params, seed):
    time.sleep(float(os.environ.get("SHARDY_TEST_SLOW", "0")))
    return _histogram.plan(n, params, seed)


for name, plan in (("flaky_histogram", _flaky_plan), ("slow_histogram", _slow_plan)):
    registry.register(
        Kernel(name=name, shader=_histogram.shader, plan=plan, reference=_histogram.reference),
        replace=True,
    )
