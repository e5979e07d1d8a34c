"""Redis work of many relays in one round trip: the gateway's loop queues commands (was a
task decided; an output's blob and its round's arrival), one thread sends each batch as a
pipeline and hands the replies back to the loop in one wake-up."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

log = logging.getLogger("shardy.gateway")

#: Commands' builders taken into one pipeline at most.
BATCH = 256
#: How long a batch gathers once its first job came (seconds), while relays keep coming.
GATHER_S = 0.001
#: A batch gathers only when the one before it carried several jobs and ended less than this
#: long ago (seconds): under a stream of relays; a lone relay's commands go out at once, and
#: so do its round's next ones (its other replicas' answers, a few ms apart).
BUSY_S = 0.005

Build = Callable[[Any], None]  # adds commands to a redis-py pipeline
Done = Callable[[Any], None]  # on the loop: the replies (a list), or the error


class Batcher:
    """One thread that runs queued Redis commands in pipelines, a batch at a time.

    Args:
        client: the Redis the commands go to.
        loop: where ``done`` callbacks run.
        busy_s: a batch gathers for `GATHER_S` only when the last one carried several jobs
            and ended less than this long ago (a stream of relays); a job after a quiet
            spell, or after batches of one, goes out at once.
    """

    def __init__(
        self, client: redis.Redis, loop: asyncio.AbstractEventLoop, busy_s: float = BUSY_S
    ) -> None:
        self.client = client
        self.loop = loop
        self.busy_s = busy_s
        self.gathered = 0  # batches that waited to gather (for tests and status)
        self._jobs: collections.deque[tuple[Build, Done, bool]] = collections.deque()
        self._wake = threading.Event()
        self._stop = False
        self._last = -busy_s  # when the last batch ended (time.monotonic())
        self._last_jobs = 0  # and how many jobs it carried

    def start(self) -> Batcher:
        """Run the batches from a daemon thread."""
        threading.Thread(target=self._run, name="shardy-gateway-redis", daemon=True).start()
        return self

    def stop(self) -> None:
        """Finish the batch under way, then stop."""
        self._stop = True
        self._wake.set()

    def submit(self, build: Build, done: Done, *, on_loop: bool = True) -> None:
        """From any thread: ``build`` queues commands on the next batch's pipeline (in the
        batch thread); ``done`` gets their replies (a failed command's reply is its
        exception), or the exception that failed ``build`` or the whole batch: on the loop,
        or with ``on_loop`` false in the batch thread (it must only hand them on)."""
        self._jobs.append((build, done, on_loop))
        self._wake.set()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            if self._last_jobs > 1 and time.monotonic() - self._last < self.busy_s:
                # relays keep coming: gather
                self.gathered += 1
                time.sleep(GATHER_S)
            self._wake.clear()
            while self._jobs and not self._stop:
                jobs = [self._jobs.popleft() for _ in range(min(BATCH, len(self._jobs)))]
                outcomes = self._execute(jobs)
                self._last, self._last_jobs = time.monotonic(), len(jobs)
                here = [o for o, (_, _, on_loop) in zip(outcomes, jobs, strict=True) if not on_loop]
                if len(here) < len(outcomes):  # one wake-up of the loop for the batch
                    there = [o for o, j in zip(outcomes, jobs, strict=True) if j[2]]
                    self.loop.call_soon_threadsafe(_deliver, there)
                _deliver(here)

    def _execute(self, jobs: list[tuple[Build, Done, bool]]) -> list[tuple[Done, Any]]:
        pipe = self.client.pipeline(transaction=False)
        spans: list[tuple[Done, Any]] = []
        for build, done, _ in jobs:
            start = len(pipe)
            try:
                build(pipe)
            except Exception as exc:  # noqa: BLE001 - the caller's error, handed back
                spans.append((done, exc))
                continue
            spans.append((done, (start, len(pipe))))
        try:
            replies: Any = pipe.execute(raise_on_error=False) if len(pipe) else []
        except redis.RedisError as exc:
            replies = exc
        return [
            (done, span if not isinstance(span, tuple)
             else replies if isinstance(replies, Exception) else replies[span[0] : span[1]])
            for done, span in spans
        ]  # fmt: skip


def _deliver(outcomes: list[tuple[Done, Any]]) -> None:
    for done, outcome in outcomes:
        try:
            done(outcome)
        except Exception:  # one caller's bug does not lose the others' replies
            log.exception("handling a Redis reply failed")
