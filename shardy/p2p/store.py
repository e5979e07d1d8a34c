"""The sidecar's own tables, in ``<data dir>/p2p.db`` (SQLite, WAL): every signed record it
accepted, bounded in size and age, and conflicting records kept as evidence."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    Float,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shardy.errors import P2PError
from shardy.p2p.signed import SignedRecord

#: File name of the table inside the data dir.
DB_FILE = "p2p.db"
#: Inserts between two eviction passes (a sidecar also evicts on its status timer).
_EVICT_EVERY = 64

Added = Literal["added", "duplicate", "conflict"]


class _Base(DeclarativeBase):
    pass


class SeenRecord(_Base):
    """One accepted signed record (first copy wins; re-publications are ignored)."""

    __tablename__ = "p2p_signed_records"
    __table_args__ = (UniqueConstraint("task_id", name="uq_p2p_signed_task"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    kernel: Mapped[str] = mapped_column(String(255))
    seed: Mapped[str] = mapped_column(String(20))  # u64 does not fit SQLite's signed integer
    output_len: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    #: Distinct enrolled voters whose proofs this sidecar verified for the record.
    valid_workers: Mapped[int] = mapped_column(Integer)
    #: Base58 peer id of the publisher (this sidecar's own id for records it published).
    sender: Mapped[str] = mapped_column(String(64))
    #: The orchestrator key that signed it (hex) and when (unix s).
    signer: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[float] = mapped_column(Float, index=True)
    received_at: Mapped[float] = mapped_column(Float)
    #: The signed record's wire form, so it can be re-served or re-verified.
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ConflictRecord(_Base):
    """A validly signed record for a task already stored with another digest: evidence that
    a trusted orchestrator signed two results for one task (never counted as verified)."""

    __tablename__ = "p2p_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    #: The digest stored first for the task.
    stored_digest: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class VerifiedEntry:
    """What the table answers about a (task, digest) pair."""

    task_id: str
    digest: str
    kernel: str
    quorum: int
    valid_workers: int
    sender: str
    received_at: float
    signer: str = ""
    #: Conflicting signed records kept for this task (evidence against the signer).
    conflicts: int = 0


class RecordStore:
    """The table of accepted records (SQLite in WAL mode; safe to read from other processes).

    Args:
        max_records: records kept; the oldest (by issue time) are evicted beyond it.
        max_age_s: records issued longer ago are evicted.
        max_conflicts: conflict evidence kept (the oldest is evicted beyond it).
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        max_records: int = 100_000,
        max_age_s: float = 7 * 86_400.0,
        max_conflicts: int = 10_000,
    ) -> None:
        self.path = Path(data_dir) / DB_FILE
        self.max_records, self.max_age_s, self.max_conflicts = max_records, max_age_s, max_conflicts
        self._inserts = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _Base.metadata.create_all(self.engine)
        except (OSError, SQLAlchemyError) as exc:
            raise P2PError(f"cannot open the sidecar table {self.path}: {exc}") from exc

    def screen(self, signed: SignedRecord, data: bytes) -> Literal["new", "same", "conflict"]:
        """How a record relates to the table: ``same`` (these exact bytes are stored),
        ``conflict`` (its task is stored with another digest) or ``new``."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(SeenRecord).where(SeenRecord.task_id == signed.record.task_id)
            ).first()
        if row is None:
            return "new"
        if row.digest != signed.record.digest:
            return "conflict"
        return "same" if row.data == data else "new"

    def add(self, signed: SignedRecord, *, sender: str, valid_workers: int, data: bytes) -> Added:
        """Store an accepted record: ``added``; ``duplicate`` when its (task, digest) is there
        already; ``conflict`` when its task is there with another digest (kept as evidence)."""
        r = signed.record
        row = SeenRecord(
            task_id=r.task_id, digest=r.digest, kernel=r.kernel, seed=str(r.seed),
            output_len=r.output_len, quorum=r.quorum, valid_workers=valid_workers, sender=sender,
            signer=signed.signer, issued_at=signed.issued_at_ms / 1000, received_at=time.time(),
            data=data,
        )  # fmt: skip
        with Session(self.engine) as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                stored = session.scalars(
                    select(SeenRecord.digest).where(SeenRecord.task_id == r.task_id)
                ).first()
                if stored is None or stored == r.digest:
                    return "duplicate"
                self._add_conflict(session, signed, stored, sender, data)
                return "conflict"
        self._inserts += 1
        if self._inserts % _EVICT_EVERY == 0:
            self.evict()
        return "added"

    def keep_conflict(self, signed: SignedRecord, *, sender: str, data: bytes, other: str) -> None:
        """Keep ``signed`` as evidence against a record of its task with digest ``other``
        (accepted, perhaps not stored yet); never stored as verified."""
        with Session(self.engine) as session:
            stored = session.scalars(
                select(SeenRecord.digest).where(SeenRecord.task_id == signed.record.task_id)
            ).first()
            self._add_conflict(session, signed, stored or other, sender, data)

    def _add_conflict(self, session: Session, signed: SignedRecord, stored: str, sender: str,
                      data: bytes) -> None:  # fmt: skip
        exists = session.scalars(
            select(ConflictRecord.id).where(ConflictRecord.data == data)
        ).first()
        if exists is None:
            session.add(ConflictRecord(
                task_id=signed.record.task_id, digest=signed.record.digest, stored_digest=stored,
                signer=signed.signer, sender=sender, received_at=time.time(), data=data,
            ))  # fmt: skip
            session.commit()

    def evict(self, now: float | None = None) -> int:
        """Drop records older than ``max_age_s`` and the oldest beyond ``max_records`` (and
        conflict evidence beyond ``max_conflicts``); returns the records dropped."""
        cutoff = (time.time() if now is None else now) - self.max_age_s
        with Session(self.engine) as session:
            dropped = session.execute(delete(SeenRecord).where(SeenRecord.issued_at < cutoff))
            n = dropped.rowcount or 0
            bounds = ((SeenRecord, SeenRecord.issued_at, self.max_records),
                      (ConflictRecord, ConflictRecord.received_at, self.max_conflicts))  # fmt: skip
            for model, order, keep in bounds:
                edge = session.scalars(
                    select(order).order_by(order.desc(), model.id.desc()).offset(keep).limit(1)
                ).first()
                if edge is not None:
                    res = session.execute(delete(model).where(order <= edge))
                    n += (res.rowcount or 0) if model is SeenRecord else 0
            session.commit()
        return n

    def lookup(self, digest: str, task_id: str | None = None) -> list[VerifiedEntry]:
        """Records with this digest (and task id, when given), with their conflict counts."""
        query = select(SeenRecord).where(SeenRecord.digest == digest.lower())
        if task_id is not None:
            query = query.where(SeenRecord.task_id == task_id)
        with Session(self.engine) as session:
            rows = list(session.scalars(query.order_by(SeenRecord.id)))
            return [
                VerifiedEntry(
                    r.task_id,
                    r.digest,
                    r.kernel,
                    r.quorum,
                    r.valid_workers,
                    r.sender,
                    r.received_at,
                    r.signer,
                    self._conflicts(session, r.task_id),
                )  # fmt: skip
                for r in rows
            ]

    @staticmethod
    def _conflicts(session: Session, task_id: str) -> int:
        query = select(func.count()).where(ConflictRecord.task_id == task_id)
        return int(session.scalar(query) or 0)

    def conflicts(self, task_id: str | None = None) -> list[tuple[str, str, str, bytes]]:
        """Conflict evidence: (task id, stored digest, conflicting digest, signed wire form)."""
        query = select(ConflictRecord).order_by(ConflictRecord.id)
        if task_id is not None:
            query = query.where(ConflictRecord.task_id == task_id)
        with Session(self.engine) as session:
            return [(c.task_id, c.stored_digest, c.digest, c.data) for c in session.scalars(query)]

    def count(self) -> int:
        """Number of records stored."""
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(SeenRecord)) or 0)

    def task_ids(self) -> set[str]:
        """Task ids of every stored record."""
        with Session(self.engine) as session:
            return set(session.scalars(select(SeenRecord.task_id)))

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def is_verified(
    data_dir: str | Path, digest: str, task_id: str | None = None
) -> list[VerifiedEntry]:
    """Answer "is digest D verified (for task T)?" from a sidecar's table (``shardy status``).

    An entry whose ``conflicts`` is non-zero was contradicted by another record its signer
    also signed: treat the result as disputed.

    Returns:
        The matching entries; empty when the sidecar has not accepted such a record.
    Raises:
        P2PError: the data dir holds no sidecar table.
    """
    path = Path(data_dir) / DB_FILE
    if not path.exists():
        raise P2PError(f"no sidecar table at {path}; start `shardy sidecar` with this data dir")
    store = RecordStore(data_dir)
    try:
        return store.lookup(digest, task_id)
    finally:
        store.close()
