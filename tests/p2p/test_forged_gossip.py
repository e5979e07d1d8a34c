"""Forged records on real py-libp2p hosts (loopback): each refused by a sidecar, none forwarded;
a flood of invalid records gets its sender disconnected, with memory bounded."""

from __future__ import annotations

import os
from pathlib import Path

import trio
from forgeries import FORGERIES, wire
from p2p_support import TRUSTED, await_for, stream_entry

from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.sidecar import Sidecar

TIMEOUT = 60


async def _attacker_line(nursery: trio.Nursery, scratch: Path) -> tuple[P2PNode, Sidecar, Sidecar]:
    """x (publishes without validating) - a - b, with discovery off."""
    x = P2PNode(NodeConfig(key_file=scratch / "x" / KEY_FILE, discover=False, max_rate=1e6))
    x.pubsub.remove_topic_validator(TOPIC)
    await nursery.start(x.run)
    a = Sidecar(scratch / "a", bootstrap=[x.addrs[0]], discover=False, trusted=[TRUSTED])
    await nursery.start(a.run)
    b = Sidecar(scratch / "b", bootstrap=[a.node.addrs[0]], discover=False, trusted=[TRUSTED])
    await nursery.start(b.run)
    await await_for(lambda: len(a.node.topic_peers()) == 2 and b.node.topic_peers(),
                    TIMEOUT, "the line to form")  # fmt: skip
    return x, a, b


def test_each_forgery_is_refused_and_not_forwarded(scratch: Path) -> None:
    good = stream_entry()
    forged = {name: forge(good) for name, (forge, _) in FORGERIES.items()}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            x, a, b = await _attacker_line(nursery, scratch)
            await x.publish(wire(good))  # the genuine record first: the conflict needs it
            await await_for(lambda: b.store.count() == 1, TIMEOUT, "the genuine record at b")
            for data in forged.values():
                await x.publish(data)
            await await_for(lambda: a.node.stats.rejected + a.node.stats.ignored == len(forged),
                            TIMEOUT, "a verdict on every forgery")  # fmt: skip
            reasons = {why for _, why in FORGERIES.values()}
            assert set(a.node.stats.reasons) == reasons, a.node.stats.reasons
            assert a.node.stats.ignored == 1 and a.node.stats.conflicts == 1  # the conflict
            assert a.store.task_ids() == b.store.task_ids() == {good["task_id"]}
            assert [c[1] for c in a.store.conflicts(good["task_id"])] == [good["digest"]]
            assert a.store.lookup(good["digest"])[0].conflicts == 1
            assert a.node.score(x.peer_id) <= -50  # five invalid records, the conflict forgiven
            await trio.sleep(2)
            assert b.node.stats.rejected == b.node.stats.ignored == 0  # nothing forged reached b
            assert b.node.stats.received_from_peers == 1
            nursery.cancel_scope.cancel()

    trio.run(main)


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_flood_of_invalid_records_gets_its_sender_disconnected(scratch: Path) -> None:
    good = stream_entry()
    junk = [os.urandom(64) + i.to_bytes(4, "big") for i in range(2000)]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            x, a, b = await _attacker_line(nursery, scratch)
            before = _rss_mb()
            for data in junk[:20]:
                await x.publish(data)
            await await_for(lambda: a.node.bans.banned(x.peer_id), TIMEOUT, "x to be banned")
            await await_for(lambda: x.peer_id not in a.node.host.get_connected_peers(),
                            TIMEOUT, "x to be disconnected")  # fmt: skip
            rejected = a.node.stats.rejected
            assert 10 <= rejected <= 20 and a.node.stats.banned == 1
            for data in junk[20:]:  # x keeps redialling and flooding: nothing gets through
                await x.publish(data)
            await trio.sleep(3)
            assert a.node.stats.rejected <= rejected + 2  # at most what was in flight
            assert x.peer_id not in a.node.pubsub.peers
            assert a.node.bans.banned(x.peer_id)
            # bounded state: validation cache, pending verdicts, reason counters, the table
            assert len(a.node.pubsub.validation_cache.cache) <= 1000
            assert len(a.node._valid_workers) <= 4096 and len(a.node.stats.reasons) <= 64
            assert a.store.count() == 0 and b.node.stats.rejected == 0
            assert _rss_mb() - before < 64, (before, _rss_mb())
            # a's other peers are unaffected: a genuine record still crosses a to b
            await a.node.publish(wire(good))
            await await_for(lambda: b.store.count() == 1, TIMEOUT, "a genuine record at b")
            nursery.cancel_scope.cancel()

    trio.run(main)
