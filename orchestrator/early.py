"""Early quorum and straggler speculation: judge a round before its slowest replica returns.

Celery runs a round's chord body (settle) only when every replica has returned, so two
agreeing replicas would wait for a hung third up to the task time limit. The orchestrator's
main process watches instead (`Watch`):

- Workers mark a round's first and latest returned replica (`shardy.arrivals`). A round still
  unsettled ``grace`` seconds after its first, the p95 of the kernel's recent round spreads
  (first to last arrival of rounds that came back in full), is looked at: the results its
  replicas stored so far are read from the result backend and, when they could make a quorum
  (`could_decide`), settled with ``partial=True``. If a quorum already agrees (beyond any
  replica still out, once probation applies: `shardy.orchestrator.quorum.decide`), the task
  is verified now; workers then skip its replicas still queued, and any that still return
  are judged late, as usual.
- A round still short of a quorum ``SHARDY_SPECULATE_FACTOR × grace`` after its first
  arrival, with replicas still out, gets one speculative extra replica on a worker outside the
  round (another operator while one is live). Its result is read and settled the same way.
  Not while a replica of the round waits unassigned at the gateway (`shardy.orchestrator.
  gateway.relay`): that one takes the next eligible worker itself.

Under load each step waits far longer than it works (for the CPU, for SQLite's write lock),
so a burst's stragglers must not queue behind each other: a pass reads the rounds it looks at
in one read session and one result-backend round trip and hands its work to threads:
`SETTLERS` for partial settles (rounds a speculative replica's answer may finish come
first), and one that sends the speculative replicas of all rounds waiting for one together
(`speculate`, in `shardy.orchestrator.speculation`: one write transaction). Rounds that settle
within their grace cost one Redis command per replica and nothing else; a round that stays
open is looked at half as often after each look (`MAX_RELOOK`), never past its speculation or
collect deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from shardy import arrivals
from shardy.celery_app import ShardyCelery
from shardy.orchestrator import judging
from shardy.orchestrator.settle import settle
from shardy.orchestrator.speculation import CHOICES as CHOICES  # re-exported
from shardy.orchestrator.speculation import speculate
from shardy.store import Assignment, Replica, Task

log = logging.getLogger("shardy.orchestrator")

#: Bounds on a kernel's grace (s): below, looks cost more than they save; the ceiling is
#: a quarter of SHARDY_STALE_AFTER (the sweeper's business beyond that).
MIN_GRACE = 0.25
#: Grace of a kernel with fewer recorded spreads than `MIN_SAMPLES`.
DEFAULT_GRACE = 3.0
MIN_SAMPLES = 20
#: Seconds a kernel's grace is reused before its spreads are read again (a burst changes
#: them within seconds; reading them is one Redis command).
GRACE_TTL = 1.0
#: Rounds looked at per pass.
PAGE = 256
#: The newest spreads a grace is drawn from (the load of the last minutes, not of a cold start).
RECENT = 50
#: Seconds a grouped round stays whole without its collect before the watch settles it.
COLLECT_WAIT = 2.0
#: The longest wait (s) before an open round is looked at again: each look doubles it, so
#: a burst's rounds queued behind it are not re-read every pass; never past a round's
#: speculation or its collect's deadline.
MAX_RELOOK = 1.0
#: Threads that settle rounds for a watch (each settle in its own transaction; settle is
#: idempotent, and a round has one job at a time).
SETTLERS = 4


def grace_of(spreads: list[float], ceiling: float) -> float:
    """A kernel's grace from its recent round spreads: their p95, within bounds."""
    if len(spreads) < MIN_SAMPLES:
        return min(DEFAULT_GRACE, ceiling)
    return float(min(ceiling, max(MIN_GRACE, np.percentile(spreads, 95))))


def could_decide(ok_votes: int, quorum: int, pending: int, probation: bool) -> bool:
    """Whether ``ok_votes`` (recorded and new) could verify a task now: a quorum, and with
    probation in force one beyond the ``pending`` replicas still out (`quorum.decide`). A
    partial settle that cannot verify would only record rows that the round's final settle
    records anyway, and would take time that a straggler's verdict waits for."""
    return ok_votes >= quorum + (pending if probation else 0)


