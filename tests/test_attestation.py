"""Groth16 attestations end to end: proofs checked by Shardy and snarkjs, forgers and replays
refused and recorded, verifier keys rotated with a grace window."""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cluster_support import make_settings, record_assignments, short_home, start_cluster, with_votes
from proof_support import replica_proof, task_subject
from py_arkworks_bls12381 import Scalar
from sqlalchemy import select

from shardy import statement
from shardy.keyring import default_build
from shardy.orchestrator import keys
from shardy.orchestrator.settle import settle
from shardy.store import Replica, VerifierKey, Worker
from shardy.store.models import utcnow
from shardy.workers.identity import secret_path
from shardy.zk import load_circuit, verify
from shardy.zk.codec import proof_from_json, proof_to_json, vkey_from_json

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
SNARKJS = ROOT / "circuits" / "node_modules" / ".bin" / "snarkjs"
needs_snarkjs = pytest.mark.skipif(
    not SNARKJS.exists(), reason="circuits/node_modules missing (npm ci --prefix circuits)"
)


@pytest.fixture(scope="module")
def cluster():
    # one proof per replica: the forger forges replica statements, and the replay and
    # rotation checks below hand settle replica attestations
    settings = make_settings(short_home(), attest_batch=1)
    yield from start_cluster(settings, workers=4, worker_modules={3: ["behaviour_forger"]})


def payload(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, 4000, dtype=np.uint8).tobytes()


def snarkjs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SNARKJS), *args], capture_output=True, text=True, cwd=ROOT / "circuits"
    )


def ok_result(task_id: str, replica: int, worker_id: str, attestation, proof=None) -> dict:
    """A replica result as a worker would return it, carrying ``attestation``'s evidence."""
    return {
        "status": "ok",
        "task_id": task_id,
        "replica": replica,
        "worker_id": worker_id,
        "digest": attestation.digest,
        "output_sha256": attestation.digest,
        "output_size": 1024,
        "proof": proof or attestation.proof,
        "public_signals": attestation.public_signals,
        "key_id": attestation.key_id,
    }


def replica_row(app, task_id: str, replica: int) -> Replica:
    with app.store.session() as s:
        return s.scalars(
            select(Replica).where(Replica.task_id == task_id, Replica.replica == replica)
        ).one()


def vkey_of(app, key_id: str) -> dict:
    with app.store.session() as s:
        return keys.accepted(s)[key_id]


@needs_snarkjs
def test_attestations_verify_in_shardy_and_in_snarkjs(cluster, tmp_path):
    res = cluster.client.submit("histogram", payload(1), redundancy=3).get(timeout=120)
    valid = [a for a in res.attestations if a.valid]
    assert len(valid) >= 2
    with cluster.app.store.session() as s:
        bound = {w.id: w.commitment for w in s.scalars(select(Worker))}
    for a in valid:
        vkey = vkey_of(cluster.app, a.key_id)
        assert verify(vkey, a.proof, a.public_signals)
        assert a.public_signals[-1] == bound[a.worker_id]  # the worker's registered commitment
        for name, obj in (("vkey", vkey), ("proof", a.proof), ("public", a.public_signals)):
            (tmp_path / f"{name}.json").write_text(json.dumps(obj))
        files = [str(tmp_path / f"{n}.json") for n in ("vkey", "public", "proof")]
        out = snarkjs("groth16", "verify", *files)
        assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr


def test_forged_attestation_is_refused_and_recorded(cluster):
    res = cluster.client.submit("histogram", payload(2), redundancy=4).get(timeout=120)
    res = with_votes(cluster.client, res, 4)
    by_worker = {a.worker_id.split("@")[0]: a for a in res.attestations}
    assert by_worker["gpu3"].valid is False and by_worker["gpu3"].agrees is False
    assert by_worker["gpu3"].digest == res.digest  # right answer, forged proof: still refused
    assert sum(a.valid and a.agrees for a in res.attestations) == 3
    with cluster.app.store.session() as s:
        row = s.scalars(
            select(Replica).where(Replica.task_id == res.task_id, Replica.worker_id.like("gpu3@%"))
        ).one()
        assert row.verdict == "invalid" and "proof does not verify" in row.error
        assert s.scalars(select(Worker).where(Worker.id.like("gpu3@%"))).one().invalid >= 1


def _rerandomise(proof: dict, vkey: dict) -> dict:
    """The same statement, different proof bytes: A/r1, r1·B + r1·r2·δ, C + r2·A."""
    p, delta = proof_from_json(proof), vkey_from_json(vkey).delta2
    r1, r2 = Scalar(secrets.randbelow(2**128) + 1), Scalar(secrets.randbelow(2**128) + 1)
    again = type(p)(p.a * r1.inverse(), p.b * r1 + delta * (r1 * r2), p.c + p.a * r2)
    return proof_to_json(again)


