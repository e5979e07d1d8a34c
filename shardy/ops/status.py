"""Status views for `shardy status`: one task, or the whole system."""

from __future__ import annotations

from typing import Any

from redis import RedisError
from sqlalchemy import func, select

from shardy.api import Client
from shardy.config import Settings


def task_status(settings: Settings, task_id: str) -> dict[str, Any]:
    """One task's state and replica counts."""
    st = Client(settings).handle(task_id).status()
    return dict(st.__dict__)


def overview(settings: Settings) -> dict[str, Any]:
    """Submitted tasks by state, the orchestrator's known-answer checks by state (apart: an
    operator's count of tasks is the users'), workers with reputation, queue depths and DLQ
    depth."""
    from shardy import routing
    from shardy.celery_app import CONTROL_QUEUE, DLQ, GPU_QUEUE
    from shardy.collects import COLLECTS_KEY
    from shardy.embedded import require_broker
    from shardy.orchestrator import standing
    from shardy.store import Task, Worker

    app = Client(settings).app
    with app.store.read() as s:
        by_kind = s.execute(
            select(Task.spot_digest.is_(None), Task.state, func.count()).group_by(
                Task.spot_digest.is_(None), Task.state
            )
        ).all()
        workers = [
            {"id": w.id, "adapter": w.adapter, "agreed": w.agreed, "disagreed": w.disagreed,
             "failed": w.replicas_failed, "reputation": round(w.reputation, 3)}
            for w in s.scalars(select(Worker).order_by(Worker.id))
        ]  # fmt: skip
        voters = standing.listing(s, settings)
    tasks = {state: n for submitted, state, n in by_kind if submitted}
    checks = {state: n for submitted, state, n in by_kind if not submitted}
    out: dict[str, Any] = {"tasks": tasks, "spot_checks": checks, "workers": workers,
                           "voters": voters}  # fmt: skip
    require_broker(settings)
    direct = routing.direct_queues(app.redis)  # replicas routed to one live worker each
    out["queues"] = routing.queue_depths(app, (GPU_QUEUE, *direct, CONTROL_QUEUE, DLQ))
    try:  # collects not yet taken
        out["queues"][COLLECTS_KEY] = app.redis.llen(COLLECTS_KEY)
    except RedisError:  # the key of another type (anyone who may write Redis could do it)
        out["queues"][COLLECTS_KEY] = -1
    return out


def live_view(settings: Settings) -> Any:
    """A rich renderable of the whole system for `shardy status --watch`."""
    from rich.console import Group
    from rich.table import Table

    from shardy.celery_app import VERIFIED_STREAM
    from shardy.store import Task

    data = overview(settings)
    client = Client(settings)
    head = Table.grid(padding=(0, 3))
    head.add_row(
        *(f"[bold]{q}[/] {n}" for q, n in data["queues"].items()),
        *(f"[bold]{state}[/] {n}" for state, n in sorted(data["tasks"].items())),
        f"[bold]spot checks[/] {sum(data['spot_checks'].values())}",
    )
    workers = Table("worker", "adapter", "agreed", "disagreed", "failed", "reputation")
    for w in data["workers"]:
        workers.add_row(w["id"], w["adapter"], str(w["agreed"]), str(w["disagreed"]),
                        str(w["failed"]), f"{w['reputation']:.2f}")  # fmt: skip
    voters = Table("voter", "standing", "score", "judged", "faults", "latency (s)", "reason")
    for v in data["voters"]:
        latency = "-" if v["latency"] is None else f"{v['latency']:.3f}"
        voters.add_row(v["voter"], v["state"], f"{v['score']:.2f}", str(v["judged"]),
                       str(v["faults"]), latency, v["reason"] or "")  # fmt: skip
    running = Table("in flight", "kernel", "replicas back", "progress")
    with client.app.store.read() as s:
        rows = s.execute(
            select(Task.id, Task.kernel)
            .where(Task.state == "running")
            .order_by(Task.created_at)
            .limit(10)
        ).all()
    for task_id, kernel in rows:
        st = client.handle(task_id).status()
        stages = ", ".join(f"{p['stage']} {p['percent']}%" for p in st.progress.values())
        running.add_row(
            task_id[:8], kernel, f"{st.replicas_done}/{st.replicas_sent}", stages or "queued"
        )
    recent = Table("recently verified", "kernel", "digest", "agreeing")
    for _, fields in client.app.redis.xrevrange(VERIFIED_STREAM, count=5):
        f = {k.decode(): v.decode() for k, v in fields.items()}
        recent.add_row(f["task_id"][:8], f["kernel"], f["digest"][:16] + "…", f["agreeing"])
    return Group(head, workers, voters, running, recent)
