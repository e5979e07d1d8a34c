"""The public API: submit, map, TaskHandle and VerifiedResult."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import numpy as np
import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from shardy import readback
from shardy.config import Settings
from shardy.errors import TaskFailed, TaskTimeout, UnknownTask
from shardy.kernels.shipped import WgslKernel
from shardy.results import TaskStatus, VerifiedResult
from shardy.settled import Idle, Waiter

#: `Client.map` dispatches this many tasks per batch of round trips (`dispatch_many`).
MAP_CHUNK = 64
#: With settle's announcements, how often ``TaskHandle.get`` still re-checks the state store.
_RECHECK_S = 1.0
#: A task submitted less than this long ago (s) is still running (no verified round trip of
#: the fabric is this fast): ``get`` subscribes to the announcements before its first look.
_FRESH_S = 0.01


class Client:
    """Submits tasks and reads results for one configuration (one broker, one store).

    ``shardy.submit`` and friends use a default client built from the environment; build
    your own to talk to several clusters from one process.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._broker_checked = False

    @cached_property
    def app(self):
        """The Celery app for these settings."""
        import shardy.celery_app as ca

        if ca.app.settings == self.settings:
            return ca.app
        return ca.ShardyCelery(self.settings)

    def submit(
        self,
        kernel: str | WgslKernel,
        payload: bytes | bytearray | memoryview | np.ndarray | Mapping[str, Any],
        *,
        seed: int = 0,
        output_len: int | None = None,
        params: Mapping[str, Any] | None = None,
        redundancy: int | None = None,
        quorum: int | None = None,
    ) -> TaskHandle:
        """Submit one task; see `shardy.submit`."""
        kw = {"seed": seed, "output_len": output_len, "params": params,
              "redundancy": redundancy, "quorum": quorum}  # fmt: skip
        return self._dispatch(kernel, [payload], kw)[0]

    def _dispatch(
        self, kernel: str | WgslKernel, payloads: list[Any], kw: dict
    ) -> list[TaskHandle]:
        """Dispatch tasks sharing their round trips (`dispatch_many`)."""
        from shardy.embedded import require_broker
        from shardy.orchestrator.dispatch import dispatch_many

        if not self._broker_checked:  # once: a clear error instead of a connection timeout
            require_broker(self.settings)
            self._broker_checked = True
        raw = [
            np.ascontiguousarray(p).view(np.uint8).reshape(-1).data
            if isinstance(p, np.ndarray) else p
            for p in payloads
        ]  # fmt: skip
        tasks = dispatch_many(self.app, kernel, raw, send=self._sender.put, **kw)
        submitted = time.monotonic()
        return [TaskHandle(t.id, self, submitted) for t in tasks]

    @cached_property
    def _sender(self) -> Any:
        """Sends recorded rounds in the background, a burst's together
        (`shardy.orchestrator.sender`)."""
        from shardy.orchestrator.dispatch import send_planned
        from shardy.orchestrator.sender import Sender

        return Sender(lambda *rounds: send_planned(self.app, *rounds))

    def map(
        self,
        kernel: str | WgslKernel,
        payloads: Iterable[Any],
        *,
        progress: bool = False,
        **kw: Any,
    ) -> list[TaskHandle]:
        """Submit one task per payload; see `shardy.map`."""
        items = list(payloads)
        chunks = [items[i : i + MAP_CHUNK] for i in range(0, len(items), MAP_CHUNK)]
        if not progress:
            return [h for chunk in chunks for h in self._dispatch(kernel, chunk, kw)]
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())  # fmt: skip
        handles: list[TaskHandle] = []
        with Progress(*columns, transient=True) as bar:
            sent = bar.add_task(f"submitted {kernel}", total=len(items), rate="")
            done = bar.add_task("settled", total=len(items), rate="")
            started = time.monotonic()
            for chunk in chunks:
                handles += self._dispatch(kernel, chunk, kw)
                bar.advance(sent, len(chunk))
                self._show_settled(bar, done, handles, started)
            while not self._show_settled(bar, done, handles, started):
                time.sleep(0.25)
        return handles

    def _show_settled(self, bar: Any, job: Any, handles: list[TaskHandle], since: float) -> bool:
        """Update the "settled" bar (verified or dead, with a rate); True when all are."""
        from shardy.store import Task

        ids = [h.id for h in handles]
        with self.app.store.read() as s:
            n = s.scalar(
                select(func.count()).select_from(Task)
                .where(Task.id.in_(ids), Task.state.in_(("verified", "dead")))
            )  # fmt: skip
        rate = n / max(1e-9, time.monotonic() - since)
        bar.update(job, completed=n, rate=f"{rate:.1f} tasks/s")
        return n == bar.tasks[job].total

    @cached_property
    def _idle(self) -> Idle:
        """Subscriptions to settle's announcements kept between waits (`shardy.settled.Idle`)."""
        return Idle()

    def close(self) -> None:
        """Send what is still queued, then drop Celery's result subscriptions and the kept
        subscriptions to settle's announcements (call before the broker goes away)."""
        if "_sender" in self.__dict__:
            self.__dict__.pop("_sender").close()
        if "_idle" in self.__dict__:
            self.__dict__.pop("_idle").close()
        consumer = getattr(self.app.backend, "result_consumer", None)
        if consumer is not None:
            consumer.stop()
            consumer.subscribed_to.clear()

    def handle(self, task_id: str) -> TaskHandle:
        """A handle on an existing task id."""
        return TaskHandle(task_id, self)


