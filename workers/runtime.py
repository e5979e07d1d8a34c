"""The per-process fleet worker runtime: worker id, its engine, liveness beat and replica claims."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading

import redis

from shardy import arrivals, prechecks, routing
from shardy.celery_app import ShardyCelery
from shardy.errors import BlobUnavailable
from shardy.kernels.catalog import blob_loader
from shardy.keyring import KeyCache
from shardy.messages import ReplicaOrder
from shardy.workers.engine import Engine
from shardy.workers.identity import worker_secret
from shardy.workers.progress import ProgressWriter

log = logging.getLogger("shardy.worker")

_CLAIM_TTL = 7 * 86_400

# Claim replica `ARGV[2]` of a task for worker ARGV[1]: 1 if ours (new or redelivered), 0 if
# this worker serves another replica of the round, 2 if the task is already decided (KEYS[2]).
_CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
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
    """Everything one fleet worker process owns: its `Engine` (GPU, preprocessor, keys,
    prover) and the broker-side state of a fleet worker (claims, progress, the blob store).
    Created once per process, after fork."""

    def __init__(self, app: ShardyCelery, nodename: str) -> None:
        self.app = app
        self.settings = app.settings
        self.worker_id = self.settings.worker_id or nodename
        self.hostname = socket.gethostname()
        secret = worker_secret(self.settings, self.worker_id)
        self.keys = KeyCache(app.redis, self.settings.home / "keys")
        kernels, note = blob_loader(app.redis), self._note_proof
        self.engine = Engine(self.settings, secret, self.keys, self._store_batch, kernels, note)
        self.engine.on_wedged = self._wedged
        self._claim = app.redis.register_script(_CLAIM)
        self._release = app.redis.register_script(_RELEASE)
        self._progress = ProgressWriter(app.redis)

    def _wedged(self) -> None:
        """A dispatch past its time limit holds the GPU: leave, so the supervisor restarts
        this worker on a fresh device (after the failed replica's result is returned)."""
        from billiard.process import current_process

        log.critical("the GPU is wedged by a dispatch past its time limit; shutting down")
        if current_process().name == "MainProcess":  # warm shutdown: in-flight work finishes
            kill = lambda: os.kill(os.getpid(), signal.SIGTERM)  # noqa: E731
        else:  # a prefork child: the pool replaces it
            kill = lambda: os._exit(70)  # noqa: E731
        threading.Timer(1.0, kill).start()

    def _store_batch(self, proof: bytes, key_id: str) -> tuple[str, int]:
        """Store a batch proof once, and note it for the orchestrator's early check
        (`shardy.prechecks`, best effort), in one round trip."""
        pipe = self.app.blobs.client.pipeline(transaction=False)
        ref = self.app.blobs.stage(pipe, proof)
        writes = len(pipe)
        prechecks.announce(pipe, key_id, ref=ref)
        try:
            replies = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            replies = [exc]
        failed = [r for r in replies[:writes] if isinstance(r, Exception)]
        if failed:
            raise BlobUnavailable(f"could not store a batch proof in Redis: {failed[0]}")
        return ref.sha256, ref.size

    def _note_proof(self, key_id: str, proof: dict, signals: list[str]) -> None:
        """Note a replica's own proof for the orchestrator's early check (`shardy.prechecks`;
        best effort: a note lost costs settle its own check of the proof)."""
        pipe = self.app.redis.pipeline(transaction=False)
        prechecks.announce(pipe, key_id, proof=proof, signals=signals)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            log.info("proof not noted for the early check (%s)", exc)

    def alive_workers(self) -> set[str]:
        """Worker ids that beat within the liveness window."""
        return routing.alive(self.app.redis)

    # ---- distinct workers per task ----------------------------------------------------------

    def claim(self, order: ReplicaOrder) -> bool | None:
        """Claim the order's replica; False if this worker may not serve it: it serves another
        replica of this round, or its vote on the task is already recorded (``exclude``);
        None if the task is already decided (an early quorum: the replica is not needed)."""
        if self.worker_id in order.exclude:
            return False
        keys = [claim_key(order.task_id, order.round), arrivals.decided_key(order.task_id)]
        got = int(self._claim(keys, [self.worker_id, order.replica, _CLAIM_TTL]))
        return None if got == 2 else bool(got)

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
            "operator": self.settings.operator,
            "adapter": self.engine.adapter,
            "commitment": self.engine.commitment,
        }


class Liveness:
    """Beats ``worker_id`` into the live set from the worker's main process until stopped,
    with its own queue, its slots and its operator (see `shardy.routing`)."""

    def __init__(self, app: ShardyCelery, worker_id: str, *, queue: str, slots: int) -> None:
        self.app = app
        self.worker_id = worker_id
        self.queue = queue
        self.slots = slots
        self.voter = app.settings.voter(worker_id, app.settings.operator)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shardy-beat", daemon=True)

    def start(self) -> Liveness:
        """Beat once now, then every third of the liveness window."""
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> None:
        """Mark the worker alive (a sorted set scored by the time of the last beat)."""
        routing.beat(self.app.redis, self.worker_id, queue=self.queue, slots=self.slots,
                     voter=self.voter)  # fmt: skip

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
