"""Arrival marks on the embedded Redis: first arrival only, none for skipped replicas or
decided tasks, pages of due rounds, and a round's close (spread sampled, task decided)."""

from __future__ import annotations

import time

from shardy import arrivals
from shardy.blobs import BlobRef
from shardy.messages import ReplicaOrder


def order(task_id: str, round_no: int = 1) -> bytes:
    return ReplicaOrder(task_id=task_id, replica=0, round=round_no, kernel="sha256", seed=0,
                        output_len=32, params={}, payload=BlobRef("0" * 64, 0, b""),
                        key_id="k").encode()  # fmt: skip


def ok(task_id: str) -> dict:
    return {"status": "ok", "task_id": task_id}


def mark_grouped(client, rounds) -> None:
    """Note rounds as sent grouped, as dispatch does before sending them."""
    pipe = client.pipeline(transaction=False)
    arrivals.stage_grouped(pipe, rounds)
    pipe.execute()


def test_the_first_arrival_of_a_round_is_kept(redis_client):
    arrivals.mark(redis_client, order("t1"), ok("t1"))
    first = redis_client.zscore(arrivals.ARRIVALS_KEY, "t1:1")
    time.sleep(0.01)
    arrivals.mark(redis_client, order("t1"), ok("t1"))
    assert redis_client.zscore(arrivals.ARRIVALS_KEY, "t1:1") == first
    arrivals.mark(redis_client, order("t1", 2), ok("t1"))
    assert [(t, r) for t, r, _ in arrivals.due(redis_client, time.time())] == [("t1", 1), ("t1", 2)]


def test_no_mark_for_skipped_replicas_foreign_results_or_decided_tasks(redis_client):
    arrivals.mark(redis_client, order("t2"), {"status": "skipped", "task_id": "t2"})
    arrivals.mark(redis_client, order("t2"), ok("another task"))  # not this order's result
    arrivals.mark(redis_client, b"not a frame", ok("t2"))
    redis_client.set(arrivals.decided_key("t3"), 1)
    arrivals.mark(redis_client, order("t3"), ok("t3"))
    assert arrivals.due(redis_client, time.time()) == []


def test_due_rounds_come_in_pages_and_close_samples_the_spread(redis_client):
    for i in range(5):
        arrivals.mark(redis_client, order(f"p{i}"), ok(f"p{i}"))
    now = time.time()
    first = arrivals.due(redis_client, now, 0, 3)
    rest = arrivals.due(redis_client, now, 3, 3)
    assert len(first) == 3 and len(rest) == 2
    assert {t for t, _, _ in first + rest} == {f"p{i}" for i in range(5)}
    arrivals.close(redis_client, "p0", 1, "sha256", decided=True)
    assert redis_client.exists(arrivals.decided_key("p0"))
    assert len(arrivals.spreads(redis_client, "sha256")) == 1
    assert "p0" not in {t for t, _, _ in arrivals.due(redis_client, now)}
    arrivals.close(redis_client, "p1", 1, "sha256", decided=False)  # settled, not decided
    assert not redis_client.exists(arrivals.decided_key("p1"))


def test_closing_many_rounds_at_once_does_what_closing_each_does(redis_client):
    """A collect's rounds are closed in two round trips: each round's marks go, a verified
    task is marked decided, and a complete round's spread is sampled under its kernel."""
    for name in ("m0", "m1", "m2"):
        arrivals.mark(redis_client, order(name), ok(name))
        mark_grouped(redis_client, [(name, 1, [0, 1, 2])])
    arrivals.close_many(redis_client, [("m0", 1, "sha256", True, True),
                                       ("m1", 1, "sha256", False, True),
                                       ("m2", 1, "histogram", True, False)])  # fmt: skip
    assert arrivals.due(redis_client, time.time()) == []
    assert arrivals.grouped(redis_client, [("m0", 1), ("m1", 1), ("m2", 1)]) == set()
    decided = [bool(redis_client.exists(arrivals.decided_key(n))) for n in ("m0", "m1", "m2")]
    assert decided == [True, False, True]
    assert len(arrivals.spreads(redis_client, "sha256")) == 2  # m0 and m1 came back whole
    assert arrivals.spreads(redis_client, "histogram") == []  # m2 was closed early
    assert not redis_client.exists(arrivals.SIZE_KEY, arrivals.BACK_KEY)  # counts go too
    assert not redis_client.exists(arrivals.REPLICAS_KEY)  # and the replica numbers
    arrivals.close_many(redis_client, [])


def test_the_result_that_completes_a_grouped_round_is_the_one_that_says_so(redis_client):
    """Only the last of a round's results asks for its collect; a round of unknown size (a
    chord's, or one closed already) asks with every result, as every result did before."""
    mark_grouped(redis_client, [("g", 1, [0, 1, 2]), ("h", 2, [3, 4])])
    assert arrivals.count_back(redis_client, [("g", 1)]) == []
    assert arrivals.count_back(redis_client, [("g", 1), ("h", 2)]) == []
    assert arrivals.count_back(redis_client, [("h", 2), ("g", 1)]) == [("g", 1), ("h", 2)]
    assert arrivals.count_back(redis_client, [("g", 1)]) == [("g", 1)]  # a late extra one
    assert arrivals.count_back(redis_client, [("c", 1)]) == [("c", 1)]  # no size noted
    mark_grouped(redis_client, [("two", 1, [0, 1])])
    assert arrivals.count_back(redis_client, [("two", 1), ("two", 1)]) == [("two", 1)]
    arrivals.close_many(redis_client, [("g", 1, "histogram", True, True)])
    assert arrivals.count_back(redis_client, [("g", 1)]) == [("g", 1)]  # closed: unknown
    # a worker's group marks its rounds' arrivals in the same round trip
    mark_grouped(redis_client, [("m", 1, [0, 1])])
    assert arrivals.count_back(redis_client, [("m", 1)], arrived=[("m", 1)]) == []
    assert [(t, n) for t, n, _ in arrivals.due(redis_client, time.time())] == [("m", 1)]


def test_replica_task_ids_follow_from_task_round_and_replica():
    a = arrivals.replica_task_id("t", 1, 0)
    assert a == arrivals.replica_task_id("t", 1, 0)
    assert len({a, arrivals.replica_task_id("t", 2, 0), arrivals.replica_task_id("t", 1, 1)}) == 3


def test_a_grouped_rounds_replica_numbers_are_noted_until_it_closes(redis_client):
    """Dispatch notes which replicas a grouped round sent (a collect looks for their stored
    results there); unknown, closed and garbled notes read as not noted."""
    mark_grouped(redis_client, [("s", 1, [0, 1, 2]), ("s", 2, [3, 4])])
    redis_client.hset(arrivals.REPLICAS_KEY, arrivals.member("bad", 1), "0,x")
    many = ",".join(map(str, range(arrivals.MAX_NOTED + 1)))  # a forged note: too many to read
    redis_client.hset(arrivals.REPLICAS_KEY, arrivals.member("huge", 1), many)
    wanted = [("s", 1), ("s", 2), ("s", 3), ("bad", 1), ("huge", 1)]
    assert arrivals.staged(redis_client, wanted) == {("s", 1): [0, 1, 2], ("s", 2): [3, 4]}
    arrivals.close_many(redis_client, [("s", 1, "histogram", True, True)])
    assert arrivals.staged(redis_client, wanted) == {("s", 2): [3, 4]}
    assert arrivals.staged(redis_client, []) == {}
