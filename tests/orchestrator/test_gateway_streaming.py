"""Orders whose payload exceeds one chunk stream from the gateway to remote workers in
``order_chunk`` messages (shardy/session.py): a real gateway process, real remote worker
processes (rw0 spools payloads from 1 MiB up to disk, rw1 keeps them in memory), real Celery and
Redis. The gateway reads the payload from the blob store a chunk at a time and never holds it
whole; a worker may not send the gateway an ``order_chunk``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from gateway_support import Client, Identity, answer, run
from sqlalchemy import select

from shardy import session as wire
from shardy.errors import GatewayError
from shardy.messages import ReplicaOrder
from shardy.orchestrator import operators
from shardy.store import Replica

pytestmark = pytest.mark.cluster

MiB = 1 << 20


@pytest.fixture(scope="module")
def rc():
    settings = make_settings(short_home(), redundancy_factor=2, quorum=2, task_time_limit=120,
                             max_payload=96 * MiB, max_output=MiB)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=2,
                             remote_env={0: {"SHARDY_STREAM_THRESHOLD": str(MiB)}})  # fmt: skip


def _status(pid: int) -> dict[str, int]:
    """A process's memory lines in /proc/<pid>/status, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def _histogram(rc, data: np.ndarray):
    res = rc.client.submit("histogram", data.tobytes()).get(timeout=300)
    assert np.array_equal(res.output, np.bincount(data, minlength=256))
    with rc.app.store.session() as s:
        rows = s.scalars(select(Replica).where(Replica.task_id == res.task_id)).all()
        return {r.worker_id: (r.status, dict(r.timings or {})) for r in rows}


def test_a_large_payload_streams_to_remote_workers_and_spools_to_disk(rc):
    data = np.random.default_rng(5).integers(0, 256, 5 * MiB + 12345, dtype=np.uint8)
    rows = _histogram(rc, data)
    spooling, in_memory = rc.cluster.remote.worker_id(0), rc.cluster.remote.worker_id(1)
    assert set(rows) == {spooling, in_memory}, rows
    assert all(status == "ok" for status, _ in rows.values()), rows
    # rw0's payload went to a spool file as it streamed in (its timings say how long that
    # took, and its log says so); rw1 (the default threshold, 64 MiB) kept it in memory
    assert "spool" in rows[spooling][1] and "fetch" in rows[spooling][1], rows
    assert "spool" not in rows[in_memory][1] and "fetch" in rows[in_memory][1], rows
    log = (rc.cluster.logdir / "rw0.log").read_text(errors="replace")
    assert "spooling its payload to disk as it streams in" in log
    assert "spooling" not in (rc.cluster.logdir / "rw1.log").read_text(errors="replace")


def test_the_gateway_holds_about_a_chunk_per_order_not_the_payload(rc):
    """Its peak memory while relaying a 64 MiB payload to two workers grows by far less than the
    payload (inline, it held the payload and the frame built from it: twice per replica). What
    it grows by is a few chunks per order in flight: the gateway has chunk-sized buffers mapped
    apart (`MMAP_THRESHOLD`), which kept in its threads' arenas made 12-19 MiB, once 36."""
    gateway = rc.cluster.procs["gateway"].pid
    data = np.random.default_rng(6).integers(0, 256, 64 * MiB, dtype=np.uint8)
    _histogram(rc, data[:4096])  # warm: the relay threads and their buffers exist
    Path(f"/proc/{gateway}/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
    before = _status(gateway)["VmRSS"]
    rows = _histogram(rc, data)
    assert all(status == "ok" for status, _ in rows.values()), rows
    grown = (_status(gateway)["VmHWM"] - before) * 1024
    print(f"gateway peak RSS grew by {grown / MiB:.1f} MiB relaying {len(data) / MiB:.0f} MiB")
    assert grown < len(data) // 2, f"the gateway's peak grew by {grown / MiB:.1f} MiB"


def test_a_worker_may_not_send_the_gateway_payload_chunks(rc):
    with rc.app.store.session() as s:
        token = str(operators.add(s, "streamer"))

    async def scenario() -> None:
        async with Client(rc.cluster.remote.url) as c:
            await c.join(Identity(), token)
            meta = {"task_id": "a" * 32, "round": 0, "replica": 0, "index": 0}
            await c.send(wire.encode("order_chunk", meta, [b"x" * 10]))
            with pytest.raises(GatewayError, match="order_chunk") as err:
                await c.message("welcome")
            assert err.value.code == "malformed"
            assert await c.closed()

    run(scenario())
    data = np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8)
    _histogram(rc, data)  # nobody else was disturbed


def test_a_worker_of_protocol_1_still_gets_its_payload_inline(rc):
    """A worker whose hello names protocol 1 (before streaming) gets a 2 MiB payload in one
    order frame, as it always did, and its answer counts."""
    with rc.app.store.session() as s:
        token = str(operators.add(s, "oldtimer"))
    got: list = []

    async def scenario() -> None:
        async with Client(rc.cluster.remote.url) as c:
            ident = Identity()
            await c.join(ident, token, protocol=1)
            msg = await c.ws.receive(120)
            message = wire.decode(msg.data, "order")
            assert wire.streamed(message) == 0 and len(msg.data) > 2 * MiB
            order = ReplicaOrder.decode(msg.data)
            got.append(order)
            await c.send(await asyncio.to_thread(answer, ident, order))
            await asyncio.sleep(1)

    async def main() -> None:
        job = asyncio.create_task(scenario())
        seed = 0
        while not job.done():
            seed += 1
            data = np.random.default_rng(seed).integers(0, 256, 2 * MiB, dtype=np.uint8)
            await asyncio.to_thread(_histogram, rc, data)
        await job

    run(main())
    assert got and got[0].payload.inline is not None and got[0].payload.size == 2 * MiB
