"""The per-process worker runtime: worker id, GPU device, liveness beat and replica claims."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from typing import Any

import orjson
import redis

from shardy import merkle, routing
from shardy.attestations import BatchPart, BatchProof, BatchReceipt
from shardy.celery_app import ShardyCelery
from shardy.keyring import KeyCache
from shardy.messages import ReplicaOrder
from shardy.workers.batcher import Batcher
from shardy.workers.gpu import GPU
from shardy.workers.identity import worker_commitment, worker_secret
from shardy.workers.preprocess import Preprocessor
from shardy.workers.progress import ProgressWriter
from shardy.zk import attestation_inputs, prove

log = logging.getLogger("shardy.worker")

_CLAIM_TTL = 7 * 86_400

# Claim replica `ARGV[2]` of a task for worker ARGV[1]: 1 if ours (new or redelivered), else 0.
_CLAIM = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == false then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
if cur == ARGV[2] then return 1 end
return 0
"""
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def claim_key(task_id: str, round_no: int) -> str:
    """Redis hash of worker id → replica index for one round of a task.

    Claims are per round: within a round every replica lands on its own worker; across rounds
    the order's ``exclude`` list names the workers whose votes are already recorded (a worker
    whose earlier result was lost may serve again, and settle counts every worker once).
    """
    return f"shardy:claim:{task_id}:{round_no}"


class WorkerRuntime:
    """Everything one worker process owns. Created once per process, after fork."""

    def __init__(self, app: ShardyCelery, nodename: str) -> None:
        self.app = app
        self.settings = app.settings
        self.gpu = GPU(self.settings.gpu_adapter)
        self.worker_id = self.settings.worker_id or nodename
        self.hostname = socket.gethostname()
        self._preprocessor: Preprocessor | None = None
        self.gpu_lock = threading.Lock()  # a threads pool (batching) shares one device
        s = self.settings
        self.batcher = (
            Batcher(s.attest_batch, s.attest_wait_ms, self._prove_batch)
            if s.attest_batch > 1
            else None
        )
        self.secret = worker_secret(self.settings, self.worker_id)
        self.commitment = worker_commitment(self.secret)
        self.keys = KeyCache(app.redis, self.settings.home / "keys")
        self._claim = app.redis.register_script(_CLAIM)
        self._release = app.redis.register_script(_RELEASE)
        self._progress = ProgressWriter(app.redis)

    def attestation(self, order: ReplicaOrder, digest: str) -> dict[str, Any]:
        """The attestation fields of a replica result: its own proof (K = 1) or, batched, the
        receipt of the batch proof that covers it (id, root, size, index, path, proof ref)."""
        if self.settings.attest_batch == 1:
            proof, signals = self.attest(order, digest)
            return {"proof": proof, "public_signals": signals, "key_id": order.key_id}
        leaf = merkle.leaf(order.task_id, order.seed, order.output_len, digest)
        assert self.batcher is not None
        receipt = self.batcher.attest(order.key_id, leaf, timeout=self.settings.task_time_limit)
        return {"proof": None, "public_signals": None, "key_id": order.key_id, "batch": receipt}

    def _prove_batch(self, key_id: str, leaves: list[bytes]) -> BatchReceipt:
        """Prove one batch and store its `BatchProof` once in the blob store; returns the
        receipt of leaf 0 (the batcher fills in each leaf's index and path)."""
        batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
        inputs = attestation_inputs(
            batch_id, len(leaves), merkle.BATCH_OUTPUT_LEN, root, self.secret
        )
        proof, signals = prove(self.keys.circuit(key_id), inputs)
        stored = BatchProof(batch_id, root, len(leaves), key_id, proof, signals)
        ref = self.app.blobs.put(orjson.dumps(stored.to_json()), inline=False)
        part = BatchPart(batch_id, 0, len(leaves), root, ())
        return BatchReceipt(part, key_id, ref.sha256, ref.size)

    def attest(self, order: ReplicaOrder, digest: str) -> tuple[dict, list[str]]:
        """Prove, under the order's key, that this worker computed ``digest`` for the order."""
        inputs = attestation_inputs(
            order.task_id, order.seed, order.output_len, digest, self.secret
        )
        return prove(self.keys.circuit(order.key_id), inputs)

    @property
    def preprocessor(self) -> Preprocessor:
        """The WASM preprocessor host (numpy fallback when SHARDY_WASM=off), made on first use."""
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(use_wasm=self.settings.wasm)
        return self._preprocessor

    def alive_workers(self) -> set[str]:
        """Worker ids that beat within the liveness window."""
        return routing.alive(self.app.redis)

    # ---- distinct workers per task ----------------------------------------------------------

    def claim(self, order: ReplicaOrder) -> bool:
        """Claim the order's replica; False if this worker may not serve it: it serves another
        replica of this round, or its vote on the task is already recorded (``exclude``)."""
        if self.worker_id in order.exclude:
            return False
        key = claim_key(order.task_id, order.round)
        return bool(self._claim([key], [self.worker_id, order.replica, _CLAIM_TTL]))

    def release(self, order: ReplicaOrder) -> None:
        """Give up a claim (the replica failed), so this worker may serve another replica."""
        self._release([claim_key(order.task_id, order.round)], [self.worker_id, order.replica])

    def others_free(self, order: ReplicaOrder) -> set[str]:
        """Other live workers that may run the order's replica: not excluded, and not serving
        another replica of this round (or claiming this very one: it restarted)."""
        claims = self.app.redis.hgetall(claim_key(order.task_id, order.round))
        taken = {w.decode() for w, r in claims.items() if int(r) != order.replica}
        return self.alive_workers() - taken - set(order.exclude) - {self.worker_id}

    def progress(self, order: ReplicaOrder, stage: str, percent: int) -> None:
        """Record a replica's stage (buffered, best effort: see `shardy.workers.progress`)."""
        report = {"stage": stage, "percent": percent, "worker": self.worker_id}
        self._progress.record(order.task_id, order.replica, report)

    def describe(self) -> dict:
        """Registration record sent to the orchestrator."""
        return {
            "id": self.worker_id,
            "hostname": self.hostname,
            "adapter": f"{self.gpu.name} ({self.gpu.backend})",
            "commitment": self.commitment,
        }


class Liveness:
    """Beats ``worker_id`` into the live set from the worker's main process until stopped,
    with its Celery node name and the depth of its direct queue (see `shardy.routing`)."""

    def __init__(self, app: ShardyCelery, worker_id: str, node: str | None = None) -> None:
        self.app = app
        self.worker_id = worker_id
        self.node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shardy-beat", daemon=True)

    def start(self) -> Liveness:
        """Beat once now, then every third of the liveness window."""
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        """Mark the worker alive (a sorted set scored by the time of the last beat)."""
        routing.beat(self.app.redis, self.worker_id, self.node, self._backlog())

    def _backlog(self) -> int:
        """Replicas waiting in this worker's direct queue (0 when the broker cannot say)."""
        if not self.node:
            return 0
        name = routing.queue_for(self.node).name
        try:
            return routing.queue_depths(self.app, [name])[name]
        except Exception as exc:  # noqa: BLE001 - any transport error: beat without it
            log.debug("direct queue depth unavailable: %s", exc)
            return 0

    def stop(self) -> None:
        """Stop beating and leave the live set at once."""
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            routing.leave(self.app.redis, self.worker_id)

    def _loop(self) -> None:
        while not self._stop.wait(routing.ALIVE_WINDOW / 3):
            try:
                self.beat()
            except redis.RedisError as exc:  # the broker may be restarting; keep beating
                log.warning("liveness beat failed: %s", exc)
