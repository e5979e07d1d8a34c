"""The collector (`shardy.orchestrator.collector`): collects asked for on a Redis list are
taken and settled in the settling process, and survive the process that took them; the list
is capped, and a sender who may write it (any fleet worker or gateway) can neither stop the
collector with junk nor make it settle a round that is not whole."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
from redis import ConnectionError as RedisConnectionError

from shardy import collects
from shardy.celery_app import ShardyCelery
from shardy.orchestrator import collector, grouped
from shardy.orchestrator.collector import Collector

TASK = str(uuid.uuid4())


@pytest.fixture
def app(bare_app: ShardyCelery) -> ShardyCelery:
    return bare_app


@pytest.fixture
def seen(monkeypatch) -> list:
    """The rounds each collect was asked to settle (instead of settling them)."""
    got: list = []
    monkeypatch.setattr(grouped, "collect", lambda app, rounds: got.append(rounds) or
                        {"named": len(rounds), "settled": 0})  # fmt: skip
    return got


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


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
    forged = [[str(uuid.uuid4()), 1], ["no-such-task", 1], ["a\u0000b", 1], [TASK.upper(), 1],
              [TASK, 0], [TASK, 1 << 31], [TASK, True], [TASK, "1"], 7, "x"]  # fmt: skip
    assert c.take(orjson.dumps(forged)) == {"named": 1, "settled": 0}  # only a well-formed one
    assert (c.taken, c.skipped) == (5, 4)


def test_a_collect_is_tried_again_while_redis_is_unreachable_not_for_other_errors(app, monkeypatch):
    real, calls = grouped.collect, []

    def flaky(app, rounds):
        calls.append(rounds)
        if len(calls) < 3:
            raise RedisConnectionError("restarting")
        return real(app, rounds)

    monkeypatch.setattr(grouped, "collect", flaky)
    monkeypatch.setattr(collector, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    assert Collector(app).take(orjson.dumps([[TASK, 1]])) == {"named": 1, "settled": 0}
    assert len(calls) == 3
    calls.clear()

    def down(app, rounds):
        calls.append(rounds)
        raise RedisConnectionError("down")

    monkeypatch.setattr(grouped, "collect", down)
    assert Collector(app).take(orjson.dumps([[TASK, 1]])) is None  # unreachable throughout
    assert len(calls) == len(collector.RETRY_DELAYS) + 1
    (again,) = app.redis.lrange(collects.COLLECTS_KEY, 0, -1)  # put back for later
    assert orjson.loads(again) == {"rounds": [[TASK, 1]], "tries": 1}
    calls.clear()
    monkeypatch.setattr(grouped, "collect", lambda app, rounds: calls.append(1) or 1 / 0)
    assert Collector(app).take(orjson.dumps([[TASK, 1]])) is None  # given up at once, logged
    assert calls == [1]


def test_the_thread_takes_entries_oldest_first_and_serves_on(app, seen, monkeypatch):
    app.redis.lpush(collects.COLLECTS_KEY, b"junk")
    collects.request_collect(app, [("a", 1)])
    collects.request_collect(app, [("b", 2)])
    c = Collector(app).start()
    try:
        wait_until(lambda: len(seen) == 2, "the collector did not take the entries")
        take, failed = c.take, []

        def once(raw):  # a failure the loop did not expect: it must go on
            if not failed:
                failed.append(raw)
                raise RuntimeError("unexpected")
            return take(raw)

        monkeypatch.setattr(c, "take", once)
        collects.request_collect(app, [("c", 3)])
        collects.request_collect(app, [("d", 4)])
        wait_until(lambda: len(seen) == 3, "the collector stopped after a failure")
    finally:
        c.stop()
    assert seen == [[["a", 1]], [["b", 2]], [["d", 4]]]  # oldest first; junk skipped
    assert c.skipped == 1 and failed == [orjson.dumps([["c", 3]])]


def test_an_entry_held_by_a_dead_collector_is_put_back_and_taken(app, seen):
    dead, live = Collector(app), Collector(app)  # neither started: the dead one's process died
    held = orjson.dumps([[TASK, 1]])
    app.redis.sadd(collector.COLLECTORS_KEY, dead.id, live.id)
    app.redis.lpush(dead.taken_key, held)
    app.redis.set(collector.ALIVE_PREFIX + live.id, 1)
    app.redis.lpush(live.taken_key, b"being settled")
    assert collector.recover(app.redis) == 1
    assert app.redis.lrange(live.taken_key, 0, -1) == [b"being settled"]  # a live one's stays
    assert app.redis.smembers(collector.COLLECTORS_KEY) == {live.id.encode()}
    (again,) = app.redis.lrange(collects.COLLECTS_KEY, 0, -1)
    assert orjson.loads(again) == {"rounds": [[TASK, 1]], "tries": 1}
    c = Collector(app).start()
    try:
        wait_until(lambda: seen == [[[TASK, 1]]], "the put-back entry was not taken")
    finally:
        c.stop()
    # an entry whose collectors keep dying is dropped at last (the early watch's then)
    assert collector._retried(orjson.dumps({"rounds": [], "tries": 1})) is not None
    assert (
        collector._retried(orjson.dumps({"rounds": [], "tries": collector.MAX_TRIES - 1})) is None
    )
    assert collector._retried(orjson.dumps({"rounds": [], "tries": "x"})) is None
    # a sender may forge the count: one no collector writes gets no tries at all
    assert collector._retried(orjson.dumps({"rounds": [], "tries": -(10**9)})) is None
    assert collector._retried(orjson.dumps({"rounds": [], "tries": True})) is None
