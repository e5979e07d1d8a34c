"""Status views for `shardy status`: one task, or the whole system."""

from __future__ import annotations

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
    with app.connection_for_read() as conn:
        ch = conn.default_channel
        depth = {}
        for q in (GPU_QUEUE, CONTROL_QUEUE, DLQ):
            try:
                depth[q] = ch.queue_declare(q, passive=True).message_count
            except Exception:  # queue not declared yet
                depth[q] = 0
    out["queues"] = depth
    return out
