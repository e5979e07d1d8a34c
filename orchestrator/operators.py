"""Operators and remote workers in SQL: create and revoke operators, enroll a worker (bind its
operator, signing key and commitment), and look a worker up when it opens a session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shardy import attestations, enrollment
from shardy.errors import AuthError, ConfigError, ProofError
from shardy.statement import Subject
from shardy.store import Operator, Worker
from shardy.store.models import utcnow

#: Redis channel on which revocations are announced (gateways close those sessions).
REVOKED_CHANNEL = "shardy:revoked"


def add(session: Session, name: str) -> enrollment.Token:
    """Create operator ``name``; returns its enrollment token (shown once, stored hashed).

    Raises:
        ConfigError: the name is malformed or taken.
    """
    if not enrollment.OPERATOR_NAME.match(name or ""):
        raise ConfigError(
            f"operator name {name!r}: use 1-63 of a-z, 0-9, '_' and '-', starting with a "
            "letter or digit"
        )
    if session.scalars(select(Operator).where(Operator.name == name)).first() is not None:
        raise ConfigError(f"an operator named {name!r} exists; `shardy operators list`")
    token = enrollment.new_token(str(uuid.uuid4()))
    session.add(Operator(id=token.operator_id, name=name, token_hash=token.hash))
    return token


def listing(session: Session) -> list[dict[str, Any]]:
    """Every operator: name, id, created, revoked, and its enrolled workers."""
    counts = dict(
        session.execute(
            select(Worker.operator, func.count()).where(Worker.kind == "remote")
            .group_by(Worker.operator)
        ).all()
    )  # fmt: skip
    return [
        {
            "name": o.name,
            "id": o.id,
            "created_at": o.created_at.isoformat(),
            "revoked_at": o.revoked_at and o.revoked_at.isoformat(),
            "workers": counts.get(o.name, 0),
        }  # fmt: skip
        for o in session.scalars(select(Operator).order_by(Operator.created_at))
    ]


def revoke(session: Session, name: str) -> list[str]:
    """Revoke an operator (by name) or one worker (by id), and every worker of the operator.

    Returns:
        the ids of the workers revoked (their sessions must be closed; announce them on
        `REVOKED_CHANNEL`).

    Raises:
        ConfigError: no operator or worker has that name.
    """
    now = utcnow()
    op = session.scalars(select(Operator).where(Operator.name == name)).first()
    if op is not None:
        op.revoked_at = op.revoked_at or now
        workers = list(session.scalars(select(Worker).where(Worker.operator == op.name)))
    else:
        worker = session.get(Worker, name)
        if worker is None:
            raise ConfigError(f"no operator or worker named {name!r}; `shardy operators list`")
        workers = [worker]
    for w in workers:
        w.revoked_at = w.revoked_at or now
    return [w.id for w in workers]


@dataclass(frozen=True)
class EnrollRequest:
    """What a worker sends to enroll (see `shardy.enrollment`)."""

    token: str
    public_key: str
    commitment: str
    #: its signature of `enrollment.enroll_message` over the server's nonce
    signature: str
    #: a Groth16 proof of `enrollment.enrollment_statement` under an accepted key
    key_id: str
    proof: Any
    public_signals: Any

    @classmethod
    def from_json(cls, data: Any) -> EnrollRequest:
        """Parse; raises AuthError naming what is missing."""
        if not isinstance(data, dict):
            raise AuthError("an enrollment request must be a JSON object")
        fields = ("token", "public_key", "commitment", "signature", "key_id")
        if not all(isinstance(data.get(f), str) and len(data[f]) <= 256 for f in fields):
            raise AuthError(f"an enrollment request needs the strings {', '.join(fields)}")
        return cls(**{f: data[f] for f in fields}, proof=data.get("proof"),
                   public_signals=data.get("public_signals"))  # fmt: skip


def enroll(
    session: Session, req: EnrollRequest, nonce: str, accepted_keys: dict[str, dict]
) -> Worker:
    """Check an enrollment and bind (operator, worker key, commitment). Idempotent for the same
    key and commitment; the worker's id derives from its key.

    Raises:
        AuthError: unknown or revoked token, bad signature or proof, or a key or commitment
            already bound elsewhere (the message says which).
    """
    token = enrollment.parse_token(req.token)
    op = session.get(Operator, token.operator_id)
    if op is None or not token.matches(op.token_hash):
        raise AuthError("unknown enrollment token; ask the operator for a current one")
    if op.revoked_at is not None:
        raise AuthError(f"operator {op.name!r} is revoked; its tokens enroll nobody")
    if not enrollment.is_public_key(req.public_key) or not req.commitment.isdigit():
        raise AuthError("the public key must be 64 hex characters and the commitment decimal")
    message = enrollment.enroll_message(op.id, nonce, req.public_key, req.commitment)
    if not enrollment.verify(req.public_key, message, req.signature):
        raise AuthError("the enrollment signature does not verify for this key and nonce")
    _check_secret_proof(req, nonce, accepted_keys)
    wid = enrollment.worker_id(req.public_key, op.name)
    by_key = session.scalars(select(Worker).where(Worker.public_key == req.public_key)).first()
    if by_key is not None and by_key.id != wid:
        raise AuthError(f"this signing key is enrolled as {by_key.id}")
    owner = session.scalars(select(Worker).where(Worker.commitment == req.commitment)).first()
    if owner is not None and owner.id != wid:
        raise AuthError("this attestation commitment belongs to another worker")
    worker = session.get(Worker, wid) or by_key
    if worker is None:
        worker = Worker(id=wid, kind="remote", operator=op.name, public_key=req.public_key,
                        commitment=req.commitment, replicas_ok=0, replicas_failed=0, agreed=0,
                        disagreed=0, invalid=0, reputation=0.5)  # fmt: skip
        session.add(worker)
    elif worker.revoked_at is not None:
        raise AuthError(f"worker {wid} is revoked")
    elif worker.commitment != req.commitment:
        raise AuthError(f"worker {wid} is enrolled with another commitment")
    worker.last_seen = utcnow()
    return worker


def _check_secret_proof(req: EnrollRequest, nonce: str, accepted: dict[str, dict]) -> None:
    """The worker proves it holds the secret behind its commitment (attestation circuit)."""
    task_id, digest = enrollment.enrollment_statement(nonce, req.public_key, req.commitment)
    claim = attestations.Claim("enrolling", digest, req.key_id, req.proof, req.public_signals,
                               replica=0)  # fmt: skip
    try:
        subject = Subject(task_id, 0, 0, enrollment=True)
        verdicts, _ = attestations.check(subject, [claim], accepted, bound={})
    except ProofError as exc:
        raise AuthError(f"the enrollment proof is malformed: {exc}") from exc
    if verdicts[0] is not None:
        raise AuthError(f"the enrollment proof is refused: {verdicts[0]}")
    if str(req.public_signals[-1]) != req.commitment:
        raise AuthError("the enrollment proof is for another commitment")


def session_worker(session: Session, public_key: str) -> Worker:
    """The enrolled, unrevoked remote worker with this key.

    Raises:
        AuthError: no such worker, or it or its operator is revoked.
    """
    if not enrollment.is_public_key(public_key):
        raise AuthError("the session key must be 64 hex characters")
    worker = session.scalars(select(Worker).where(Worker.public_key == public_key)).first()
    if worker is None or worker.kind != "remote":
        raise AuthError("this key is not enrolled; enroll with an operator's token first")
    op = session.scalars(select(Operator).where(Operator.name == worker.operator)).first()
    if worker.revoked_at is not None or op is None or op.revoked_at is not None:
        raise AuthError(f"worker {worker.id} or its operator is revoked")
    return worker
