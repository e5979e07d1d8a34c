"""A sidecar process SIGKILLed mid-stream and restarted loses no record."""

from __future__ import annotations

from pathlib import Path

import redis
from p2p_support import SidecarProcess, stream_entry, wait_for

from shardy.p2p.sidecar import GROUP, VERIFIED_STREAM
from shardy.p2p.store import RecordStore

N = 40


def test_restart_mid_stream_loses_nothing(scratch: Path, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    entries = [stream_entry() for _ in range(N)]
    receiver = SidecarProcess(scratch / "recv", "--no-discover").start()
    # a slow publisher (5 records/s) so the kill lands mid-stream
    args = ("--redis-url", redis_url, "--bootstrap", receiver.addr, "--no-discover",
            "--max-rate", "5")  # fmt: skip
    publisher = SidecarProcess(scratch / "pub", *args)
    try:
        publisher.start()
        peer_id = publisher.info["peer_id"]
        for e in entries:
            client.xadd(VERIFIED_STREAM, e)
        store = RecordStore(scratch / "recv")
        wait_for(lambda: store.count() >= 5, 120, "the first records at the receiver")
        publisher.kill()
        got_before = store.count()
        assert got_before < N, "the publisher finished before the kill; slow it down"
        publisher.start()  # same data dir: same key, same consumer name, same pending list
        assert publisher.info["peer_id"] == peer_id
        wait_for(lambda: store.count() == N, 90, "every record at the receiver")
        assert store.task_ids() == {e["task_id"] for e in entries}
        wait_for(lambda: client.xpending(VERIFIED_STREAM, GROUP)["pending"] == 0, 60, "acks")
    finally:
        publisher.stop()
        receiver.stop()
