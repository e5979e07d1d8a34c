"""Settling the rounds of a collect together (`settle.settle_many`): one transaction, the same
decisions as one settle per round, and one bad round holds none of the others back."""

from __future__ import annotations

import logging
import uuid

import numpy as np
import orjson
import pytest
from cluster_support import (
    DATABASE_URL,
    make_settings,
    record_assignments,
    reset_database,
    short_home,
    start_cluster,
)
from proof_support import batch_proof, leaf, task_subject
from sqlalchemy import select

from shardy import merkle
from shardy.attestations import BatchPart, BatchProof, BatchReceipt
from shardy.keyring import default_build
from shardy.orchestrator import keys
from shardy.orchestrator.settle import settle_many
from shardy.store import AttestationBatch, Replica
from shardy.zk import load_circuit, new_worker_secret

pytestmark = pytest.mark.cluster
WORKER = "many@test"
SECRET = new_worker_secret()  # the worker binds its commitment on its first valid proof


@pytest.fixture(scope="module")
def cluster():
    """On the machine's PostgreSQL when SHARDY_TEST_DATABASE_URL is set (row locks taken
    together, in id order), else on the embedded SQLite."""
    store = {}
    if DATABASE_URL:
        reset_database(DATABASE_URL)
        store["database_url"] = DATABASE_URL
    yield from start_cluster(make_settings(short_home(), max_replicas=4, **store), workers=2)


@pytest.fixture(scope="module")
def circuit():
    return load_circuit(default_build())


