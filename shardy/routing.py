"""Which worker runs which replica: live GPU workers and their direct queues.

Every GPU worker beats into a sorted set of live workers, with its Celery node name and the
number of replicas waiting in its direct queue. Dispatch sends the replicas of a round to
distinct live workers through Celery's per-worker direct queues (``worker_direct``), those
with the shortest backlog first, so a worker rarely draws a second replica of a task it
already serves (which it would have to hand back, one more trip through the broker).
Replicas beyond the live workers go to the shared queue ``shardy.gpu``, where any worker may
take them; the per-round claims in Redis still enforce distinct workers either way. A worker
that stops beating gets nothing new; what waits in its direct queue runs when it returns, and
the sweeper re-sends rounds that stay silent meanwhile.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from celery.utils.nodenames import worker_direct
from kombu import Queue

from shardy.celery_app import GPU_QUEUE

#: Sorted set of worker ids scored by the time of their last beat.
ALIVE_KEY = "shardy:workers:alive"
#: Hash of worker id → Celery node name (the name of its direct queue).
NODES_KEY = "shardy:workers:nodes"
#: Hash of worker id → replicas waiting in its direct queue at its last beat.
BACKLOG_KEY = "shardy:workers:backlog"
#: A worker that has not beaten for this many seconds counts as gone.
ALIVE_WINDOW = 15.0


def beat(r: redis.Redis, worker_id: str, node: str | None, backlog: int = 0) -> None:
    """Mark ``worker_id`` alive now, with its node name and direct-queue backlog."""
    pipe = r.pipeline(transaction=False)
    pipe.zadd(ALIVE_KEY, {worker_id: time.time()})
    if node:
        pipe.hset(NODES_KEY, worker_id, node)
        pipe.hset(BACKLOG_KEY, worker_id, backlog)
    pipe.execute()


def leave(r: redis.Redis, worker_id: str) -> None:
    """Take ``worker_id`` out of the live set at once (a clean shutdown)."""
    r.zrem(ALIVE_KEY, worker_id)


def alive(r: redis.Redis) -> set[str]:
    """Ids of the workers that beat within the liveness window."""
    since = time.time() - ALIVE_WINDOW
    return {w.decode() for w in r.zrangebyscore(ALIVE_KEY, since, "+inf")}


def _candidates(r: redis.Redis, worker_ids: set[str]) -> list[tuple[int, str]]:
    """(backlog, node name) of the given workers that recorded a node name."""
    ids = sorted(worker_ids)
    if not ids:
        return []
    pipe = r.pipeline(transaction=False)
    pipe.hmget(NODES_KEY, ids)
    pipe.hmget(BACKLOG_KEY, ids)
    names, backlogs = pipe.execute()
    return [(int(b or 0), n.decode()) for n, b in zip(names, backlogs, strict=True) if n]


def direct_queues(r: redis.Redis) -> list[str]:
    """Names of the live workers' direct queues (for queue-depth views)."""
    return sorted(worker_direct(name).name for _, name in _candidates(r, alive(r)))


def queue_for(node: str | None) -> Queue | str:
    """The direct queue of a worker node, or the shared GPU queue for None."""
    return worker_direct(node) if node else GPU_QUEUE


def assign(
    r: redis.Redis, count: int, exclude: Iterable[str] = (), live: Iterable[str] | None = None
) -> list[str | None]:
    """Node names for ``count`` replicas: distinct live workers (``live``, read from Redis when
    not given) but ``exclude``, shortest backlog first (ties at random); None (the shared
    queue) for replicas beyond them."""
    found = _candidates(r, (alive(r) if live is None else set(live)) - set(exclude))
    random.shuffle(found)
    found.sort(key=lambda c: c[0])  # stable: the shuffle breaks ties
    chosen: list[str | None] = [name for _, name in found[:count]]
    return chosen + [None] * (count - len(chosen))


def free_node(r: redis.Redis, free: Iterable[str]) -> str | None:
    """The node name of one of the ``free`` workers (shortest backlog), or None."""
    (node,) = assign(r, 1, live=free)
    return node


def queue_depths(app: Any, queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting in each queue (0 for a queue the broker has never seen).

    Raises:
        the transport's connection error when the broker does not answer.
    """
    depth: dict[str, int] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        for q in queues:
            channel = conn.channel()  # RabbitMQ closes a channel on 404: one per queue
            try:
                depth[q] = channel.queue_declare(q, passive=True).message_count
            except conn.channel_errors:
                depth[q] = 0
            finally:
                with contextlib.suppress(*conn.connection_errors, *conn.channel_errors):
                    channel.close()
    return depth