@dataclass
class _Round:
    """One round as a pass sees it (read in the pass's one session)."""

    task: Task
    round_no: int
    first: float
    grace: float
    #: (replica, worker id, speculative) of the round's assignments
    assigned: list[tuple[int, str | None, bool]]
    #: recorded rows of the task (every round): replica → (status, worker id, proof valid)
    recorded: dict[int, tuple[str, str | None, bool | None]]
    probation: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    #: sent as grouped orders: no chord settles it (`shardy.orchestrator.grouped`)
    grouped: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return self.task.id, self.round_no

    @property
    def out(self) -> list[tuple[int, str | None, bool]]:
        """Assignments whose result is not recorded yet."""
        return [a for a in self.assigned if a[0] not in self.recorded]

    @property
    def pending(self) -> int:
        """Replicas of the round neither recorded nor back."""
        return len(self.out) - len(self.results)

    @property
    def settled(self) -> bool:
        """Whether the round's chord has settled it (a speculative replica may still land)."""
        return self.round_no <= self.task.rounds_settled

    def settleable(self, early_quorum: bool) -> bool:
        """Whether its new results are worth a partial settle now."""
        if not self.results or not (early_quorum or self.settled):
            return False
        if self.settled or self.task.spot_digest is not None:
            return True  # late replicas of a settled round; a spot check judges every vote
        ok = sum(s == "ok" for s, _, _ in self.recorded.values())
        ok += sum(r.get("status") == "ok" for r in self.results)
        return could_decide(ok, self.task.quorum, self.pending, self.probation)

    def speculative_back(self) -> bool:
        """Whether its speculative replica's result is among the new ones."""
        spec = {r for r, _, s in self.assigned if s}
        return any(r.get("replica") in spec for r in self.results)


