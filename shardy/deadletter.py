"""Dead-lettering: one code path decides "dead"; RabbitMQ carries it natively, Redis explicitly."""

from __future__ import annotations

import time
import uuid
from typing import Any

from shardy.celery_app import DLQ, ShardyCelery, dlq_queue, dlx_exchange
from shardy.frames import SERIALIZER


def new_entry(
    kind: str,
    reason: str,
    *,
    task_id: str | None = None,
    replica: int | None = None,
    worker_id: str | None = None,
    traceback: str | None = None,
    attempts: int = 0,
    attempt_times: list[float] | None = None,
    frame: bytes | None = None,
) -> dict[str, Any]:
    """A dead-letter entry: what failed, why, how often, and the frame to replay it from."""
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "task_id": task_id,
        "replica": replica,
        "worker_id": worker_id,
        "reason": reason[:4000],
        "traceback": (traceback or "")[-4000:] or None,
        "attempts": attempts,
        "attempt_times": attempt_times or [],
        "frame": frame,
        "created": time.time(),
    }


def declare(app: ShardyCelery) -> None:
    """Declare ``shardy.dlx`` and ``shardy.dlq`` so RabbitMQ's native dead-lettering has a
    route before the first reject (it drops messages whose dead-letter exchange is absent)."""
    with app.connection_for_write() as conn:
        dlq_queue(conn.default_channel).declare()


def publish(app: ShardyCelery, entry: dict[str, Any]) -> str:
    """Publish ``entry`` to the dead-letter exchange ``shardy.dlx`` (queue ``shardy.dlq``)."""
    with app.producer_or_acquire() as producer:
        producer.publish(
            entry,
            exchange=dlx_exchange,
            routing_key=DLQ,
            serializer=SERIALIZER,
            declare=[dlq_queue],
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 10, "interval_start": 0.2, "interval_step": 0.5},
            headers={"x-shardy-kind": entry["kind"]},
        )
    return entry["id"]


def dead_letter_message(app: ShardyCelery, message: Any, reason: str) -> None:
    """Dead-letter a broker message that cannot be run (undecodable, unknown, invalid).

    On RabbitMQ the message is rejected without requeue and the queue's
    ``x-dead-letter-exchange`` routes it to ``shardy.dlq`` with its ``x-death`` history.
    On Redis the same entry is published explicitly, then the message is acknowledged.
    """
    if app.is_amqp:
        message.reject(requeue=False)
        return
    raw = message.body if isinstance(message.body, (bytes, bytearray)) else str(message.body)
    entry = new_entry("malformed", reason, frame=bytes(raw) if not isinstance(raw, str) else None)
    entry["content_type"] = message.content_type
    publish(app, entry)
    message.ack()
