"""Speculative replicas: one extra replica of a straggling round, sent to a live worker
outside it (`shardy.orchestrator.early`'s `Watch` decides which rounds straggle).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from shardy import routing
from shardy.celery_app import ShardyCelery
from shardy.kernels import catalog
from shardy.kernels.shipped import is_shipped
from shardy.orchestrator import dispatch, homogeneous
from shardy.store import Assignment, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.orchestrator")

#: Workers a speculative replica's target is chosen from (the least loaded of them).
CHOICES = 3


def speculate(app: ShardyCelery, rounds: Sequence[tuple[Task, int, tuple[str, ...]]]) -> list[bool]:
    """Send one speculative extra replica of each (task, round, exclude) of ``rounds`` to a
    live worker outside ``exclude`` (its operator too, while others are live; the least loaded
    of `CHOICES` that `shardy.routing.assign` draws), alone, outside the round's chord
    (`Watch` reads its result and settles it). Counts each replica against its task's budget
    and records its assignment, in one write transaction for all of them, before any order
    leaves. Call it outside any write transaction of the store. Returns, per round, whether
    one was sent (not when the budget is spent, the task is decided, or no such worker is
    live)."""
    chosen: dict[int, routing.Target] = {}
    added: dict[str, int] = {}  # replicas this call gave each worker so far
    voter = {w: x.voter for w, x in routing.live_workers(app.redis).items()}
    for i, (task, _, exclude) in enumerate(rounds):
        if voter.keys() <= set(exclude):  # every live worker is the round's: none to ask
            continue
        live = None
        if task.platform is not None:  # homogeneous: the same platform as the round's replicas
            live = homogeneous.members(app, task.platform)
        # the least loaded of a few (a straggler's replica must not queue behind a backlog),
        # of other operators than the round's while any is drawn (assign draws those first)
        choices = [t for t in routing.assign(app.redis, CHOICES, exclude, live) if t.worker_id]
        avoid = {voter.get(w) for w in exclude}
        choices = [t for t in choices if voter.get(t.worker_id) not in avoid] or choices[:1]
        if choices:
            loads = routing.load(app.redis, [t.worker_id for t in choices])
            chosen[i] = target = min(
                choices, key=lambda t: loads[t.worker_id] + added.get(t.worker_id, 0)
            )
            added[target.worker_id] = added.get(target.worker_id, 0) + 1
    for kernel in {rounds[i][0].kernel for i in chosen}:
        if is_shipped(kernel):  # fleet workers read it from the blob store: keep it there
            catalog.publish(app, catalog.lookup(app, kernel))
    reserved: dict[int, int] = {}
    if chosen:
        with app.store.session() as session:
            for i, target in chosen.items():
                task, round_no, _ = rounds[i]
                row = session.get(Task, task.id, with_for_update=True)
                if row is None or row.state != "running" or row.replicas_sent >= row.max_replicas:
                    continue
                reserved[i] = replica = dispatch.next_replica(session, row)
                row.replicas_sent = replica + 1
                row.updated_at = utcnow()
                session.add(Assignment(task_id=task.id, round=round_no, replica=replica,
                                       worker_id=target.worker_id, kind=target.kind,
                                       assigned_at=utcnow(), speculative=True))  # fmt: skip
    # the orders are planned after the commit (choosing the key may itself write)
    sent = {}
    for i, replica in reserved.items():
        task, round_no, exclude = rounds[i]
        try:
            planned = dispatch.plan_round(app, task, dispatch.payload_ref(app, task),
                                          range(replica, replica + 1), round_no, exclude,
                                          targets=[chosen[i]])  # fmt: skip
        except Exception:  # its payload or key: the others still go out; the chord settles it
            log.exception("task %s round %d: speculative replica not sent", task.id, round_no)
            continue
        sent[i] = (planned.kernel, *planned.orders[0])
    routing.track(app.redis,
                  [(t.worker_id, routing.assignment_key(o.task_id, o.round, o.replica))
                   for _, o, t in sent.values()],
                  time.time() + 2 * app.settings.task_time_limit)  # fmt: skip
    for kernel, o, t in sent.values():
        dispatch.replica_signature(app, kernel, o, t).apply_async()
    return [i in sent for i in range(len(rounds))]
