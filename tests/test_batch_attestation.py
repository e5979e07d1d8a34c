"""Batch attestation: one Groth16 proof per K replicas, checked by Merkle path at settle."""

from __future__ import annotations

import secrets
import time
import uuid

import numpy as np
import orjson
import pytest
from cluster_support import make_settings, record_assignments, short_home, start_cluster
from proof_support import batch_proof, leaf, task_subject
from py_arkworks_bls12381 import Scalar
from sqlalchemy import select

from shardy import merkle
from shardy.attestations import BatchPart, BatchProof, BatchReceipt
from shardy.blobs import BlobRef
from shardy.kernels import registry
from shardy.keyring import default_build
from shardy.orchestrator import keys
from shardy.orchestrator.settle import settle
from shardy.store import AttestationBatch, Replica
from shardy.workers.runtime import claim_key
from shardy.zk import load_circuit, new_worker_secret
from shardy.zk.codec import proof_from_json, proof_to_json, vkey_from_json

pytestmark = pytest.mark.cluster
BUILD = default_build()  # the key the cluster proves with (statement v2)


@pytest.fixture(scope="module")
def cluster():
    settings = make_settings(
        short_home(), attest_batch=4, attest_wait_ms=400, visibility_timeout=5, max_replicas=3
    )
    yield from start_cluster(settings, workers=3)


@pytest.fixture(scope="module")
def circuit():
    return load_circuit(BUILD)


def payload(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, 3000, dtype=np.uint8).tobytes()


def make_batch(app, circuit, secret: int, leaves: list[bytes], **over):
    """Prove a batch over these leaves; store it like a worker.

    Returns one receipt per leaf (with its index and path)."""
    batch_id, root = over.get("id", str(uuid.uuid4())), merkle.root(leaves).hex()
    proof, signals = over.get("proven") or batch_proof(circuit, batch_id, len(leaves), root, secret)
    stored = BatchProof(batch_id, root, len(leaves), keys.active_key(app), proof, signals)
    ref = app.blobs.put(orjson.dumps(stored.to_json()), inline=False)
    return [
        BatchReceipt(
            BatchPart(batch_id, i, len(leaves), root, tuple(merkle.path(leaves, i))),
            stored.key_id,
            ref.sha256,
            ref.size,
        ).to_json()
        for i in range(len(leaves))
    ]


def batched_result(task, replica: int, worker: str, digest: str, receipt: dict) -> dict:
    return {"status": "ok", "task_id": task.task_id, "replica": replica, "worker_id": worker,
            "digest": digest, "output_sha256": digest, "output_size": 1024,
            "key_id": receipt["key_id"], "batch": receipt}  # fmt: skip


def judged(app, task_id: str, replica: int) -> Replica:
    with app.store.session() as s:
        return s.scalars(
            select(Replica).where(Replica.task_id == task_id, Replica.replica == replica)
        ).one()


def claim_of(app, circuit, res, replica: int) -> bytes:
    """The leaf of replica ``replica`` (round 1) of the verified task ``res``."""
    return leaf(circuit, task_subject(app, res.task_id), res.digest, 1, replica)


def others(n: int) -> list[bytes]:
    return [merkle.leaf_v2(str(uuid.uuid4()), i + 1, f"{i:064x}") for i in range(n)]


def test_batched_workers_verify_tasks_with_shared_proofs(cluster):
    data = [payload(i) for i in range(8)]
    handles = cluster.client.map("histogram", data)
    results = [h.get(timeout=120) for h in handles]
    for d, res in zip(data, results, strict=True):
        assert np.array_equal(res.output, registry.get("histogram").reference(d, {}, 0))
        assert all(a.valid and a.batch_id and a.merkle_path is not None for a in res.attestations)
        assert res.attestation_wait > 0
    with cluster.app.store.session() as s:
        sizes = [b.size for b in s.scalars(select(AttestationBatch))]
        assert all(b.valid for b in s.scalars(select(AttestationBatch)))
    assert max(sizes) > 1 and max(sizes) <= 4  # proofs were shared, never beyond K
    assert sum(sizes) >= 24  # every replica is under some batch proof


def test_batches_of_1_2_and_k_verify_at_settle(cluster, circuit):
    res = cluster.client.submit("histogram", payload(20)).get(timeout=120)
    record_assignments(
        cluster.app,
        res.task_id,
        [101, 102, 104],
        fleet=("batcher1@test", "batcher2@test", "batcher4@test"),
    )
    for size in (1, 2, 4):
        worker, replica = f"batcher{size}@test", 100 + size
        mine = claim_of(cluster.app, circuit, res, replica)
        leaves = [mine, *others(size - 1)]
        receipt = make_batch(cluster.app, circuit, new_worker_secret(), leaves)[0]
        settle(
            cluster.app, [batched_result(res, replica, worker, res.digest, receipt)], res.task_id, 1
        )
        row = judged(cluster.app, res.task_id, replica)
        assert row.proof_valid is True and row.verdict == "agree", row.error


