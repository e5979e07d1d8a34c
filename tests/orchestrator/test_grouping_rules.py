"""Which rounds go out as grouped orders, when a grouped round is whole, and a grouped message
of the wrong shape (pure rules; the cluster behaviour is in test_grouped.py)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from shardy.blobs import BlobRef
from shardy.messages import ReplicaOrder
from shardy.orchestrator.dispatch import PlannedRound
from shardy.orchestrator.grouped import GROUP_PAYLOAD_MAX, complete, split
from shardy.routing import Target
from shardy.workers.group import run_group

APP = SimpleNamespace(settings=SimpleNamespace(group_orders=32))


def planned(*targets: Target, size: int = 256) -> PlannedRound:
    task_id = str(uuid.uuid4())
    orders = tuple(
        (ReplicaOrder(task_id, i, 1, "histogram", 0, 1024, {}, BlobRef("0" * 64, size), "k"), t)
        for i, t in enumerate(targets)
    )
    return PlannedRound(task_id, 1, "histogram", orders)


def fleet(name: str) -> Target:
    return Target(name, f"shardy.w.{name}", "fleet")


def test_only_rounds_of_small_payloads_on_named_fleet_workers_are_grouped():
    ok = [planned(fleet("a"), fleet("b")) for _ in range(3)]
    remote = planned(fleet("a"), Target("r", "shardy.gw.g", "remote"))
    unplaced = planned(fleet("a"), Target(None, "shardy.gpu", "fleet"))
    heavy = planned(fleet("a"), fleet("b"), size=GROUP_PAYLOAD_MAX + 1)
    together, alone = split(APP, [*ok, remote, unplaced, heavy])
    assert together == ok
    assert alone == [remote, unplaced, heavy]


def test_a_lone_round_goes_out_grouped_and_grouping_switched_off_keeps_chords():
    one = planned(fleet("a"), fleet("b"))
    assert split(APP, [one]) == ([one], [])
    rounds = [planned(fleet("a"), fleet("b")) for _ in range(4)]
    off = SimpleNamespace(settings=SimpleNamespace(group_orders=1))
    assert split(off, rounds) == ([], rounds)


def test_a_round_is_whole_when_every_replica_but_speculative_ones_is_back():
    assigned = [(0, False), (1, False), (2, True)]
    assert complete(assigned, {0}, {1: {"status": "ok"}})  # the speculative one may lag
    assert not complete(assigned, {0}, {2: {"status": "ok"}})
    assert complete(assigned, {0, 1}, {})


def test_a_grouped_message_of_the_wrong_shape_runs_nothing():
    ran: list[bytes] = []
    for junk in ("junk", 7, None, {"orders": []}, [], [1, "x", None]):
        assert run_group(APP, junk, ran.append) == 0  # type: ignore[arg-type]
    assert ran == []
