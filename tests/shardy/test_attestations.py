"""The attestation model (JSON forms, refused shapes) and the pure check on hand-built claims
(accept and refuse side by side)."""

import dataclasses
import json
import uuid

import pytest
from proof_support import batch_proof, leaf, replica_proof

from shardy import merkle
from shardy.attestations import (
    Attestation,
    BatchPart,
    BatchProof,
    BatchReceipt,
    Claim,
    check,
)
from shardy.keyring import CIRCUITS, default_build
from shardy.messages import ReplicaResult
from shardy.statement import Subject
from shardy.zk import load_circuit, new_worker_secret

BUILDS = {1: CIRCUITS / "build", 2: default_build()}


@pytest.fixture(scope="module", params=sorted(BUILDS), ids=lambda v: f"statement-v{v}")
def circuit(request):
    built = load_circuit(BUILDS[request.param])
    assert built.statement == request.param
    return built


def _subject(task: str) -> Subject:
    return Subject(task, 0, 64, "histogram", {"bins": 4}, "ee" * 32)


def _batch(circuit, task: str, digest: str, secret: int | None = None):
    leaves = [
        leaf(circuit, _subject(task), digest, 1, 0),
        leaf(circuit, _subject(task), digest, 1, 9),
    ]
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    proof, signals = batch_proof(circuit, batch_id, 2, root, secret or new_worker_secret())
    part = BatchPart(batch_id, 0, 2, root, tuple(merkle.path(leaves, 0)))
    return part, proof, signals


def test_one_batch_id_is_one_statement(circuit):
    task, digest, vkeys = str(uuid.uuid4()), "ab" * 32, {"k": circuit.vkey_json}
    part, proof, signals = _batch(circuit, task, digest)
    # a second claim re-uses the id with its own commitment and a junk proof
    rogue_signals = [*signals[:-1], "12345"]
    claims = [
        Claim("honest@a", digest, "k", proof, signals, part, replica=0, round=1),
        Claim("rogue@b", digest, "k", {"junk": True}, rogue_signals, part, replica=1, round=1),
    ]
    verdicts, proven = check(_subject(task), claims, vkeys, bound={})
    assert verdicts[0] is None and proven == {part.id: None}
    assert verdicts[1] == "batch id re-used for a different statement"


def test_a_batched_claim_at_the_wrong_leaf_is_refused(circuit):
    task, digest, vkeys = str(uuid.uuid4()), "ef" * 32, {"k": circuit.vkey_json}
    part, proof, signals = _batch(circuit, task, digest)
    moved = BatchPart(part.id, 1, part.size, part.root, part.path)
    ok, _ = check(_subject(task), [Claim("w@a", digest, "k", proof, signals, part, 0, 1)],
                  vkeys, bound={})  # fmt: skip
    bad, _ = check(_subject(task), [Claim("w@a", digest, "k", proof, signals, moved, 0, 1)],
                   vkeys, bound={})  # fmt: skip
    assert ok[0] is None
    assert bad[0] == "Merkle path does not lead from this replica to the batch root"


def test_out_of_range_values_are_refused_not_raised(circuit):
    task = str(uuid.uuid4())
    part = BatchPart(str(uuid.uuid4()), 0, 1, "00" * 32, ())
    ones = ["1"] * circuit.proving_key.n_public
    claim = Claim("w@a", "ab" * 32, "k", {}, ones, part, replica=0, round=1)
    subject = Subject(task, 2**70, 64)
    verdicts, _ = check(subject, [claim], {"k": circuit.vkey_json}, bound={})
    # version 1 maps the seed into a field element; version 2 hashes it into the order hash
    assert ("malformed" if circuit.statement == 1 else "Merkle path") in verdicts[0]


def test_a_commitment_has_one_owner(circuit):
    task, digest, vkeys = str(uuid.uuid4()), "cd" * 32, {"k": circuit.vkey_json}
    proof, signals = replica_proof(circuit, _subject(task), digest, new_worker_secret(), 1, 0)
    claim = Claim("thief@b", digest, "k", proof, signals, replica=0, round=1)
    owners = {signals[-1]: "honest@a"}
    verdicts, _ = check(_subject(task), [claim], vkeys, bound={}, owners=owners)
    assert verdicts[0] == "commitment belongs to worker honest@a"
    honest = Claim("honest@a", digest, "k", proof, signals, replica=0, round=1)
    assert check(_subject(task), [honest], vkeys, bound={}, owners=owners)[0][0] is None


