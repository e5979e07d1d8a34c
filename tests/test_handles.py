"""A user's handles on a running fleet (three fleet workers, real Celery and Redis): `get` reads
a decided task once and subscribes only to wait, `status` and `get` of an unknown id fail at
once, `map` sends its batches whole or not at all and shows verified progress, and the
library's kernels verify through `submit`."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from cluster_support import make_settings, oracle, payload, short_home, start_cluster
from sqlalchemy import func, select

from shardy.errors import PayloadError, UnknownTask
from shardy.kernels import registry
from shardy.store import Task

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    yield from start_cluster(make_settings(short_home(), spot_check_rate=0.0), workers=3)


def test_get_of_a_decided_task_is_one_read_without_a_subscription(cluster, monkeypatch):
    """A waiter subscribes (a Redis connection of its own) only when its first look finds
    the task undecided; getting a decided task again opens none and returns the same."""
    import shardy.api

    opened = []

    class Counting(shardy.api.Waiter):
        def __init__(self, client, *args) -> None:
            opened.append(client)
            super().__init__(client, *args)

    monkeypatch.setattr(shardy.api, "Waiter", Counting)
    handle = cluster.client.submit("sha256", payload(3000, 7))
    first = handle.get(timeout=120)
    waited = len(opened)
    again = handle.get(timeout=5)
    assert len(opened) == waited <= 1
    assert again.digest == first.digest and np.array_equal(again.output, first.output)
    assert [a.worker_id for a in again.attestations] == [a.worker_id for a in first.attestations]


def test_a_fresh_handle_subscribes_before_its_first_look_and_misses_no_decision(
    cluster, monkeypatch
):
    """`get` right after `submit` subscribes before it looks (a first look could only find the
    task running), so it looks once before its wake-up, not twice, and that look reads the
    task's state alone; the look after the wake-up reads the evidence. A handle taken for
    fresh whose task is decided already still returns at once (its light look finds the task
    verified and reads the evidence), and one of an unknown id fails as a handle of old."""
    import shardy.api

    events = []

    class Counting(shardy.api.Waiter):
        def __init__(self, client, *args) -> None:
            events.append("subscribe")
            super().__init__(client, *args)

    poll = shardy.api.TaskHandle._poll

    def counted(self, light=False):
        events.append(("look", light))
        return poll(self, light)

    monkeypatch.setattr(shardy.api, "Waiter", Counting)
    monkeypatch.setattr(shardy.api.TaskHandle, "_poll", counted)
    handle = cluster.client.submit("sha256", payload(3000, 8))
    first = handle.get(timeout=120)
    assert events[:2] == ["subscribe", ("look", True)] and events.count("subscribe") == 1
    assert events[-1] == ("look", False)  # woken by the announcement: the evidence at once
    events.clear()
    again = shardy.api.TaskHandle(handle.id, cluster.client, time.monotonic()).get(timeout=5)
    assert events == ["subscribe", ("look", True)]
    assert again.digest == first.digest and np.array_equal(again.output, first.output)
    assert [a.worker_id for a in again.attestations] == [a.worker_id for a in first.attestations]
    unknown = shardy.api.TaskHandle(str(uuid.uuid4()), cluster.client, time.monotonic())
    with pytest.raises(UnknownTask, match="no task"):
        unknown.get(timeout=5)


def test_a_task_id_never_submitted_is_unknown(cluster):
    """get() and status() of an id the store does not hold raise UnknownTask at once."""
    import uuid

    from shardy.api import TaskHandle
    from shardy.errors import UnknownTask

    handle = TaskHandle(str(uuid.uuid4()), cluster.client)
    with pytest.raises(UnknownTask, match="no task"):
        handle.get(timeout=30)
    with pytest.raises(UnknownTask, match="no task"):
        handle.status()


@pytest.mark.parametrize(
    "kernel, data, params, seed",
    [
        ("montecarlo_pi", b"", {"samples": 1 << 16}, 11),
        ("conv2d_u8", payload(40 * 30, 8), {"width": 40, "height": 30, "filter": "sobel_x"}, 0),
        ("mandelbrot", b"", {"width": 48, "height": 32, "max_iter": 64}, 0),
    ],
)
def test_library_kernels_verify_through_submit(cluster, kernel, data, params, seed):
    res = cluster.client.submit(kernel, data, params=params, seed=seed).get(timeout=120)
    k = registry.get(kernel)
    expected = k.reference(data, k.resolve_params(params), seed)
    assert np.array_equal(np.asarray(res.output).reshape(expected.shape), expected)
    assert sum(a.agrees for a in res.attestations) >= 2


def test_map_with_progress_returns_once_every_task_settled(cluster):
    handles = cluster.client.map("histogram", [payload(700, i) for i in range(4)], progress=True)
    assert [h.status().state for h in handles] == ["verified"] * 4


def test_map_sends_batches_whole_or_not_at_all(cluster, monkeypatch):
    """map dispatches in batches sharing their round trips: handles come back in order, and
    an invalid payload raises before anything of its batch is stored or sent."""
    from shardy import api

    monkeypatch.setattr(api, "MAP_CHUNK", 3)
    data = [payload(600, 40 + i) for i in range(5)]
    handles = cluster.client.map("histogram", data)
    for d, h in zip(data, handles, strict=True):
        assert np.array_equal(h.get(timeout=120).output, oracle("histogram", d))
    submitted = Task.spot_digest.is_(None)  # known-answer checks ride along at random
    with cluster.app.store.read() as s:
        before = s.scalar(select(func.count()).select_from(Task).where(submitted))
    with pytest.raises(PayloadError, match="bytes-like"):
        cluster.client.map("histogram", [payload(600, 50), payload(600, 51), payload(600, 52),
                                         payload(600, 53), "not bytes"])  # fmt: skip
    deadline = time.monotonic() + 60
    while True:  # the first batch of three was sent and settles; nothing of the second
        with cluster.app.store.read() as s:
            rows = s.scalars(select(Task).where(submitted).order_by(Task.created_at)).all()
            rows = rows[before:]
        settled = len(rows) == 3 and all(t.state == "verified" for t in rows)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 3 and all(t.state == "verified" for t in rows)
