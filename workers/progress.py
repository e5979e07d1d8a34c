"""Replica progress for `TaskHandle.status()` and `shardy status --watch`, written in batches.

A replica reports each stage as it starts. Writing every report at once costs a Redis round
trip per stage per replica, most of them for stages that last a millisecond. Reports go to
a buffer instead, and a thread writes the latest report of each replica every
``interval`` seconds in one pipeline: a stage that lasts longer than that is visible, one
that ends sooner may never be written. Progress is best effort: a failed write is logged
and dropped, never raised to a replica.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
import redis

from shardy.celery_app import PROGRESS_PREFIX

log = logging.getLogger("shardy.worker")

#: How long a progress hash outlives its last write (seconds).
PROGRESS_TTL = 3600


class ProgressWriter:
    """Buffers the latest stage of each replica and writes them every ``interval`` s."""

    def __init__(self, client: redis.Redis, interval: float = 0.1) -> None:
        self.client = client
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], dict[str, Any]] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._loop, name="shardy-progress", daemon=True).start()

    def record(self, task_id: str, replica: int, report: dict[str, Any]) -> None:
        """Note a replica's stage; written within ``interval`` seconds."""
        with self._lock:
            self._pending[(task_id, replica)] = report

    def flush(self) -> int:
        """Write what is buffered now; returns the number of reports written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for (task_id, replica), report in pending.items():
            key = PROGRESS_PREFIX + task_id
            pipe.hset(key, str(replica), orjson.dumps(report))
            pipe.expire(key, PROGRESS_TTL)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            log.debug("%d progress reports not recorded: %s", len(pending), exc)
            return 0
        return len(pending)

    def close(self) -> None:
        """Stop the writer thread after a last flush."""
        self._stop.set()
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
