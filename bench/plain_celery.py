"""The competitor for bench/dispatch.py: plain Celery running the same WGSL kernel.

A chord of 3 identical tasks (json serializer, payload as base64) with a callback that
compares their digests: what a user would write by hand without Shardy.
"""

import base64
import hashlib
import os
import time

from celery import Celery

from shardy.kernels import registry

app = Celery("plain", broker=os.environ["PLAIN_BROKER"], backend=os.environ["PLAIN_BROKER"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue="plain",
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
)
_gpu = None


@app.task(name="plain.run")
def run(kernel: str, payload_b64: str) -> str:
    """Run the kernel on the GPU and return the output's sha256."""
    global _gpu
    if _gpu is None:
        from shardy.workers.gpu import GPU

        _gpu = GPU()
    payload = base64.b64decode(payload_b64)
    k = registry.get(kernel)
    out = _gpu.run(k, payload, k.make_plan(len(payload), {}, 0))
    return hashlib.sha256(out).hexdigest()


@app.task(name="plain.noop")
def noop() -> None:
    """Nothing: the broker and result round trip alone (bench/gateway.py's yardstick)."""


@app.task(name="plain.compare")
def compare(digests: list[str]) -> dict:
    """The comparing callback: majority digest, how many agree, and when it decided."""
    best = max(set(digests), key=digests.count)
    return {"digest": best, "agree": digests.count(best), "done": time.time()}
