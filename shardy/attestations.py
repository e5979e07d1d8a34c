"""Checking attestations (pure, shared by settle and the p2p validator): accepted key, public
signals bound to the task, worker binding, Merkle paths into batches, and the Groth16 proofs
themselves (batch-verified per key)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shardy import merkle
from shardy.errors import ProofError
from shardy.zk import digest_to_field, find_invalid, public_signals, task_id_to_field


@dataclass(frozen=True)
class Batch:
    """A batch proof: one worker's statement over the Merkle root of K replica leaves."""

    id: str
    root: str
    size: int
    key_id: str
    proof: Any
    public_signals: Any


@dataclass(frozen=True)
class Claim:
    """One ok replica's attestation as settle received it: its own proof, or a batch's proof
    plus the replica's leaf index and Merkle path in that batch."""

    replica: int
    worker_id: str
    digest: str
    key_id: str | None
    proof: Any
    public_signals: Any
    batch: Batch | None = None
    index: int | None = None
    path: Any = None

    def statement(self) -> tuple[str, Any, Any, str | None]:
        """(what is proven: a replica or a batch, its proof, its public signals, its key)."""
        if self.batch is None:
            return f"replica:{self.replica}", self.proof, self.public_signals, self.key_id
        b = self.batch
        return f"batch:{b.id}", b.proof, b.public_signals, b.key_id


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
    known: Mapping[str, str | None] | None = None,
    owners: Mapping[str, str] | None = None,
) -> tuple[dict[int, str | None], dict[str, str | None]]:
    """Judge each claim: None when valid, else the reason it is refused.

    Args:
        accepted_keys: key id → vkey JSON of the keys accepted now.
        bound: worker id → the commitment registered for it (None: not yet bound).
        known: batch id → the verdict already recorded for that batch proof (verified once).
        owners: commitment → the worker id it is registered to (a commitment has one owner).

    Returns:
        (verdict per replica, verdict of each batch proof verified by this call).
    """
    known = known or {}
    verdict: dict[int, str | None] = {}
    to_prove: dict[str, list[Claim]] = defaultdict(list)  # statement → claims resting on it
    batches: dict[str, Batch] = {}  # one statement per batch id: the first one seen
    for c in claims:
        label, _, signals, key = c.statement()
        reason = _shape(c, signals, key, accepted_keys)
        if reason is None and c.batch is not None:
            first = batches.setdefault(c.batch.id, c.batch)
            if first != c.batch:  # else it would ride on the first claim's proof
                reason = "batch id re-used for a different statement"
        if reason is None and c.batch is not None:
            reason = _in_batch(task_id, seed, output_len, c)
        if reason is None:
            expected = (
                _expected_or_none(task_id, seed, output_len, c.digest, signals[4])
                if c.batch is None
                else _expected_or_none(
                    c.batch.id, c.batch.size, merkle.BATCH_OUTPUT_LEN, c.batch.root, signals[4]
                )
            )
            if signals != expected:
                reason = "public signals do not match the task and the attested digest"
            elif bound.get(c.worker_id) not in (None, signals[4]):
                reason = f"commitment differs from the one registered for {c.worker_id}"
            elif (owners or {}).get(signals[4], c.worker_id) != c.worker_id:
                reason = f"commitment belongs to worker {owners[signals[4]]}"
        if reason is not None:
            verdict[c.replica] = reason
        elif c.batch is not None and c.batch.id in known:
            verdict[c.replica] = known[c.batch.id]
        else:
            to_prove[label].append(c)
    proven: dict[str, str | None] = {}
    by_key: dict[str, list[str]] = defaultdict(list)
    for label, group in to_prove.items():
        by_key[group[0].statement()[3]].append(label)
    for kid, labels in by_key.items():
        items = [to_prove[lb][0].statement()[1:3] for lb in labels]
        bad = set(find_invalid(accepted_keys[kid], items))
        for i, label in enumerate(labels):
            reason = "proof does not verify" if i in bad else None
            for c in to_prove[label]:
                verdict[c.replica] = reason
            if label.startswith("batch:"):
                proven[label[len("batch:") :]] = reason
    return verdict, proven


def _shape(c: Claim, signals: Any, key: str | None, accepted: Mapping[str, dict]) -> str | None:
    if key not in accepted:
        return f"key {key!r} is not accepted (unknown or retired)"
    if c.batch is not None and c.key_id != c.batch.key_id:
        return "the replica names another key than its batch proof"
    if not (
        isinstance(signals, list)
        and len(signals) == 5
        and all(isinstance(s, str) and s.isdigit() and len(s) < 80 for s in signals)
    ):
        return "public signals are not 5 decimal strings"
    return None


def _in_batch(task_id: str, seed: int, output_len: int, c: Claim) -> str | None:
    """None when the replica's leaf sits at its index under the batch root."""
    b = c.batch
    assert b is not None
    try:
        leaf = merkle.leaf(task_id, seed, output_len, c.digest)
        root = bytes.fromhex(b.root)
    except (TypeError, ValueError, OverflowError):
        return "batch root, digest, seed or output length is malformed"
    ok = (
        isinstance(c.index, int)
        and isinstance(b.size, int)
        and isinstance(c.path, list)
        and all(isinstance(st, list | tuple) and len(st) == 2 for st in c.path)
        and all(isinstance(left, bool) for left, _ in c.path)
        and merkle.verify(leaf, c.index, b.size, [tuple(st) for st in c.path], root)
    )
    return None if ok else "Merkle path does not lead from this replica to the batch root"


def _expected_or_none(task_id, seed, output_len, digest, commitment) -> list[str] | None:
    try:
        return expected_signals(task_id, seed, output_len, digest, commitment)
    except (ProofError, ValueError):
        return None
