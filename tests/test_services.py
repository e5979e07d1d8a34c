"""The same paths on the machine's own services: external Redis, RabbitMQ (native DLX), PostgreSQL.

Each test is skipped with a reason unless its SHARDY_TEST_* URL is set (`.ci/run` sets them
when the services answer on 127.0.0.1).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from cluster_support import (
    AMQP_URL,
    DATABASE_URL,
    REDIS_URL,
    make_settings,
    publish_garbage,
    reset_database,
    short_home,
    start_cluster,
)

from shardy.api import Client
from shardy.celery_app import CONTROL_QUEUE, GPU_QUEUE, dlq_queue
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis
from shardy.kernels import registry
from shardy.orchestrator import dlq

pytestmark = pytest.mark.cluster


def _purge(settings: Settings) -> None:
    """Empty Shardy's queues on a shared test broker (left-overs of earlier runs)."""
    app = Client(settings).app
    with app.connection_for_write() as conn:
        ch = conn.default_channel
        for queue in (app.amqp.queues[GPU_QUEUE], app.amqp.queues[CONTROL_QUEUE], dlq_queue):
            bound = queue.bind(ch)
            bound.declare()
            bound.purge()


def _check_histogram(client: Client, seed: int) -> None:
    data = np.random.default_rng(seed).integers(0, 256, 30_000, dtype=np.uint8).tobytes()
    res = client.submit("histogram", data).get(timeout=120)
    assert np.array_equal(res.output, registry.get("histogram").reference(data, {}, 0))
    assert len({a.worker_id for a in res.attestations if a.agrees}) == 3


@pytest.mark.skipif(not REDIS_URL, reason="SHARDY_TEST_REDIS_URL not set (no external Redis)")
def test_end_to_end_on_external_redis_and_postgres():
    overrides = {"broker_url": REDIS_URL}
    if DATABASE_URL:
        reset_database(DATABASE_URL)
        overrides["database_url"] = DATABASE_URL
    settings = make_settings(short_home(), **overrides)
    _purge(settings)
    for running in start_cluster(settings, workers=3):
        _check_histogram(running.client, 11)
        if DATABASE_URL:
            assert running.app.store.engine.dialect.name == "postgresql"


@pytest.mark.skipif(not AMQP_URL, reason="SHARDY_TEST_AMQP_URL not set (no RabbitMQ)")
def test_rabbitmq_end_to_end_and_native_dead_lettering():
    home = short_home()
    with EmbeddedRedis(Settings(home=home)) as results:
        backend = f"redis+socket://{results.socket}"
        settings = make_settings(home, broker_url=AMQP_URL, result_url=backend)
        _purge(settings)
        for running in start_cluster(settings, workers=3):
            _check_histogram(running.client, 12)
            app = running.app
            publish_garbage(app, b"\x00not a frame", "amqp-garbage")
            deadline = time.monotonic() + 60
            found = []
            while not found and time.monotonic() < deadline:
                found = [e for e in dlq.entries(app) if e.kind == "malformed"]
                time.sleep(0.2)
            assert found, "the rejected message never reached shardy.dlq"
            # routed by RabbitMQ's x-dead-letter-exchange: the original message with x-death
            assert "rejected" in found[0].reason
