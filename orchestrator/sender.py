"""A client's order sender: rounds recorded by `submit` go out at once, or together on one thread.

`shardy.submit` records its task (SQL row, assignments, payload), then hands the round's orders
to the client's `Sender`. An idle sender sends them at once on the caller's thread, so a lone
task waits for nothing; otherwise its thread sends whatever has accumulated since its last send
together (`shardy.orchestrator.dispatch.send_planned`, which groups the orders of many rounds
per fleet worker: `shardy.orchestrator.grouped`), so bursts of submits share their messages as
`shardy.map`'s batches do.

A send that fails (the broker restarting) is retried with backoff; a round still unsent after
that is logged and left to the sweeper, which re-sends rounds of recorded tasks that stay
silent: nothing recorded is lost. `Client.close` and interpreter exit wait for what is queued.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

log = logging.getLogger("shardy.client")

#: The most rounds one send takes.
MAX_ROUNDS = 512
#: A send waits for more rounds to join it only while submits come fast: the median of the
#: last `PACE_GAPS` gaps between them under `FAST_GAP` seconds (a burst or a steady stream,
#: even one whose submits stall now and then on a lock; a client that waits for each result
#: before its next submit never waits here). It then waits for about `GATHER` typical gaps'
#: worth of rounds, at most `LINGER` seconds, so a stream's rounds go out grouped (one
#: message per worker, shared proofs) instead of one by one.
FAST_GAP = 0.03
PACE_GAPS = 4
GATHER = 16
LINGER = 0.1
#: Seconds between attempts of a failed send (then the sweeper's business).
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)

_live: weakref.WeakSet[Sender] = weakref.WeakSet()


class Sender:
    """Sends planned rounds with ``send(*rounds)`` on a daemon thread, batching what waits."""

    def __init__(self, send: Callable[..., None]) -> None:
        self._send = send
        self._cond = threading.Condition()
        self._queue: list[Any] = []
        self._busy = False
        self._closed = False
        self._arrivals: deque[float] = deque(maxlen=PACE_GAPS + 1)  # of the latest puts
        self._thread = threading.Thread(target=self._loop, name="shardy-sender", daemon=True)
        self._thread.start()
        _live.add(self)

    def put(self, *rounds: Any) -> None:
        """Send ``rounds`` (already recorded) soon: at once on this thread when the sender is
        idle and submits do not come fast (a lone task's orders need no hand-over to another
        thread, which would compete for the GIL with the caller's next step: waiting for the
        result), else on the sender's thread with whatever else waits. A failed send here is
        handed to the thread, which retries."""
        if not rounds:
            return
        with self._cond:
            if self._closed:
                raise RuntimeError("this client is closed")
            self._arrivals.append(time.monotonic())
            if self._queue or self._busy or self._linger():
                self._queue.extend(rounds)
                self._cond.notify_all()
                return
            self._busy = True
        try:
            self._send(*rounds)
            rounds = ()
        except Exception as exc:  # noqa: BLE001 - the broker may be restarting: the thread retries
            log.warning("sending %d rounds failed (%s); retrying in the background",
                        len(rounds), exc)  # fmt: skip
        finally:
            with self._cond:
                self._queue[:0] = rounds
                self._busy = False
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued round was sent (or given up on); False on timeout."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float | None = 60.0) -> None:
        """Send what is queued, then stop the thread."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self) -> list[Any] | None:
        with self._cond:
            while (not self._queue or self._busy) and not self._closed:
                self._cond.wait()  # one send at a time: put may be sending on its caller's thread
            if not self._queue:
                return None
            end = time.monotonic() + self._linger()
            while len(self._queue) < MAX_ROUNDS and not self._closed:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, self._queue = self._queue[:MAX_ROUNDS], self._queue[MAX_ROUNDS:]
            self._busy = True
            return batch

    def _linger(self) -> float:
        """How long this send waits for more rounds (0 unless submits come fast)."""
        gaps = sorted(b - a for a, b in pairwise(self._arrivals))
        if len(gaps) < PACE_GAPS or (typical := gaps[len(gaps) // 2]) >= FAST_GAP:
            return 0.0
        return min(LINGER, GATHER * typical)

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._deliver(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, batch: Sequence[Any]) -> None:
        for delay in (*RETRY_DELAYS, None):
            try:
                self._send(*batch)
                return
            except Exception as exc:  # noqa: BLE001 - the broker may be restarting
                if delay is None:
                    log.error("could not send %d recorded rounds (%s); the sweeper re-sends "
                              "them once they stay silent", len(batch), exc)  # fmt: skip
                    return
                log.warning("sending %d rounds failed (%s); retrying in %.1fs",
                            len(batch), exc, delay)  # fmt: skip
                time.sleep(delay)


@atexit.register
def _flush_all() -> None:
    """At exit: send what every live sender still holds (a script may submit and exit)."""
    for sender in list(_live):
        sender.close(timeout=30.0)
