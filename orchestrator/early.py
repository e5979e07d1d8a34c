"""Early quorum and straggler speculation: judge a round before its slowest replica returns.

Celery runs a round's chord body (settle) only when every replica has returned, so two
agreeing replicas would wait for a hung third up to the task time limit. The orchestrator's
main process watches instead (`Watch`):

- Workers mark a round's first and latest returned replica (`shardy.arrivals`). A round still
  unsettled ``grace`` seconds after its first, the p95 of the kernel's recent round spreads
  (first to last arrival of rounds that came back in full), is looked at: the results its
  replicas stored so far are read from the result backend and settled with
  ``partial=True``. If a quorum already agrees (beyond any replica still out, once probation
  applies: `shardy.orchestrator.quorum.decide`), the task is verified now; workers then skip
  its replicas still queued, and any that still return are judged late, as usual.
- A round still short of a quorum ``SHARDY_SPECULATE_FACTOR × grace`` after its first
  arrival, with replicas still out, gets one speculative extra replica on a worker outside the
  round (another operator while one is live). Its result is read and settled the same way.

Rounds that settle within their grace cost one Redis command per replica and nothing else.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from celery.backends.base import KeyValueStoreBackend
from sqlalchemy import select

from shardy import arrivals
from shardy.celery_app import ShardyCelery
from shardy.orchestrator import dispatch
from shardy.orchestrator.settle import settle
from shardy.store import Assignment, Replica, Task

log = logging.getLogger("shardy.orchestrator")

#: Bounds on a kernel's grace (s): below, looks cost more than they save; the ceiling is
#: a quarter of SHARDY_STALE_AFTER (the sweeper's business beyond that).
MIN_GRACE = 0.25
#: Grace of a kernel with fewer recorded spreads than `MIN_SAMPLES`.
DEFAULT_GRACE = 3.0
MIN_SAMPLES = 20
#: Seconds a kernel's grace is reused before its spreads are read again.
GRACE_TTL = 5.0
#: Rounds looked at per pass.
PAGE = 256
#: The newest spreads a grace is drawn from (the load of the last minutes, not of a cold start).
RECENT = 50


def grace_of(spreads: list[float], ceiling: float) -> float:
    """A kernel's grace from its recent round spreads: their p95, within bounds."""
    if len(spreads) < MIN_SAMPLES:
        return min(DEFAULT_GRACE, ceiling)
    return float(min(ceiling, max(MIN_GRACE, np.percentile(spreads, 95))))


def stored_results(app: ShardyCelery, ids: list[str]) -> list[dict[str, Any] | None]:
    """The results replica tasks ``ids`` have stored (None where not finished)."""
    backend = app.backend
    if isinstance(backend, KeyValueStoreBackend):
        values = backend.mget([backend.get_key_for_task(i) for i in ids])
        metas = [backend.decode_result(v) if v else None for v in values]
    else:
        metas = [backend.get_task_meta(i) for i in ids]
    return [
        m["result"]
        if m and m.get("status") == "SUCCESS" and isinstance(m.get("result"), dict)
        else None
        for m in metas
    ]


@dataclass
class Watch:
    """Looks at rounds past their grace (see the module) on a daemon thread until stopped."""

    app: ShardyCelery
    interval: float = 0.2
    _graces: dict[str, tuple[float, float]] = field(default_factory=dict)
    _next: dict[tuple[str, int], float] = field(default_factory=dict)
    _cursor: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Watch:
        threading.Thread(target=self._loop, name="shardy-early", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.look()
            except Exception:  # the broker or database may be restarting: try again later
                log.exception("early look failed; retrying")
                self._stop.wait(1.0)

    def grace(self, kernel: str) -> float:
        """The kernel's grace (s), re-read from its spreads every `GRACE_TTL` seconds."""
        now = time.monotonic()
        cached = self._graces.get(kernel)
        if cached is None or cached[1] < now:
            ceiling = max(MIN_GRACE, self.app.settings.effective_stale_after / 4)
            g = grace_of(arrivals.spreads(self.app.redis, kernel)[:RECENT], ceiling)
            self._graces[kernel] = cached = (g, now + GRACE_TTL)
        return cached[0]

    def look(self) -> int:
        """One page of the rounds past the shortest grace (the next page on the next call, so
        a backlog of waiting rounds never hides newer ones); returns how many were settled
        early or given a speculative replica."""
        now = time.time()
        acted = 0
        due = arrivals.due(self.app.redis, now - MIN_GRACE, self._cursor, PAGE)
        self._cursor = self._cursor + len(due) if len(due) == PAGE else 0
        for task_id, round_no, first in due:
            if self._next.get((task_id, round_no), 0.0) > now:
                continue
            acted += self._round(task_id, round_no, first, now)
        if len(self._next) > 16 * PAGE:  # forget rounds long settled
            self._next = {k: v for k, v in self._next.items() if v > now}
        return acted

    def _round(self, task_id: str, round_no: int, first: float, now: float) -> int:
        app = self.app
        with app.store.read() as session:
            task = session.get(Task, task_id)
            if task is None or task.state != "running":
                app.redis.zrem(arrivals.ARRIVALS_KEY, arrivals.member(task_id, round_no))
                return 0
            grace = self.grace(task.kernel)
            if now - first < grace:
                self._next[(task_id, round_no)] = first + grace
                return 0
            assigned = session.scalars(
                select(Assignment).where(Assignment.task_id == task_id,
                                         Assignment.round == round_no)
            ).all()  # fmt: skip
            have = set(session.scalars(select(Replica.replica).where(Replica.task_id == task_id)))
            settled_round = round_no <= task.rounds_settled
            latest = round_no == task.rounds_sent
            speculated = any(a.speculative for a in assigned)
        # looked at again soon: its stragglers (or a speculative replica) may land any moment
        self._next[(task_id, round_no)] = now + max(self.interval, min(grace / 2, 1.0))
        out = [a for a in assigned if a.replica not in have]
        ids = [arrivals.replica_task_id(task_id, round_no, a.replica) for a in out]
        results = [r for r in stored_results(app, ids) if r is not None]
        pending = len(out) - len(results)
        if pending == 0 and not settled_round:  # all back: the chord's settle is on its way
            return 0
        acted = 0
        factor = app.settings.speculate_factor
        late = factor > 0 and now - first > factor * grace
        if late and latest and not speculated and pending > 0:  # first: it takes a while
            exclude = tuple(sorted({a.worker_id for a in assigned if a.worker_id}))
            with app.store.read() as session:
                task = session.get(Task, task_id)
                exclude = tuple(sorted({*exclude, *dispatch.voters(session, task)}))
            if task.state == "running" and dispatch.speculate(app, task, round_no, exclude):
                log.warning("task %s round %d straggles: sent a speculative replica",
                            task_id, round_no)  # fmt: skip
                self._next[(task_id, round_no)] = now + self.interval  # its answer settles it
                acted = 1
        if results and (app.settings.early_quorum or settled_round):
            outcome = settle(app, results, task_id, round_no, partial=True)
            log.info("task %s round %d looked at early: %s", task_id, round_no, outcome["action"])
            acted = 1
        return acted
