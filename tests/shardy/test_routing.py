"""Replica routing: distinct live workers and voters, chosen by the load the server counts
(never by what a worker reports), the shared queue beyond them."""

import random
import time
from collections import Counter

import pytest

from shardy import routing
from shardy.celery_app import GPU_QUEUE
from shardy.config import Settings


@pytest.fixture
def r(redis_client):
    return redis_client


def _beat(r, wid, slots=2, voter=None, kind="fleet"):
    queue = routing.direct_queue(f"{wid}@host")
    routing.beat(r, wid, queue=queue, slots=slots, voter=voter or wid, kind=kind)


def test_replicas_go_to_distinct_live_workers_and_the_shared_queue_beyond(r):
    for wid in "abc":
        _beat(r, wid)
    targets = routing.assign(r, 5)
    assert sorted(t.worker_id for t in targets[:3]) == ["a", "b", "c"]
    assert targets[3:] == [routing.Target(None, GPU_QUEUE, "fleet")] * 2
    assert {t.queue for t in targets[:3]} == {"shardy.w.a@host", "shardy.w.b@host",
                                              "shardy.w.c@host"}  # fmt: skip
    assert {t.worker_id for t in routing.assign(r, 2, exclude=["b"])} == {"a", "c"}
    assert {t.worker_id for t in routing.assign(r, 3, live={"a", "c"})} == {"a", "c", None}
    assert routing.direct_queues(r) == ["shardy.w.a@host", "shardy.w.b@host", "shardy.w.c@host"]


def test_load_is_what_the_server_assigned_not_what_a_worker_says(r):
    for wid in "ab":
        _beat(r, wid, slots=4)
    keys = [routing.assignment_key("t", 1, i) for i in range(4)]
    routing.track(r, [("a", k) for k in keys], time.time() + 60)
    assert routing.load(r, ["a", "b"]) == {"a": 4, "b": 0}
    picks = Counter(routing.assign(r, 1, rng=random.Random(i))[0].worker_id for i in range(200))
    assert picks["b"] > 190  # a has no free slot: b takes nearly everything
    routing.untrack(r, [("a", k) for k in keys[:3]])
    assert routing.load(r, ["a"]) == {"a": 1}
    routing.track(r, [("b", "old:1:0")], time.time() - 1)  # past its deadline: forgotten
    assert routing.load(r, ["b"]) == {"b": 0}


def test_a_worker_cannot_buy_replicas_with_a_beat():
    """The adversarial review's capture: a worker reporting a backlog of -1,000,000 under
    three ids drew all 30 replicas of 10 tasks. Beats now carry no load at all, and a choice
    weighted by free slots spreads replicas over honest and dishonest ids alike."""
    workers = [routing.Live(w, f"q.{w}", 2, w, "remote") for w in ("h1", "h2", "h3", "x1", "x2")]
    rng = random.Random(7)
    counts = Counter(w.worker_id for _ in range(300) for w in routing.choose(workers, {}, 3,
                                                                            rng=rng))  # fmt: skip
    assert all(150 < counts[w.worker_id] < 210 for w in workers)  # ~180 each of 900


def test_more_keys_do_not_draw_more_replicas():
    """A second review's attack: one operator's 16 keys drew 11 of 12 single-replica tasks
    against two honest operators. The voter is drawn first, by its best worker's free slots."""
    mallory = [routing.Live(f"m{i}", "q", 4, "mallory", "remote") for i in range(16)]
    honest = [routing.Live(w, "q", 4, w, "remote") for w in ("h1", "h2")]
    rng = random.Random(3)
    picks = Counter(routing.choose([*mallory, *honest], {}, 1, rng=rng)[0].voter
                    for _ in range(3000))  # fmt: skip
    assert all(900 < picks[v] < 1100 for v in ("mallory", "h1", "h2"))  # a third each


def test_a_remote_worker_always_votes_as_its_operator():
    """With SHARDY_DISTINCT=worker one token's many keys made a quorum alone (second review);
    the setting applies to fleet workers, a remote worker counts for its operator."""
    s = Settings(distinct="worker")
    assert s.voter("remote-a@acme", "acme", "remote") == s.voter("remote-b@acme", "acme", "remote")
    assert s.voter("gpu0@box", "box", "fleet") == "gpu0@box"
    assert Settings().voter("gpu0@box", "box", "fleet") == "box"
    assert Settings().voter("gpu0@box", None, "fleet") == "gpu0@box"


def test_distinct_voters_first_then_distinct_workers(r):
    for wid, op in (("a1", "opA"), ("a2", "opA"), ("a3", "opA"), ("b1", "opB")):
        _beat(r, wid, voter=op, kind="remote")
    for seed in range(20):
        two = routing.assign(r, 2, rng=random.Random(seed))
        assert {t.worker_id[0] for t in two} == {"a", "b"}  # one of each operator
    three = routing.assign(r, 3, rng=random.Random(1))
    assert len({t.worker_id for t in three}) == 3  # then distinct workers of opA
    # a round after opB voted: opA's workers first, and b1 only if nothing else is left
    assert {t.worker_id for t in routing.assign(r, 3, exclude=["b1"])} == {"a1", "a2", "a3"}


def test_gone_and_silent_workers_get_nothing(r):
    _beat(r, "old")
    r.zadd(routing.ALIVE_KEY, {"old": time.time() - routing.ALIVE_WINDOW - 1})
    r.zadd(routing.ALIVE_KEY, {"anon": time.time()})  # beats, but recorded no queue
    _beat(r, "left")
    routing.leave(r, "left")
    assert routing.alive(r) == {"anon"}
    assert routing.assign(r, 2) == [routing.Target(None, GPU_QUEUE, "fleet")] * 2


def test_queue_names():
    assert routing.direct_queue("gpu0@box") == "shardy.w.gpu0@box"
    assert routing.gateway_queue("g1") == "shardy.gw.g1"
