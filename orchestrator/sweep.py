"""The sweeper: a running task whose round went silent gets a fresh round, so none is lost.

A round can vanish without reaching the dead-letter queue: its chord fails (a replica result
lost while Redis restarted), or the settle message is lost with its broker. The orchestrator's
main process checks every few seconds for tasks still running with no dispatch or settle for
SHARDY_STALE_AFTER seconds, and sends each a fresh round of R replicas (quorum merges with
what was recorded before). A round that was merely slow costs extra replicas, never a wrong
result; so re-sends back off and stop:

- a task's silence must last ``stale_after × 2^k`` after its k-th re-send;
- a round queued behind a known backlog is not silent: an assignee is alive, still holds
  the replica, and has messages waiting in its queue;
- after `MAX_RESENDS` re-sends the task is dead-lettered (`shardy dlq replay` resumes it).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from shardy import deadletter, routing, settled
from shardy.celery_app import ShardyCelery
from shardy.orchestrator import dispatch
from shardy.store import Assignment, DeadLetter, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: Fresh rounds the sweeper sends a task before it dead-letters it.
MAX_RESENDS = 4


def sweep(app: ShardyCelery, *, limit: int = 100) -> list[str]:
    """Re-send a round for every running task silent long enough (see the module), and
    dead-letter those re-sent `MAX_RESENDS` times already.

    Returns:
        the ids of the tasks given a fresh round.
    """
    stale = app.settings.effective_stale_after
    now = utcnow()
    sends, dead = [], []
    with app.store.session() as session:
        candidates = session.scalars(
            select(Task)
            .where(Task.state == "running", Task.updated_at < now - timedelta(seconds=stale))
            .order_by(Task.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for task in candidates:
            k = task.sweeps
            if task.updated_at > now - timedelta(seconds=stale * 2 ** min(k, 10)):
                continue  # backing off
            if _still_held(app, session, task):
                continue  # queued or computing on live workers: not silent
            if k >= MAX_RESENDS:
                dead.append(_dead(session, task, k))
                continue
            task.sweeps = k + 1
            sends.append(dispatch.new_round(app, task))
    for entry in dead:
        deadletter.publish(app, entry)
        settled.announce(app.redis, entry["task_id"])  # wake clients waiting on it
    for args in sends:
        log.warning("task %s was silent; sent round %d", args[0].id, args[3])
        dispatch.send_round(app, *args)
    return [args[0].id for args in sends]


def _still_held(app: ShardyCelery, session, task: Task) -> bool:
    """Whether the task's latest round waits behind a known backlog: one of its assignees is
    alive, still holds the replica (the assignment has not come back or expired), and its
    queue has messages waiting. A live worker with an empty queue that holds a replica past
    the silence window has lost it (a restarted worker, a message lost with its broker)."""
    rows = session.scalars(
        select(Assignment).where(Assignment.task_id == task.id,
                                 Assignment.round == task.rounds_sent)
    ).all()  # fmt: skip
    held = [(a.worker_id, routing.assignment_key(task.id, a.round, a.replica))
            for a in rows if a.worker_id]  # fmt: skip
    if not held:
        return False
    live = routing.live_workers(app.redis, {wid for wid, _ in held})
    held = [(wid, key) for wid, key in held if wid in live]
    if not held:
        return False
    pipe = app.redis.pipeline(transaction=False)
    for wid, key in held:
        pipe.zscore(routing.INFLIGHT_PREFIX + wid, key)
    now = time.time()
    queues = {live[wid].queue for (wid, _), score in zip(held, pipe.execute(), strict=True)
              if score is not None and score > now}  # fmt: skip
    if not queues:
        return False
    depths = routing.queue_depths(app, sorted(queues))
    return any(depths.values())


def _dead(session, task: Task, resends: int) -> dict:
    """Dead-letter a task the sweeper gave up on (in the caller's transaction)."""
    reason = (
        f"silent after {resends} fresh rounds (SHARDY_STALE_AFTER backed off each time); check "
        "the workers, then `shardy dlq replay`"
    )
    task.state, task.error, task.settled_at = "dead", reason, utcnow()
    entry = deadletter.new_entry("task", reason, task_id=task.id, attempts=task.replicas_sent)
    session.add(DeadLetter(id=entry["id"], kind="task", task_id=task.id, reason=reason,
                           attempts=task.replicas_sent))  # fmt: skip
    log.error("task %s dead-lettered: %s", task.id, reason)
    return entry


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
