"""Executing one replica: decode the order, claim, fetch, compute, store, and report."""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from typing import Any

import redis

from shardy import deadletter, routing
from shardy.errors import (
    BlobError,
    FrameError,
    KernelError,
    PayloadError,
    PreprocessError,
    ProofError,
    TransientError,
)
from shardy.messages import ReplicaOrder, ReplicaResult
from shardy.workers.engine import compute
from shardy.workers.runtime import WorkerRuntime
from shardy.workers.streaming import spool

log = logging.getLogger("shardy.worker")

#: Failures that retrying cannot fix: dead-letter at once.
PERMANENT = (FrameError, KernelError, PayloadError, BlobError, PreprocessError, ProofError)


class Retry(Exception):
    """Ask the Celery task to re-publish this replica after ``countdown`` seconds."""

    def __init__(
        self, countdown: float, kwargs: dict[str, Any], reason: str, queue: str | None = None
    ) -> None:
        super().__init__(reason)
        self.countdown = countdown
        self.kwargs = kwargs
        self.queue = queue  # a worker's own queue to send it to, or None: the shared queue


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with equal jitter: in [d/2, d] for d = min(cap, base * 2**attempt)."""
    delay = min(cap, base * 2**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


def handback_delay(handbacks: int) -> float:
    """Delay before a handed-back replica is offered again.

    The first few go straight to the tail of the queue (other workers usually take them);
    later ones back off up to 0.5 s while every other worker is busy. Celery holds a
    delayed retry on the worker that fetches it, so short delays matter.
    """
    return 0.0 if handbacks < 5 else min(0.5, 0.02 * 2 ** (handbacks - 5))


def execute(
    rt: WorkerRuntime,
    frame: bytes,
    *,
    attempt: int = 0,
    handbacks: int = 0,
    attempt_times: list[float] | None = None,
    report: Callable[[ReplicaOrder, str, int], None] | None = None,
) -> dict[str, Any]:
    """Run one replica and return its `ReplicaResult` as a dict; never raises except `Retry`.

    Every outcome is a record: ``ok``; ``failed`` after the replica was dead-lettered
    (permanent error, or transient errors beyond SHARDY_RETRY_MAX); ``skipped`` when no
    distinct worker is left to run it, or the task was decided before it ran (an early
    quorum). So the chord always settles.
    """
    s = rt.settings
    times = [*(attempt_times or []), time.time()]
    try:
        order = ReplicaOrder.decode(frame)
    except FrameError as exc:
        return _dead(rt, None, frame, f"malformed replica order: {exc}", times, kind="malformed")

    claimed = rt.claim(order)
    if claimed is None:
        return ReplicaResult.decided(order, rt.worker_id)
    if not claimed:
        free = rt.others_free(order) if handbacks < s.handback_max else set()
        if free:  # straight to one of them when it has its own queue, else the shared queue
            target = routing.free_fleet_target(rt.app.redis, free)
            raise Retry(
                handback_delay(handbacks),
                {"attempt": attempt, "handbacks": handbacks + 1, "attempt_times": attempt_times},
                f"handing back {order.summary()}: this worker already served the task",
                queue=None if target is None else target.queue,
            )
        return ReplicaResult(
            "skipped",
            order.task_id,
            order.replica,
            worker_id=rt.worker_id,
            error="no distinct worker was free to run this replica",
        ).to_dict()

    try:
        stage = (lambda name, pct: report(order, name, pct)) if report else (lambda *_: None)
        return _compute(rt, order, len(times), stage)
    except (TransientError, redis.RedisError) as exc:
        return _retry_or_dead(rt, order, frame, exc, attempt, handbacks, times)
    except PERMANENT as exc:
        rt.release(order)
        return _dead(rt, order, frame, f"{type(exc).__name__}: {exc}", times)
    except Exception as exc:  # a bug or an unexpected library error: never crash the worker
        log.exception("unexpected error in %s", order.summary())
        return _retry_or_dead(rt, order, frame, exc, attempt, handbacks, times)


def _compute(
    rt: WorkerRuntime, order: ReplicaOrder, attempts: int, report: Callable[[str, int], None]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    if order.payload.size > rt.settings.max_payload:
        raise PayloadError(f"payload of {order.payload.size} bytes exceeds SHARDY_MAX_PAYLOAD")
    payload = fetch(rt, order)
    fetched = time.perf_counter() - t0

    def store(output: bytes | memoryview) -> str:  # hashes the output: its sha256 is the digest
        return rt.app.blobs.put(output, inline=False).sha256

    done = compute(rt.engine, order, payload, store, report)
    return ReplicaResult(
        "ok",
        order.task_id,
        order.replica,
        worker_id=rt.worker_id,
        digest=done.attestation_digest,
        output_sha256=done.attestation_digest,
        output_size=memoryview(done.output).nbytes,
        attempts=attempts,
        timings={"fetch": fetched, **done.timings},  # attest: proving, or waiting for a batch
        **done.attestation,
    ).to_dict()


def fetch(rt: WorkerRuntime, order: ReplicaOrder) -> bytes | memoryview:
    """The order's payload: in memory, or, from SHARDY_STREAM_THRESHOLD bytes up, streamed
    from the blob store in checked chunks to a disk-backed scratch (an unlinked file under the
    GPU's scratch directory, mapped read-only), so the worker never holds it whole in RAM."""
    ref = order.payload
    if ref.inline is not None or ref.size < rt.settings.stream_threshold:
        return rt.app.blobs.get(ref)
    log.info("%s: streaming its payload to disk in chunks", order.summary())
    return spool(rt.app.blobs.chunks(ref), rt.engine.gpu.scratch_dir)


def _retry_or_dead(rt, order, frame, exc, attempt, handbacks, times) -> dict[str, Any]:
    s = rt.settings
    rt.release(order)
    if attempt < s.retry_max:
        delay = backoff(attempt, s.backoff_base, s.backoff_max)
        log.warning("%s: %s; retry %d in %.2fs", order.summary(), exc, attempt + 1, delay)
        raise Retry(
            delay,
            {"attempt": attempt + 1, "handbacks": handbacks, "attempt_times": times},
            str(exc),
        )
    reason = f"{type(exc).__name__}: {exc} (gave up after {len(times)} attempts)"
    return _dead(rt, order, frame, reason, times, tb=traceback.format_exc())


def _dead(rt, order, frame, reason, times, *, kind="replica", tb=None) -> dict[str, Any]:
    entry = deadletter.new_entry(
        kind,
        reason,
        task_id=order.task_id if order else None,
        replica=order.replica if order else None,
        worker_id=rt.worker_id,
        traceback=tb or traceback.format_exc(),
        attempts=len(times),
        attempt_times=times,
        frame=bytes(frame) if isinstance(frame, (bytes, bytearray, memoryview)) else None,
    )
    deadletter.publish(rt.app, entry)
    log.error("dead-lettered %s: %s", order.summary() if order else "a malformed order", reason)
    return ReplicaResult(
        "failed",
        order.task_id if order else None,
        order.replica if order else None,
        worker_id=rt.worker_id,
        attempts=len(times),
        error=reason,
        dead_letter_id=entry["id"],
    ).to_dict()
