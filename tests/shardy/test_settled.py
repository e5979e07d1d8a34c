"""Settled-task wake-ups on a real (embedded) Redis: announced ids wake their waiter only."""

from __future__ import annotations

import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shardy.settled import Idle, Waiter, announce


def test_an_announcement_wakes_the_waiter_of_that_task(redis_client: redis.Redis) -> None:
    with Waiter(redis_client) as waiter:
        assert waiter.live
        timer = threading.Timer(0.2, announce, (redis_client, "task-a"))
        timer.start()
        try:
            assert waiter.wait("task-a", 60.0) is True  # woken, long before the 60 s pass
        finally:
            timer.cancel()


def test_other_tasks_do_not_wake_the_waiter(redis_client: redis.Redis) -> None:
    with Waiter(redis_client) as waiter:
        announce(redis_client, "task-b")
        t0 = time.monotonic()
        assert waiter.wait("task-a", 0.3) is False
        assert time.monotonic() - t0 >= 0.3


def test_an_announcement_made_before_waiting_is_not_lost(redis_client: redis.Redis) -> None:
    """Subscribed first, then the state check, then the announcement, then the wait."""
    with Waiter(redis_client) as waiter:
        announce(redis_client, "task-a")
        assert waiter.wait("task-a", 60.0) is True


def test_without_redis_the_waiter_sleeps_and_announce_does_not_raise(tmp_path) -> None:
    # no retries: redis-py's default backoff spends 8 s here before the same error
    gone = redis.Redis(unix_socket_path=str(tmp_path / "no.sock"), socket_timeout=1,
                       retry=Retry(NoBackoff(), 0))  # fmt: skip
    announce(gone, "task-a")  # logged, not raised: waiters poll the state store
    with Waiter(gone) as waiter:
        assert not waiter.live
        t0 = time.monotonic()
        assert waiter.wait("task-a", 0.2) is False
        assert time.monotonic() - t0 >= 0.2


def test_a_killed_subscription_neither_raises_nor_stays_deaf(redis_client: redis.Redis) -> None:
    """redis-py reconnects a pub/sub connection and subscribes it again."""
    with Waiter(redis_client) as waiter:
        redis_client.client_kill_filter(_type="pubsub")
        assert waiter.wait("task-a", 0.3) is False  # no exception
        assert waiter.live
        announce(redis_client, "task-a")
        assert waiter.wait("task-a", 60.0) is True


def test_a_kept_subscription_is_reused_and_the_pool_keeps_its_connection(
    redis_client: redis.Redis,
) -> None:
    """A client's waits share one kept subscription (`Idle`): closing a wait unsubscribes it
    and never disconnects a connection of the client's pool, so the next command does not
    reconnect; announcements left unread before the last unsubscribe do not stand in for the
    next wait's subscription, nor wake it for another task."""
    idle = Idle()
    with Waiter(redis_client, idle) as first:  # takes a pooled connection for good
        kept = first._pubsub
        for task in ("task-a", "task-b", "task-c"):  # left unread on the connection
            announce(redis_client, task)
    pooled = redis_client.client_id()
    with Waiter(redis_client, idle) as second:
        assert second.live and second._pubsub is kept
        assert second.wait("task-d", 0.2) is False  # the stale announcements were read past
        announce(redis_client, "task-d")
        assert second.wait("task-d", 60.0) is True
    assert redis_client.client_id() == pooled  # the pool's connection was never dropped
    with Waiter(redis_client, idle) as third:  # a wait that outlives its client's close
        assert third._pubsub is kept
        idle.close()
    assert kept.connection is None and not idle._kept  # given back after the close: closed
    other = Idle()
    with Waiter(redis_client, other) as fourth:
        spare = fourth._pubsub
    assert other._kept == [spare]
    other.close()
    assert spare.connection is None and not other._kept  # close closes what it kept
