"""Test-only worker behaviour: runs other WGSL than the task's shipped kernel.

A test worker imports it through `Cluster(worker_modules=...)`. For every shipped kernel it
compiles a changed source (each int8 GEMM accumulation gains 1), attests the honest digest of
its wrong output, and so must be outvoted: the kernel's hash is bound by the quorum, not by
what a worker claims to have run.
"""

import dataclasses

from shardy.workers.gpu import GPU

_run = GPU.run


def _swapped(self, kernel, payload, plan, **kw):
    if kernel.spec is not None and kernel.source_override:
        source = kernel.source_override.replace("acc = acc + ", "acc = acc + 1 + ")
        kernel = dataclasses.replace(kernel, source_override=source)
    return _run(self, kernel, payload, plan, **kw)


GPU.run = _swapped
