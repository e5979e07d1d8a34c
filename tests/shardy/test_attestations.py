"""The attestation model (JSON forms, refused shapes) and the pure check on hand-built claims
(accept and refuse side by side)."""

import json
import uuid

import pytest

from shardy import merkle
from shardy.attestations import (
    Attestation,
    BatchPart,
    BatchProof,
    BatchReceipt,
    Claim,
    check,
)
from shardy.keyring import default_build
from shardy.messages import ReplicaResult
from shardy.zk import attestation_inputs, load_circuit, new_worker_secret, prove

BUILD = default_build()
VKEY = json.loads((BUILD / "vkey.json").read_text())


def _batch(task: str, digest: str, secret: int | None = None):
    leaves = [merkle.leaf(task, 0, 64, digest), merkle.leaf(str(uuid.uuid4()), 0, 64, digest)]
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    inputs = attestation_inputs(
        batch_id, 2, merkle.BATCH_OUTPUT_LEN, root, secret or new_worker_secret()
    )
    proof, signals = prove(load_circuit(BUILD), inputs)
    part = BatchPart(batch_id, 0, 2, root, tuple(merkle.path(leaves, 0)))
    return part, proof, signals


def test_one_batch_id_is_one_statement():
    task, digest = str(uuid.uuid4()), "ab" * 32
    part, proof, signals = _batch(task, digest)
    # a second claim re-uses the id with its own commitment and a junk proof
    rogue_signals = [*signals[:4], "12345"]
    claims = [
        Claim("honest@a", digest, "k", proof, signals, part, replica=0),
        Claim("rogue@b", digest, "k", {"junk": True}, rogue_signals, part, replica=1),
    ]
    verdicts, proven = check(task, 0, 64, claims, {"k": VKEY}, bound={})
    assert verdicts[0] is None and proven == {part.id: None}
    assert verdicts[1] == "batch id re-used for a different statement"


def test_a_batched_claim_at_the_wrong_leaf_is_refused():
    task, digest = str(uuid.uuid4()), "ef" * 32
    part, proof, signals = _batch(task, digest)
    moved = BatchPart(part.id, 1, part.size, part.root, part.path)
    ok, _ = check(task, 0, 64, [Claim("w@a", digest, "k", proof, signals, part, 0)],
                  {"k": VKEY}, bound={})  # fmt: skip
    bad, _ = check(task, 0, 64, [Claim("w@a", digest, "k", proof, signals, moved, 0)],
                   {"k": VKEY}, bound={})  # fmt: skip
    assert ok[0] is None
    assert bad[0] == "Merkle path does not lead from this replica to the batch root"


def test_out_of_range_values_are_refused_not_raised():
    task = str(uuid.uuid4())
    part = BatchPart(str(uuid.uuid4()), 0, 1, "00" * 32, ())
    claim = Claim("w@a", "ab" * 32, "k", {}, ["1", "1", "1", "1", "1"], part, replica=0)
    verdicts, _ = check(task, 2**70, 64, [claim], {"k": VKEY}, bound={})
    assert "malformed" in verdicts[0]


def test_a_commitment_has_one_owner():
    task, digest = str(uuid.uuid4()), "cd" * 32
    secret = new_worker_secret()
    proof, signals = prove(load_circuit(BUILD), attestation_inputs(task, 0, 64, digest, secret))
    claim = Claim("thief@b", digest, "k", proof, signals, replica=0)
    owners = {signals[4]: "honest@a"}
    verdicts, _ = check(task, 0, 64, [claim], {"k": VKEY}, bound={}, owners=owners)
    assert verdicts[0] == "commitment belongs to worker honest@a"
    honest = Claim("honest@a", digest, "k", proof, signals, replica=0)
    assert check(task, 0, 64, [honest], {"k": VKEY}, bound={}, owners=owners)[0][0] is None


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
