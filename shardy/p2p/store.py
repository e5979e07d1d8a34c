"""The sidecar's own table: every verified record it accepted, in ``<data dir>/p2p.db`` (SQLite)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Float,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shardy.errors import P2PError
from shardy.p2p.record import VerifiedRecord

#: File name of the table inside the data dir.
DB_FILE = "p2p.db"


class _Base(DeclarativeBase):
    pass


class SeenRecord(_Base):
    """One accepted record (first copy wins; re-publications are ignored)."""

    __tablename__ = "p2p_records"
    __table_args__ = (UniqueConstraint("task_id", "digest", name="uq_p2p_task_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    kernel: Mapped[str] = mapped_column(String(255))
    seed: Mapped[str] = mapped_column(String(20))  # u64 does not fit SQLite's signed integer
    output_len: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    #: Distinct workers whose proofs this sidecar verified for the record.
    valid_workers: Mapped[int] = mapped_column(Integer)
    #: Base58 peer id of the publisher (this sidecar's own id for records it published).
    sender: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[float] = mapped_column(Float)
    #: The record's wire form, so it can be re-served or re-verified.
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


def _entry(row: SeenRecord) -> VerifiedEntry:
    return VerifiedEntry(
        row.task_id, row.digest, row.kernel, row.quorum, row.valid_workers, row.sender,
        row.received_at,
    )  # fmt: skip


class RecordStore:
    """The table of accepted records (SQLite in WAL mode; safe to read from other processes)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / DB_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _Base.metadata.create_all(self.engine)
        except (OSError, SQLAlchemyError) as exc:
            raise P2PError(f"cannot open the sidecar table {self.path}: {exc}") from exc

    def add(self, record: VerifiedRecord, *, sender: str, valid_workers: int, data: bytes) -> bool:
        """Store an accepted record; False when this (task, digest) is already there."""
        row = SeenRecord(
            task_id=record.task_id, digest=record.digest, kernel=record.kernel,
            seed=str(record.seed), output_len=record.output_len, quorum=record.quorum,
            valid_workers=valid_workers, sender=sender, received_at=time.time(), data=data,
        )  # fmt: skip
        with Session(self.engine) as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                return False
        return True

    def lookup(self, digest: str, task_id: str | None = None) -> list[VerifiedEntry]:
        """Records with this digest (and task id, when given)."""
        query = select(SeenRecord).where(SeenRecord.digest == digest.lower())
        if task_id is not None:
            query = query.where(SeenRecord.task_id == task_id)
        with Session(self.engine) as session:
            return [_entry(r) for r in session.scalars(query.order_by(SeenRecord.id))]

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
