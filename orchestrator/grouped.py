"""Grouped orders: many tasks' replicas for one fleet worker in one message, settled by collects.

A chord per task costs R replica messages, R result writes with the chord's counters, and a
settle message. When many tasks are dispatched together (`shardy.map`, a burst that a client
coalesces), their rounds whose replicas all go to named fleet workers are sent instead as one
``shardy.execute_many`` message per worker (up to SHARDY_GROUP_ORDERS orders;
`shardy.workers.group`). The worker stores each replica's result under the replica's own task
id and asks for one collect naming the rounds it completed (an entry on a Redis list that the
orchestrator's collectors take: `shardy.orchestrator.collector`); `collect` settles, in one
call, every named round whose replicas are all back. A remote worker's replicas go the same
way to its gateway, one ``shardy.relay_many`` message per gateway
(`shardy.orchestrator.gateway.many`), when their payload rides inline in the order. Rounds
with an unplaced replica keep their chord.

Nothing here is trusted more than a chord body: a collect only names rounds. Settle reads
their results from the result backend and admits them exactly as a chord's (an assigned
replica, a registered fleet worker, a valid proof). A collect that is lost, or that names a
round not yet complete, costs nothing: the early watch (`shardy.orchestrator.early`) settles a
grouped round that stays complete without one, and the sweeper covers the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from shardy import arrivals
from shardy.celery_app import ShardyCelery
from shardy.kernels.shipped import is_shipped
from shardy.store import Assignment, Replica, Task

log = logging.getLogger("shardy.orchestrator")

#: The largest payload (bytes) whose rounds are grouped: a group's replicas share one GPU in
#: turn, so a group of heavy tasks would hold its first answers (and its message) long, and
#: their per-message cost is small next to their work anyway.
GROUP_PAYLOAD_MAX = 1 << 20
#: The most rounds one collect looks at.
COLLECT_MAX = 512
#: What a collect may name: task ids as dispatch makes them (uuid4), rounds in an INTEGER.
_TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROUND_LIMIT = 1 << 31


def split(app: ShardyCelery, rounds: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(grouped, chorded): the planned rounds (`shardy.orchestrator.dispatch.PlannedRound`)
    that go out grouped (every replica to a named fleet worker, a payload up to
    `GROUP_PAYLOAD_MAX`; a lone round too: no chord's bookkeeping, and its collect comes
    from the replica that completes it), and the rest. A group's replicas are answered
    together, so a larger group holds its first results back longer: SHARDY_GROUP_ORDERS
    caps it (1: every round keeps its chord)."""
    if app.settings.group_orders < 2:
        return [], list(rounds)
    fits = [
        p for p in rounds
        if p.orders and p.orders[0][0].payload.size <= GROUP_PAYLOAD_MAX
        and all(_groups(o, t) for o, t in p.orders)
    ]  # fmt: skip
    if not fits:
        return [], list(rounds)
    chosen = {id(p) for p in fits}
    return fits, [p for p in rounds if id(p) not in chosen]


def _groups(order: Any, target: Any) -> bool:
    """Whether a replica may go out in a group: to a named fleet worker, or to a remote
    worker's gateway when the relay needs nothing read first (an inline payload, a registered
    kernel: the gateway hands a group's orders to their sessions at once)."""
    if target.worker_id is None:
        return False
    if target.kind == "fleet":
        return True
    return (target.kind == "remote" and order.payload.inline is not None
            and not is_shipped(order.kernel))  # fmt: skip


def send(app: ShardyCelery, rounds: Sequence[Any], marks: Any = None) -> int:
    """Send the orders of ``rounds`` (named workers) as one message per queue and
    SHARDY_GROUP_ORDERS orders: ``shardy.execute_many`` to a fleet worker, ``shardy.relay_many``
    to a gateway (`shardy.orchestrator.gateway.many`). The rounds are marked grouped first, so
    the early watch knows no chord settles them. A message's arguments show as its count of
    orders and their kernels, ``(2 orders: histogram)``, in Flower and the logs. Returns the
    number of messages sent. ``marks``: a pipeline of the caller's marks to send along
    with the rounds' (executed here, before any order goes out)."""
    marks = app.redis.pipeline(transaction=False) if marks is None else marks
    arrivals.stage_grouped(marks, [(p.task_id, p.round_no, [o.replica for o, _ in p.orders])
                                   for p in rounds])  # fmt: skip
    marks.execute()
    by_queue: dict[tuple[str, str], list[tuple[bytes, str]]] = {}
    for planned in rounds:
        for o, t in planned.orders:
            name = "shardy.execute_many" if t.kind == "fleet" else "shardy.relay_many"
            by_queue.setdefault((name, t.queue), []).append((o.encode(), planned.kernel))
    sent, most = 0, app.settings.group_orders
    for (name, queue), orders in by_queue.items():
        for i in range(0, len(orders), most):
            part = orders[i : i + most]
            kernels = ",".join(sorted({k for _, k in part}))[:80]
            app.send_task(name, args=([f for f, _ in part],), queue=app.queue(queue),
                          argsrepr=f"({len(part)} orders: {kernels})")  # fmt: skip
            sent += 1
    return sent


def complete(
    assigned: list[tuple[int, bool]],
    recorded: set[int],
    stored: dict[int, dict[str, Any]] | set[int],
) -> bool:
    """Whether a round's replicas are all back: every assignment but speculative ones
    (``assigned``: (replica, speculative)) is recorded or has a stored result."""
    return all(spec or r in recorded or r in stored for r, spec in assigned)


