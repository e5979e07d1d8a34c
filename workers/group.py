"""Grouped orders on a fleet worker: many replicas (of different tasks) in one Celery message.

A burst dispatched together (`shardy.orchestrator.grouped`) sends each fleet worker its
replicas as one ``shardy.execute_many`` message instead of one chord member each, so the
broker, the result backend and the chord bookkeeping are paid once per group rather than once
per replica. The worker runs the group's replicas side by side (their proofs share batches,
`shardy.workers.batcher`), stores each result in the result backend under the replica's own
task id (`shardy.arrivals.replica_task_id`, where the trusted side reads it), marks the
arrivals, and asks for one collect naming the rounds it completed
(`shardy.collects.request_collect`): the orchestrator settles those whose replicas are all
back.

Per replica nothing else changes: a replica that must be retried or handed back is re-sent
alone as ``shardy.execute`` under its own task id (it stores its result there and asks for a
collect itself); a replica that fails for good is dead-lettered as before. A worker lost
mid-group is redelivered the whole message (``acks_late``): replicas already answered are
skipped by their claims or judged once by settle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shardy import arrivals, collects
from shardy.celery_app import GPU_QUEUE, ShardyCelery
from shardy.workers.execute import Retry

log = logging.getLogger("shardy.worker")

#: The most replicas of one group that run at the same time on a worker.
PARALLEL = 16

#: ``run(frame) -> result``: one replica (`shardy.workers.execute.execute` with the worker's
#: progress reporting); raises `Retry` when it must be re-sent.
RunOne = Callable[[bytes], dict[str, Any]]


def run_group(app: ShardyCelery, orders: Sequence[bytes], run: RunOne) -> int:
    """Run the replicas of one group, store their results, mark their arrivals and ask for a
    collect of their rounds. Returns how many results it stored (retried ones are not)."""
    if not isinstance(orders, (list, tuple)):  # a message of another shape: nothing to run
        log.error("a grouped order message without a list of orders was dropped")
        return 0
    frames_ = [bytes(f) for f in orders if isinstance(f, (bytes, bytearray, memoryview))]
    metas = [collects.order_meta(f) for f in frames_]
    if len(frames_) <= 1:  # a lone round's order: no thread to hand it to
        outcomes = [_one(app, f, m, run) for f, m in zip(frames_, metas, strict=True)]
    else:
        with ThreadPoolExecutor(min(PARALLEL, len(frames_))) as pool:
            outcomes = list(pool.map(lambda fm: _one(app, *fm, run),
                                     zip(frames_, metas, strict=True)))  # fmt: skip
    stored, back, arrived = [], [], set()
    for meta, result in zip(metas, outcomes, strict=True):
        if meta is None or result is None or result.get("task_id") != meta["task_id"]:
            continue  # re-sent alone, or a malformed order (dead-lettered by execute)
        key = (meta["task_id"], meta["round"])
        stored.append((arrivals.replica_task_id(*key, meta["replica"]), result))
        back.append(key)
        if result.get("status") != "skipped":  # a skip completes a round but is no arrival
            arrived.add(key)
    collects.store_results(app, stored)
    collects.collect_complete(app, back, sorted(arrived))
    return len(stored)


def _one(
    app: ShardyCelery, frame: bytes, meta: dict[str, Any] | None, run: RunOne
) -> dict[str, Any] | None:
    """One replica of a group: its result, or None once it was re-sent alone."""
    kwargs: dict[str, Any] = {}
    countdown, queue = 0.0, None
    try:
        return run(frame)
    except Retry as r:
        kwargs, countdown, queue = r.kwargs, r.countdown, r.queue
    except Exception:  # `execute` raises nothing else; should it, the replica is not lost
        log.exception("a grouped replica failed unexpectedly; re-sending it alone")
    task_id = None
    if meta is not None:
        task_id = arrivals.replica_task_id(meta["task_id"], meta["round"], meta["replica"])
    app.send_task("shardy.execute", args=(frame,), kwargs=kwargs, countdown=countdown,
                  queue=app.queue(queue or GPU_QUEUE), task_id=task_id)  # fmt: skip
    return None
