"""Grouped relays: many replicas for a gateway's sessions in one ``shardy.relay_many`` message.

The remote side of grouped orders (`shardy.orchestrator.grouped`; a fleet worker's is
`shardy.workers.group`). Dispatch sends a burst's replicas assigned to one gateway's sessions
as one message of up to SHARDY_GROUP_ORDERS orders instead of one ``shardy.relay`` chord member
each, so Celery's per-message work in the gateway (its consumer, a pool thread's trace, the
result store) is paid once per group. One pool thread hands every order of the group to its
session at once (`relay.start_direct`: the same send, the same answer checks and the same
Redis work as a single relay's `_direct`), waits for their answers, stores each replica's
result in the result backend under the replica's own Celery id (one pipeline), and asks for
one collect naming the rounds it completed (`shardy.collects.request_collect`).

Per replica nothing else changes. An answer is taken only from the session the replica was
assigned to, once, and its output is stored and hashed here (`Session.receive`,
`relay._staged`). An order that cannot take the direct path (its session away, a payload to
read first), one whose session is lost with it, and one whose worker failed and may try
again are each re-sent alone as ``shardy.relay`` under the replica's own id (`alone`), where
a single relay's grace, reassignment, backoff and dead-lettering apply; it stores its result
and asks for a collect itself (`shardy.collects.finish_alone`). A gateway lost mid-group is
redelivered the whole message (``acks_late``): replicas already answered are judged once by settle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from shardy import arrivals
from shardy.celery_app import ShardyCelery
from shardy.collects import collect_complete, store_results
from shardy.errors import FrameError
from shardy.messages import ReplicaOrder, ReplicaResult
from shardy.orchestrator.gateway import relay
from shardy.orchestrator.gateway.server import Gateway

log = logging.getLogger("shardy.gateway")


def relay_many(app: ShardyCelery, gw: Gateway | None, orders: Sequence[bytes]) -> int:
    """Relay a group of orders (``gw``: this process's gateway, None if it serves none) and
    store their results; returns how many it stored (re-sent ones are not)."""
    if not isinstance(orders, (list, tuple)):  # a message of another shape: nothing to relay
        log.error("a grouped relay message without a list of orders was dropped")
        return 0
    decoded: list[tuple[bytes, ReplicaOrder]] = []
    for f in orders:
        try:
            decoded.append((bytes(f), ReplicaOrder.decode(bytes(f))))
        except (FrameError, TypeError, ValueError, KeyError, AttributeError):
            log.error("a malformed order in a grouped relay was dropped")
    results: list[tuple[bytes, ReplicaOrder, dict[str, Any]]] = []
    if gw is None:
        for frame, order in decoded:
            results.append((frame, order, ReplicaResult(
                "skipped", order.task_id, order.replica,
                error="no gateway in this process").to_dict()))  # fmt: skip
    else:
        results = _relay(app, gw, decoded)
    stored = [(arrivals.replica_task_id(o.task_id, o.round, o.replica), r) for _, o, r in results]
    store_results(app, stored)
    # an ok result's arrival was marked as it was stored; others' now (skips are no arrival)
    unmarked = {(o.task_id, o.round) for _, o, r in results
                if r.get("status") not in ("ok", "skipped")}  # fmt: skip
    collect_complete(app, [(o.task_id, o.round) for _, o, _ in results], sorted(unmarked))
    return len(stored)


def _relay(
    app: ShardyCelery, gw: Gateway, decoded: list[tuple[bytes, ReplicaOrder]]
) -> list[tuple[bytes, ReplicaOrder, dict[str, Any]]]:
    """Send every order that can take the direct path, then wait for their answers; the rest
    go alone. Returns the results made here."""
    sent: list[relay.Sent] = []
    for frame, order in decoded:
        session = relay.direct_session(gw, order)
        if session is None:
            alone(app, frame, order, queue=gw.queue)
            continue
        try:
            sent.append(relay.start_direct(gw, order, frame, session))
        except Exception:  # noqa: BLE001 - not handed over: the single relay tries it
            log.exception("%s: a grouped relay could not start it", order.summary())
            alone(app, frame, order, queue=gw.queue)
    deadline = time.monotonic() + gw.settings.task_time_limit + 35
    results = []
    for s in sent:
        try:
            results.append((s.frame, s.order, relay.finish_direct(
                gw, s, 0, 0, deadline=deadline, grace=False)))  # fmt: skip
        except relay.Reassign as r:
            alone(app, r.frame, s.order, queue=r.queue, reassigned=r.reassigned)
        except relay.Retry as r:
            alone(app, s.frame, s.order, queue=gw.queue, attempt=1, countdown=r.countdown)
        except Exception as exc:  # noqa: BLE001 - ends in a record, as a single relay's
            log.exception("%s: relay failed", s.order.summary())
            results.append((s.frame, s.order, ReplicaResult(
                "skipped", s.order.task_id, s.order.replica,
                error=f"relay failed: {exc!r}"[:500]).to_dict()))  # fmt: skip
    return results


def alone(
    app: ShardyCelery,
    frame: bytes,
    order: ReplicaOrder,
    *,
    queue: str,
    attempt: int = 0,
    reassigned: int = 0,
    countdown: float = 0.0,
) -> None:
    """Re-send one replica of a group as a ``shardy.relay`` of its own, under its own Celery
    id, marked ``grouped`` (it stores its result and asks for a collect itself)."""
    app.send_task("shardy.relay", args=(frame,), queue=app.queue(queue), countdown=countdown,
                  kwargs={"attempt": attempt, "reassigned": reassigned, "grouped": True},
                  task_id=arrivals.replica_task_id(order.task_id, order.round, order.replica),
                  argsrepr=f"({order.summary()})")  # fmt: skip
