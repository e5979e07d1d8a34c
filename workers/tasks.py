"""Celery tasks and signal handlers of the GPU worker (queue ``shardy.gpu``)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown

from shardy import arrivals, deadletter, routing
from shardy.celery_app import CONTROL_QUEUE, GPU_QUEUE, app
from shardy.collects import finish_alone
from shardy.messages import ReplicaOrder
from shardy.workers.execute import Retry, execute
from shardy.workers.group import run_group
from shardy.workers.identity import worker_commitment, worker_secret
from shardy.workers.runtime import Liveness, WorkerRuntime

log = logging.getLogger("shardy.worker")


@dataclass
class WorkerProcess:
    """What this process holds as a GPU worker: the runtime (made in the process that runs
    replicas, after fork), and in the main process its consumer and liveness beat."""

    runtime: WorkerRuntime | None = None
    consumer: Any = None
    liveness: Liveness | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


process = WorkerProcess()


def runtime(nodename: str) -> WorkerRuntime:
    """This process's worker runtime, created once on first use (after fork; thread-safe for
    the threads pool that batch attestation uses)."""
    with process.lock:
        rt = process.runtime
        if rt is None:
            rt = process.runtime = WorkerRuntime(app, nodename)
            app.send_task("shardy.register_worker", args=(rt.describe(),), queue=CONTROL_QUEUE)
    return rt


@celeryd_after_setup.connect
def _own_queue(sender: str, instance: Any, **_: Any) -> None:
    """A GPU worker also consumes its own queue, where dispatch sends the replicas it assigns
    to this worker (declared like every work queue, with the dead-letter exchange)."""
    queues = instance.app.amqp.queues
    if GPU_QUEUE in queues.consume_from:
        queues.select_add(app.queue(routing.direct_queue(sender)))


@worker_ready.connect
def _on_ready(sender: Any = None, **_: Any) -> None:
    """In a GPU worker's main process: declare the DLQ, register, start beating liveness."""
    deadletter.declare(app)
    process.consumer = sender
    queues = {q.name for q in getattr(sender.task_consumer, "queues", [])}
    if GPU_QUEUE not in queues:
        return
    s = app.settings
    worker_id = s.worker_id or sender.hostname
    slots = int(getattr(sender.controller, "concurrency", 1) or 1)
    process.liveness = Liveness(
        app, worker_id, queue=routing.direct_queue(sender.hostname), slots=slots
    ).start()
    secret = worker_secret(s, worker_id)  # created here once, before any replica
    info = {
        "id": worker_id,
        "hostname": socket.gethostname(),
        "operator": s.operator,
        "commitment": worker_commitment(secret),  # bound before any attestation arrives
    }  # the adapter follows from the pool process that opens the GPU
    app.send_task("shardy.register_worker", args=(info,), queue=CONTROL_QUEUE)
    if type(sender.pool).__module__.rsplit(".", 1)[-1] in ("thread", "solo"):
        _warm(sender.hostname)  # replicas run in this process; its secret exists by now


def _warm(nodename: str) -> None:
    """Make this process's runtime and warm it (`Engine.warm`) on a thread of its own, as
    the worker starts: a cold first replica took 3.8-5 s (the GPU opened, the key loaded, the
    prover's first proof), past the early quorum's grace. A replica that comes meanwhile waits
    for the runtime as before. Best effort: what fails here is set up by the first replica as
    before (and fails it there, with its message)."""
    started = time.monotonic()

    def run() -> None:
        try:
            rt = runtime(nodename)
            rt.engine.warm(rt.keys.likely())
        except Exception as exc:  # noqa: BLE001 - a worker that cannot warm up still serves
            log.warning("warm-up failed (the first replica sets up instead): %s", exc)
            return
        log.info("warmed up in %.2f s", time.monotonic() - started)

    threading.Thread(target=run, name="shardy-warm-up", daemon=True).start()


def _events_on() -> bool:
    """Whether this worker sends task events now (Flower switches them on at run time)."""
    # the consumer is at hand in a threads or solo pool (same process as the main one)
    dispatcher = getattr(process.consumer, "event_dispatcher", None)
    if dispatcher is not None:  # enable_events adds "task" to the dispatcher's groups
        groups = dispatcher.groups
        return bool(dispatcher.enabled) and (not groups or "task" in groups)
    return bool(app.conf.worker_send_task_events)


@worker_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    if process.liveness is not None:
        process.liveness.stop()


@app.task(
    name="shardy.execute",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def execute_replica(
    self,
    frame: bytes,
    attempt: int = 0,
    handbacks: int = 0,
    attempt_times: list[float] | None = None,
) -> dict[str, Any]:
    """Run one replica of a task (see `shardy.workers.execute.execute`)."""
    rt = runtime(self.request.hostname)

    def report(order: ReplicaOrder, stage: str, percent: int) -> None:
        """Progress: in Redis for `TaskHandle.status()`; a Celery event for Flower while task
        events are on."""
        rt.progress(order, stage, percent)
        if _events_on():
            self.send_event(
                "task-progress", stage=stage, percent=percent, shardy_task=order.task_id
            )

    try:
        result = execute(
            rt,
            frame,
            attempt=attempt,
            handbacks=handbacks,
            attempt_times=attempt_times,
            report=report,
        )
    except Retry as r:
        queue = app.queue(r.queue or GPU_QUEUE)
        raise self.retry(
            args=(frame,), kwargs=r.kwargs, countdown=r.countdown, queue=queue
        ) from None
    arrivals.mark(app.redis, frame, result)  # the orchestrator may judge the round early
    if self.request.chord is None:  # a grouped order re-sent alone, a speculative replica
        finish_alone(app, self.request.id, frame, result)
    return result


@app.task(name="shardy.execute_many", bind=True, acks_late=True, reject_on_worker_lost=True,
          ignore_result=True)  # fmt: skip
def execute_group(self, orders: list[bytes]) -> int:
    """Run a group of replicas (see `shardy.workers.group`); returns how many it answered."""
    rt = runtime(self.request.hostname)
    return run_group(app, orders, lambda frame: execute(rt, frame, report=rt.progress))
