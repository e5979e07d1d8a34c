"""Celery tasks of the orchestrator (queue ``shardy.control``)."""

from __future__ import annotations

from typing import Any

from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from orchestrator import reputation
from orchestrator.settle import settle
from shardy.celery_app import app


@app.task(
    name="shardy.settle",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SQLAlchemyError, RedisError),
    retry_backoff=0.5,
    retry_backoff_max=30,
    max_retries=20,
)
def settle_task(self, results: list[Any], task_id: str, round_no: int) -> dict:
    """Chord body: settle one round of replica results for ``task_id``."""
    return settle(app, results, task_id, round_no)


@app.task(name="shardy.register_worker", acks_late=True)
def register_worker(info: dict) -> None:
    """Record a GPU worker (id, hostname, adapter) in the workers table."""
    if not isinstance(info, dict) or not info.get("id"):
        return
    with app.store.session() as session:
        reputation.register(session, info)
