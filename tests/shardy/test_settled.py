"""Settled-task wake-ups on a real (embedded) Redis: a client's listener hears announced ids,
wakes the waits for them only, and says when it may have missed one (then the waiter looks
at the state store)."""

from __future__ import annotations

import threading
import time

import redis

from shardy.settled import Listener, announce


def _listener(client: redis.Redis) -> Listener:
    listener = Listener(client)
    assert listener.start()
    return listener


def test_an_announcement_wakes_the_wait_for_that_task(redis_client: redis.Redis) -> None:
    listener = _listener(redis_client)
    since = time.monotonic()
    assert listener.covers(since)
    timer = threading.Timer(0.2, announce, (redis_client, "task-a"))
    timer.start()
    try:
        assert listener.wait("task-a", 60.0, since) is True  # woken, long before 60 s pass
        assert listener.heard("task-a")
    finally:
        timer.cancel()
        listener.close()


def test_other_tasks_do_not_wake_the_wait(redis_client: redis.Redis) -> None:
    listener = _listener(redis_client)
    since = time.monotonic()
    announce(redis_client, "task-b")
    t0 = time.monotonic()
    assert listener.wait("task-a", 0.3, since) is False
    assert time.monotonic() - t0 >= 0.3
    assert listener.heard("task-b") and not listener.heard("task-a")
    listener.close()


def test_an_announcement_made_before_the_wait_is_not_lost(redis_client: redis.Redis) -> None:
    listener = _listener(redis_client)
    since = time.monotonic()
    announce(redis_client, "task-a")
    assert listener.wait("task-a", 60.0, since) is True
    listener.close()


def test_without_redis_nothing_is_covered_and_announce_does_not_raise(tmp_path) -> None:
    gone = redis.Redis(unix_socket_path=str(tmp_path / "no.sock"), socket_timeout=1)
    announce(gone, "task-a")  # logged, not raised: waiters poll the state store
    listener = Listener(gone)
    assert listener.start() is False
    assert not listener.covers(time.monotonic())
    assert listener.wait("task-a", 5.0, time.monotonic()) is True  # at once: look at the store


def test_a_killed_subscription_counts_as_a_loss_and_listens_again(
    redis_client: redis.Redis,
) -> None:
    """redis-py reconnects a pub/sub connection and subscribes it again: what was announced
    in between is gone, so a wait from before the kill is told to look at the store."""
    listener = _listener(redis_client)
    before = time.monotonic()
    redis_client.client_kill_filter(_type="pubsub")
    assert listener.wait("task-a", 10.0, before) is True  # the reconnection, not a timeout
    assert not listener.covers(before)
    after = time.monotonic()
    assert listener.covers(after)
    announce(redis_client, "task-a")
    assert listener.wait("task-a", 60.0, after) is True
    assert listener.heard("task-a")
    listener.close()


def test_forgetting_an_id_is_a_loss(redis_client: redis.Redis) -> None:
    listener = _listener(redis_client)
    listener.REMEMBER = 2
    since = time.monotonic()
    announce(redis_client, "t1", "t2", "t3")
    assert listener.wait("t3", 60.0, since) is True
    assert not listener.heard("t1")  # forgotten to make room...
    assert not listener.covers(since)  # ...so announcements since then may be missing
    listener.close()


def test_an_idle_listener_unsubscribes_and_a_new_start_subscribes_again(
    redis_client: redis.Redis,
) -> None:
    listener = Listener(redis_client)
    listener.IDLE_S = 0.2
    assert listener.start()
    since = time.monotonic()
    deadline = time.monotonic() + 10
    while listener.covers(since) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listener.covers(since)  # gone after its idle time (a get() polls then)
    assert redis_client.pubsub_numsub("shardy:settled")[0][1] == 0
    assert listener.start()
    later = time.monotonic()
    assert listener.covers(later) and not listener.covers(since)
    announce(redis_client, "task-a")
    assert listener.wait("task-a", 60.0, later) is True
    listener.close()
