"""Status views for `shardy status`: one task, or the whole system."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import func, select

from shardy.api import Client
from shardy.config import Settings


def task_status(settings: Settings, task_id: str) -> dict[str, Any]:
    """One task's state and replica counts."""
    st = Client(settings).handle(task_id).status()
    return dict(st.__dict__)


def overview(settings: Settings) -> dict[str, Any]:
    """Tasks by state, workers with reputation, queue depths and DLQ depth."""
    from shardy.celery_app import CONTROL_QUEUE, DLQ, GPU_QUEUE
    from shardy.embedded import require_broker
    from shardy.store import Task, Worker

    app = Client(settings).app
    with app.store.session() as s:
        states = dict(s.execute(select(Task.state, func.count()).group_by(Task.state)).all())
        workers = [
            {"id": w.id, "adapter": w.adapter, "agreed": w.agreed, "disagreed": w.disagreed,
             "failed": w.replicas_failed, "reputation": round(w.reputation, 3)}
            for w in s.scalars(select(Worker).order_by(Worker.id))
        ]  # fmt: skip
    out: dict[str, Any] = {"tasks": states, "workers": workers}
    require_broker(settings)
    depth = {}
    with app.connection_for_read() as conn:
        for q in (GPU_QUEUE, CONTROL_QUEUE, DLQ):
            channel = conn.channel()  # RabbitMQ closes a channel on 404: one per queue
            try:
                depth[q] = channel.queue_declare(q, passive=True).message_count
            except conn.channel_errors:  # the queue was never declared: nothing in it
                depth[q] = 0
            finally:
                with contextlib.suppress(*conn.connection_errors, *conn.channel_errors):
                    channel.close()
    out["queues"] = depth
    return out
