"""Opening the state store: engine, sessions and migrations to the current schema."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shardy.errors import StoreError

K = TypeVar("K")
V = TypeVar("V")

MIGRATIONS = Path(__file__).with_name("migrations")


class Store:
    """A migrated database and its session factory.

    Args:
        url: SQLAlchemy URL (``sqlite:///…`` or ``postgresql+psycopg://…``).
        migrate: run Alembic migrations to head on open (serialised across processes).
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            if migrate:
                self.migrate()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the state store {_safe(url)}: {exc}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        readonly = self.engine.execution_options(shardy_readonly=True)
        self.readers = sessionmaker(readonly, expire_on_commit=False)

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration."""
        with _migration_lock(self.engine), self.engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction, committed on success and rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session: on SQLite it never takes the write lock (WAL snapshot)."""
        with self.readers() as session:
            yield session

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite databases (writes are serialised by the file lock)."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL: readers never block the writer
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # writers take the lock up front (no upgrade deadlocks); readers not
            if conn.get_execution_options().get("shardy_readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                _begin_immediate(conn)

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True)


#: How long a writer polls for SQLite's write lock before the busy handler takes over.
LOCK_POLL_SECONDS = 30.0


def _begin_immediate(conn: Connection) -> None:
    """BEGIN IMMEDIATE, polling for the write lock every 0.1–2 ms.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a writer
    that finds the lock held for a millisecond often waits 8–18 ms; with many short writers
    (clients submitting, settle) that wait, not the work, set the submit latency. Polling
    finely keeps the wait near the holder's transaction time. After LOCK_POLL_SECONDS the
    plain statement (and the 30 s busy timeout) decides.
    """
    raw = conn.connection.dbapi_connection
    deadline, delay = time.monotonic() + LOCK_POLL_SECONDS, 1e-4
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    break  # not contention: let SQLAlchemy raise it below
            time.sleep(delay)
            delay = min(delay * 2, 2e-3)
    finally:
        raw.execute("PRAGMA busy_timeout=30000")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations across processes (file lock for SQLite, advisory lock for PG)."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:":
            yield
            return
        with open(db + ".migrate.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(72616873)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(72616873)"))
                conn.commit()
    else:
        yield


def _safe(url: str) -> str:
    from shardy.config import redact_url

    return redact_url(url)


def read_once(
    session: Session, name: str, keys: Iterable[K], read: Callable[[list[K]], Mapping[K, V]]
) -> dict[K, V]:
    """``keys`` → their rows, each key read at most once in ``session`` (``read(missing)``
    returns the rows found; a key without one is remembered as absent). Within one write
    transaction this is what reading again would return: the rows are the session's own
    objects, changes included; rows the session adds are the caller's to merge."""
    cache = session.info.setdefault(f"read_once:{name}", {})
    wanted = list(dict.fromkeys(keys))  # once: ``keys`` may be an iterator
    missing = [k for k in wanted if k not in cache]
    if missing:
        found = read(missing)
        cache.update((k, found.get(k)) for k in missing)
    return {k: cache[k] for k in wanted if cache[k] is not None}


def columns_of(row: Any) -> dict[str, Any]:
    """The column values set on a new (transient) ORM row, for a bulk insert
    (``session.execute(insert(Model), [...])``): what its flush would insert; columns left
    unset take their defaults."""
    return {c.key: row.__dict__[c.key] for c in type(row).__table__.columns
            if c.key in row.__dict__}  # fmt: skip
