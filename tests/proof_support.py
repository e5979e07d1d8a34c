"""Proofs made by hand in tests, under whatever statement version a circuit proves."""

from __future__ import annotations

from shardy import statement
from shardy.statement import Subject
from shardy.zk import Circuit, prove


def task_subject(app, task_id: str) -> Subject:
    """The subject settle checks a task's attestations against (from its SQL row)."""
    from shardy.orchestrator.evidence import subject
    from shardy.store import Task

    with app.store.session() as session:
        return subject(session.get(Task, task_id))


def replica_proof(
    circuit: Circuit, subject: Subject, digest: str, secret: int, round_: int = 1, replica: int = 0
) -> tuple[dict, list[str]]:
    """A genuine proof that the holder of ``secret`` computed ``digest`` for this replica."""
    inputs = statement.replica_inputs(circuit.statement, subject, digest, secret, round_, replica)
    return prove(circuit, inputs)


def leaf(circuit: Circuit, subject: Subject, digest: str, round_: int = 1, replica: int = 0):
    """The batch leaf of one replica's claim under the circuit's statement version."""
    return subject.leaf(circuit.statement, digest, round_, replica)


def batch_proof(
    circuit: Circuit, batch_id: str, size: int, root: str, secret: int
) -> tuple[dict, list[str]]:
    """A genuine batch proof over ``size`` leaves under ``root``."""
    return prove(circuit, statement.batch_inputs(circuit.statement, batch_id, size, root, secret))


def enrollment_proof(
    circuit: Circuit, task_id: str, digest: str, secret: int
) -> tuple[dict, list[str]]:
    """A genuine enrollment proof (`shardy.enrollment.enrollment_statement`'s task and digest;
    no order: version 2 puts 0 where the order hash goes)."""
    subject = Subject(task_id, 0, 0, enrollment=True)
    return prove(circuit, statement.replica_inputs(circuit.statement, subject, digest, secret))


def digest_signals(circuit: Circuit, digest: str) -> dict[int, str]:
    """Where a replica statement's public signals carry ``digest`` (index → value): v1's top
    248 bits at 3, v2's two 128-bit halves at 3 and 4."""
    if circuit.statement == statement.V1:
        from shardy.zk import digest_to_field

        return {3: str(digest_to_field(digest))}
    hi, lo = statement.digest_halves(digest)
    return {3: str(hi), 4: str(lo)}
