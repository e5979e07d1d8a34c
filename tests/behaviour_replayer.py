"""Test-only worker behaviour: steals attestations.

A test worker imports it through `Cluster(worker_modules=...)`.

Instead of proving, this worker presents another worker's attestation of the same task as
its own. SHARDY_TEST_REPLAY=copy sends the stolen proof as it is; =rerandomise first
re-randomises it (the same statement, fresh proof bytes). The source is another worker's
``ok`` replica result in the Celery result backend; lacking one after a while the worker
reports a transient error (so it is retried, then dead-lettered, never accepted).
"""

import os
import secrets
import time

from py_arkworks_bls12381 import Scalar

from shardy import frames
from shardy.errors import GPUError
from shardy.workers import tasks
from shardy.workers.engine import Engine
from shardy.zk.codec import proof_from_json, proof_to_json

_MODE = os.environ.get("SHARDY_TEST_REPLAY", "copy")
_WAIT_S = 20.0


def _stolen(rt, order):
    """Another worker's ok result for ``order.task_id`` from the result backend, or None."""
    for key in rt.app.redis.scan_iter(match="celery-task-meta-*", count=500):
        raw = rt.app.redis.get(key)
        try:
            meta = frames.loads(raw)
        except Exception:  # noqa: BLE001 - json results of other tasks
            continue
        res = meta.get("result") if isinstance(meta, dict) else None
        if (
            isinstance(res, dict)
            and res.get("task_id") == order.task_id
            and res.get("status") == "ok"
            and res.get("worker_id") != rt.worker_id
            and isinstance(res.get("proof"), dict)
        ):
            return res
    return None


def _rerandomise(engine, key_id, proof):
    """The same statement with different proof bytes: A/r1, r1·B + r1·r2·δ, C + r2·A."""
    delta = engine.keys.circuit(key_id).verifying_key.delta2
    p = proof_from_json(proof)
    r1, r2 = Scalar(secrets.randbelow(2**128) + 1), Scalar(secrets.randbelow(2**128) + 1)
    return proof_to_json(type(p)(p.a * r1.inverse(), p.b * r1 + delta * (r1 * r2), p.c + p.a * r2))


def _replay(self, order, digest):
    rt = tasks.process.runtime  # this engine's worker: its Redis and its id
    deadline = time.monotonic() + _WAIT_S
    while (victim := _stolen(rt, order)) is None:
        if time.monotonic() > deadline:
            raise GPUError("replayer found no attestation to steal (test behaviour)")
        time.sleep(0.3)
    proof = victim["proof"]
    if _MODE == "rerandomise":
        proof = _rerandomise(self, victim["key_id"], proof)
    return {"proof": proof, "public_signals": victim["public_signals"], "key_id": victim["key_id"]}


Engine.attestation = _replay
