"""The pure attestation check on hand-built claims (accept and refuse side by side)."""

import json
import uuid
from pathlib import Path

from shardy import merkle
from shardy.attestations import Batch, Claim, check
from shardy.zk import attestation_inputs, load_circuit, new_worker_secret, prove

BUILD = Path(__file__).resolve().parents[2] / "circuits" / "build"
VKEY = json.loads((BUILD / "vkey.json").read_text())


def test_one_batch_id_is_one_statement():
    task, digest = str(uuid.uuid4()), "ab" * 32
    leaves = [merkle.leaf(task, 0, 64, digest), merkle.leaf(str(uuid.uuid4()), 0, 64, digest)]
    batch_id, root = str(uuid.uuid4()), merkle.root(leaves).hex()
    inputs = attestation_inputs(batch_id, 2, merkle.BATCH_OUTPUT_LEN, root, new_worker_secret())
    proof, signals = prove(load_circuit(BUILD), inputs)
    honest = Batch(batch_id, root, 2, "k", proof, signals)
    path = [list(s) for s in merkle.path(leaves, 0)]
    # a second claim re-uses the id with its own root/commitment and a junk proof
    rogue_signals = [*signals[:4], "12345"]
    rogue = Batch(batch_id, root, 2, "k", {"junk": True}, rogue_signals)
    claims = [
        Claim(0, "honest@a", digest, "k", None, None, honest, 0, path),
        Claim(1, "rogue@b", digest, "k", None, None, rogue, 0, path),
    ]
    verdicts, proven = check(task, 0, 64, claims, {"k": VKEY}, bound={})
    assert verdicts[0] is None and proven == {batch_id: None}
    assert verdicts[1] == "batch id re-used for a different statement"


def test_out_of_range_values_are_refused_not_raised():
    task = str(uuid.uuid4())
    batch = Batch(str(uuid.uuid4()), "00" * 32, 1, "k", {}, ["1", "1", "1", "1", "1"])
    claim = Claim(0, "w@a", "ab" * 32, "k", None, None, batch, 0, [])
    verdicts, _ = check(task, 2**70, 64, [claim], {"k": VKEY}, bound={})
    assert "malformed" in verdicts[0]


def test_a_commitment_has_one_owner():
    task, digest = str(uuid.uuid4()), "cd" * 32
    secret = new_worker_secret()
    proof, signals = prove(load_circuit(BUILD), attestation_inputs(task, 0, 64, digest, secret))
    claim = Claim(0, "thief@b", digest, "k", proof, signals)
    owners = {signals[4]: "honest@a"}
    verdicts, _ = check(task, 0, 64, [claim], {"k": VKEY}, bound={}, owners=owners)
    assert verdicts[0] == "commitment belongs to worker honest@a"
    honest = Claim(0, "honest@a", digest, "k", proof, signals)
    assert check(task, 0, 64, [honest], {"k": VKEY}, bound={}, owners=owners)[0][0] is None