def test_tampered_batch_claims_are_refused(cluster, circuit):
    res = cluster.client.submit("histogram", payload(21)).get(timeout=120)
    record_assignments(
        cluster.app,
        res.task_id,
        range(200, 207),
        fleet=("tampered@test", "path@test", "borrow@test", "rerand@test", "owner@test"),
    )
    secret = new_worker_secret()

    def mine(replica: int) -> bytes:
        return claim_of(cluster.app, circuit, res, replica)

    good = make_batch(cluster.app, circuit, secret, [mine(201), *others(3)])
    other = make_batch(cluster.app, circuit, secret, others(4))

    wrong_path = {**good[0], "path": [[not left, h] for left, h in good[0]["path"]]}
    borrowed = {**good[0], **{k: other[0][k] for k in ("proof_sha256", "proof_size")}}
    with cluster.app.store.session() as s:
        vkey = vkey_from_json(keys.accepted(s)[good[0]["key_id"]])
    ref = BlobRef(good[0]["proof_sha256"], good[0]["proof_size"])
    record = orjson.loads(cluster.app.blobs.get(ref))
    p = proof_from_json(record["proof"])
    r1, r2 = Scalar(secrets.randbelow(2**128) + 1), Scalar(secrets.randbelow(2**128) + 1)
    moved = type(p)(p.a * r1.inverse(), p.b * r1 + vkey.delta2 * (r1 * r2), p.c + p.a * r2)
    fresh = proof_to_json(moved)
    rerandomised = make_batch(
        cluster.app,
        circuit,
        secret,
        [mine(203), *others(3)],
        proven=(fresh, record["public_signals"]),
    )[0]  # a "new" batch (new id) carrying a re-randomised copy of the old proof

    cases = {
        200: ("tampered@test", "ff" * 32, good[0], "Merkle path"),  # another digest, same leaf slot
        201: ("path@test", res.digest, wrong_path, "Merkle path"),
        202: ("borrow@test", res.digest, borrowed, "re-used"),
        203: ("rerand@test", res.digest, rerandomised, "public signals do not match"),
    }
    for replica, (worker, digest, receipt, _) in cases.items():
        settle(cluster.app, [batched_result(res, replica, worker, digest, receipt)], res.task_id, 1)
    for replica, (_, _, _, reason) in cases.items():
        row = judged(cluster.app, res.task_id, replica)
        assert row.proof_valid is False and reason in row.error, (replica, row.error)

    # a genuine batch proof of one worker presented by another worker id
    bound = next(a.worker_id for a in res.attestations if a.valid)
    taken = make_batch(cluster.app, circuit, secret, [mine(204), *others(3)])[0]
    settle(cluster.app, [batched_result(res, 204, bound, res.digest, taken)], res.task_id, 1)
    assert "commitment differs" in judged(cluster.app, res.task_id, 204).error
    # and a second batch of one worker for the same task counts once
    first = make_batch(cluster.app, circuit, secret, [mine(205), *others(1)])[0]
    settle(cluster.app, [batched_result(res, 205, "owner@test", res.digest, first)], res.task_id, 1)
    again = make_batch(cluster.app, circuit, secret, [mine(206), *others(1)])[0]
    settle(cluster.app, [batched_result(res, 206, "owner@test", res.digest, again)], res.task_id, 1)
    assert judged(cluster.app, res.task_id, 205).proof_valid is True
    assert "replay" in judged(cluster.app, res.task_id, 206).error


@pytest.fixture(scope="module")
def slow_batches():
    # batches wait 6 s to fill, so a worker killed in the meantime holds a half-full batch
    settings = make_settings(
        short_home(), attest_batch=8, attest_wait_ms=6000, visibility_timeout=4, max_replicas=3,
        early_quorum=False,  # the killed replica is redone and counted, not cut by two others
    )  # fmt: skip
    yield from start_cluster(settings, workers=3)


def test_sigkill_with_a_half_full_batch_loses_no_replica(slow_batches):
    data = payload(30)
    handle = slow_batches.client.submit("histogram", data)
    deadline = time.monotonic() + 60
    while slow_batches.app.redis.hlen(claim_key(handle.id, 1)) < 3:
        assert time.monotonic() < deadline, "replicas never started"
        time.sleep(0.05)
    # wait until every replica is computed and waiting in its (half-full) batch
    while True:
        progress = handle.status().progress
        if len(progress) == 3 and {p["stage"] for p in progress.values()} == {"attest"}:
            break
        assert time.monotonic() < deadline, f"replicas never reached their batches: {progress}"
        time.sleep(0.05)
    slow_batches.cluster.kill("gpu0")
    slow_batches.cluster.start_worker(0)
    res = handle.get(timeout=120)
    assert np.array_equal(res.output, registry.get("histogram").reference(data, {}, 0))
    assert len({a.worker_id for a in res.attestations if a.valid and a.agrees}) == 3
