"""The attacks of the adversarial review (docs/security.md), each run as a test that shows it
failing. The attacker is a remote worker with a valid enrollment (a hand-driven client of the
real gateway), or a process with the broker's credentials replaying the review's forgeries
against settle. Numbers refer to the review's list."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import numpy as np
import orjson
import pytest
from cluster_support import make_settings, record_assignments, short_home, start_cluster
from gateway_support import Client, Identity, answer, circuit, enroll_meta, run, serve_honestly
from proof_support import batch_proof, leaf, replica_proof, task_subject
from sqlalchemy import select

from shardy import deadletter, merkle
from shardy import session as wire
from shardy.attestations import BatchPart, BatchProof, BatchReceipt
from shardy.celery_app import CONTROL_QUEUE
from shardy.errors import GatewayError, IntegrityError
from shardy.orchestrator import dlq, keys, operators, reputation
from shardy.orchestrator.settle import settle
from shardy.store import Assignment, DeadLetter, Replica, Task, Worker

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def rc():
    """A fleet worker and three remote workers of three operators; R=3, quorum 2."""
    settings = make_settings(short_home(), redundancy_factor=3, quorum=2, session_grace=2)
    yield from start_cluster(settings, workers=1, remote=3)


@pytest.fixture(scope="module")
def mallory(rc) -> str:
    with rc.app.store.session() as s:
        return str(operators.add(s, "mallory"))


def _data(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, 3000, dtype=np.uint8).tobytes()


def _honest_digest(data: bytes) -> str:
    return hashlib.sha256(np.bincount(np.frombuffer(data, np.uint8), minlength=256)
                          .astype("<u4").tobytes()).hexdigest()  # fmt: skip


def test_a_remote_worker_holds_no_credentials(rc):
    """Remote worker processes get the gateway URL and their token, nothing that reaches the
    broker, Redis or the database."""
    for name in ("rw0", "rw1", "rw2"):
        raw = Path(f"/proc/{rc.cluster.procs[name].pid}/environ").read_text()
        env = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
        assert env["SHARDY_GATEWAY_URL"] == rc.cluster.remote.url
        for leaked in ("SHARDY_BROKER_URL", "SHARDY_RESULT_URL", "SHARDY_BLOB_URL",
                       "SHARDY_DATABASE_URL"):  # fmt: skip
            assert leaked not in env
        assert env["SHARDY_HOME"] != str(rc.settings.home)  # not the embedded Redis's dir


def test_1_a_forged_settle_verifies_nothing(rc):
    """The review peeked an order, made three identities, proved a digest of its choice and
    published shardy.settle: the task verified with its output. Now settle admits results
    only from the replicas' assignees."""
    data = _data(1)
    handle = rc.client.submit("histogram", data)
    about = task_subject(rc.app, handle.id)  # the order as peeked: kernel, params, payload...
    output_len = about.output_len
    forged_output = b"\x07" * output_len
    forged_digest = rc.app.blobs.put(forged_output, inline=False).sha256
    results = []
    for replica in range(3):  # genuine proofs of the forged digest, one per replica of round 1
        secret = Identity().secret
        proof, signals = replica_proof(circuit(), about, forged_digest, secret, 1, replica)
        results.append({"status": "ok", "task_id": handle.id, "replica": replica,
                        "worker_id": f"sybil{replica}@nowhere", "digest": forged_digest,
                        "output_sha256": forged_digest, "output_size": output_len,
                        "key_id": keys.active_key(rc.app), "proof": proof,
                        "public_signals": signals})  # fmt: skip
    rc.app.send_task("shardy.settle", args=(results, handle.id, 1), queue=CONTROL_QUEUE)
    res = handle.get(timeout=120)
    assert res.digest == _honest_digest(data) != forged_digest
    with rc.app.store.session() as s:
        workers = set(s.scalars(select(Replica.worker_id).where(Replica.task_id == handle.id)))
    assert not any(w.startswith("sybil") for w in workers)