class TaskHandle:
    """A submitted task. ``id``; ``status()``; ``get(timeout)`` → VerifiedResult."""

    def __init__(self, task_id: str, client: Client, submitted: float | None = None) -> None:
        self.id = task_id
        self._client = client
        self._submitted = submitted  # time.monotonic() when this client submitted it

    def __repr__(self) -> str:
        return f"TaskHandle({self.id!r})"

    def _unknown(self) -> UnknownTask:
        return UnknownTask(f"no task {self.id!r} in {self._client.settings.database}")

    def status(self) -> TaskStatus:
        """The task's current state. Raises UnknownTask for an id the store does not know."""
        from shardy.celery_app import PROGRESS_PREFIX
        from shardy.store import Replica

        with self._client.app.store.read() as s:
            task = s.scalars(readback.task_query(), {"task": self.id}).first()
            if task is None:
                raise self._unknown()
            done = set(s.scalars(select(Replica.replica).where(Replica.task_id == self.id)))
            state, sent, agreeing, error = task.state, task.replicas_sent, task.agreeing, task.error
        progress = {}
        if state == "running":
            raw = self._client.app.redis.hgetall(PROGRESS_PREFIX + self.id)
            progress = {
                int(r): orjson.loads(report) for r, report in raw.items() if int(r) not in done
            }
        return TaskStatus(self.id, state, sent, len(done), agreeing, error, progress)

    def get(self, timeout: float | None = None) -> VerifiedResult:
        """Wait for the verified result.

        Wakes on settle's announcement of the task (:mod:`shardy.settled`) and re-checks the
        state store at least every second; without announcements it polls with backoff.

        Raises:
            TaskFailed: the task was dead-lettered (quorum unreachable or replicas failed).
            IntegrityError: the stored output does not hash to the verified digest.
            TaskTimeout: ``timeout`` seconds passed first.
            UnknownTask: no such task.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        waiter: Waiter | None = None  # subscribed once a look finds the task undecided, or
        fresh = self._submitted is not None and time.monotonic() - self._submitted < _FRESH_S
        if fresh:  # before the first look: it would only find the task running
            waiter = Waiter(self._client.app.redis, self._client._idle)
        light = fresh  # a look expected to find the task running reads its state alone
        try:
            while True:
                try:
                    state, error, result = self._poll(light)
                except OperationalError as exc:  # the database is restarting or busy: ask again
                    if deadline is not None and time.monotonic() >= deadline:
                        raise TaskTimeout(
                            f"task {self.id}: the state store did not answer within {timeout}s "
                            f"({exc.orig}); check SHARDY_DATABASE_URL",
                            task_id=self.id,
                            state="unknown",
                        ) from exc
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.25)
                    continue
                if result is not None:
                    return result
                if state == "dead":
                    raise TaskFailed(
                        f"task {self.id} was dead-lettered: {error}", task_id=self.id,
                        state="dead",
                    )  # fmt: skip
                if deadline is not None and time.monotonic() >= deadline:
                    st = self.status()
                    raise TaskTimeout(
                        f"task {self.id} not verified within {timeout}s ({st.replicas_done} of "
                        f"{st.replicas_sent} replicas back); are GPU workers running "
                        "(`shardy up`)?",
                        task_id=self.id,
                        state=st.state,
                    )
                if waiter is None:  # subscribe, then look again: no announcement falls between
                    waiter = Waiter(self._client.app.redis, self._client._idle)
                    light = True
                    continue
                pause = _RECHECK_S if waiter.live else delay
                if deadline is not None:
                    pause = min(pause, deadline - time.monotonic())
                light = not waiter.wait(self.id, pause)  # announced: read the result now
                delay = min(delay * 1.5, 0.25)
        finally:
            if waiter is not None:
                waiter.close()

    def _poll(self, light: bool = False) -> tuple[str, str | None, VerifiedResult | None]:
        """(state, error, the result once verified), read in one session; ``light``, for a
        look that expects the task undecided: its state alone (two columns of one row), and
        the evidence in a second read only if it is verified."""
        if light:
            with self._client.app.store.read() as s:
                found = s.execute(readback.state_query(), {"task": self.id}).first()
            if found is None:
                raise self._unknown()
            if found[0] != "verified":
                return found[0], found[1], None
        with self._client.app.store.read() as s:  # one query: the task and its evidence
            found = s.execute(readback.evidence_query(), {"task": self.id}).all()
            if not found:
                raise self._unknown()
            task = found[0][0]
            joined = [(r, b, w) for _, r, b, w in found if r is not None]
            verified = task.state == "verified"
            result = readback.verified_result(self._client.app, task, joined) if verified else None
            return task.state, task.error, result


_default: Client | None = None


def default_client() -> Client:
    """The client built from the environment on first use."""
    global _default
    if _default is None:
        _default = Client()
    return _default


def submit(
    kernel: str | WgslKernel,
    payload: bytes | bytearray | memoryview | np.ndarray | Mapping[str, Any],
    *,
    seed: int = 0,
    output_len: int | None = None,
    params: Mapping[str, Any] | None = None,
    redundancy: int | None = None,
    quorum: int | None = None,
) -> TaskHandle:
    """Run ``kernel`` on ``payload`` on R distinct workers and verify the result by quorum.

    Args:
        kernel: a registered kernel name (``shardy.kernels.registry.names()``), or a
            `shardy.WgslKernel`, which travels with the task to workers that never saw it.
        payload: input bytes (or a numpy array, sent as its raw bytes); for a WgslKernel
            also its inputs by name (``{"a": array, ...}``), packed by its typed layout.
        seed: task seed (part of the task's identity; used by seeded kernels).
        output_len: expected output size in bytes; checked against the kernel when given.
        params: kernel parameters.
        redundancy: replicas (default SHARDY_REDUNDANCY_FACTOR).
        quorum: agreeing distinct workers needed (default SHARDY_QUORUM or majority).

    The task is recorded (SQL row, assignments, payload) when this returns; its orders go out
    from the client's sender thread at once, a burst's together (docs/architecture.md,
    "Grouped orders").

    Raises:
        KernelError, PayloadError, ConfigError, BrokerUnavailable: nothing was dispatched.
    """
    return default_client().submit(
        kernel,
        payload,
        seed=seed,
        output_len=output_len,
        params=params,
        redundancy=redundancy,
        quorum=quorum,
    )


def map(  # noqa: A001 - the public contract names it map
    kernel: str | WgslKernel, payloads: Iterable[Any], *, progress: bool = False, **kw: Any
) -> list[TaskHandle]:
    """Submit ``kernel`` once per payload (the keyword arguments of `submit` apply to all).

    Tasks go out in batches of `MAP_CHUNK` that share their round trips (one blob pipeline,
    one SQL transaction); a batch is validated whole before it is sent, so an invalid payload
    raises with nothing of its batch sent (earlier batches were). With ``progress=True`` it
    shows submission and settled completion (verified or dead-lettered) with a rate and an
    ETA, and returns once every task has settled."""
    return default_client().map(kernel, payloads, progress=progress, **kw)
