"""What a client gets back: a task's `VerifiedResult` with the evidence behind it, and its
`TaskStatus` while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shardy.attestations import Attestation, BatchPart


@dataclass(frozen=True)
class VerifiedResult:
    """A task's verified output and the evidence behind it."""

    task_id: str
    kernel: str
    output: np.ndarray | bytes
    digest: str
    redundancy: int
    quorum: int
    attestations: list[Attestation] = field(default_factory=list)
    #: seconds the slowest agreeing replica spent on its attestation (batching adds waiting)
    attestation_wait: float = 0.0
    #: what the result rests on: quorum, redundancy, the agreeing voters (operators), those
    #: of them past probation, and replication ``full`` or ``single`` (SHARDY_REPLICATION)
    assurance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskStatus:
    """Where a task stands: state (running | verified | dead) and replica counts."""

    task_id: str
    state: str
    replicas_sent: int
    replicas_done: int
    agreeing: int
    error: str | None
    #: replica → {"stage", "percent", "worker"} for replicas still running
    progress: dict[int, dict[str, Any]] = field(default_factory=dict)


def attestation_of(row: Any, batch: Any, worker: Any) -> Attestation:
    """A recorded ok replica (and its batch row, if batched, and its worker's row) as a judged
    `Attestation`."""
    proof, signals, part = row.proof, row.public_signals, None
    if batch is not None:
        proof, signals = batch.proof, batch.public_signals
        steps = tuple((bool(left), str(sib)) for left, sib in row.batch_path or [])
        part = BatchPart(batch.id, row.batch_index, batch.size, batch.root, steps)
    return Attestation(
        worker_id=row.worker_id,
        digest=row.digest,
        key_id=row.key_id,
        proof=proof,
        public_signals=signals,
        batch=part,
        replica=row.replica,
        valid=bool(row.proof_valid),
        agrees=row.verdict == "agree",
        attest_seconds=(row.timings or {}).get("attest"),
        worker_kind=None if worker is None else worker.kind,
        operator=None if worker is None else (worker.operator or worker.id),
        adapter=None if worker is None else (worker.adapter or None),
    )