def test_2_a_swapped_output_never_reaches_the_client(rc, mallory):
    """The review voted the honest digest with a blob of its own and replaced the output the
    client received. Through the gateway the digest is the sha256 of the bytes sent; with the
    fleet's own result fields, settle refuses an output that does not hash to its digest; and
    TaskHandle.get re-checks the stored output."""
    ident, swapped = Identity(), []

    async def attacker() -> None:
        async with Client(rc.cluster.remote.url) as c:
            await c.join(ident, mallory)
            while True:
                try:
                    order = await c.order(timeout=3600)
                except (ConnectionError, TimeoutError):
                    return
                honest = np.bincount(np.frombuffer(order.payload.inline, np.uint8),
                                     minlength=256).astype("<u4").tobytes()  # fmt: skip
                digest = hashlib.sha256(honest).hexdigest()
                msg = await asyncio.to_thread(answer, ident, order, b"\xff" * len(honest), digest)
                swapped.append(order.task_id)
                await c.send(msg)

    handles = _through(rc, attacker, lambda: bool(swapped))
    for h in handles:
        res = h.get(timeout=120)
        assert res.digest == hashlib.sha256(bytes(res.output)).hexdigest()
        assert np.array_equal(res.output, np.bincount(np.frombuffer(h._data, np.uint8),
                                                      minlength=256))  # fmt: skip
    with rc.app.store.session() as s:
        mine = Replica.task_id.in_(swapped) & Replica.worker_id.like("%@mallory")
        rows = s.scalars(select(Replica).where(mine)).all()
    assert rows and all(r.proof_valid is False and r.verdict == "invalid" for r in rows)

    # the fleet's result fields: the honest digest, another output (attack 2, fleet form)
    h = rc.client.submit("histogram", _data(22))
    res = h.get(timeout=120)
    honest = next(a for a in res.attestations if a.valid and a.agrees)
    other = rc.app.blobs.put(b"\x01" * 1024, inline=False)
    record_assignments(rc.app, h.id, [50], fleet=("gpu0@fleet",))
    settle(rc.app, [{"status": "ok", "task_id": h.id, "replica": 50, "worker_id": "gpu0@fleet",
                     "digest": honest.digest, "output_sha256": other.sha256, "output_size": 1024,
                     "key_id": honest.key_id, "proof": honest.proof,
                     "public_signals": list(honest.public_signals)}], h.id, 1)  # fmt: skip
    with rc.app.store.session() as s:
        row = s.scalars(select(Replica).where(Replica.task_id == h.id,
                                              Replica.replica == 50)).one()  # fmt: skip
        assert row.status == "failed" and "does not hash" in row.error
        s.get(Task, h.id).output_sha256 = other.sha256  # the result store itself tampered with
        s.get(Task, h.id).output_size = 1024
    with pytest.raises(IntegrityError, match="does not hash to the verified digest"):
        h.get(timeout=10)


def _through(rc, attacker, done, limit: int = 30) -> list:
    """Submit tasks while ``attacker`` (a coroutine function) runs, until ``done()``."""
    handles = []

    async def main() -> None:
        job = asyncio.create_task(attacker())
        await asyncio.sleep(1)
        for i in range(limit):
            data = _data(1000 + i)
            h = await asyncio.to_thread(rc.client.submit, "histogram", data)
            h._data = data
            handles.append(h)
            await asyncio.to_thread(h.get, 120)
            if done():
                break
            if job.done():  # the attacker failed: its own error says why
                job.result()
        job.cancel()

    run(main())
    assert done(), "the attacker never got an order"
    return handles


