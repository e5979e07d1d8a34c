"""The Celery app: queues, routes, the frame serializer, and the per-process service handles.

The app itself registers no tasks. Each role's module registers its own and is what Celery
is pointed at: ``celery -A shardy.workers.tasks worker -Q shardy.gpu`` runs a GPU worker,
``celery -A shardy.orchestrator.tasks worker -Q shardy.control`` the orchestrator (settle,
worker registration). Other processes send tasks by name.
"""

from __future__ import annotations

from functools import cached_property

import redis
from celery import Celery
from celery.app import backends
from celery.backends.base import SyncBackendMixin
from celery.backends.redis import RedisBackend
from kombu import Exchange, Queue

from shardy import frames
from shardy.blobs import BlobStore
from shardy.config import Settings

GPU_QUEUE = "shardy.gpu"
CONTROL_QUEUE = "shardy.control"
DLX = "shardy.dlx"
DLQ = "shardy.dlq"
VERIFIED_STREAM = "shardy:verified"
#: Redis hash per task: replica index → its latest progress report (stage, percent, worker)
PROGRESS_PREFIX = "shardy:progress:"

dlx_exchange = Exchange(DLX, type="direct", durable=True)
dlq_queue = Queue(DLQ, exchange=dlx_exchange, routing_key=DLQ, durable=True)


class QuietRedisBackend(SyncBackendMixin, RedisBackend):
    """Celery's Redis result backend, polled like its key-value backends (Celery's
    `SyncBackendMixin`) instead of watched through pub/sub.

    Celery's Redis backend subscribes to every task it sends and to every member of a chord's
    header (the group's barrier). Shardy never waits on those results (settle's decision lands
    in SQL and is announced on ``shardy:settled``), so each cost a SUBSCRIBE and an
    UNSUBSCRIBE, and one collected after its Redis stopped retried the dead connection for
    20 s. ``AsyncResult.get()`` still works: it polls the stored state.
    """

    def on_task_call(self, producer: object, task_id: str) -> None:
        return None


class ShardyCelery(Celery):
    """A Celery app that also owns this process's Redis client, blob store and SQL store."""

    def __init__(self, settings: Settings) -> None:
        frames.register()
        super().__init__("shardy")
        self.settings = settings
        self.config_from_object(celery_config(settings))

    def _get_backend(self) -> object:
        backend, url = backends.by_url(self.backend_cls or self.conf.result_backend, self.loader)
        if backend is RedisBackend:
            backend = QuietRedisBackend
        return backend(app=self, url=url)

    @cached_property
    def redis(self) -> redis.Redis:
        """Redis for blobs, worker claims and the verified stream."""
        return redis.Redis.from_url(self.settings.blob_redis_url, socket_timeout=30)

    @cached_property
    def blobs(self) -> BlobStore:
        """The content-addressed blob store."""
        s = self.settings
        return BlobStore(
            self.redis,
            ttl=s.blob_ttl,
            inline_limit=s.inline_limit,
            max_size=max(s.max_payload, s.max_output),
        )

    @cached_property
    def store(self):
        """The SQL state store (orchestrator side only; workers never open it)."""
        from shardy.store import Store

        return Store(self.settings.database)

    def queue(self, name: str) -> Queue:
        """The work queue ``name`` (see `work_queue`)."""
        return work_queue(self.settings, name)

    @property
    def is_amqp(self) -> bool:
        """True when the broker is RabbitMQ (native dead-lettering)."""
        return self.settings.broker.startswith(("amqp", "pyamqp"))


WORK_EXCHANGE = Exchange("shardy", type="direct", durable=True)


def work_queue(s: Settings, name: str) -> Queue:
    """A queue replicas can sit in: the shared GPU queue, a fleet worker's own queue or a
    gateway's. On RabbitMQ each carries the dead-letter exchange, so a replica rejected in
    any of them reaches ``shardy.dlq``; every producer and consumer declares it the same."""
    args = None
    if s.broker.startswith(("amqp", "pyamqp")):
        args = {"x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": DLQ}
    return Queue(name, WORK_EXCHANGE, routing_key=name, queue_arguments=args, durable=True)


def celery_config(s: Settings) -> dict:
    """Celery settings derived from Shardy settings."""
    return {
        "broker_url": s.broker,
        "result_backend": s.result_backend,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": s.effective_visibility_timeout,
            "unacked_restore_interval": max(1, min(10, s.effective_visibility_timeout // 4)),
            "unacked_restore_throttle": 1,
        },
        "task_serializer": frames.SERIALIZER,
        "result_serializer": frames.SERIALIZER,
        "accept_content": [frames.SERIALIZER, "json"],
        "result_accept_content": [frames.SERIALIZER, "json"],
        "event_serializer": "json",
        "task_queues": [
            work_queue(s, GPU_QUEUE),
            Queue(CONTROL_QUEUE, WORK_EXCHANGE, routing_key=CONTROL_QUEUE),
            # a gateway consumes its own queue (replicas assigned to its sessions)
            *([work_queue(s, f"shardy.gw.{s.gateway_id}")] if s.gateway_id else []),
        ],
        "task_default_queue": CONTROL_QUEUE,
        "task_default_exchange": "shardy",
        "task_routes": {
            "shardy.execute": {"queue": GPU_QUEUE, "routing_key": GPU_QUEUE},
            "shardy.settle": {"queue": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            "shardy.collect": {"queue": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
            "shardy.register_worker": {"queue": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE},
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": s.task_time_limit,
        "task_soft_time_limit": max(1, int(s.task_time_limit * 0.9)),
        "result_expires": 86_400,
        # a replica that finishes while Redis restarts must still store its result, or the
        # chord fails and settle never runs (the sweeper covers what slips through)
        "result_backend_always_retry": True,
        "result_backend_max_retries": 30,
        "result_backend_base_sleep_between_retries_ms": 200,
        "result_backend_max_sleep_between_retries_ms": 5_000,
        "worker_consumer": "shardy.consumer:DeadLetteringConsumer",
        # each fleet worker consumes its own queue too (`work_queue`, added when it starts),
        # which carries the dead-letter exchange; Celery's own direct queues would not
        "worker_direct": False,
        "worker_hijack_root_logger": False,
        # Flower builds its views from task events and switches them on while it runs; off,
        # they cost nothing (three or more publishes per task otherwise)
        "worker_send_task_events": s.task_events,
    }


app = ShardyCelery(Settings.from_env())
