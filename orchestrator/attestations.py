"""Checking attestations (pure): accepted key, public signals bound to the task, worker binding,
and the Groth16 proofs themselves (batch-verified per key)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shardy.errors import ProofError
from shardy.zk import digest_to_field, find_invalid, public_signals, task_id_to_field


@dataclass(frozen=True)
class Claim:
    """One ok replica's attestation as settle received it."""

    replica: int
    worker_id: str
    digest: str
    key_id: str | None
    proof: Any
    public_signals: Any


def expected_signals(
    task_id: str, seed: int, output_len: int, digest: str, commitment: str
) -> list[str]:
    """The public signals an honest attestation of ``digest`` for this task carries."""
    return public_signals(
        {
            "taskId": task_id_to_field(task_id),
            "seed": seed,
            "outputLen": output_len,
            "resultDigest": digest_to_field(digest),
            "workerCommitment": int(commitment),
        }
    )


def signals_hash(signals: Sequence[str]) -> str:
    """The replay guard's key for a public-signal vector."""
    return hashlib.sha256(",".join(signals).encode()).hexdigest()


def check(
    task_id: str,
    seed: int,
    output_len: int,
    claims: Sequence[Claim],
    accepted_keys: Mapping[str, dict],
    bound: Mapping[str, str | None],
) -> dict[int, str | None]:
    """Judge each claim: None when valid, else the reason it is refused.

    Args:
        accepted_keys: key id → vkey JSON of the keys accepted now.
        bound: worker id → the commitment registered for it (None: not yet bound).
    """
    verdict: dict[int, str | None] = {}
    by_key: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        signals = c.public_signals
        if c.key_id not in accepted_keys:
            verdict[c.replica] = f"key {c.key_id!r} is not accepted (unknown or retired)"
        elif not (
            isinstance(signals, list)
            and len(signals) == 5
            and all(isinstance(s, str) and s.isdigit() and len(s) < 80 for s in signals)
        ):
            verdict[c.replica] = "public signals are not 5 decimal strings"
        elif signals != _expected_or_none(task_id, seed, output_len, c.digest, signals[4]):
            verdict[c.replica] = "public signals do not match the task and the attested digest"
        elif bound.get(c.worker_id) not in (None, signals[4]):
            verdict[c.replica] = f"commitment differs from the one registered for {c.worker_id}"
        else:
            by_key[c.key_id].append(c)
    for kid, group in by_key.items():
        bad = set(find_invalid(accepted_keys[kid], [(c.proof, c.public_signals) for c in group]))
        for i, c in enumerate(group):
            verdict[c.replica] = "proof does not verify" if i in bad else None
    return verdict


def _expected_or_none(task_id, seed, output_len, digest, commitment) -> list[str] | None:
    try:
        return expected_signals(task_id, seed, output_len, digest, commitment)
    except (ProofError, ValueError):
        return None