def test_3_more_identities_buy_no_more_replicas(rc):
    """The review reported a backlog of -1,000,000 under three ids and drew every replica.
    Load is what the server assigned, and an operator's workers share one vote: three
    identities of one operator never hold two replicas of a task."""
    with rc.app.store.session() as s:  # an operator of its own: test 2's faults can have
        token = str(operators.add(s, "sybils"))  # quarantined mallory (no orders at all)
    idents = [Identity() for _ in range(3)]

    async def sybils() -> None:
        async with Client(rc.cluster.remote.url) as a, Client(rc.cluster.remote.url) as b, \
                Client(rc.cluster.remote.url) as c:  # fmt: skip
            for client, ident in zip((a, b, c), idents, strict=True):
                await client.join(ident, token, slots=64)
            clients = zip((a, b, c), idents, strict=True)
            await asyncio.gather(*(serve_honestly(cl, i) for cl, i in clients))

    def drawn() -> int:
        with rc.app.store.session() as s:
            return len(s.scalars(select(Assignment.task_id).where(
                Assignment.worker_id.like("%@sybils"))).all())  # fmt: skip

    _through(rc, sybils, lambda: drawn() >= 4)
    with rc.app.store.session() as s:
        rows = s.execute(select(Assignment.task_id, Assignment.worker_id)).all()
    per_task: dict[str, int] = {}
    for task_id, worker in rows:
        per_task[task_id] = per_task.get(task_id, 0) + bool(worker and worker.endswith("@sybils"))
    assert max(per_task.values()) == 1  # they drew replicas, never two of one task


def test_4_worker_ids_cannot_be_squatted(rc, mallory):
    """The review pre-registered a predictable id and voted under the real worker's name.
    A remote worker's id derives from its signing key; a key, a commitment or a fleet
    registration cannot be taken over."""
    victim, thief = Identity(), Identity()

    async def scenario() -> None:
        async with Client(rc.cluster.remote.url) as c:
            victim_id = await c.join(victim, mallory)
        assert victim_id.startswith("remote-") and victim_id.endswith("@mallory")
        async with Client(rc.cluster.remote.url) as c:  # the thief claims the victim's key
            challenge = (await c.message("challenge")).meta
            meta = enroll_meta(thief, mallory, challenge)
            await c.send(wire.encode("enroll", {**meta, "public_key": victim.key.public_hex}))
            with pytest.raises(GatewayError, match="signature"):
                await c.message("enrolled")
        async with Client(rc.cluster.remote.url) as c:  # ... or the victim's commitment
            challenge = (await c.message("challenge")).meta
            stolen = Identity(thief.key, victim.secret)  # a proof needs the secret itself
            meta = enroll_meta(stolen, mallory, challenge)
            await c.send(wire.encode("enroll", meta))
            with pytest.raises(GatewayError, match="commitment belongs to another worker"):
                await c.message("enrolled")
        with rc.app.store.session() as s:  # a fleet registration naming the remote worker
            assert reputation.register(s, {"id": victim_id, "hostname": "evil",
                                           "commitment": "1"}) is None  # fmt: skip
        with rc.app.store.session() as s:
            assert s.get(Worker, victim_id).commitment == victim.commitment

    run(scenario())


def test_6_a_second_spelling_of_a_batch_id_blocks_nothing(rc):
    """An upper-case spelling of an existing batch id made every retry of a settle fail on a
    unique constraint. Ids are refused at the boundary in any but their canonical spelling;
    the settle records the honest replicas."""
    with rc.app.store.session() as s:  # not mallory: the faults of the attacks before this
        token = str(operators.add(s, "shouter"))  # one can have quarantined it (no orders)
    res = rc.client.submit("histogram", _data(61)).get(timeout=120)
    leaves = [leaf(circuit(), task_subject(rc.app, res.task_id), res.digest, 1, 60)]
    secret, batch_id = Identity().secret, str(uuid.uuid4())
    root = merkle.root(leaves).hex()
    proof, signals = batch_proof(circuit(), batch_id, 1, root, secret)
    kid = keys.active_key(rc.app)
    stored = rc.app.blobs.put(
        orjson.dumps(BatchProof(batch_id, root, 1, kid, proof, signals).to_json()), inline=False
    )
    good = BatchReceipt(BatchPart(batch_id, 0, 1, root, ()), kid, stored.sha256, stored.size)
    shouted = {**good.to_json(), "id": batch_id.upper()}
    record_assignments(rc.app, res.task_id, [60, 61], fleet=("a@fleet", "b@fleet"))
    base = {"status": "ok", "task_id": res.task_id, "digest": res.digest, "key_id": kid,
            "output_sha256": res.digest, "output_size": 1024}  # fmt: skip
    out = settle(rc.app, [{**base, "replica": 60, "worker_id": "a@fleet", "batch": good.to_json()},
                          {**base, "replica": 61, "worker_id": "b@fleet", "batch": shouted}],
                 res.task_id, 1)  # fmt: skip
    assert out["state"] == "verified"
    with rc.app.store.session() as s:
        rows = {r.replica: r for r in s.scalars(select(Replica).where(
            Replica.task_id == res.task_id, Replica.replica.in_([60, 61])))}  # fmt: skip
    assert rows[60].proof_valid is True
    assert rows[61].status == "failed" and "canonical" in rows[61].error

    refused: list[str] = []

    async def remote() -> None:  # the same spelling from a remote worker: session closed
        async with Client(rc.cluster.remote.url) as c:
            await c.join(Identity(), token)
            order = await c.order(timeout=3600)
            meta = {
                "task_id": order.task_id,
                "round": order.round,
                "replica": order.replica,
                "key_id": kid,
                "batch": shouted,
                "size": order.output_len,
                "chunks": 0,
            }
            await c.send(wire.encode("result", meta, [bytes(order.output_len), b"{}"]))
            with pytest.raises(GatewayError, match="canonical") as err:
                while True:  # orders sent before the refusal came are passed over
                    await c.message("order", "order_chunk")
            assert err.value.code == "malformed"
            refused.append(order.task_id)

    _through(rc, remote, lambda: bool(refused))


