"""Helpers for the p2p tests: signed-looking stream entries with real Groth16 attestations."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from functools import lru_cache
from typing import Any

from shardy.p2p.keys import DEFAULT_BUILD_DIR, key_id
from shardy.zk import Circuit, attestation_inputs, load_circuit, prove, public_signals

#: Fixed worker secrets so commitments are stable across a test run.
SECRETS = (1111, 2222, 3333, 4444)


@lru_cache(maxsize=1)
def circuit() -> Circuit:
    return load_circuit(DEFAULT_BUILD_DIR)


def default_key_id() -> str:
    return key_id(circuit().vkey_json)


def stream_entry(
    *,
    workers: int = 3,
    quorum: int = 2,
    seed: int = 7,
    output_len: int = 4096,
    task_id: str | None = None,
    digest: str | None = None,
) -> dict[str, str]:
    """A `shardy:verified` entry as the orchestrator writes it, with ``workers`` real proofs."""
    task_id = task_id or str(uuid.uuid4())
    digest = digest or hashlib.sha256(os.urandom(16)).hexdigest()
    atts: list[dict[str, Any]] = []
    for i in range(workers):
        inputs = attestation_inputs(task_id, seed, output_len, digest, SECRETS[i])
        proof, public = prove(circuit(), inputs)
        assert public == public_signals(inputs)
        atts.append({"worker_id": f"w{i}", "digest": digest, "proof": proof,
                     "public_signals": public, "key_id": default_key_id()})  # fmt: skip
    return {
        "task_id": task_id, "kernel": "sha256", "seed": str(seed), "output_len": str(output_len),
        "digest": digest, "quorum": str(quorum), "agreeing": str(workers),
        "attestations": json.dumps(atts),
    }  # fmt: skip


def forge_bad_proof(entry: dict[str, str], index: int = 0) -> dict[str, str]:
    """The same entry with attestation ``index``'s proof swapped for another task's proof."""
    atts = json.loads(entry["attestations"])
    other = json.loads(stream_entry(workers=1, quorum=1)["attestations"])[0]
    atts[index]["proof"] = other["proof"]
    return {**entry, "attestations": json.dumps(atts)}


def forge_short_quorum(entry: dict[str, str], keep: int = 1) -> dict[str, str]:
    """The same entry with only ``keep`` attestations left (below its claimed quorum)."""
    atts = json.loads(entry["attestations"])[:keep]
    return {**entry, "attestations": json.dumps(atts)}
