"""Grouped relays on a real cluster: a burst's replicas for remote workers go to their gateway
in ``shardy.relay_many`` messages and are settled by collects, and a group changes none of a
single relay's trust checks. The attacker is a remote worker with a valid enrollment (its own
operator, so one replica of every task is its own): it answers a replica of its group that is
not its own, answers its own twice, or sits on its orders while a forged collect names their
rounds. Each time the honest workers' answers verify the tasks and the attacker's never count.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import aiohttp
import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from gateway_support import Client, Identity, answer, run
from sqlalchemy import select

from shardy import arrivals
from shardy import session as wire
from shardy.errors import GatewayError
from shardy.kernels import registry
from shardy.messages import ReplicaOrder
from shardy.orchestrator import grouped, operators
from shardy.store import Assignment, Replica, Task

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def rc():
    settings = make_settings(short_home(), redundancy_factor=3, quorum=2, max_replicas=3,
                             session_grace=2, task_time_limit=12, spot_check_rate=0.0,
                             probation_votes=0)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=2)


def payloads(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, 2000, dtype=np.uint8).tobytes() for _ in range(n)]


def gateway_log(rc) -> str:
    return (rc.cluster.logdir / "gateway.log").read_text(errors="replace")


def check_verified(handles, datas, timeout: float = 180) -> None:
    for h, data in zip(handles, datas, strict=True):
        res = h.get(timeout=timeout)
        assert np.array_equal(res.output, registry.get("histogram").reference(data, {}, 0))


class Mallory:
    """A hand-driven remote worker of its own operator, on a thread; ``behave`` gets each
    order and the client, and misbehaves."""

    def __init__(self, rc, behave: Callable) -> None:
        with rc.app.store.session() as s:
            token = str(operators.add(s, f"mallory{time.monotonic_ns()}"))
        self.ident, self.url, self.behave = Identity(), rc.cluster.remote.url, behave
        self.orders: list[ReplicaOrder] = []
        self.closed_with: str | None = None
        self.worker_id: str | None = None
        self._joined = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=run, args=(self._main(token),), daemon=True)
        self._thread.start()
        assert self._joined.wait(60), "mallory did not join"
        wait_live(rc, self.worker_id)

    async def _main(self, token: str) -> None:
        self._stop = asyncio.Event()
        async with Client(self.url) as c:
            self.worker_id = await c.join(self.ident, token)
            self._joined.set()
            while True:
                msg = await c.ws.receive()
                if msg.type != aiohttp.WSMsgType.BINARY:  # the session ended
                    self.closed_with = self.closed_with or "closed"
                    return
                try:
                    wire.decode(msg.data, "order")
                except GatewayError as exc:  # the gateway's error message before it closes
                    self.closed_with = exc.code
                    return
                order = ReplicaOrder.decode(msg.data)
                self.orders.append(order)
                try:
                    await self.behave(self, c, order)
                except (aiohttp.ClientError, ConnectionError):  # closing: read why
                    continue


def wait_live(rc, worker_id: str, timeout: float = 30) -> None:
    from shardy import routing

    deadline = time.monotonic() + timeout
    while worker_id not in routing.live_workers(rc.app.redis):
        assert time.monotonic() < deadline, f"{worker_id} never became live"
        time.sleep(0.2)


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def rows_of(rc, task_ids: list[str]) -> list[Replica]:
    with rc.app.store.read() as s:
        return list(s.scalars(select(Replica).where(Replica.task_id.in_(task_ids))))


def test_a_map_to_remote_workers_goes_out_grouped_and_verifies(rc):
    datas = payloads(6, 1)
    handles = rc.client.map("histogram", datas)
    check_verified(handles, datas)
    log = gateway_log(rc)
    assert re.search(r"Task shardy\.relay_many\[[^\]]+\] received", log)
    ids = [arrivals.replica_task_id(h.id, 1, r) for h in handles for r in range(3)]
    assert not [i for i in ids if i in log]  # no replica was relayed as a task of its own
    with rc.app.store.read() as s:
        tasks = s.scalars(select(Task).where(Task.id.in_([h.id for h in handles]))).all()
        assert {t.state for t in tasks} == {"verified"}
        assert all(t.rounds_settled == 1 for t in tasks)  # settled by a collect: a full settle


def test_answering_a_replica_of_the_group_not_assigned_to_you_is_refused(rc):
    """Mallory holds one replica of each task in the group; she answers the next replica of
    the same task (another worker's, in the same group) with the right output and a genuine
    proof of her own. The gateway closes her session; that replica counts only from its
    assignee; her own orders are re-routed; every task verifies."""

    async def steal(m: Mallory, c: Client, order: ReplicaOrder) -> None:
        other = replace(order, replica=(order.replica + 1) % 3)
        await c.send(await asyncio.to_thread(answer, m.ident, other))

    mallory = Mallory(rc, steal)
    datas = payloads(4, 2)
    handles = rc.client.map("histogram", datas)
    check_verified(handles, datas)
    wait_for(lambda: mallory.closed_with is not None, "mallory's session was not closed")
    assert mallory.closed_with == "unassigned"
    assert mallory.orders, "mallory was assigned nothing"
    rows = rows_of(rc, [h.id for h in handles])
    assert not [r for r in rows if r.worker_id == mallory.worker_id and r.status == "ok"]
    with rc.app.store.read() as s:
        owner = {(a.task_id, a.replica): a.worker_id for a in s.scalars(
            select(Assignment).where(Assignment.task_id.in_([h.id for h in handles])))}  # fmt: skip
    for r in rows:
        if r.status == "ok":
            assert r.worker_id == owner[(r.task_id, r.replica)]


def test_answering_twice_counts_once_and_closes_the_session(rc):
    async def twice(m: Mallory, c: Client, order: ReplicaOrder) -> None:
        frame = await asyncio.to_thread(answer, m.ident, order)
        await c.send(frame)
        await c.send(frame)

    mallory = Mallory(rc, twice)
    datas = payloads(3, 3)
    handles = rc.client.map("histogram", datas)
    check_verified(handles, datas)
    wait_for(lambda: mallory.closed_with is not None, "mallory's session was not closed")
    assert mallory.closed_with == "unassigned"
    first = mallory.orders[0]
    wait_for(lambda: any(r.worker_id == mallory.worker_id for r in rows_of(rc, [first.task_id])),
             "mallory's answer was not recorded")  # fmt: skip
    mine = [r for r in rows_of(rc, [first.task_id]) if r.replica == first.replica]
    assert len(mine) == 1 and mine[0].worker_id == mallory.worker_id  # once, hers


def test_a_forged_collect_of_rounds_still_out_settles_nothing(rc):
    """Mallory sits on her orders; a collect naming their rounds (and others never sent) settles
    nothing; her session times out, her replicas are re-routed or handed back, and each task is
    settled once, verified by the honest workers."""
    held = threading.Event()

    async def sit(m: Mallory, c: Client, order: ReplicaOrder) -> None:
        held.set()

    mallory = Mallory(rc, sit)
    datas = payloads(3, 4)
    handles = rc.client.map("histogram", datas)
    assert held.wait(60)
    ids = [h.id for h in handles]
    theirs = [arrivals.replica_task_id(o.task_id, o.round, r) for o in mallory.orders
              if o.task_id in ids for r in range(3) if r != o.replica]  # fmt: skip
    wait_for(lambda: None not in arrivals.stored_results(rc.app, theirs),
             "the honest replicas did not come back")  # fmt: skip
    forged = [[i, 1] for i in ids] + [[ids[0], 2], ["x", 1], [ids[1], "1"]]
    assert grouped.collect(rc.app, forged)["settled"] == 0  # mallory's replicas are still out
    rc.app.send_task("shardy.collect", args=(forged,), queue="shardy.control")
    with rc.app.store.read() as s:
        assert all(t.rounds_settled == 0 for t in s.scalars(select(Task).where(Task.id.in_(ids))))
    check_verified(handles, datas)
    wait_for(lambda: mallory.closed_with is not None, "mallory's session never timed out")
    with rc.app.store.read() as s:
        tasks = s.scalars(select(Task).where(Task.id.in_(ids))).all()
        assert all(t.state == "verified" for t in tasks)
    rows = rows_of(rc, ids)
    assert not [r for r in rows if r.worker_id == mallory.worker_id and r.status == "ok"]
    assert len({(r.task_id, r.replica) for r in rows}) == len(rows)  # each recorded once


def test_a_transient_failure_in_a_group_is_retried_alone_then_counts(rc):
    seen: dict[tuple, int] = {}

    async def flaky(m: Mallory, c: Client, order: ReplicaOrder) -> None:
        key = (order.task_id, order.round, order.replica)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1:
            await c.send(wire.encode("failure", {"task_id": order.task_id, "round": order.round,
                                                 "replica": order.replica, "error": "busy",
                                                 "permanent": False}))  # fmt: skip
            return
        await c.send(await asyncio.to_thread(answer, m.ident, order))

    mallory = Mallory(rc, flaky)
    datas = payloads(3, 5)
    handles = rc.client.map("histogram", datas)
    check_verified(handles, datas)
    mine = [o for o in mallory.orders if o.task_id in {h.id for h in handles}]
    assert mine and all(seen[(o.task_id, o.round, o.replica)] >= 1 for o in mine)
    retried = [k for k, n in seen.items() if n > 1]
    assert retried, "no order came back to mallory"
    log = gateway_log(rc)
    assert any(arrivals.replica_task_id(*k) in log for k in retried)  # relayed alone
    wait_for(lambda: any(r.worker_id == mallory.worker_id and r.status == "ok"
                         for r in rows_of(rc, [k[0] for k in retried])),
             "the retried answer was not recorded")  # fmt: skip
    assert mallory.closed_with is None  # a failure is no offence
