"""A second adversarial review's attacks on the gateway, each shown failing: a worker that
reopens its session on every order or stops reading cannot keep a replica out of its round;
clients without credentials cannot make the gateway buffer large frames; a revoked worker's
earlier vote stops counting. (One token making a quorum alone, and many keys drawing more
replicas, are covered in tests/shardy/test_routing.py and tests/test_trust_boundary.py.)"""

from __future__ import annotations

import asyncio
import base64
import collections
import os
import socket
import struct
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from cluster_support import make_settings, record_assignments, short_home, start_cluster
from gateway_support import Client, Identity, circuit, run
from proof_support import replica_proof, task_subject
from sqlalchemy import select

from shardy import session as wire
from shardy.kernels import registry
from shardy.orchestrator import keys, operators
from shardy.orchestrator.settle import settle
from shardy.store import Replica, Task
from shardy.store.models import utcnow

pytestmark = pytest.mark.cluster
TTL = 12  # task time limit: a send to a worker that does not read times out after it


@pytest.fixture(scope="module")
def rc():
    settings = make_settings(short_home(), redundancy_factor=3, quorum=2, session_grace=2,
                             task_time_limit=TTL)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=2)


@pytest.fixture(scope="module")
def mallory(rc) -> str:
    with rc.app.store.session() as s:
        return str(operators.add(s, "mallory"))


def _data(seed: int, n: int = 3000) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_reopening_the_session_on_every_order_stalls_nothing(rc, mallory):
    """Each order arrives, the worker opens a new session of the same key instead of answering
    (the gateway replaces the old one). The order is sent again once; then the replica goes
    to another worker, and the task verifies while the attacker keeps at it."""
    ident, deliveries, verified = Identity(), collections.Counter(), []

    async def attacker(stop: asyncio.Event) -> None:
        c = Client(rc.cluster.remote.url)
        await c.__aenter__()
        await c.join(ident, mallory)
        while not stop.is_set():
            try:
                order = await c.order(timeout=2)
            except (TimeoutError, ConnectionError):
                continue
            deliveries[order.task_id] += 1
            new = Client(rc.cluster.remote.url)
            await new.__aenter__()
            await new.join(ident)  # hello only: already enrolled
            await c.__aexit__()
            c = new
        await c.__aexit__()

    async def main() -> None:
        stop = asyncio.Event()
        job = asyncio.create_task(attacker(stop))
        await asyncio.sleep(1.5)
        for k in range(6):
            h = await asyncio.to_thread(rc.client.submit, "histogram", _data(k))
            verified.append(await asyncio.to_thread(h.get, 90))
            if deliveries:
                break
        stop.set()
        await job

    run(main())
    assert deliveries and max(deliveries.values()) <= 2  # the first send and one more
    assert all(r.task_id for r in verified)


def test_a_worker_that_stops_reading_loses_its_session_not_the_task(rc, mallory):
    ident, closed = Identity(), []

    async def attacker(stop: asyncio.Event) -> None:
        async with Client(rc.cluster.remote.url) as c:
            await c.join(ident, mallory)
            c.ws._conn.transport.pause_reading()  # noqa: SLF001 - never read again
            while not stop.is_set() and not c.ws.closed:
                await c.ws.pong()  # keep aiohttp's heartbeat satisfied
                await asyncio.sleep(1)
            closed.append(c.ws.closed)

    async def main() -> None:
        stop = asyncio.Event()
        job = asyncio.create_task(attacker(stop))
        await asyncio.sleep(1.5)
        for k in range(4):  # big payloads fill the socket's buffers
            h = await asyncio.to_thread(rc.client.submit, "histogram", _data(50 + k, 16 << 20))
            res = await asyncio.to_thread(h.get, 4 * TTL + 30)
            assert res.digest
        stop.set()
        await job

    run(main())
    log = (rc.cluster.logdir / "gateway.log").read_text(errors="replace")
    assert "is already out" not in log  # no hot retry loop


def _upgrade(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())  # fmt: skip
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert b" 101 " in head.split(b"\r\n", 1)[0]
    return s


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    return 0