def verified(cluster, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    data = [rng.integers(0, 256, 2000, dtype=np.uint8).tobytes() for _ in range(n)]
    return [h.get(timeout=120) for h in cluster.client.map("histogram", data)]


def one_batch(app, circuit, results: list, replica: int) -> tuple[str, list[dict]]:
    """One batch proof by WORKER over replica ``replica`` of each task, stored as a worker
    stores it: its id and one result per task, each with its own receipt."""
    leaves = [leaf(circuit, task_subject(app, r.task_id), r.digest, 1, replica) for r in results]
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    proof, signals = batch_proof(circuit, batch_id, len(leaves), root, SECRET)
    stored = BatchProof(batch_id, root, len(leaves), keys.active_key(app), proof, signals)
    ref = app.blobs.put(orjson.dumps(stored.to_json()), inline=False)
    out = []
    for i, r in enumerate(results):
        part = BatchPart(batch_id, i, len(leaves), root, tuple(merkle.path(leaves, i)))
        receipt = BatchReceipt(part, stored.key_id, ref.sha256, ref.size).to_json()
        out.append({"status": "ok", "task_id": r.task_id, "replica": replica,
                    "worker_id": WORKER, "digest": r.digest, "output_sha256": r.digest,
                    "output_size": 1024, "key_id": receipt["key_id"],
                    "batch": receipt})  # fmt: skip
    return batch_id, out


def rows(app, task_ids: list[str], replica: int) -> dict[str, Replica]:
    with app.store.session() as s:
        query = select(Replica).where(Replica.task_id.in_(task_ids), Replica.replica == replica)
        return {r.task_id: r for r in s.scalars(query)}


def test_rounds_settled_together_share_one_batch_proof_and_skip_bad_rounds(
    cluster, circuit, caplog
):
    app = cluster.app
    assert app.store.engine.dialect.name == ("postgresql" if DATABASE_URL else "sqlite")
    results = verified(cluster, 3, seed=1)
    ids = [r.task_id for r in results]
    for task_id in ids:
        record_assignments(app, task_id, [7], fleet=(WORKER,))
    batch_id, answers = one_batch(app, circuit, results, replica=7)
    rounds = [(r.task_id, 1, [a]) for r, a in zip(results, answers, strict=True)]
    rounds += [(str(uuid.uuid4()), 1, answers[:1]), (ids[0], 99, answers[:1])]
    with caplog.at_level(logging.WARNING, logger="shardy.orchestrator"):
        outcomes = settle_many(app, rounds)
    assert "together failed" not in caplog.text  # no round pushed the call into its fallback
    assert [o["action"] for o in outcomes] == ["recorded"] * 3 + ["ignored"] * 2
    assert [o["state"] for o in outcomes[:3]] == ["verified"] * 3
    recorded = rows(app, ids, 7)
    assert set(recorded) == set(ids)
    for row in recorded.values():
        assert row.proof_valid is True and row.verdict == "agree", row.error
        assert row.batch_id == batch_id
    with app.store.session() as s:  # verified once, by the first round, and found by the rest
        stored = s.scalars(select(AttestationBatch).where(AttestationBatch.id == batch_id)).all()
        assert len(stored) == 1 and stored[0].valid
    again = settle_many(app, rounds[:3])  # idempotent: nothing recorded twice
    assert [o["action"] for o in again] == ["recorded"] * 3
    assert len(rows(app, ids, 7)) == 3


def test_a_replayed_attestation_is_refused_within_one_call(cluster, circuit):
    """A worker's result for one task, re-sent in the same call as the result of another
    task, counts for the first task only."""
    app = cluster.app
    results = verified(cluster, 2, seed=2)
    for r in results:
        record_assignments(app, r.task_id, [8], fleet=(WORKER,))
    _, answers = one_batch(app, circuit, results[:1], replica=8)
    replay = {**answers[0], "task_id": results[1].task_id, "digest": results[1].digest,
              "output_sha256": results[1].digest}  # fmt: skip
    settle_many(app, [(results[0].task_id, 1, answers), (results[1].task_id, 1, [replay])])
    first = rows(app, [results[0].task_id], 8)[results[0].task_id]
    second = rows(app, [results[1].task_id], 8)[results[1].task_id]
    assert first.proof_valid is True and first.verdict == "agree"
    assert second.proof_valid is False and second.verdict == "invalid"


def test_a_commitment_bound_earlier_in_the_call_has_one_owner(cluster, circuit):
    """A fresh worker binds its commitment on its first valid proof; another fresh worker
    proving with the same secret in a later round of the same call (nothing flushed between
    them) is refused, as it would be in a settle of its own."""
    app = cluster.app
    first, thief = f"own-{uuid.uuid4().hex[:8]}@test", f"thief-{uuid.uuid4().hex[:8]}@test"
    secret = new_worker_secret()
    results = verified(cluster, 2, seed=3)
    rounds = []
    for r, worker in zip(results, (first, thief), strict=True):
        record_assignments(app, r.task_id, [9], fleet=(worker,))
        leaves = [leaf(circuit, task_subject(app, r.task_id), r.digest, 1, 9)]
        batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
        proof, signals = batch_proof(circuit, batch_id, 1, root, secret)
        stored = BatchProof(batch_id, root, 1, keys.active_key(app), proof, signals)
        ref = app.blobs.put(orjson.dumps(stored.to_json()), inline=False)
        part = BatchPart(batch_id, 0, 1, root, tuple(merkle.path(leaves, 0)))
        receipt = BatchReceipt(part, stored.key_id, ref.sha256, ref.size).to_json()
        answer = {"status": "ok", "task_id": r.task_id, "replica": 9, "worker_id": worker,
                  "digest": r.digest, "output_sha256": r.digest, "output_size": 1024,
                  "key_id": receipt["key_id"], "batch": receipt}  # fmt: skip
        rounds.append((r.task_id, 1, [answer]))
    settle_many(app, rounds)
    owned = rows(app, [results[0].task_id], 9)[results[0].task_id]
    stolen = rows(app, [results[1].task_id], 9)[results[1].task_id]
    assert owned.proof_valid is True, owned.error
    assert stolen.proof_valid is False and f"belongs to worker {first}" in stolen.error


def test_a_batch_proof_re_sent_under_another_id_in_the_call_is_refused(cluster, circuit):
    """The same batch statement under a second batch id, in a later round of the same call,
    is refused as an alias of the first (recorded in this transaction, not yet flushed)."""
    app = cluster.app
    results = verified(cluster, 2, seed=4)
    for r in results:
        record_assignments(app, r.task_id, [10], fleet=(WORKER,))
    batch_id, answers = one_batch(app, circuit, results, replica=10)
    blob = app.blobs.get(_ref(answers[1]["batch"]))
    alias_id = str(uuid.uuid4())
    alias = {**orjson.loads(blob), "id": alias_id}
    ref = app.blobs.put(orjson.dumps(alias), inline=False)
    receipt = {**answers[1]["batch"], "id": alias_id, "proof_sha256": ref.sha256,
               "proof_size": ref.size}  # fmt: skip
    second = {**answers[1], "batch": receipt}
    settle_many(app, [(results[0].task_id, 1, answers[:1]), (results[1].task_id, 1, [second])])
    kept = rows(app, [results[0].task_id], 10)[results[0].task_id]
    aliased = rows(app, [results[1].task_id], 10)[results[1].task_id]
    assert kept.proof_valid is True and kept.batch_id == batch_id, kept.error
    assert aliased.proof_valid is False and "another batch id" in aliased.error


def _ref(receipt: dict):
    from shardy.blobs import BlobRef

    return BlobRef(receipt["proof_sha256"], receipt["proof_size"])


def test_one_attestation_per_worker_and_task_within_one_call(cluster, circuit, caplog):
    """Two replicas of one task proven by the same worker, in two rounds of one call: the
    second is refused by the replay guard (it sees the first, accepted in this transaction
    and not yet flushed), and the call needs no fallback."""
    app = cluster.app
    (result,) = verified(cluster, 1, seed=5)
    record_assignments(app, result.task_id, [11, 12], fleet=(WORKER,))
    rounds = []
    for replica in (11, 12):
        _, answers = one_batch(app, circuit, [result], replica=replica)
        rounds.append((result.task_id, 1, answers))
    with caplog.at_level(logging.WARNING, logger="shardy.orchestrator"):
        settle_many(app, rounds)
    assert "together failed" not in caplog.text
    recorded = {r.replica: r for r in _all_rows(app, result.task_id)}
    assert recorded[11].proof_valid is True, recorded[11].error
    assert recorded[12].proof_valid is False and "replay" in recorded[12].error


def _all_rows(app, task_id: str) -> list[Replica]:
    with app.store.session() as s:
        return list(s.scalars(select(Replica).where(Replica.task_id == task_id)))
