"""SQLAlchemy 2 models: tasks, replicas (attestations), workers and the dead-letter audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite drops the zone on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of the Shardy schema."""


class Task(Base):
    """One submitted task and, once settled, its verified result."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: a built-in's name, or ``wgsl-<sha256>`` of a shipped kernel (`ShippedKernel`)
    kernel: Mapped[str] = mapped_column(String(80))
    seed: Mapped[int] = mapped_column(BigInteger)
    output_len: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    payload_size: Mapped[int] = mapped_column(BigInteger)
    redundancy: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    max_replicas: Mapped[int] = mapped_column(Integer)
    replicas_sent: Mapped[int] = mapped_column(Integer, default=0)
    rounds_sent: Mapped[int] = mapped_column(Integer, default=0)
    rounds_settled: Mapped[int] = mapped_column(Integer, default=0)
    #: fresh rounds the sweeper sent this task (its silence must last stale_after × 2^sweeps)
    sweeps: Mapped[int] = mapped_column(Integer, default=0)
    #: pending → running → verified | dead
    state: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    output_size: Mapped[int | None] = mapped_column(BigInteger)
    agreeing: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the last dispatch or settle of this task (the sweeper re-sends rounds stuck past it)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: a known-answer spot check's expected digest (the orchestrator's own; never a user's)
    spot_digest: Mapped[str | None] = mapped_column(String(64))
    #: how the verified result was reached: quorum, voters, established voters, spot-checked
    assurance: Mapped[dict | None] = mapped_column(JSON)
    #: the single-replica task this one re-checks in full (orchestrator/recheck.py)
    recheck_of: Mapped[str | None] = mapped_column(String(36))
    #: the voter a single-replica result rests on (adaptive replication; re-checked if it errs)
    single_voter: Mapped[str | None] = mapped_column(String(255), index=True)
    #: homogeneous redundancy: the platform class (worker adapter) every replica runs on
    platform: Mapped[str | None] = mapped_column(String(255))


class Replica(Base):
    """One replica's outcome as settle recorded it (the attestation of one worker)."""

    __tablename__ = "replicas"
    __table_args__ = (
        UniqueConstraint("task_id", "replica", name="uq_replica"),
        # the replay guard: one accepted attestation per (task, worker commitment) and per
        # public-signal vector (a re-randomised proof keeps its signals, so it is refused)
        UniqueConstraint("task_id", "commitment", name="uq_replica_commitment"),
        UniqueConstraint("signals_hash", name="uq_replica_signals"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    replica: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    #: ok | failed | skipped
    status: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str | None] = mapped_column(String(255), index=True)
    digest: Mapped[str | None] = mapped_column(String(64))
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    output_size: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    #: agree | disagree | duplicate | none (not counted)
    verdict: Mapped[str] = mapped_column(String(16), default="none")
    dead_letter_id: Mapped[str | None] = mapped_column(String(36))
    #: the attestation: key id, snarkjs proof and public signals as the worker sent them
    key_id: Mapped[str | None] = mapped_column(String(32))
    proof: Mapped[dict | None] = mapped_column(JSON)
    public_signals: Mapped[list | None] = mapped_column(JSON)
    #: True verified, False refused (reason in ``error``), None not checked (no ok result)
    proof_valid: Mapped[bool | None] = mapped_column(Boolean)
    #: set only on accepted attestations (they carry the replay guard's unique keys)
    commitment: Mapped[str | None] = mapped_column(String(80))
    signals_hash: Mapped[str | None] = mapped_column(String(64))
    #: batched attestation: the batch, this replica's leaf index and Merkle path
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)
    batch_index: Mapped[int | None] = mapped_column(Integer)
    batch_path: Mapped[list | None] = mapped_column(JSON)
    #: the worker's stage timings in seconds (fetch, preprocess, gpu, store, attest)
    timings: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Operator(Base):
    """A party that runs remote workers: its enrollment token (hashed) and standing."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: sha256 (hex) of the enrollment token's secret part; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Worker(Base):
    """A GPU worker known to the orchestrator, with its track record."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    adapter: Mapped[str] = mapped_column(String(255), default="")
    commitment: Mapped[str | None] = mapped_column(String(80))
    #: fleet (a Celery worker of the deployment's own) | remote (enrolled through a gateway)
    kind: Mapped[str] = mapped_column(String(16), default="fleet")
    #: who answers for the worker: a remote worker's operator name; a fleet worker's
    #: SHARDY_OPERATOR, else its own id (votes count once per operator, docs/security.md)
    operator: Mapped[str | None] = mapped_column(String(64), index=True)
    #: a remote worker's Ed25519 public key (hex); its id derives from it
    public_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replicas_ok: Mapped[int] = mapped_column(Integer, default=0)
    replicas_failed: Mapped[int] = mapped_column(Integer, default=0)
    agreed: Mapped[int] = mapped_column(Integer, default=0)
    disagreed: Mapped[int] = mapped_column(Integer, default=0)
    #: attestations refused (bad proof, wrong signals, replay, unknown key)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    reputation: Mapped[float] = mapped_column(Float, default=0.5)


