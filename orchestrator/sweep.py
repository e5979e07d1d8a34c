"""The sweeper: a running task whose round went silent gets a fresh round, so none is lost.

A round can vanish without reaching the dead-letter queue: its chord fails (a replica result
lost while Redis restarted), or the settle message is lost with its broker. The orchestrator's
main process checks every few seconds for tasks still running with no dispatch or settle for
SHARDY_STALE_AFTER seconds, and sends each a fresh round of R replicas (quorum merges with
what was recorded before). A round that was merely slow costs extra replicas, never a wrong
result.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from shardy.celery_app import ShardyCelery
from shardy.orchestrator import dispatch
from shardy.store import Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")


def sweep(app: ShardyCelery, *, limit: int = 100) -> list[str]:
    """Re-send a round for every running task silent for SHARDY_STALE_AFTER seconds.

    Returns:
        the ids of the tasks given a fresh round.
    """
    cutoff = utcnow() - timedelta(seconds=app.settings.effective_stale_after)
    sends = []
    with app.store.session() as session:
        stale = session.scalars(
            select(Task)
            .where(Task.state == "running", Task.updated_at < cutoff)
            .order_by(Task.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for task in stale:
            sends.append(dispatch.new_round(app, task))
    for args in sends:
        log.warning("task %s was silent; sent round %d", args[0].id, args[3])
        dispatch.send_round(app, *args)
    return [args[0].id for args in sends]


class Sweeper:
    """Runs `sweep` on a daemon thread until stopped."""

    def __init__(self, app: ShardyCelery, interval: float | None = None) -> None:
        self.app = app
        self.interval = interval or max(1.0, min(30.0, app.settings.effective_stale_after / 4))
        self._stop = threading.Event()
        threading.Thread(target=self._loop, name="shardy-sweeper", daemon=True).start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep(self.app)
            except Exception:  # the broker or database may be restarting: try again later
                log.exception("sweep failed; retrying in %.0fs", self.interval)