def collect(app: ShardyCelery, rounds: Sequence[Sequence[Any]]) -> dict[str, int]:
    """Settle the named rounds (``[task id, round]`` pairs) whose replicas are all back and
    that no full settle has decided yet, together in one transaction (`settle.settle_many`).
    Pairs that are malformed (a task id not as dispatch makes them, a round out of range),
    unknown, or not complete yet are left alone. Returns counts.

    A round whose replica numbers dispatch noted in Redis is judged ready from Redis alone
    (`_staged_ready`: its replicas' stored results) and checked again under its task's lock
    against the store; any other round by a read of the store first (`_ready`)."""
    wanted: list[tuple[str, int]] = []
    for item in list(rounds)[:COLLECT_MAX]:
        if (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
                and _TASK_ID.fullmatch(item[0]) and type(item[1]) is int
                and 1 <= item[1] < ROUND_LIMIT):  # fmt: skip
            wanted.append((item[0], item[1]))
    from shardy.orchestrator.settle import settle_many  # settle dispatches: import it late

    found, ready, rest = _staged_ready(app, sorted(set(wanted)))
    ready += _ready(app, rest)
    outcomes = settle_many(app, ready, found=found)
    settled = sum(o["action"] not in ("ignored", "not ready") for o in outcomes)
    return {"named": len(wanted), "settled": settled}


def _staged_ready(
    app: ShardyCelery, wanted: list[tuple[str, int]]
) -> tuple[dict[tuple[str, int], set[int]], list[tuple[str, int, list[dict[str, Any]]]], list]:
    """Readiness from Redis alone for the rounds of ``wanted`` whose replica numbers dispatch
    noted (`arrivals.staged`): (the replicas found stored by round, the rounds with every
    noted replica's result stored, with those results; the rounds not noted, for `_ready`).
    A noted round with a result missing is not ready. The notes are a hint: settle checks
    each round so found against its assignments and recorded rows, under the task's lock
    (`settle.settle_many`'s ``found``)."""
    noted = arrivals.staged(app.redis, wanted)
    stored = _stored(app, [(t, n, r) for (t, n), rs in noted.items() for r in rs])
    found = {k: set(have) for k, have in stored.items() if len(have) == len(set(noted[k]))}
    ready = [(t, n, list(stored[t, n].values())) for t, n in wanted if (t, n) in found]
    return found, ready, [w for w in wanted if w not in noted]


def _stored(
    app: ShardyCelery, outs: list[tuple[str, int, int]]
) -> dict[tuple[str, int], dict[int, dict[str, Any]]]:
    """The stored results of these replicas ((task id, round, replica)), in one round trip:
    (task id, round) → replica → its result, for those that have one."""
    values = arrivals.stored_results(app, [arrivals.replica_task_id(*o) for o in outs])
    stored: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    for (t, n, r), value in zip(outs, values, strict=True):
        if value is not None:
            stored.setdefault((t, n), {})[r] = value
    return stored


def whole(task: Task | None, round_no: int, recorded: set[int],
          assigned: dict[int, Assignment], found: set[int]) -> bool:  # fmt: skip
    """Whether round ``round_no`` of ``task`` is open and every replica ``assigned`` to it
    (but speculative ones) is ``recorded`` or ``found`` stored: settle's check, under the
    task's lock, of a round that a collect judged ready from Redis."""
    if task is None or not task.rounds_settled < round_no <= task.rounds_sent or not assigned:
        return False
    return complete([(r, bool(a.speculative)) for r, a in assigned.items()], recorded, found)


def _ready(
    app: ShardyCelery, wanted: list[tuple[str, int]]
) -> list[tuple[str, int, list[dict[str, Any]]]]:
    """The rounds of ``wanted`` ready for their full settle, with their stored results."""
    if not wanted:
        return []
    ids = sorted({t for t, _ in wanted})
    assigned: dict[tuple[str, int], list[tuple[int, bool]]] = {}
    recorded: dict[str, set[int]] = {}
    with app.store.read() as session:  # columns, not rows: nothing here is written
        counts = session.execute(select(Task.id, Task.rounds_settled, Task.rounds_sent)
                                 .where(Task.id.in_(ids)))  # fmt: skip
        tasks = {t: (settled, sent) for t, settled, sent in counts}
        # each assignment, with its replica's recorded result if any
        joined = session.execute(
            select(Assignment.task_id, Assignment.round, Assignment.replica,
                   Assignment.speculative, Replica.id)
            .outerjoin(Replica, (Replica.task_id == Assignment.task_id)
                       & (Replica.replica == Assignment.replica))
            .where(Assignment.task_id.in_(ids))
        )  # fmt: skip
        for task_id, round_no, replica, speculative, row in joined:
            assigned.setdefault((task_id, round_no), []).append((replica, bool(speculative)))
            if row is not None:
                recorded.setdefault(task_id, set()).add(replica)
    open_ = [(t, n) for t, n in wanted if t in tasks and tasks[t][0] < n <= tasks[t][1]]
    outs = [(t, n, r) for t, n in open_ for r, _ in assigned.get((t, n), [])
            if r not in recorded.get(t, set())]  # fmt: skip
    stored = _stored(app, outs)
    ready = []
    for t, n in open_:
        have = stored.get((t, n), {})
        if assigned.get((t, n)) and complete(assigned[(t, n)], recorded.get(t, set()), have):
            ready.append((t, n, list(have.values())))
    return ready
