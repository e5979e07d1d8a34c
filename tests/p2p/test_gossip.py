"""Sidecars on 127.0.0.1 (in one process): line delivery, forged records, DHT discovery."""

from __future__ import annotations

from pathlib import Path

import redis
import trio
from p2p_support import (
    TRUSTED,
    await_for,
    batched_stream_entry,
    forge_bad_proof,
    forge_short_quorum,
    stream_entry,
)

from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.sidecar import GROUP, VERIFIED_STREAM, Sidecar
from shardy.p2p.signed import encode_signed, from_signed_stream_entry
from shardy.p2p.store import is_verified

TIMEOUT = 60  # seconds; generous for a loaded 2-core machine


async def _line(nursery: trio.Nursery, scratch: Path, n: int, redis_url: str | None) -> list:
    """n sidecars, each bootstrapping to the previous one only, with discovery off."""
    sidecars: list[Sidecar] = []
    for i in range(n):
        boot = [sidecars[-1].node.addrs[0]] if sidecars else []
        sc = Sidecar(scratch / f"s{i}", redis_url=redis_url if i == 0 else None,
                     bootstrap=boot, discover=False, trusted=[TRUSTED])  # fmt: skip
        await nursery.start(sc.run)
        sidecars.append(sc)
    await await_for(
        lambda: all(len(s.node.topic_peers()) == (1 if i in (0, n - 1) else 2)
                    for i, s in enumerate(sidecars)),
        TIMEOUT, "the line to form",
    )  # fmt: skip
    return sidecars


def test_line_of_three_delivers_end_to_end(scratch: Path, redis_url: str) -> None:
    # one unbatched, one batched and one mixed record (version 1, 2 and 2 on the wire)
    entries = [stream_entry(), batched_stream_entry(), batched_stream_entry(unbatched=1)]
    client = redis.Redis.from_url(redis_url)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            a, b, c = await _line(nursery, scratch, 3, redis_url)
            for e in entries:
                client.xadd(VERIFIED_STREAM, e)
            want = {e["task_id"] for e in entries}
            await await_for(lambda: c.store.task_ids() == want, TIMEOUT, "records at the end")
            assert b.store.task_ids() == want and a.store.task_ids() == want
            assert c.node.stats.rejected == 0 and b.node.stats.received_from_peers == 3
            await await_for(lambda: a.acked == 3, TIMEOUT, "acknowledgements")
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert client.xpending(VERIFIED_STREAM, GROUP)["pending"] == 0
    for e in entries:
        hit = is_verified(scratch / "s2", e["digest"], e["task_id"])
        assert len(hit) == 1 and hit[0].valid_workers == 3 and hit[0].quorum == 2
    assert is_verified(scratch / "s2", "0" * 64) == []


def test_forged_records_are_not_forwarded(scratch: Path) -> None:
    good = stream_entry()
    forged = [forge_bad_proof(forge_bad_proof(good, 0), 1), forge_short_quorum(stream_entry())]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            # x (an attacker that skips its own validation) - a - b
            x = P2PNode(NodeConfig(key_file=scratch / "x" / KEY_FILE, discover=False))
            x.pubsub.remove_topic_validator(TOPIC)
            await nursery.start(x.run)
            a = Sidecar(scratch / "a", bootstrap=[x.addrs[0]], discover=False, trusted=[TRUSTED])
            await nursery.start(a.run)
            b = Sidecar(scratch / "b", bootstrap=[a.node.addrs[0]], discover=False,
                        trusted=[TRUSTED])  # fmt: skip
            await nursery.start(b.run)
            await await_for(lambda: len(a.node.topic_peers()) == 2 and b.node.topic_peers(),
                            TIMEOUT, "the line to form")  # fmt: skip
            for f in forged:
                await x.publish(encode_signed(from_signed_stream_entry(f)))
            await x.publish(b"not a record")
            await await_for(lambda: a.node.stats.rejected == 3, TIMEOUT, "rejections at a")
            assert a.node.score(x.peer_id) < 0  # each invalid message lowers x's score
            await x.publish(encode_signed(from_signed_stream_entry(good)))  # the path works
            await await_for(lambda: b.store.count() == 1, TIMEOUT, "the valid record at b")
            assert b.store.task_ids() == {good["task_id"]} and a.store.count() == 1
            assert b.node.stats.rejected == 0  # nothing forged ever reached b
            assert a.node.stats.reasons == {"1 valid distinct enrolled voters < 2": 2,
                                            "malformed": 1}  # fmt: skip
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_dht_bootstrap_discovers_a_peer(scratch: Path) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            a = Sidecar(scratch / "a", discover=True)
            await nursery.start(a.run)
            b = Sidecar(scratch / "b", bootstrap=[a.node.addrs[0]], discover=True)
            await nursery.start(b.run)
            await await_for(lambda: b.node.topic_peers(), TIMEOUT, "b to join a")
            # c knows only b; the DHT walk through b must lead it to a
            c = Sidecar(scratch / "c", bootstrap=[b.node.addrs[0]], discover=True)
            await nursery.start(c.run)
            await await_for(lambda: a.node.peer_id in c.node.host.get_connected_peers(),
                            TIMEOUT, "c to find a through the DHT")  # fmt: skip
            assert a.node.peer_id in c.node.dht.routing_table.get_peer_ids()
            nursery.cancel_scope.cancel()

    trio.run(main)