def test_replayed_and_rerandomised_attestations_are_refused(cluster):
    """An accepted attestation presented again (as is, or re-randomised into new proof bytes)
    for another replica, by its worker or another, is refused.

    Under statement version 2 the public signals bind the replica's round and number, so such
    a replay no longer matches the replica it is presented for and is refused on its signals,
    before the replay guard. The guard and the owner check are still shown: a second genuine
    statement of the same worker for the task is a replay, and a genuine statement under
    another worker's commitment (its secret stolen) is that worker's."""
    handle = cluster.client.submit("histogram", payload(3), redundancy=3)
    res = with_votes(cluster.client, handle.get(timeout=120), 3)  # compared with `after`
    good = next(a for a in res.attestations if a.valid and a.agrees)
    vkey = vkey_of(cluster.app, good.key_id)
    fresh = _rerandomise(good.proof, vkey)
    assert fresh != good.proof and verify(vkey, fresh, good.public_signals)
    v2 = len(good.public_signals) == statement.N_PUBLIC[statement.V2]

    owner = good.worker_id
    record_assignments(cluster.app, handle.id, [10, 11, 12, 13, 14],
                       fleet=("mallory@elsewhere",))  # fmt: skip
    settle(cluster.app, [ok_result(handle.id, 10, owner, good)], handle.id, 1)
    settle(cluster.app, [ok_result(handle.id, 11, owner, good, fresh)], handle.id, 1)
    settle(cluster.app, [ok_result(handle.id, 12, "mallory@elsewhere", good, fresh)], handle.id, 1)
    moved = "public signals do not match the task and the attested digest"
    for replica in (10, 11):  # the same statement again, even as new proof bytes: a replay
        row = replica_row(cluster.app, handle.id, replica)
        assert row.proof_valid is False and (moved if v2 else "replay") in row.error
    row = replica_row(cluster.app, handle.id, 12)  # and another worker cannot present it
    owned = f"commitment belongs to worker {owner}"
    assert row.proof_valid is False and (moved if v2 else owned) in row.error

    if v2:  # genuine statements of replicas 13 and 14, under the owner's secret
        secret = int(secret_path(cluster.settings, owner).read_text())
        about = task_subject(cluster.app, handle.id)
        circuit = load_circuit(default_build())
        for replica, worker in ((13, owner), (14, "mallory@elsewhere")):
            proof, signals = replica_proof(circuit, about, good.digest, secret, 1, replica)
            mine = dataclasses.replace(good, proof=proof, public_signals=signals)
            settle(cluster.app, [ok_result(handle.id, replica, worker, mine)], handle.id, 1)
        row = replica_row(cluster.app, handle.id, 13)  # one accepted statement per worker
        assert row.proof_valid is False and "replay" in row.error
        row = replica_row(cluster.app, handle.id, 14)
        assert row.proof_valid is False and owned in row.error

    after = cluster.client.handle(handle.id).get()
    assert [a for a in after.attestations if a.valid] == [a for a in res.attestations if a.valid]


@needs_snarkjs
def test_key_rotation_has_no_downtime_and_a_grace_window(cluster, tmp_path):
    """A deployment on statement version 1 rotates to a version 2 key of its own ceremony:
    replicas dispatched before keep verifying under v1 in the grace window, new tasks prove
    v2 (workers fetch the key from Redis), and after the grace a v1 attestation is refused."""
    build = ROOT / "circuits" / "build-v2"
    new = tmp_path / "build"
    new.mkdir()
    shutil.copy(build / "attestation.wasm", new)
    contribute = ("zkey", "contribute", str(build / "attestation.zkey"))
    entropy = ("--name=second ceremony (test)", "-e=shardy test rotation entropy")
    assert snarkjs(*contribute, str(new / "attestation.zkey"), *entropy).returncode == 0
    export = ("zkey", "export", "verificationkey", str(new / "attestation.zkey"))
    assert snarkjs(*export, str(new / "vkey.json")).returncode == 0

    app = cluster.app
    old = keys.rotate(app, ROOT / "circuits" / "build", grace=0)  # the store runs on v1
    assert keys.active_key(app) == old
    before = cluster.client.submit("histogram", payload(4))  # dispatched under the old key
    new_id = keys.rotate(app, new, grace=3600)
    assert new_id != old
    states = {k["id"]: k["state"] for k in keys.listing(app)}
    assert states[old] == "grace" and states[new_id] == "active"
    after = cluster.client.submit("histogram", payload(5)).get(timeout=120)
    assert {a.key_id for a in after.attestations if a.valid} == {new_id}
    assert {len(a.public_signals) for a in after.attestations if a.valid} == {6}  # v2
    old_attestation = next(a for a in before.get(timeout=120).attestations if a.valid)
    assert old_attestation.key_id == old  # the old key's replicas verified in its grace window
    assert len(old_attestation.public_signals) == 5  # v1

    # once the grace window is over, an attestation under the old key is refused
    with app.store.session() as s:
        s.get(VerifierKey, old).grace_until = utcnow()
    record_assignments(app, before.id, [20], fleet=("late@box",))
    settle(app, [ok_result(before.id, 20, "late@box", old_attestation)], before.id, 1)
    row = replica_row(app, before.id, 20)
    assert row.proof_valid is False and "not accepted" in row.error
    assert {k["id"]: k["state"] for k in keys.listing(app)}[old] == "retired"
