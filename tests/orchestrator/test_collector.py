"""The collector (`shardy.orchestrator.collector`): collects asked for on a Redis list are
taken and settled in the settling process; the list is capped, and a sender who may write it
(any fleet worker or gateway) can neither stop the collector with junk nor make it settle a
round that is not whole."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from cluster_support import make_settings
from redis import RedisError

from shardy import collects
from shardy.celery_app import ShardyCelery
from shardy.embedded import EmbeddedRedis
from shardy.orchestrator import collector, grouped
from shardy.orchestrator.collector import Collector


@pytest.fixture
def app(home) -> Iterator[ShardyCelery]:
    """An app on its own embedded Redis and SQLite, with no workers."""
    settings = make_settings(home)
    with EmbeddedRedis(settings):
        app = ShardyCelery(settings)
        yield app
        app.redis.close()
        app.store.close()


def test_a_collect_is_one_capped_entry_on_the_list(app, monkeypatch):
    monkeypatch.setattr(collects, "KEEP", 3)
    for i in range(5):
        collects.request_collect(app, [(f"task-{i}", 1), (f"task-{i}", 2)])
    entries = [orjson.loads(e) for e in app.redis.lrange(collects.COLLECTS_KEY, 0, -1)]
    assert entries == [[[f"task-{i}", 1], [f"task-{i}", 2]] for i in (4, 3, 2)]  # the newest


def test_junk_entries_are_skipped_and_forged_rounds_settle_nothing(app):
    c = Collector(app)
    for raw in (b"not json", b'{"a": 1}', b"7", b"[" + b" " * collector.MAX_ENTRY + b"]"):
        assert c.take(raw) is None
    forged = [["no-such-task", 1], ["x", "1"], 7, [True, 1], "x"]
    assert c.take(orjson.dumps(forged)) == {"named": 1, "settled": 0}
    assert c.taken == 5


def test_a_collect_whose_store_fails_is_tried_again(app, monkeypatch):
    real, calls = grouped.collect, []

    def flaky(app, rounds):
        calls.append(rounds)
        if len(calls) < 3:
            raise RedisError("restarting")
        return real(app, rounds)

    monkeypatch.setattr(grouped, "collect", flaky)
    monkeypatch.setattr(collector, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    assert Collector(app).take(orjson.dumps([["t", 1]])) == {"named": 1, "settled": 0}
    assert len(calls) == 3
    calls.clear()
    monkeypatch.setattr(grouped, "collect", lambda app, rounds: calls.append(1) or 1 / 0)
    assert Collector(app).take(orjson.dumps([["t", 1]])) is None  # a bug: logged, given up
    assert calls == [1]


def test_the_thread_takes_entries_in_order_and_serves_on_after_junk(app, monkeypatch):
    seen: list = []
    monkeypatch.setattr(grouped, "collect", lambda app, rounds: seen.append(rounds) or
                        {"named": len(rounds), "settled": 0})  # fmt: skip
    app.redis.lpush(collects.COLLECTS_KEY, b"junk")
    collects.request_collect(app, [("a", 1)])
    collects.request_collect(app, [("b", 2)])
    c = Collector(app).start()
    try:
        deadline = time.monotonic() + 10
        while c.taken < 3 or app.redis.llen(collects.COLLECTS_KEY):
            assert time.monotonic() < deadline, "the collector did not take the entries"
            time.sleep(0.02)
    finally:
        c.stop()
    assert seen == [[["a", 1]], [["b", 2]]]  # oldest first; the junk skipped
