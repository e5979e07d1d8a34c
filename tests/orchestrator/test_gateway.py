"""The gateway's door: bad input gets a typed error and a closed session, and nothing else is
disturbed (a real gateway process, real remote worker processes, real Celery and Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from gateway_support import Client, Identity, answer, enroll_meta, hello_meta, run
from sqlalchemy import select

from shardy import arrivals, routing
from shardy import session as wire
from shardy.blobs import BlobRef
from shardy.errors import GatewayError
from shardy.messages import ReplicaOrder
from shardy.orchestrator import operators
from shardy.store import Assignment

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def rc():
    settings = make_settings(short_home(), redundancy_factor=2, quorum=2, handshake_timeout=3,
                             session_grace=2, max_payload=1 << 20, max_output=1 << 20)  # fmt: skip
    yield from start_cluster(settings, workers=0, remote=2)


@pytest.fixture(scope="module")
def token(rc) -> str:
    with rc.app.store.session() as s:
        return str(operators.add(s, "mallory"))


def _verified(rc) -> None:
    data = np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8)
    res = rc.client.submit("histogram", data).get(timeout=120)
    assert np.array_equal(res.output, np.bincount(data, minlength=256))


async def _refused(url: str, frames: list[bytes], code: str) -> None:
    async with Client(url) as c:
        await c.message("challenge")
        for f in frames:
            await c.send(f)
        with pytest.raises(GatewayError) as err:
            await c.message("welcome", "enrolled")
        assert err.value.code == code, err.value
        assert await c.closed()


def test_malformed_and_unauthenticated_handshakes_are_refused(rc, token):
    url = rc.cluster.remote.url
    stranger = Identity()
    run(_refused(url, [b"garbage, not a frame"], "malformed"))
    run(_refused(url, [wire.encode("result", {})], "malformed"))  # not a handshake message
    bad = hello_meta(stranger, {"gateway": "x", "nonce": "0" * 32})  # signed for another nonce
    run(_refused(url, [wire.encode("hello", bad)], "auth"))

    async def unenrolled() -> None:  # a valid signature, but nobody enrolled this key
        async with Client(url) as c:
            challenge = (await c.message("challenge")).meta
            await c.send(wire.encode("hello", hello_meta(stranger, challenge)))
            with pytest.raises(GatewayError, match="not enrolled") as err:
                await c.message("welcome")
            assert err.value.code == "auth"

    run(unenrolled())
    _verified(rc)


def test_replayed_handshakes_and_foreign_keys_are_refused(rc, token):
    url, ident = rc.cluster.remote.url, Identity()

    async def scenario() -> None:
        async with Client(url) as c:  # an honest session, recorded by an eavesdropper
            challenge = (await c.message("challenge")).meta
            await c.send(wire.encode("enroll", enroll_meta(ident, token, challenge)))
            await c.message("enrolled")
            challenge = (await c.message("challenge")).meta
            hello = wire.encode("hello", hello_meta(ident, challenge))
            await c.send(hello)
            await c.message("welcome")
        await _refused(url, [hello], "auth")  # the recorded hello on a new connection
        async with Client(url) as c:  # the same enrollment replayed: another nonce
            challenge = (await c.message("challenge")).meta
            stale = enroll_meta(ident, token, {**challenge, "nonce": "1" * 32})
            await c.send(wire.encode("enroll", stale))
            with pytest.raises(GatewayError, match="signature") as err:
                await c.message("enrolled")
            assert err.value.code == "auth"

    run(scenario())


def test_unknown_malformed_and_revoked_tokens_are_refused(rc):
    url = rc.cluster.remote.url
    name = f"gone-{uuid.uuid4().hex[:6]}"
    with rc.app.store.session() as s:
        gone = str(operators.add(s, name))
    with rc.app.store.session() as s:
        operators.revoke(s, name)
    parts = gone.split(".")
    forged = ".".join([*parts[:2], "x" * 40])  # the operator's id with a made-up secret
    for token, match in ((gone, "revoked"), (forged, "unknown"), ("shy1.nope.nope", "token")):

        async def scenario(token: str = token, match: str = match) -> None:
            async with Client(url) as c:
                challenge = (await c.message("challenge")).meta
                meta = enroll_meta(Identity(), gone, challenge)
                await c.send(wire.encode("enroll", {**meta, "token": token}))
                with pytest.raises(GatewayError, match=match) as err:
                    await c.message("enrolled")
                assert err.value.code == "auth"
                assert await c.closed()

        run(scenario())


def test_slow_oversized_and_text_clients_lose_their_session(rc):
    url = rc.cluster.remote.url

    async def silent() -> None:  # never completes its handshake (SHARDY_HANDSHAKE_TIMEOUT=3)
        async with Client(url) as c:
            await c.message("challenge")
            with pytest.raises(GatewayError) as err:
                await c.message("welcome", timeout=20)
            assert err.value.code == "timeout"

    async def oversized() -> None:  # beyond the gateway's frame limit (FRAME_LIMIT, 2 MiB)
        async with Client(url) as c:
            await c.message("challenge")
            cut = True  # it may hang up while we still write
            with contextlib.suppress(ConnectionError):
                await c.send(b"\0" * (3 << 20))
                cut = await c.closed()
            assert cut

    async def text() -> None:
        async with Client(url) as c:
            await c.message("challenge")
            await c.ws.send_str("hello")
            with pytest.raises(GatewayError):
                await c.message("welcome")

    async def all_at_once() -> None:
        await asyncio.gather(silent(), oversized(), text())

    run(all_at_once())
    _verified(rc)  # the honest workers were not disturbed


def test_results_for_replicas_the_session_does_not_hold_close_it(rc, token):
    url, ident = rc.cluster.remote.url, Identity()

    async def scenario() -> None:
        async with Client(url) as c:
            await c.join(ident, token)
            fake = wire.Result(str(uuid.uuid4()), 1, 0, "k", b"\0" * 1024, {}, ["1"] * 5)
            await c.send(fake.encode()[0])
            with pytest.raises(GatewayError) as err:
                await c.message("welcome")
            assert err.value.code == "unassigned"
            assert await c.closed()

    run(scenario())
    _verified(rc)


def test_an_enrolled_worker_answers_an_order_through_the_door(rc, token):
    """The hand-driven client is a working remote worker too: it gets orders and its answers
    count (the other tests' refusals are not for lack of a working path)."""
    ident, orders = Identity(), []

    async def scenario() -> None:
        async with Client(rc.cluster.remote.url) as c:
            await c.join(ident, token)
            order = await c.order(timeout=120)
            orders.append(order)
            await c.send(await asyncio.to_thread(answer, ident, order))
            await asyncio.sleep(1)

    async def main() -> None:
        job = asyncio.create_task(scenario())
        while not job.done():
            await asyncio.to_thread(_verified, rc)
        await job

    run(main())
    assert orders


def test_an_order_for_a_decided_task_is_not_sent(rc, token):
    """An early quorum decided the task: the gateway records its replica as skipped and the
    worker never sees the order (the check runs in the gateway's Redis batch, before the
    send); the next order, for an open task, goes out and its answer is stored."""
    ident = Identity()
    decided, open_ = str(uuid.uuid4()), str(uuid.uuid4())
    rc.app.redis.set(arrivals.decided_key(decided), b"1", ex=300)
    queue = rc.app.queue(routing.gateway_queue(rc.cluster.remote.gateway_id))

    def relay(worker_id: str, task_id: str) -> dict:
        order = ReplicaOrder(task_id=task_id, replica=0, round=1, kernel="histogram", seed=0,
                             output_len=1024, params={}, payload=BlobRef("0" * 64, 4, b"\0" * 4),
                             key_id="k", assignee=worker_id)  # fmt: skip
        return rc.app.send_task("shardy.relay", args=(order.encode(),), queue=queue).get(60)

    async def scenario() -> tuple[dict, dict, ReplicaOrder]:
        async with Client(rc.cluster.remote.url) as c:
            worker_id = await c.join(ident, token)
            skipped = await asyncio.to_thread(relay, worker_id, decided)
            sent = asyncio.create_task(asyncio.to_thread(relay, worker_id, open_))
            order = await c.order()  # the first order this session sees
            await c.send(wire.Result(order.task_id, order.round, order.replica, order.key_id,
                                     bytes(1024), {}, ["1"] * 5).encode()[0])  # fmt: skip
            return skipped, await sent, order

    skipped, stored, order = run(scenario())
    assert skipped["status"] == "skipped" and "decided" in skipped["error"]
    assert order.task_id == open_
    assert stored["status"] == "ok" and stored["digest"] == hashlib.sha256(bytes(1024)).hexdigest()
    assert rc.app.blobs.get(BlobRef(stored["digest"], 1024)) == bytes(1024)


def test_a_remote_worker_leaves_on_sigterm_and_nothing_is_lost(rc):
    """SIGTERM (docker stop, Ctrl-C): the worker answers the replicas it holds, closes its
    session and exits, idle or busy; tasks sent around it verify once it is back."""
    import signal
    import subprocess

    def leave() -> None:
        try:  # an idle worker used to wait on its session until killed
            assert rc.cluster.kill("rw0", signal.SIGTERM, timeout=120) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("the remote worker did not leave on SIGTERM")
        rc.cluster.restart("rw0")
        deadline = time.monotonic() + 60  # back in the session table before tasks go out
        while len(routing.alive(rc.app.redis)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    leave()  # idle
    _verified(rc)
    datas = [np.random.default_rng(60 + i).integers(0, 256, 200_000, dtype=np.uint8)
             for i in range(4)]  # fmt: skip
    handles = [rc.client.submit("histogram", d) for d in datas]
    leave()  # busy
    for d, h in zip(datas, handles, strict=True):
        assert np.array_equal(h.get(timeout=180).output, np.bincount(d, minlength=256))


def test_a_replica_no_worker_could_take_waits_for_one_at_the_gateway(rc):
    """With only remote workers, a task sent while one of the two is down cannot place its
    second replica; it waits at the gateway (not on the fleet queue, where nobody would take
    it) and runs once the worker is back: on that worker, with no speculative replica sent in
    its place (one would take the worker and leave the waiting replica its minute)."""
    import signal

    rc.cluster.kill("rw0", signal.SIGKILL)
    deadline = time.monotonic() + 30  # the dead worker's beat ages out of the live set
    while len(routing.alive(rc.app.redis)) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    (first,) = routing.alive(rc.app.redis)
    data = np.random.default_rng(77).integers(0, 256, 5000, dtype=np.uint8)
    handle = rc.client.submit("histogram", data)
    time.sleep(2)
    rc.cluster.restart("rw0")
    assert np.array_equal(handle.get(timeout=120).output, np.bincount(data, minlength=256))
    with rc.app.store.read() as s:
        rows = s.scalars(select(Assignment).where(Assignment.task_id == handle.id)).all()
    (back,) = set(routing.alive(rc.app.redis)) - {first}  # rw0, enrolled again
    assert not any(a.speculative for a in rows)
    assert sorted(a.worker_id for a in rows) == sorted([first, back])


def test_a_task_sent_while_no_worker_is_live_waits_at_the_gateway(rc):
    """With every remote worker down, a task's replicas wait at the gateway (which beats on
    its own), not on the fleet queue that nobody in a remote-only cluster consumes."""
    import signal

    for name in ("rw0", "rw1"):
        rc.cluster.kill(name, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while routing.alive(rc.app.redis) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not routing.alive(rc.app.redis)
    assert routing.live_gateways(rc.app.redis)
    data = np.random.default_rng(78).integers(0, 256, 5000, dtype=np.uint8)
    handle = rc.client.submit("histogram", data)
    time.sleep(2)
    for name in ("rw0", "rw1"):
        rc.cluster.restart(name)
    # well before the sweeper would re-send the round (SHARDY_STALE_AFTER)
    assert np.array_equal(handle.get(timeout=120).output, np.bincount(data, minlength=256))
