"""The gateway's Redis batches (orchestrator/gateway/batch.py): jobs queued together go out in
one pipeline, each gets its own replies (a failed command's as its exception), a job whose
builder fails gets that error, and replies reach the loop or stay in the batch thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import redis

from shardy.orchestrator.gateway.batch import Batcher


@pytest.fixture
def batcher(redis_client: redis.Redis) -> Iterator[tuple[Batcher, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    b = Batcher(redis_client, loop)
    yield b, loop
    b.stop()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _submit(b: Batcher, build, *, on_loop: bool = True) -> tuple[threading.Event, list]:
    got: list = []
    done = threading.Event()

    def on_reply(replies) -> None:
        got.append((replies, threading.current_thread().name))
        done.set()

    b.submit(build, on_reply, on_loop=on_loop)
    return done, got


def test_jobs_queued_together_share_one_pipeline_and_get_their_own_replies(batcher) -> None:
    b, _ = batcher
    b.client.set("batch:a", b"1")
    first = _submit(b, lambda pipe: pipe.exists("batch:a", "batch:none"))
    second = _submit(b, lambda pipe: (pipe.set("batch:b", b"2"), pipe.get("batch:b")))
    wrong = _submit(b, lambda pipe: pipe.incr("batch:a", 1.5))  # a float: Redis refuses
    failing = _submit(b, lambda pipe: 1 / 0)
    b.start()  # queued before the thread ran: one batch
    for done, _ in (first, second, wrong, failing):
        assert done.wait(10)
    assert first[1][0][0] == [1]
    assert second[1][0][0] == [True, b"2"]
    assert isinstance(wrong[1][0][0][0], redis.ResponseError)
    assert isinstance(failing[1][0][0], ZeroDivisionError)
    assert first[1][0][1] != "shardy-gateway-redis"  # on the loop


def test_replies_stay_in_the_batch_thread_when_asked(batcher) -> None:
    b, _ = batcher
    b.start()
    done, got = _submit(b, lambda pipe: pipe.ping(), on_loop=False)
    assert done.wait(10) and got[0] == ([True], "shardy-gateway-redis")


def test_a_lost_connection_fails_every_job_of_the_batch(batcher) -> None:
    b, loop = batcher
    b.client = redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    b.start()
    done, got = _submit(b, lambda pipe: pipe.ping())
    assert done.wait(10) and isinstance(got[0][0], redis.ConnectionError)


def test_a_lone_job_goes_out_at_once_and_a_stream_gathers(redis_client) -> None:
    """A job after a quiet spell, or after a batch of one job (a lone round's next answer, a
    few ms later), is sent without waiting for others; one that comes while batches of
    several jobs keep ending (a stream of relays) gathers a batch first."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    b = Batcher(redis_client, loop, busy_s=60.0)
    try:
        first = [_submit(b, lambda pipe: pipe.ping()) for _ in range(2)]  # queued together
        b.start()
        for done, got in first:
            assert done.wait(10) and got[0][0] == [True]
        assert b.gathered == 0  # nothing ran before them: sent at once, in one batch
        done, got = _submit(b, lambda pipe: pipe.ping())
        assert done.wait(10) and got[0][0] == [True]
        assert b.gathered == 1  # a batch of two just ended: it gathered
        done, got = _submit(b, lambda pipe: pipe.ping())
        assert done.wait(10) and got[0][0] == [True]
        assert b.gathered == 1  # the batch before carried one job: sent at once
    finally:
        b.stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
