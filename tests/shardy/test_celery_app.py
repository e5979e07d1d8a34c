"""The Celery app: Shardy never subscribes to Celery results, so nothing it sends can retry a
stopped Redis when its result object is collected."""

from __future__ import annotations

import gc
import sys

from celery import chord

from shardy.celery_app import QuietRedisBackend, ShardyCelery
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis


def test_sending_opens_no_result_subscription_and_collection_after_redis_stops_is_silent(home):
    settings = Settings(home=home)
    app = ShardyCelery(settings)
    assert isinstance(app.backend, QuietRedisBackend)
    raised: list[BaseException] = []
    old_hook, sys.unraisablehook = sys.unraisablehook, lambda u: raised.append(u.exc_value)
    try:
        with EmbeddedRedis(settings):
            results = [app.send_task("shardy.noop", args=(i,)) for i in range(5)]
            header = [app.signature("shardy.noop", args=(i,)) for i in range(3)]
            results.append(chord(header, app.signature("shardy.noop2"), app=app).apply_async())
            consumer = app.backend.result_consumer
            assert consumer._pubsub is None and not consumer.subscribed_to
            app.backend.store_result(results[0].id, 42, "SUCCESS")
            assert results[0].get(timeout=10) == 42  # get() polls the stored state
        del results  # collected with Redis gone: no unsubscribe, no reconnect loop
        gc.collect()
    finally:
        sys.unraisablehook = old_hook
        app.close()
    assert raised == []


def test_an_amqp_broker_keeps_its_results_on_quiet_redis():
    amqp = Settings(broker_url="amqp://guest@127.0.0.1//", result_url="redis://127.0.0.1:6379/0")
    assert type(ShardyCelery(amqp).backend) is QuietRedisBackend
