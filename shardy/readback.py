"""Reading a task back for its `shardy.api.TaskHandle`: the store queries (each built once:
building one costs about as much as running it) and the verified result made from them."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np
from sqlalchemy import bindparam, select

from shardy.blobs import BlobRef
from shardy.errors import IntegrityError
from shardy.kernels import catalog
from shardy.results import VerifiedResult, attestation_of


@functools.cache
def task_query() -> Any:
    """A task's row by id."""
    from shardy.store import Task

    return select(Task).where(Task.id == bindparam("task"))


@functools.cache
def state_query() -> Any:
    """A task's state and error by id: a look that only needs to know whether the task is
    decided yet."""
    from shardy.store import Task

    return select(Task.state, Task.error).where(Task.id == bindparam("task"))


@functools.cache
def evidence_query() -> Any:
    """A task's row with each of its replicas, their batch proofs and their workers, in one
    query (a row per replica; one with no replica columns before any is recorded)."""
    from shardy.store import AttestationBatch, Replica, Task, Worker

    return (
        select(Task, Replica, AttestationBatch, Worker)
        .outerjoin(Replica, Replica.task_id == Task.id)
        .outerjoin(AttestationBatch, AttestationBatch.id == Replica.batch_id)
        .outerjoin(Worker, Worker.id == Replica.worker_id)
        .where(Task.id == bindparam("task"))
        .order_by(Replica.replica)
    )


def verified_result(app: Any, task: Any, joined: list[tuple[Any, Any, Any]]) -> VerifiedResult:
    """The verified result of ``task`` from its row and ``joined``: each replica with its
    batch proof and its worker (`evidence_query`).

    Raises:
        IntegrityError: the stored output does not hash to the verified digest.
    """
    rows = [r for r, _, _ in joined]
    batches = {b.id: b for _, b, _ in joined if b is not None}
    workers = {w.id: w for _, _, w in joined if w is not None}
    data = app.blobs.get(BlobRef(task.output_sha256, task.output_size))
    if hashlib.sha256(data).hexdigest() != task.digest:  # never hand out another output
        raise IntegrityError(
            f"task {task.id}: the stored output does not hash to the verified digest "
            f"{task.digest}; the result store was tampered with, do not use it"
        )
    kernel = catalog.lookup(app, task.kernel)
    if kernel.spec is not None:  # a shipped kernel: values of its typed output
        output = kernel.spec.unpack_output(data, task.params)
    else:
        plan = kernel.make_plan(task.payload_size, task.params, task.seed)
        output = np.frombuffer(data, dtype=plan.dtype)
        if plan.shape is not None:
            output = output.reshape(plan.shape)
    return VerifiedResult(
        task_id=task.id,
        kernel=task.kernel,
        output=output,
        digest=task.digest,
        redundancy=task.redundancy,
        quorum=task.quorum,
        attestations=[
            attestation_of(r, batches.get(r.batch_id), workers.get(r.worker_id))
            for r in rows
            if r.status == "ok"
        ],
        attestation_wait=max(
            ((r.timings or {}).get("attest", 0.0) for r in rows if r.verdict == "agree"),
            default=0.0,
        ),
        assurance=dict(task.assurance or {}),
    )
