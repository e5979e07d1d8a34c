"""The gateway's Celery side: the ``shardy.relay`` task (in a threads pool, one thread per
replica in flight), ``shardy.relay_many`` (a group of replicas, one thread each group), and
the signal handlers that start and stop the server.

``shardy gateway`` runs ``celery -A shardy.orchestrator.gateway.tasks worker -Q
shardy.gw.<id> -P threads``; the sessions live on the server's event loop, so idle sessions
cost no thread.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from shardy import arrivals, collects, deadletter, routing
from shardy.celery_app import app
from shardy.messages import ReplicaOrder, ReplicaResult
from shardy.orchestrator.gateway import many, relay
from shardy.orchestrator.gateway.server import Gateway

log = logging.getLogger("shardy.gateway")


@dataclass
class GatewayProcess:
    """What a gateway process holds: its server."""

    gateway: Gateway | None = None


process = GatewayProcess()
_started = threading.Event()


#: Allocations at least this large (a payload's or an output's 1 MiB chunks) are mapped on
#: their own and given back when freed. With glibc's sliding threshold they came from the
#: arena of whichever executor thread read them and stayed there, so the gateway's peak grew
#: with its threads: 12-19 MiB relaying 64 MiB to two workers, once 36; with it, about 10.
MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc's malloc.h)


def _map_large_buffers() -> None:
    """``mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)`` where the C library has it (best effort:
    elsewhere the peak is only higher)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        log.info("could not fix the allocator's mmap threshold; large buffers may linger")


@worker_ready.connect
def _start(sender: Any = None, **_: Any) -> None:
    """In the gateway's main process: serve the sessions of this gateway's queue."""
    gateway_id = app.settings.gateway_id
    queues = {q.name for q in getattr(sender.task_consumer, "queues", [])}
    if gateway_id is None or routing.gateway_queue(gateway_id) not in queues:
        return
    _map_large_buffers()
    deadletter.declare(app)
    process.gateway = Gateway(app, gateway_id).start()
    _started.set()
    print(f"gateway {gateway_id} serving {process.gateway.url}", flush=True)  # noqa: T201


@worker_shutdown.connect
def _stop(**_: Any) -> None:
    if process.gateway is not None:
        process.gateway.stop()


@app.task(
    name="shardy.relay",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    # Celery reprs every return value for its "succeeded" log line, logged or not; a relay's
    # record is a nested dict and a full repr cost about 5% of the gateway's GIL time
    resultrepr_maxsize=64,
)
def relay_replica(
    self, frame: bytes, attempt: int = 0, reassigned: int = 0, grouped: bool = False
) -> dict[str, Any]:
    """Relay one replica to its remote worker (see `shardy.orchestrator.gateway.relay`);
    ``grouped``: a replica of a grouped relay sent alone (`many.alone`): it stores its result
    and asks for a collect of its round itself."""
    result = _relay_one(self, frame, attempt, reassigned, grouped)  # raises Celery's Retry
    if grouped and self.request.chord is None:
        collects.finish_alone(app, self.request.id, frame, result)
    return result


def _relay_one(task: Any, frame: bytes, attempt: int, reassigned: int, grouped: bool) -> dict:
    if not _started.wait(60) or process.gateway is None:  # a replica ends in a record
        log.error("this process serves no gateway (start it with `shardy gateway`)")
        return ReplicaResult("skipped", None, None, error="no gateway in this process").to_dict()
    keep = {"grouped": True} if grouped else {}
    try:
        result = relay.relay(process.gateway, frame, attempt, reassigned)
    except relay.Reassign as r:
        raise task.retry(args=(r.frame,),
                         kwargs={"attempt": 0, "reassigned": r.reassigned, **keep},
                         countdown=0, queue=app.queue(r.queue)) from None  # fmt: skip
    except relay.Retry as r:
        raise task.retry(args=(frame,),
                         kwargs={"attempt": attempt + 1, "reassigned": reassigned, **keep},
                         countdown=r.countdown,
                         queue=app.queue(process.gateway.queue)) from None  # fmt: skip
    except Exception as exc:  # a bug or a library error: a replica ends in a record, never in
        log.exception("relay failed")  # an exception (one would fail the whole chord)
        try:
            order = ReplicaOrder.decode(frame)
            ids = (order.task_id, order.replica)
        except Exception:  # noqa: BLE001 - not even the ids: settle skips it
            ids = (None, None)
        return ReplicaResult("skipped", *ids, error=f"relay failed: {exc!r}"[:500]).to_dict()
    if result.get("status") != "ok":  # an ok result's arrival is marked as it is stored
        arrivals.mark(app.redis, frame, result)  # the orchestrator may judge the round early
    return result


@app.task(name="shardy.relay_many", bind=True, acks_late=True, reject_on_worker_lost=True,
          ignore_result=True)  # fmt: skip
def relay_group(self, orders: list[bytes]) -> int:
    """Relay a group of replicas (see `shardy.orchestrator.gateway.many`); returns how many
    results it stored."""
    gateway = process.gateway if _started.wait(60) else None
    if gateway is None:
        log.error("this process serves no gateway (start it with `shardy gateway`)")
    return many.relay_many(app, gateway, orders)
