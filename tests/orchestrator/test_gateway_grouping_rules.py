"""Which remote rounds go out as grouped relays, and what `grouped.send` sends for them (pure
rules; the cluster behaviour is in test_gateway_grouped.py)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from shardy import arrivals
from shardy.blobs import BlobRef
from shardy.kernels.shipped import PREFIX
from shardy.messages import ReplicaOrder
from shardy.orchestrator.dispatch import PlannedRound
from shardy.orchestrator.grouped import send, split
from shardy.routing import Target


class FakeApp:
    settings = SimpleNamespace(group_orders=4)

    def __init__(self, redis_client: object = None) -> None:
        self.sent: list[tuple[str, int, str]] = []
        self.redis = redis_client  # a real (embedded) Redis where the rounds are marked

    def queue(self, name: str) -> str:
        return name

    def send_task(self, name: str, args: tuple, queue: str, **_: object) -> None:
        self.sent.append((name, len(args[0]), queue))


def planned(*targets: Target, inline: bool = True, kernel: str = "histogram") -> PlannedRound:
    task_id = str(uuid.uuid4())
    ref = BlobRef("0" * 64, 16, b"\0" * 16 if inline else None)
    orders = tuple((ReplicaOrder(task_id, i, 1, kernel, 0, 1024, {}, ref, "k",
                                 assignee=t.worker_id), t)
                   for i, t in enumerate(targets))  # fmt: skip
    return PlannedRound(task_id, 1, kernel, orders)


def remote(name: str, gateway: str = "g") -> Target:
    return Target(name, f"shardy.gw.{gateway}", "remote")


def fleet(name: str) -> Target:
    return Target(name, f"shardy.w.{name}", "fleet")


def test_remote_rounds_with_inline_payloads_go_grouped_others_keep_their_chords():
    ok = [planned(remote("a"), remote("b"), fleet("f")) for _ in range(3)]
    blob = planned(remote("a"), remote("b"), inline=False)  # the relay reads it first
    shipped = planned(remote("a"), remote("b"), kernel=PREFIX + "0" * 64)
    unassigned = planned(remote("a"), Target(None, "shardy.gw.g", "remote"))
    together, alone = split(FakeApp(), [*ok, blob, shipped, unassigned])
    assert together == ok
    assert alone == [blob, shipped, unassigned]


def test_a_gateways_replicas_go_in_relay_many_messages_and_a_fleet_workers_in_execute_many(
    redis_client,
):
    app = FakeApp(redis_client)
    rounds = [planned(remote("a"), remote("b", "h"), fleet("f")) for _ in range(5)]
    assert send(app, rounds) == 6
    assert sorted(app.sent) == sorted([
        ("shardy.relay_many", 4, "shardy.gw.g"), ("shardy.relay_many", 1, "shardy.gw.g"),
        ("shardy.relay_many", 4, "shardy.gw.h"), ("shardy.relay_many", 1, "shardy.gw.h"),
        ("shardy.execute_many", 4, "shardy.w.f"), ("shardy.execute_many", 1, "shardy.w.f"),
    ])  # fmt: skip
    for r in rounds:  # each round's size is noted: its last replica back asks for the collect
        member = arrivals.member(r.task_id, r.round_no)
        assert redis_client.sismember(arrivals.GROUPED_KEY, member)
        assert redis_client.hget(arrivals.SIZE_KEY, member) == b"3"
