import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cluster_support import reset_database
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from shardy.store import Base, Replica, Store, Task

PG = os.environ.get("SHARDY_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        if not PG:
            pytest.skip("SHARDY_TEST_DATABASE_URL not set (no PostgreSQL to test against)")
        reset_database(PG)
        s = Store(PG)
    else:
        s = Store(f"sqlite:///{tmp_path}/t.db")
    yield s
    s.close()


def _task(task_id="t1"):
    return Task(
        id=task_id, kernel="histogram", seed=1, output_len=1024, params={}, payload_sha256="0" * 64,
        payload_size=3, redundancy=3, quorum=2, max_replicas=6, replicas_sent=3, rounds_sent=1,
        rounds_settled=0, state="running", agreeing=0, published=False,
    )  # fmt: skip


def test_migration_matches_the_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert {"tasks", "replicas", "workers", "dead_letters"} <= set(
        inspect(store.engine).get_table_names()
    )


def test_migrate_twice_is_a_no_op(store):
    store.migrate()
    store.migrate()


def test_replica_index_is_unique_per_task(store):
    with store.session() as s:
        s.add(_task())
    with store.session() as s:
        s.add(Replica(task_id="t1", replica=0, round=1, status="ok", worker_id="w", verdict="none"))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(
            Replica(task_id="t1", replica=0, round=1, status="ok", worker_id="w2", verdict="none")
        )
    with store.session() as s:
        assert s.get(Task, "t1").params == {}


def test_sqlite_runs_in_wal_mode(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/w.db")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.close()


def test_readers_do_not_wait_for_a_writer(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/r.db")
    with s.session() as w:
        w.add(_task("t9"))
    with s.session() as writer:  # holds SQLite's write lock until the block ends
        writer.get(Task, "t9").state = "verified"
        writer.flush()
        with s.read() as reader:  # a snapshot read, not blocked (and not blocking)
            assert reader.get(Task, "t9").state == "running"
    with s.read() as reader:
        assert reader.get(Task, "t9").state == "verified"
    s.close()


def test_read_once_reads_each_key_once_per_session(store):
    """`read_once`: a key is read at most once in a session, an absent one remembered as
    absent; another session reads afresh."""
    from shardy.store.db import read_once

    asked: list[list[str]] = []

    def read(keys: list[str]) -> dict[str, str]:
        asked.append(keys)
        return {k: k.upper() for k in keys if k != "gone"}

    with store.session() as s:
        assert read_once(s, "t", ["a", "gone"], read) == {"a": "A"}
        assert read_once(s, "t", ["gone", "a", "b", "b"], read) == {"a": "A", "b": "B"}
        assert read_once(s, "other", ["a"], read) == {"a": "A"}  # its own name, its own cache
        assert read_once(s, "t", iter(["b", "c"]), read) == {"b": "B", "c": "C"}  # an iterator
    with store.session() as s:
        assert read_once(s, "t", ["a"], read) == {"a": "A"}
    assert asked == [["a", "gone"], ["b"], ["a"], ["c"], ["a"]]


def test_columns_of_a_new_row_bulk_inserts_as_its_flush_would(store):
    """`columns_of`: the columns set on a new row (None included); unset ones take their
    defaults when the rows are bulk-inserted."""
    from sqlalchemy import insert, select

    from shardy.store.db import columns_of

    plain, marked = _task("c1"), _task("c2")
    marked.assurance, marked.platform = {"spot_twin": {"task": "c1", "digest": "ab"}}, None
    assert "assurance" not in columns_of(plain) and "created_at" not in columns_of(plain)
    assert columns_of(marked)["platform"] is None
    with store.session() as s:
        s.execute(insert(Task), [columns_of(plain), columns_of(marked)])
    with store.read() as s:
        rows = {t.id: t for t in s.scalars(select(Task))}
    assert rows["c1"].assurance is None and rows["c1"].created_at is not None
    assert rows["c2"].assurance == {"spot_twin": {"task": "c1", "digest": "ab"}}
    assert rows["c2"].sweeps == 0 and rows["c2"].params == {}