def test_7_a_worker_cannot_overwrite_another_dead_letter(rc):
    """A failed result's dead-letter id named another task's row, and settle overwrote it.
    Dead-letter rows get ids of the trusted side's own."""
    victim = rc.client.submit("histogram", _data(71)).get(timeout=120)
    row_id = str(uuid.uuid4())
    with rc.app.store.session() as s:
        s.add(DeadLetter(id=row_id, kind="task", task_id=victim.task_id, reason="original"))
    other = rc.client.submit("histogram", _data(72)).get(timeout=120)
    record_assignments(rc.app, other.task_id, [70], fleet=("x@fleet",))
    settle(rc.app, [{"status": "failed", "task_id": other.task_id, "replica": 70,
                     "worker_id": "x@fleet", "error": "overwrite!",
                     "dead_letter_id": row_id}], other.task_id, 1)  # fmt: skip
    with rc.app.store.session() as s:
        assert s.get(DeadLetter, row_id).reason == "original"
        mine = s.scalars(select(DeadLetter).where(DeadLetter.ref == row_id)).one()
        assert mine.id != row_id and mine.task_id == other.task_id


def test_8_forged_dead_letter_entries_are_not_replayed(rc):
    """Any broker client could publish an entry naming any task, and replay opened a round
    for it. Replay acts only on dead letters the orchestrator recorded."""
    target = rc.client.submit("histogram", _data(81))
    target.get(timeout=120)
    with rc.app.store.session() as s:
        rounds = s.get(Task, target.id).rounds_sent
    forged = deadletter.new_entry("replica", "forged", task_id=target.id, replica=0)
    deadletter.publish(rc.app, forged)
    notes = {e.id: note for e, note in dlq.replay(rc.app)}
    assert notes[forged["id"]] == "kept: the orchestrator recorded no such dead letter"
    with rc.app.store.session() as s:
        assert s.get(Task, target.id).rounds_sent == rounds
    dlq.purge(rc.app)


def test_revoked_sessions_close_and_their_votes_stop_counting(rc):
    with rc.app.store.session() as s:
        token = str(operators.add(s, "short-lived"))
    ident = Identity()

    async def scenario() -> None:
        async with Client(rc.cluster.remote.url) as c:
            worker_id = await c.join(ident, token)
            with rc.app.store.session() as s:
                revoked = operators.revoke(s, "short-lived")
            assert revoked == [worker_id]
            rc.app.redis.publish(operators.REVOKED_CHANNEL, worker_id)
            with pytest.raises(GatewayError) as err:
                await c.message("welcome")
            assert err.value.code == "revoked"
        async with Client(rc.cluster.remote.url) as c:
            with pytest.raises(GatewayError, match="revoked"):
                await c.join(ident)

    run(scenario())