@dataclass
class Watch:
    """Looks at rounds past their grace (see the module) on a daemon thread until stopped.
    Without `start`, `look` does its work on the caller's thread."""

    app: ShardyCelery
    interval: float = 0.1
    _graces: dict[str, tuple[float, float]] = field(default_factory=dict)
    _next: dict[tuple[str, int], float] = field(default_factory=dict)
    #: how often each open round was looked at (its next look backs off)
    _looks: dict[tuple[str, int], int] = field(default_factory=dict)
    _cursor: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _settlers: ThreadPoolExecutor | None = None
    #: one thread: speculative replicas never wait behind settles
    _speculator: ThreadPoolExecutor | None = None
    #: straggling rounds for the speculator, which takes all that wait at once
    _late: list[_Round] = field(default_factory=list)
    _late_lock: threading.Lock = field(default_factory=threading.Lock)
    #: rounds whose partial settle or speculative replica is under way
    _busy: set[tuple[str, int]] = field(default_factory=set)
    #: grouped rounds seen with every replica back, and when (their collect is due)
    _whole: dict[tuple[str, int], float] = field(default_factory=dict)

    def start(self) -> Watch:
        self._settlers = ThreadPoolExecutor(SETTLERS, thread_name_prefix="shardy-early-settle")
        self._speculator = ThreadPoolExecutor(1, thread_name_prefix="shardy-early-speculate")
        threading.Thread(target=self._loop, name="shardy-early", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop after the current pass (jobs already started finish; queued ones are
        dropped: the chords settle their rounds)."""
        self._stop.set()
        for pool in (self._settlers, self._speculator):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

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
        a backlog of waiting rounds never hides newer ones); returns how many rounds it
        handed on, to be settled or to get a speculative replica."""
        now = time.time()
        due = arrivals.due(self.app.redis, now - MIN_GRACE, self._cursor, PAGE)
        self._cursor = self._cursor + len(due) if len(due) == PAGE else 0
        wanted = [d for d in due if self._next.get(d[:2], 0.0) <= now and d[:2] not in self._busy]
        acted = self._pass(self._read(wanted, now), now) if wanted else 0
        if len(self._next) > 16 * PAGE:  # forget rounds long settled
            self._next = {k: v for k, v in self._next.items() if v > now}
            self._looks = {k: v for k, v in self._looks.items() if k in self._next}
            self._whole = {k: v for k, v in self._whole.items() if v > now - 60}
        return acted

    def _read(self, due: list[tuple[str, int, float]], now: float) -> list[_Round]:
        """The rounds of ``due`` past their grace whose task still runs, with the results
        their replicas stored so far (one read session, one result-backend round trip)."""
        app = self.app
        ids = sorted({task_id for task_id, _, _ in due})
        assigned: dict[tuple[str, int], list[tuple[int, str | None, bool]]] = {}
        recorded: dict[str, dict[int, tuple[str, str | None, bool | None]]] = {}
        with app.store.read() as session:
            tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(ids)))}
            for a in session.scalars(select(Assignment).where(Assignment.task_id.in_(ids))):
                assigned.setdefault((a.task_id, a.round), []).append(
                    (a.replica, a.worker_id, bool(a.speculative))
                )
            rows = session.execute(
                select(Replica.task_id, Replica.replica, Replica.status, Replica.worker_id,
                       Replica.proof_valid).where(Replica.task_id.in_(ids))
            )  # fmt: skip
            for task_id, replica, status, worker, valid in rows:
                recorded.setdefault(task_id, {})[replica] = (status, worker, valid)
            probation = judging.established(app, session, set()) is not None
        rounds = []
        for task_id, round_no, first in due:
            task = tasks.get(task_id)
            if task is None or task.state != "running":
                app.redis.zrem(arrivals.ARRIVALS_KEY, arrivals.member(task_id, round_no))
                continue
            grace = self.grace(task.kernel)
            if now - first < grace:
                self._next[(task_id, round_no)] = first + grace
                continue
            seen = assigned.get((task_id, round_no), [])
            rounds.append(_Round(task, round_no, first, grace, seen, recorded.get(task_id, {}),
                                 probation))  # fmt: skip
        marked = arrivals.grouped(app.redis, [r.key for r in rounds])
        for r in rounds:
            r.grouped = r.key in marked
        outs = [(r, arrivals.replica_task_id(r.task.id, r.round_no, a[0]))
                for r in rounds for a in r.out]  # fmt: skip
        stored = arrivals.stored_results(app, [i for _, i in outs])
        for (r, _), result in zip(outs, stored, strict=True):
            if result is not None:
                r.results.append(result)
        return rounds

    def _pass(self, rounds: list[_Round], now: float) -> int:
        """Start sending the speculative replicas of rounds that straggle (none of a round
        being settled: its verdict may make it needless), then the partial settles of rounds
        that could decide (those a speculative replica's answer may finish first)."""
        app = self.app
        factor = app.settings.speculate_factor
        to_settle, to_speculate = [], []
        for r in rounds:
            # looked at again soon: its stragglers (or a speculative replica) may land any
            # moment; a round that stays open (queued behind a burst) twice as late each time
            looks = self._looks.get(r.key, 0)
            self._looks[r.key] = looks + 1
            wait = min(MAX_RELOOK, max(self.interval, min(r.grace / 2, 1.0)) * 2 ** min(looks, 8))
            due = [r.first + factor * r.grace] if factor > 0 else []  # its speculation
            whole = r.pending == 0 and not r.settled  # all back: its settle or collect is due
            if whole and r.grouped:  # a collect it waits for, until COLLECT_WAIT
                due.append(self._whole.setdefault(r.key, now) + COLLECT_WAIT)
            ahead = [t - now for t in due if t > now]
            self._next[r.key] = now + max(self.interval, min([wait, *ahead]))
            if whole:
                if r.grouped and now - self._whole[r.key] > COLLECT_WAIT:
                    to_settle.append(r)  # the collect was lost: settle it in full here
                continue
            if r.settleable(app.settings.early_quorum):
                to_settle.append(r)
                continue
            late = factor > 0 and now - r.first > factor * r.grace
            latest = r.round_no == r.task.rounds_sent
            # a replica no worker could take waits at the gateway for the next eligible one:
            # a speculative replica would take that worker from it and leave it waiting out
            # its minute, counted as still out by the early quorum
            back = {res.get("replica") for res in r.results}
            waiting = any(w is None and n not in back for n, w, _ in r.out)
            if late and latest and r.pending > 0 and not waiting \
                    and not any(s for _, _, s in r.assigned):  # fmt: skip
                to_speculate.append(r)
        if to_speculate:
            self._busy.update(r.key for r in to_speculate)
            with self._late_lock:
                idle = not self._late  # else a job that has not taken them yet is queued
                self._late.extend(to_speculate)
            if idle:
                self._run(self._speculator, [], self._speculate)
        for r in sorted(to_settle, key=lambda r: not r.speculative_back()):
            self._run(self._settlers, [r], self._settle, r)
        return len(to_settle) + len(to_speculate)

    def _run(self, pool: ThreadPoolExecutor | None, rounds: list[_Round], job, *args: Any) -> None:
        """Run ``job(*args)`` on ``pool`` (inline without one); ``rounds`` are not looked at
        again until it is done."""
        keys = [r.key for r in rounds]
        self._busy.update(keys)

        def run() -> None:
            try:
                job(*args)
            except Exception:  # looked at again on a later pass
                what = ", ".join(f"{t}:{n}" for t, n in keys) or "straggling rounds"
                log.exception("early look at %s failed", what)
            finally:
                self._busy.difference_update(keys)

        if pool is None:
            run()
        else:
            pool.submit(run)

    def _speculate(self) -> None:
        """Send the speculative replicas of every round waiting for one, together."""
        with self._late_lock:
            rounds, self._late = self._late, []
        try:
            self._send(rounds)
        finally:
            self._busy.difference_update(r.key for r in rounds)

    def _send(self, rounds: list[_Round]) -> None:
        wanted = []
        for r in rounds:
            exclude = {w for _, w, _ in r.assigned if w}  # the round's, and earlier voters
            exclude |= {w for s, w, valid in r.recorded.values() if s == "ok" and valid and w}
            wanted.append((r.task, r.round_no, tuple(sorted(exclude))))
        for r, sent in zip(rounds, speculate(self.app, wanted), strict=True):
            if sent:
                log.warning("task %s round %d straggles: sent a speculative replica",
                            r.task.id, r.round_no)  # fmt: skip
                self._next[r.key] = time.time() + self.interval  # its answer settles it

    def _settle(self, r: _Round) -> None:
        whole = r.grouped and r.pending == 0 and not r.settled
        outcome = settle(self.app, r.results, r.task.id, r.round_no, partial=not whole)
        log.info("task %s round %d looked at early: %s", r.task.id, r.round_no, outcome["action"])