def test_a_version_2_proof_fits_its_own_replica_only():
    """Statement version 2 binds the full digest, the order and the replica's place: the same
    proof presented for another replica, round, order or a digest differing in its last byte
    (version 1 kept only the top 248 bits) is refused."""
    circuit = load_circuit(BUILDS[2])
    task, digest, vkeys = str(uuid.uuid4()), "cd" * 32, {"k": circuit.vkey_json}
    proof, signals = replica_proof(circuit, _subject(task), digest, new_worker_secret(), 1, 0)

    def verdict(subject, claim_digest=digest, round_=1, replica=0):
        claim = Claim("w@a", claim_digest, "k", proof, signals, replica=replica, round=round_)
        return check(subject, [claim], vkeys, bound={})[0][replica]

    assert verdict(_subject(task)) is None
    other = dataclasses.replace(_subject(task), params={"bins": 5})
    for refused in (
        verdict(_subject(task), round_=2),
        verdict(_subject(task), replica=1),
        verdict(other),
        verdict(_subject(task), digest[:-2] + "ce"),
        verdict(dataclasses.replace(_subject(task), payload_sha256="ef" * 32)),
    ):
        assert refused == "public signals do not match the task and the attested digest"
    no_place = Claim("w@a", digest, "k", proof, signals, replica=0)
    assert check(_subject(task), [no_place], vkeys, bound={})[0][0] is not None


# ---- the model's JSON forms ----------------------------------------------------------------

PART = BatchPart(str(uuid.uuid4()), 3, 5, "11" * 32, ((True, "22" * 32), (False, "33" * 32)))


def test_json_forms_round_trip():
    claim = Claim("w@a", "ab" * 32, "k1", {"pi_a": ["1"]}, ("1", "2"), PART)
    assert Claim.from_json(json.loads(json.dumps(claim.to_json()))) == claim
    receipt = BatchReceipt(PART, "k1", "44" * 32, 900)
    assert BatchReceipt.from_json(json.loads(json.dumps(receipt.to_json()))) == receipt
    stored = BatchProof(PART.id, PART.root, 5, "k1", {"pi_a": ["1"]}, ["1", "2"])
    assert BatchProof.from_json(json.loads(json.dumps(stored.to_json()))) == stored
    judged = Attestation("w@a", "ab" * 32, "k1", {}, ("1",), PART, 2, valid=True, agrees=True)
    assert judged.batch_id == PART.id and judged.merkle_path == [[True, "22" * 32],
                                                                 [False, "33" * 32]]  # fmt: skip
    assert Attestation("w@a", "ab" * 32, "k1", {}, ("1",)).merkle_path is None


@pytest.mark.parametrize(
    "change",
    [
        {"index": -1},
        {"index": "3"},
        {"size": True},
        {"path": "x"},
        {"path": [[1, "22"]]},
        {"path": [[True]]},
        {"proof_sha256": "ab"},
        {"proof_size": None},
        {"key_id": 7},
    ],
)
def test_malformed_receipts_are_refused(change):
    good = BatchReceipt(PART, "k1", "44" * 32, 900).to_json()
    with pytest.raises(ValueError, match="canonical"):  # one spelling of an id, no aliases
        BatchReceipt.from_json({**good, "id": PART.id.upper()})
    with pytest.raises(ValueError):
        BatchReceipt.from_json({**good, **change})
    del good["root"]
    with pytest.raises(ValueError, match="root"):
        BatchReceipt.from_json(good)


def test_a_replica_result_with_a_malformed_receipt_is_a_failed_result():
    good = ReplicaResult(
        "ok", str(uuid.uuid4()), 0, worker_id="w@a", digest="ab" * 32,
        output_sha256="ab" * 32, output_size=4, key_id="k1",
        batch=BatchReceipt(PART, "k1", "44" * 32, 900),
    )  # fmt: skip
    assert ReplicaResult.from_dict(good.to_dict()) == good
    bad = {**good.to_dict(), "batch": {**good.batch.to_json(), "index": "0"}}
    parsed = ReplicaResult.from_dict(bad)
    assert parsed.status == "failed" and "malformed replica result" in parsed.error
    assert (parsed.task_id, parsed.replica, parsed.worker_id) == (good.task_id, 0, "w@a")
