"""Results of grouped orders, on either side of the broker: a fleet worker's group
(`shardy.workers.group`) and a gateway's grouped relay (`shardy.orchestrator.gateway.many`)
store each replica's result under the replica's own task id and ask for one collect of the
rounds they completed, an entry on the list `COLLECTS_KEY` that the orchestrator's collectors
take (`shardy.orchestrator.collector`); the collect (`shardy.orchestrator.grouped.collect`)
reads the results there and admits them as a chord's."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from celery.backends.base import BaseKeyValueStoreBackend

from shardy import arrivals, frames
from shardy.celery_app import ShardyCelery
from shardy.errors import FrameError

log = logging.getLogger("shardy.collects")

#: The list of collects asked for (newest first: the orchestrator's collectors take the oldest).
COLLECTS_KEY = "shardy:collects"
#: Entries the list keeps: beyond them the oldest go (the early watch settles their rounds).
KEEP = 10_000


def store_results(app: ShardyCelery, results: Sequence[tuple[str | None, dict[str, Any]]]) -> None:
    """Store replica results in the result backend as their tasks' SUCCESS results (one
    pipeline on a key-value backend), where `shardy.arrivals.stored_results` and
    the collect read them."""
    results = [(i, r) for i, r in results if i is not None]
    if not results:
        return
    backend = app.backend
    now = datetime.now(UTC).isoformat()
    metas = [(i, {"status": "SUCCESS", "result": r, "traceback": None, "children": [],
                  "date_done": now, "task_id": i}) for i, r in results]  # fmt: skip
    if isinstance(backend, BaseKeyValueStoreBackend) and hasattr(backend, "client"):
        pipe = backend.client.pipeline(transaction=False)
        ttl = int(backend.expires or 86_400)
        for i, meta in metas:
            pipe.setex(backend.get_key_for_task(i), ttl, backend.encode(meta))
        pipe.execute()
        return
    for i, r in results:  # other backends: one store each
        backend.store_result(i, r, "SUCCESS")


def request_collect(app: ShardyCelery, rounds: Sequence[tuple[str, int]]) -> None:
    """Ask the orchestrator to settle ``rounds`` whose replicas are all back: one entry on
    `COLLECTS_KEY` (best effort: a collect lost is the early watch's to make up)."""
    try:
        pipe = app.redis.pipeline(transaction=False)
        pipe.lpush(COLLECTS_KEY, orjson.dumps([list(r) for r in rounds]))
        pipe.ltrim(COLLECTS_KEY, 0, KEEP - 1).execute()
    except redis.RedisError as exc:
        log.warning("could not ask for a collect of %d rounds (%s)", len(rounds), exc)


def collect_complete(
    app: ShardyCelery, back: Sequence[tuple[str, int]], arrived: Sequence[tuple[str, int]] = ()
) -> None:
    """Count stored results back for their rounds (``back`` names a round once per result:
    `shardy.arrivals.count_back`, which also marks the arrivals of ``arrived`` in the same
    round trip) and ask for one collect of the rounds now complete: the replica that
    completes a round asks, the others do not."""
    if not back and not arrived:
        return
    rounds = arrivals.count_back(app.redis, back, arrived)
    if rounds:
        request_collect(app, rounds)


def finish_alone(app: ShardyCelery, task_id: str, frame: bytes, result: dict[str, Any]) -> None:
    """A replica that ran outside any chord (a grouped order re-sent alone, a speculative
    replica): store its result under its task id now (Celery stores it only after the task
    returns) and ask for a collect of its round if this completes it."""
    meta = order_meta(frame)
    if meta is None or result.get("task_id") != meta["task_id"]:
        return
    store_results(app, [(task_id, result)])
    collect_complete(app, [(meta["task_id"], meta["round"])])


def order_meta(frame: bytes) -> dict[str, Any] | None:
    """The order header fields of ``frame`` (task id, round, replica), or None."""
    try:
        meta = frames.decode_frame(frame).meta
    except (FrameError, AttributeError, TypeError, ValueError):
        return None
    if (
        isinstance(meta.get("task_id"), str)
        and isinstance(meta.get("round"), int)
        and isinstance(meta.get("replica"), int)
    ):
        return meta
    return None