class Standing(Base):
    """A voter's standing (an operator, or a worker with SHARDY_DISTINCT=worker): its judged
    votes decayed over time, probation and quarantine (orchestrator/standing.py)."""

    __tablename__ = "standings"

    voter: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: agreeing votes and faults (disagreements, refused attestations, failed spot checks),
    #: each decayed by SHARDY_STANDING_HALFLIFE since ``updated_at``
    good: Mapped[float] = mapped_column(Float, default=0.0)
    bad: Mapped[float] = mapped_column(Float, default=0.0)
    #: judged votes ever (probation ends after SHARDY_PROBATION_VOTES of them)
    judged: Mapped[int] = mapped_column(Integer, default=0)
    faults: Mapped[int] = mapped_column(Integer, default=0)
    #: seconds its agreeing replicas took (compute and attest), a moving average
    latency: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    quarantined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: auto | admin
    quarantined_by: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class Assignment(Base):
    """Which worker a replica was given to, recorded by dispatch before the order leaves.

    Settle accepts a result only from its assignee (for a fleet assignment, from a fleet
    worker: the shared queue and hand-backs move replicas among them); ``worker_id`` None
    means any fleet worker (the shared queue)."""

    __tablename__ = "assignments"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    replica: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: fleet | remote
    kind: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: an extra replica for a straggling round (sent alone, outside the round's chord)
    speculative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DeadLetter(Base):
    """Audit record of everything dead-lettered, and of its replay."""

    __tablename__ = "dead_letters"

    #: generated by the trusted side (settle), never taken from a worker
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: the id of the queue message a worker or gateway published for it (for `dlq replay`)
    ref: Mapped[str | None] = mapped_column(String(36), index=True)
    #: replica | task | malformed
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    replica: Mapped[int | None] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replay_note: Mapped[str | None] = mapped_column(Text)


class VerifierKey(Base):
    """A Groth16 verifying key Shardy accepts attestations under, and its rotation state."""

    __tablename__ = "verifier_keys"

    #: first 16 hex digits of the sha256 of the canonical vkey JSON
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: active (new tasks prove with it) | grace (still accepted) | retired (refused)
    state: Mapped[str] = mapped_column(String(16), index=True)
    vkey: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text, default="")
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShippedKernel(Base):
    """A kernel submitted as data (`shardy.WgslKernel`), by the sha256 of its canonical JSON."""

    __tablename__ = "kernels"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    spec: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttestationBatch(Base):
    """One batch proof (K replicas of one worker under one Merkle root), verified once."""

    __tablename__ = "attestation_batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(255))
    commitment: Mapped[str] = mapped_column(String(80))
    root: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(32))
    proof: Mapped[dict] = mapped_column(JSON)
    public_signals: Mapped[list] = mapped_column(JSON)
    signals_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: True: the proof verified; False: refused (``reason``)
    valid: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