def test_unauthenticated_large_frames_are_cut_off(rc):
    """No token, no key: four connections each start a 200 MiB frame. The gateway takes no
    frame above FRAME_LIMIT (2 MiB; outputs arrive in chunks), so it drops them early."""
    port = int(rc.cluster.remote.url.rsplit(":", 1)[1].split("/")[0])
    pid = rc.cluster.procs["gateway"].pid
    base, size, cut = _rss(pid), 200 << 20, []

    def flood(s: socket.socket) -> None:
        s.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, size) + b"\0\0\0\0")
        try:
            for _ in range(size >> 20):
                s.sendall(bytes(1 << 20))
        except OSError:
            cut.append(s)

    socks = [_upgrade(port) for _ in range(4)]
    threads = [threading.Thread(target=flood, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    grown = _rss(pid) - base
    for s in socks:
        s.close()
    assert len(cut) == 4  # every connection was closed under the sender
    assert grown < 64 << 20
    assert wire.FRAME_LIMIT <= 2 << 20


def test_a_chunked_output_arrives_whole(rc):
    """An output above one chunk (sha256 per 64-byte block of 4 MiB: 2 MiB of digests)
    travels in chunks and verifies."""
    data = _data(7, 4 << 20)
    res = rc.client.submit("sha256", data, params={"block": 64}).get(timeout=180)
    kernel = registry.get("sha256")
    assert np.array_equal(res.output, kernel.reference(data, {"block": 64}, 0))
    assert len(bytes(res.output)) > wire.CHUNK


def test_a_revoked_workers_recorded_vote_stops_counting(rc):
    with rc.app.store.session() as s:
        token = str(operators.add(s, "eve"))
    eve = Identity()

    async def enroll() -> str:
        async with Client(rc.cluster.remote.url) as c:
            return await c.join(eve, token)

    eve_id = run(enroll())
    data, k = _data(99), registry.get("histogram")
    params = k.resolve_params(None)
    output = k.reference(data, params, 0).tobytes()
    ref, payload = rc.app.blobs.put(output, inline=False), rc.app.blobs.put(data, inline=False)
    tid = str(uuid.uuid4())
    with rc.app.store.session() as s:
        s.add(
            Task(
                id=tid,
                kernel="histogram",
                seed=0,
                output_len=len(output),
                params=params,
                payload_sha256=payload.sha256,
                payload_size=payload.size,
                redundancy=2,
                quorum=2,
                max_replicas=2,
                replicas_sent=2,
                rounds_sent=2,
                rounds_settled=0,
                state="running",
                agreeing=0,
                published=False,
                updated_at=utcnow(),
            )
        )
    record_assignments(rc.app, tid, [0], 1, worker_id=eve_id, kind="remote")
    record_assignments(rc.app, tid, [1], 2, fleet=("f1@fleet",))
    kid = keys.active_key(rc.app)

    def result(replica: int, round_: int, wid: str, secret: int) -> dict:
        about = task_subject(rc.app, tid)  # a genuine proof of this replica of that round
        proof, signals = replica_proof(circuit(), about, ref.sha256, secret, round_, replica)
        return {"status": "ok", "task_id": tid, "replica": replica, "worker_id": wid,
                "digest": ref.sha256, "output_sha256": ref.sha256, "output_size": ref.size,
                "key_id": kid, "proof": proof, "public_signals": signals}  # fmt: skip

    assert settle(rc.app, [result(0, 1, eve_id, eve.secret)], tid, 1)["state"] == "running"
    with rc.app.store.session() as s:
        eves = s.scalars(select(Replica).where(Replica.task_id == tid, Replica.replica == 0))
        assert eves.one().proof_valid is True  # a genuine vote, recorded
        assert operators.revoke(s, "eve") == [eve_id]
    settle(rc.app, [result(1, 2, "f1@fleet", Identity().secret)], tid, 2)
    with rc.app.store.session() as s:
        task = s.get(Task, tid)
        rows = {r.replica: r for r in s.scalars(select(Replica).where(Replica.task_id == tid))}
        assert task.state != "verified"  # eve's vote no longer makes the quorum
        assert rows[1].proof_valid is True


def test_the_abusers_did_not_disturb_honest_work(rc):
    res = rc.client.submit("histogram", _data(123)).get(timeout=120)
    assert res.digest
