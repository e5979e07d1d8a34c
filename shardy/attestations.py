"""Attestations: the one model of what workers claim (`Claim`, `BatchPart`, `BatchProof`,
`BatchReceipt`, and the judged `Attestation` of a verified result), shared by worker, settle,
API and p2p; and checking them (pure): accepted key, public signals bound to the task, worker
binding, Merkle paths into batches, and the Groth16 proofs themselves (batch-verified per key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shardy import merkle, statement
from shardy.errors import ProofError
from shardy.statement import Subject

Path = tuple[tuple[bool, str], ...]


def _path(steps: Any) -> Path:
    """A Merkle path from JSON (a list of [sibling on the left?, sibling hex])."""
    if not isinstance(steps, list | tuple):
        raise ValueError("a Merkle path must be a list of [bool, hex] steps")
    out = []
    for step in steps:
        if not (isinstance(step, list | tuple) and len(step) == 2 and isinstance(step[0], bool)):
            raise ValueError("a Merkle path step must be [bool, hex]")
        out.append((step[0], str(step[1])))
    return tuple(out)


def canonical_uuid(value: Any, what: str) -> str:
    """``value`` if it is a UUID in its one canonical spelling (lower-case, hyphenated).

    Raises:
        ValueError: any other spelling. Ids are keyed by their text, and the circuit maps
            every spelling of a UUID to one field element, so a second spelling of a batch
            id would alias the first (an adversarial review blocked settles that way).
    """
    try:
        canonical = str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{what} {value!r:.60} is not a UUID") from None
    if canonical != value:
        raise ValueError(f"{what} {value!r:.60} is not in canonical form ({canonical})")
    return canonical


def _count(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r:.40}")
    return value


@dataclass(frozen=True)
class BatchPart:
    """Where a replica sits in a batch proof: leaf ``index`` of ``size`` under ``root``."""

    #: The batch id (a UUID; the batch statement's "task id").
    id: str
    index: int
    size: int
    #: Merkle root over the batch's leaves, 64 hex characters.
    root: str
    #: Authentication path from the replica's leaf: (sibling on the left?, sibling hex).
    path: Path

    def to_json(self) -> dict[str, Any]:
        """JSON form (the verified stream's ``batch`` object)."""
        return {"id": self.id, "index": self.index, "size": self.size, "root": self.root,
                "path": [list(step) for step in self.path]}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> BatchPart:
        """Parse the JSON form. Raises ValueError naming what is malformed."""
        if not isinstance(data, dict):
            raise ValueError("a batch part must be a JSON object")
        try:
            return cls(canonical_uuid(data["id"], "batch id"), _count(data["index"], "batch index"),
                       _count(data["size"], "batch size"), str(data["root"]),
                       _path(data["path"]))  # fmt: skip
        except KeyError as exc:
            raise ValueError(f"a batch part lacks {exc}") from None


@dataclass(frozen=True)
class BatchProof:
    """A batch statement and its proof: one worker's Groth16 proof over the Merkle root of
    ``size`` replica leaves (the public signals are batch id, size, 2**32-1, root, commitment).
    A worker stores it once per batch; settle reads it once."""

    id: str
    root: str
    size: int
    key_id: str
    proof: Any
    public_signals: Any

    def to_json(self) -> dict[str, Any]:
        """JSON form (the blob a worker stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> BatchProof:
        """Parse the JSON form. Raises ValueError naming what is malformed."""
        if not isinstance(data, dict):
            raise ValueError("a batch proof must be a JSON object")
        try:
            return cls(canonical_uuid(data["id"], "batch id"), str(data["root"]),
                       _count(data["size"], "batch size"),
                       str(data["key_id"]), data["proof"], data["public_signals"])  # fmt: skip
        except KeyError as exc:
            raise ValueError(f"a batch proof lacks {exc}") from None


@dataclass(frozen=True)
class BatchReceipt:
    """A batched replica's attestation as its worker returns it: the replica's place in the
    batch, the key, and the content address of the stored `BatchProof`."""

    part: BatchPart
    key_id: str
    proof_sha256: str
    proof_size: int

    def to_json(self) -> dict[str, Any]:
        """JSON form (a replica result's ``batch`` field)."""
        return {**self.part.to_json(), "key_id": self.key_id,
                "proof_sha256": self.proof_sha256, "proof_size": self.proof_size}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> BatchReceipt:
        """Parse the JSON form. Raises ValueError naming what is malformed."""
        part = BatchPart.from_json(data)
        sha, size = data.get("proof_sha256"), data.get("proof_size")
        if not (isinstance(sha, str) and len(sha) == 64 and isinstance(data.get("key_id"), str)):
            raise ValueError("a batch receipt needs key_id and the proof's sha256 and size")
        return cls(part, data["key_id"], sha, _count(size, "proof size"))


@dataclass(frozen=True)
class Claim:
    """One worker's attestation that it computed ``digest``: its own Groth16 proof and public
    signals, or, batched, its batch's proof and signals plus its place in that batch
    (``batch``). Settle judges claims of a task's replicas (``replica`` set); peers judge the
    claims a verified record carries."""

    worker_id: str
    digest: str
    key_id: str | None
    #: snarkjs JSON proof (pi_a, pi_b, pi_c, protocol, curve).
    proof: Any
    #: Public signals as decimal strings, in circuit order (see `shardy.zk.PUBLIC_INPUTS`).
    public_signals: Any
    batch: BatchPart | None = None
    replica: int | None = None
    #: the replica's round (statement version 2 binds it, with ``replica``, in the order hash)
    round: int | None = None

    def statement(self) -> tuple[str, Any, Any, str | None]:
        """(what is proven: a replica or a batch, its proof, its public signals, its key)."""
        if self.batch is None:
            return f"replica:{self.replica}", self.proof, self.public_signals, self.key_id
        return f"batch:{self.batch.id}", self.proof, self.public_signals, self.key_id

    def batch_proof(self) -> BatchProof | None:
        """The batch statement this claim rests on (None when it is not batched)."""
        b = self.batch
        if b is None:
            return None
        return BatchProof(b.id, b.root, b.size, self.key_id or "", self.proof, self.public_signals)

    def to_json(self) -> dict[str, Any]:
        """JSON form (an entry of the verified stream's ``attestations`` list)."""
        out = {"worker_id": self.worker_id, "digest": self.digest, "proof": self.proof,
               "public_signals": list(self.public_signals), "key_id": self.key_id}  # fmt: skip
        if self.batch is not None:
            out["batch"] = self.batch.to_json()
        if self.round is not None and self.replica is not None:
            out["round"], out["replica"] = self.round, self.replica
        return out

    @classmethod
    def from_json(cls, data: Any) -> Claim:
        """Parse the JSON form. Raises ValueError naming what is malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"an attestation must be a JSON object, got {type(data).__name__}")
        try:
            signals = data["public_signals"]
            if not isinstance(signals, list) or not isinstance(data["proof"], dict):
                raise ValueError("proof must be an object and public_signals a list")
            batch = data.get("batch")
            place = {}
            if "round" in data or "replica" in data:  # statement version 2 binds them
                place = {k: _count(data[k], k) for k in ("round", "replica")}
                if max(place.values()) >= 1 << 16:
                    raise ValueError("round and replica must be below 2**16")
            return cls(
                worker_id=str(data["worker_id"]),
                digest=str(data["digest"]),
                key_id=str(data["key_id"]),
                proof=data["proof"],
                public_signals=tuple(str(s) for s in signals),
                batch=None if batch is None else BatchPart.from_json(batch),
                **place,
            )
        except KeyError as exc:
            raise ValueError(f"an attestation lacks {exc}") from None


@dataclass(frozen=True)
class Attestation(Claim):
    """A replica's claim as settle judged it (`VerifiedResult.attestations`).

    ``valid``: its Groth16 proof verified under an accepted key with public signals bound to
    this task and digest (and it was no replay); ``agrees``: its digest equals the verified
    one; ``attest_seconds``: what the worker spent proving or waiting for its batch proof;
    ``worker_kind`` (fleet or remote: a browser tab is a remote worker), ``operator`` and
    ``adapter`` (the GPU, e.g. a browser's WebGPU adapter on SwiftShader): who ran it, as the
    orchestrator recorded the worker.
    """

    valid: bool = False
    agrees: bool = False
    attest_seconds: float | None = None
    worker_kind: str | None = None
    operator: str | None = None
    adapter: str | None = None

    @property
    def batch_id(self) -> str | None:
        """The batch whose proof covers this replica (batched attestation)."""
        return None if self.batch is None else self.batch.id

    @property
    def merkle_path(self) -> list[list] | None:
        """This replica's Merkle path into its batch root (batched attestation)."""
        return None if self.batch is None else [list(step) for step in self.batch.path]


def expected_signals(subject: Subject, version: int, claim: Claim, commitment: str) -> list[str]:
    """The public signals an honest attestation behind ``claim`` carries: its replica's own
    statement, or its batch's."""
    if claim.batch is None:
        return subject.signals(version, claim.digest, commitment, claim.round, claim.replica)
    b = claim.batch
    return statement.batch_signals(version, b.id, b.size, b.root, commitment)


def signals_hash(signals: Sequence[str]) -> str:
    """The replay guard's key for a public-signal vector."""
    return hashlib.sha256(",".join(signals).encode()).hexdigest()


def check(
    subject: Subject,
    claims: Sequence[Claim],
    accepted_keys: Mapping[str, dict],
    bound: Mapping[str, str | None],
    known: Mapping[str, str | None] | None = None,
    owners: Mapping[str, str] | None = None,
    prechecked: Callable[[str, list[tuple[Any, Any]]], set[int]] | None = None,
) -> tuple[dict[int, str | None], dict[str, str | None]]:
    """Judge each claim: None when valid, else the reason it is refused.

    Args:
        subject: what the task's replicas attest to, as the trusted side recorded it.
        accepted_keys: key id → vkey JSON of the keys accepted now.
        bound: worker id → the commitment registered for it (None: not yet bound).
        known: batch id → the verdict already recorded for that batch proof (verified once).
        owners: commitment → the worker id it is registered to (a commitment has one owner).
        prechecked: given a key id and (proof, signals) pairs, the indexes of those whose
            proof is known to verify under that key (`shardy.orchestrator.precheck`): their
            pairings are skipped, nothing else.

    Returns:
        (verdict per replica, verdict of each batch proof verified by this call).
    """
    from shardy import zk  # the models above need no prover: import it on use

    known = known or {}
    verdict: dict[int, str | None] = {}
    to_prove: dict[str, list[Claim]] = defaultdict(list)  # statement → claims resting on it
    batches: dict[str, BatchProof] = {}  # one statement per batch id: the first one seen
    for c in claims:
        label, _, signals, key = c.statement()
        reason = _shape(signals, key, accepted_keys)
        if reason is None and c.batch is not None:
            stated = c.batch_proof()
            if batches.setdefault(c.batch.id, stated) != stated:
                # else it would ride on the first claim's proof
                reason = "batch id re-used for a different statement"
        version = statement.version_of(accepted_keys[key]) if reason is None else 0
        if reason is None and len(signals) != statement.N_PUBLIC[version]:
            reason = f"public signals are not the {statement.N_PUBLIC[version]} of key {key}"
        if reason is None and c.batch is not None:
            reason = _in_batch(subject, version, c)
        if reason is None:
            commit = signals[-1]
            if list(signals) != _expected_or_none(subject, version, c, commit):
                reason = "public signals do not match the task and the attested digest"
            elif bound.get(c.worker_id) not in (None, commit):
                reason = f"commitment differs from the one registered for {c.worker_id}"
            elif (owners or {}).get(commit, c.worker_id) != c.worker_id:
                reason = f"commitment belongs to worker {owners[commit]}"
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
        done = prechecked(kid, items) if prechecked is not None else set()
        rest = [i for i in range(len(items)) if i not in done]
        failed = zk.find_invalid(accepted_keys[kid], [items[i] for i in rest]) if rest else []
        bad = {rest[j] for j in failed}
        for i, label in enumerate(labels):
            reason = "proof does not verify" if i in bad else None
            for c in to_prove[label]:
                verdict[c.replica] = reason
            if label.startswith("batch:"):
                proven[label[len("batch:") :]] = reason
    return verdict, proven


def _shape(signals: Any, key: str | None, accepted: Mapping[str, dict]) -> str | None:
    if key not in accepted:
        return f"key {key!r} is not accepted (unknown or retired)"
    if not (
        isinstance(signals, list | tuple)
        and len(signals) in statement.N_PUBLIC.values()
        and all(isinstance(s, str) and s.isdigit() and len(s) < 80 for s in signals)
    ):
        return "public signals are not 5 or 6 decimal strings"
    try:
        statement.version_of(accepted[key])
    except ProofError:
        return f"key {key!r} proves no known statement version"
    return None


def _in_batch(subject: Subject, version: int, c: Claim) -> str | None:
    """None when the replica's leaf sits at its index under the batch root."""
    b = c.batch
    assert b is not None
    if version != statement.V1 and (c.round is None or c.replica is None):
        return "a version 2 batched claim needs its round and replica"
    try:
        leaf = subject.leaf(version, c.digest, c.round, c.replica)
        root = bytes.fromhex(b.root)
    except (TypeError, ValueError, OverflowError, ProofError):
        return "batch root, digest, seed or output length is malformed"
    ok = (
        type(b.index) is int
        and type(b.size) is int
        and isinstance(b.path, list | tuple)
        and all(isinstance(st, list | tuple) and len(st) == 2 for st in b.path)
        and all(isinstance(left, bool) for left, _ in b.path)
        and merkle.verify(leaf, b.index, b.size, [tuple(st) for st in b.path], root)
    )
    return None if ok else "Merkle path does not lead from this replica to the batch root"


def _expected_or_none(subject, version, claim, commitment) -> list[str] | None:
    try:
        return expected_signals(subject, version, claim, commitment)
    except (ProofError, ValueError, TypeError):
        return None
