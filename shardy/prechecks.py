"""Fresh proofs, announced where the trusted side can check them before their round settles.

A fleet worker that stores a batch proof, and the gateway that stores one a remote worker
sent, also push a short note naming it onto a capped Redis list (`announce`). The
orchestrator's prechecker (`shardy.orchestrator.precheck`) verifies the newest notes while
the round's other replicas still compute, so that settle, which verifies every proof it
admits, finds the work done. A note is only a hint: it names a proof to look at, nothing in
it is believed, and a lost or forged note costs settle its own check, never a verdict.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import orjson
import redis

from shardy.blobs import BlobRef

#: The list of notes, newest first.
NOTES_KEY = "shardy:prechecks"
#: Notes kept: the prechecker takes the newest; under load older ones are left to settle.
KEEP = 32


def announce(
    pipe: redis.client.Pipeline,
    key_id: str,
    *,
    ref: BlobRef | None = None,
    proof: Any = None,
    signals: Sequence[str] | None = None,
) -> None:
    """Queue on ``pipe`` a note of a fresh proof under ``key_id``: a stored batch proof
    (``ref``, a `shardy.attestations.BatchProof` in the blob store), or a replica's own
    ``proof`` and public ``signals`` (as a worker sent them: what JSON cannot hold is not
    noted)."""
    note: dict[str, Any] = {"k": key_id, "t": time.time()}
    if ref is not None:
        note["b"] = [ref.sha256, ref.size]
    else:
        note["p"], note["g"] = proof, signals
    try:
        raw = orjson.dumps(note)
    except TypeError:  # a malformed proof: settle refuses it; nothing to check early
        return
    pipe.lpush(NOTES_KEY, raw)
    pipe.ltrim(NOTES_KEY, 0, KEEP - 1)


def digest(key_id: str, proof: Any, signals: Sequence[str]) -> bytes:
    """What a precheck vouches for: this proof (snarkjs JSON) with these public signals under
    this key id (which covers the verifying key: `shardy.keyring`).

    Raises:
        TypeError: the proof or the signals are not JSON of strings and lists.
    """
    if not all(isinstance(s, str) for s in signals):
        raise TypeError("public signals must be strings")
    h = hashlib.sha256(key_id.encode())
    h.update(b"\0" + orjson.dumps(proof, option=orjson.OPT_SORT_KEYS))
    h.update(b"\0" + ",".join(signals).encode())
    return h.digest()
