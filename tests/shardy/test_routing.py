"""Replica routing: distinct live workers, shortest backlog first, the shared queue beyond."""

import time

import pytest

from shardy import routing
from shardy.celery_app import GPU_QUEUE


@pytest.fixture
def r(redis_client):
    return redis_client


def test_replicas_go_to_distinct_live_workers_least_backlog_first(r):
    for wid, backlog in (("a", 5), ("b", 0), ("c", 2)):
        routing.beat(r, wid, f"{wid}@host", backlog)
    assert routing.assign(r, 2) == ["b@host", "c@host"]
    assert routing.assign(r, 3) == ["b@host", "c@host", "a@host"]
    assert routing.assign(r, 5) == ["b@host", "c@host", "a@host", None, None]
    assert routing.assign(r, 2, exclude=["b"]) == ["c@host", "a@host"]
    assert routing.assign(r, 2, live={"a", "c"}) == ["c@host", "a@host"]
    assert routing.free_node(r, ["a"]) == "a@host"
    assert routing.free_node(r, []) is None
    assert routing.direct_queues(r) == ["a@host.dq2", "b@host.dq2", "c@host.dq2"]


def test_gone_and_unnamed_workers_get_nothing(r):
    routing.beat(r, "old", "old@host")
    r.zadd(routing.ALIVE_KEY, {"old": time.time() - routing.ALIVE_WINDOW - 1})
    routing.beat(r, "anon", None)  # beats, but has no direct queue (no node name)
    routing.beat(r, "left", "left@host")
    routing.leave(r, "left")
    assert routing.alive(r) == {"anon"}
    assert routing.assign(r, 2) == [None, None]


def test_queues():
    assert routing.queue_for(None) == GPU_QUEUE
    q = routing.queue_for("gpu0@box")
    assert q.name == "gpu0@box.dq2" and q.routing_key == "gpu0@box"
