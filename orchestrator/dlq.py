"""The dead-letter queue ``shardy.dlq``: list, show, replay (exactly once) and purge."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kombu import Message
from sqlalchemy import or_, select

from shardy.celery_app import ShardyCelery, dlq_queue
from shardy.orchestrator import dispatch
from shardy.store import DeadLetter, Task
from shardy.store.models import utcnow

log = logging.getLogger("shardy.dlq")


@dataclass(frozen=True)
class Entry:
    """One message in the DLQ, normalised (our own entries and natively dead-lettered ones)."""

    id: str
    kind: str
    task_id: str | None
    replica: int | None
    worker_id: str | None
    reason: str
    attempts: int
    attempt_times: tuple[float, ...]
    created: float | None
    traceback: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for `shardy dlq … --json`."""
        return dict(self.__dict__, attempt_times=list(self.attempt_times))


def _entry(message: Message) -> Entry:
    headers = message.headers or {}
    try:
        body = message.decode()
    except Exception as exc:  # undecodable bytes dead-lettered natively by RabbitMQ
        body = {"reason": f"undecodable message: {exc}"}
    if not isinstance(body, dict) or "kind" not in body:
        # RabbitMQ's x-dead-letter-exchange routed a rejected message here as it was
        death = (headers.get("x-death") or [{}])[0]
        detail = body.get("reason", "") if isinstance(body, dict) else "not a task"
        body = {
            "kind": "malformed",
            "id": headers.get("id") or f"tag-{message.delivery_tag}",
            "reason": f"{death.get('reason', 'rejected')} by a worker on "
            f"{death.get('queue', '?')}: {detail or 'malformed task message'}",
        }
    return Entry(
        id=str(body.get("id")),
        kind=str(body.get("kind")),
        task_id=body.get("task_id"),
        replica=body.get("replica"),
        worker_id=body.get("worker_id"),
        reason=str(body.get("reason", "")),
        attempts=int(body.get("attempts") or 0),
        attempt_times=tuple(body.get("attempt_times") or ()),
        created=body.get("created"),
        traceback=body.get("traceback"),
    )


@contextlib.contextmanager
def _drained(app: ShardyCelery) -> Iterator[list[tuple[Entry, Message]]]:
    """Take every DLQ message (unacked); whatever the caller does not ack goes back."""
    with app.connection_for_write() as conn:
        queue = dlq_queue(conn.default_channel)
        queue.declare()
        taken: list[tuple[Entry, Message]] = []
        while (msg := queue.get(no_ack=False, accept=None)) is not None:
            taken.append((_entry(msg), msg))
        try:
            yield taken
        finally:
            for _, msg in taken:
                if not msg.acknowledged:
                    msg.requeue()


def entries(app: ShardyCelery) -> list[Entry]:
    """Every entry in the DLQ, oldest first; the queue is left as it was."""
    with _drained(app) as taken:
        return sorted((e for e, _ in taken), key=lambda e: e.created or 0)


def show(app: ShardyCelery, entry_id: str) -> Entry | None:
    """The entry with id (or unique id prefix) ``entry_id``, or None."""
    found = [e for e in entries(app) if e.id.startswith(entry_id)]
    return found[0] if len(found) == 1 else None


def replay(app: ShardyCelery, ids: list[str] | None = None) -> list[tuple[Entry, str]]:
    """Re-enqueue DLQ entries (all, or those whose id starts with one of ``ids``).

    Each task with entries gets one fresh round of R replicas (its quorum merges with what
    was recorded before); each entry is acknowledged only after its replay is committed in
    SQL, and an entry already marked replayed is acknowledged without acting, so every
    entry is replayed exactly once. Only entries the orchestrator recorded in SQL are
    replayed (settle records every dead letter it decides or receives); others, and
    malformed entries, stay.

    Returns:
        (entry, note) for every entry considered.
    """
    done: list[tuple[Entry, str]] = []
    rounds: dict[str, int] = {}
    with _drained(app) as taken:
        for entry, msg in taken:
            if ids and not any(entry.id.startswith(i) for i in ids):
                continue
            if entry.kind == "malformed" or not entry.task_id:
                done.append((entry, "kept: a malformed message cannot be replayed"))
                continue
            note, send = _replay_one(app, entry, rounds)  # committed in SQL first
            if note is None:
                done.append((entry, "kept: the orchestrator recorded no such dead letter"))
                continue
            if send is not None:
                dispatch.send_round(app, *send)
            msg.ack()  # last: a crash before it redelivers an entry already marked replayed
            done.append((entry, note))
    return done


def _recorded(session, entry: Entry) -> DeadLetter | None:
    """The trusted side's row for a queue entry: settle records replica dead letters (the
    message's id is its ``ref``) and task dead letters (same id). The queue itself is open to
    every broker client, so nothing in a message that matches no row is acted on."""
    row = session.scalars(
        select(DeadLetter).where(or_(DeadLetter.id == entry.id, DeadLetter.ref == entry.id))
    ).first()
    if row is None or row.task_id != entry.task_id or row.kind != entry.kind:
        return None
    return row


def _replay_one(app: ShardyCelery, entry: Entry, rounds: dict[str, int]):
    with app.store.session() as session:
        row = _recorded(session, entry)
        if row is None:
            return None, None
        if row.replayed_at is not None:
            return f"already replayed ({row.replay_note})", None
        task = session.get(Task, row.task_id, with_for_update=True)
        send = None
        if task is None:
            note = "skipped: task unknown to this store"
        elif task.state == "verified":
            note = "skipped: task already verified"
        elif task.id in rounds:
            note = f"covered by replay round {rounds[task.id]}"
        else:
            send = dispatch.new_round(app, task)
            task.sweeps = 0  # a replayed task gets the sweeper's patience anew
            rounds[task.id] = task.rounds_sent
            note = f"replayed as round {task.rounds_sent} ({task.redundancy} replicas)"
        row.replayed_at, row.replay_note = utcnow(), note
    return note, send


def purge(app: ShardyCelery) -> int:
    """Delete every message in the DLQ (the SQL audit trail keeps its rows). Returns the count."""
    with app.connection_for_write() as conn:
        return dlq_queue(conn.default_channel).purge() or 0
