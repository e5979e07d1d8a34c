"""Buffered replica progress: the latest stage per replica, written in one pipeline."""

import time

import orjson
import pytest
import redis

from shardy.celery_app import PROGRESS_PREFIX
from shardy.workers.progress import ProgressWriter


@pytest.fixture
def client(redis_client):
    return redis_client


def test_latest_stage_per_replica_is_written(client):
    writer = ProgressWriter(client, interval=3600)  # flushed by hand below
    writer.record("t1", 0, {"stage": "gpu", "percent": 30})
    writer.record("t1", 0, {"stage": "attest", "percent": 70})
    writer.record("t1", 1, {"stage": "gpu", "percent": 30})
    assert client.hgetall(PROGRESS_PREFIX + "t1") == {}  # nothing before the flush
    assert writer.flush() == 2
    stored = {int(k): orjson.loads(v) for k, v in client.hgetall(PROGRESS_PREFIX + "t1").items()}
    assert stored == {0: {"stage": "attest", "percent": 70}, 1: {"stage": "gpu", "percent": 30}}
    assert 0 < client.ttl(PROGRESS_PREFIX + "t1") <= 3600
    assert writer.flush() == 0


def test_the_thread_writes_within_the_interval(client):
    writer = ProgressWriter(client, interval=0.05)
    writer.record("t2", 2, {"stage": "attest", "percent": 70})
    deadline = time.monotonic() + 10
    while not client.hget(PROGRESS_PREFIX + "t2", "2"):
        assert time.monotonic() < deadline, "progress never written"
        time.sleep(0.02)
    writer.close()


def test_a_broken_connection_loses_reports_not_the_worker():
    dead = redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    writer = ProgressWriter(dead, interval=3600)
    writer.record("t3", 0, {"stage": "gpu", "percent": 30})
    assert writer.flush() == 0  # logged and dropped
