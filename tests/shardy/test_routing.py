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


def test_assign_many_reads_once_and_counts_its_own_picks(r):
    """A `map` batch's rounds are assigned together: each round's replicas go to distinct
    workers (the shared queue beyond them), and each round's picks weigh on the rounds after
    it, so a batch fills free slots evenly (independent draws would split four single
    replicas 2/2 over two 2-slot workers only 3 times in 8)."""
    for wid in "ab":
        _beat(r, wid, slots=2)
    rounds = routing.assign_many(r, [2, 3, 1])
    assert [len(t) for t in rounds] == [2, 3, 1]
    assert {t.worker_id for t in rounds[0]} == {"a", "b"}
    assert sorted(str(t.worker_id) for t in rounds[1]) == ["None", "a", "b"]
    assert rounds[1][2] == routing.Target(None, GPU_QUEUE, "fleet")
    even = 0
    for seed in range(200):
        drawn = routing.assign_many(r, [1] * 4, rng=random.Random(seed))
        picks = Counter(t[0].worker_id for t in drawn)
        even += picks == Counter({"a": 2, "b": 2})
    assert even > 150  # about 0.9 of draws; 0.375 without the accounting
    assert routing.load(r, ["a", "b"]) == {"a": 0, "b": 0}  # assigning tracks nothing itself
