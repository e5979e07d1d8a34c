"""Celery tasks of the orchestrator (queue ``shardy.control``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from celery.signals import (
    celeryd_after_setup,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from shardy import zk  # noqa: F401 - imported before the pool forks, not on a first settle
from shardy.celery_app import CONTROL_QUEUE, app
from shardy.errors import ShardyError
from shardy.orchestrator import grouped, keys, reputation, signing, standing  # noqa: F401
from shardy.orchestrator.collector import Collector
from shardy.orchestrator.early import Watch
from shardy.orchestrator.precheck import Prechecker  # its secret is drawn before the fork
from shardy.orchestrator.settle import settle
from shardy.orchestrator.sweep import Sweeper

log = logging.getLogger("shardy.orchestrator")

#: Options of the tasks that settle rounds: the decision lands in SQL (nobody reads their
#: results); redelivered if their process dies; retried while the store or Redis restarts.
SETTLING = {
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (SQLAlchemyError, RedisError),
    "retry_backoff": 0.5,
    "retry_backoff_max": 30,
    "max_retries": 20,
}


@app.task(name="shardy.settle", bind=True, **SETTLING)
def settle_task(self, results: list[Any], task_id: str, round_no: int) -> dict:
    """Chord body: settle one round of replica results for ``task_id``."""
    return settle(app, results, task_id, round_no)


@app.task(name="shardy.collect", **SETTLING)
def collect_task(rounds: list[Any]) -> dict:
    """Settle the named rounds of grouped orders whose replicas are all back."""
    return grouped.collect(app, rounds if isinstance(rounds, list) else [])


@app.task(name="shardy.register_worker", acks_late=True)
def register_worker(info: dict) -> None:
    """Record a GPU worker (id, hostname, adapter) in the workers table."""
    if not isinstance(info, dict) or not info.get("id"):
        return
    with app.store.session() as session:
        reputation.register(session, info)


@dataclass
class OrchestratorProcess:
    """What the orchestrator's main process holds: its sweeper, its early watch and its
    prechecker; and, in each settling process, its collector."""

    sweeper: Sweeper | None = None
    watch: Watch | None = None
    precheck: Prechecker | None = None
    collector: Collector | None = None


#: Set in the environment of a worker that settles (consumes the control queue), before its
#: pool starts, so that its pool's processes, forked or spawned, know it.
SETTLES_ENV = "SHARDY_SETTLING_WORKER"


process = OrchestratorProcess()


@celeryd_after_setup.connect
def _control(sender: str, instance: Any, **_: Any) -> None:
    """Note, before the pool starts, whether this worker settles (consumes the control queue)."""
    if CONTROL_QUEUE in instance.app.amqp.queues.consume_from:
        os.environ[SETTLES_ENV] = "1"


@worker_process_init.connect
def _start_collector(**_: Any) -> None:
    """In each settling process of a prefork pool: take collects off their list
    (`shardy.orchestrator.collector`)."""
    if os.environ.get(SETTLES_ENV):
        _collect_here()


@worker_process_shutdown.connect
def _stop_collector(**_: Any) -> None:
    if process.collector is not None:
        process.collector.stop()  # an entry it holds is put back by another (`recover`)


def _collect_here() -> None:
    """Start this process's collector, once."""
    if process.collector is None or process.collector.pid != os.getpid():
        process.collector = Collector(app).start()


@worker_ready.connect
def _start_sweeper(sender: Any = None, **_: Any) -> None:
    """In the orchestrator's main process: re-send rounds of tasks that went silent, and
    judge rounds early (`shardy.orchestrator.early`), and verify fresh proofs before their
    settle (`shardy.orchestrator.precheck`)."""
    queues = {q.name for q in getattr(sender.task_consumer, "queues", [])}
    if CONTROL_QUEUE in queues:
        with app.store.read() as session:  # routing's copy of the quarantined voters
            standing.mirror(app.redis, session)
        process.sweeper = Sweeper(app)
        process.watch = Watch(app).start()
        process.precheck = Prechecker(app).start()
        if type(sender.pool).__module__.rsplit(".", 1)[-1] != "prefork":
            _collect_here()  # settles run in this process
        try:  # the active key seeded and published now, not by the first submit
            keys.active_key(app)
        except (ShardyError, SQLAlchemyError, RedisError) as exc:  # a submit seeds it then
            log.info("the active verifier key is left for the first submit to seed: %s", exc)


@worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if process.sweeper is not None:
        process.sweeper.stop()
    if process.watch is not None:
        process.watch.stop()
    if process.precheck is not None:
        process.precheck.stop()
    if process.collector is not None:
        process.collector.stop()
