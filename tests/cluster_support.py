"""Test support shared by the cluster tests: short data dirs, settings, real clusters."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from shardy.api import Client
from shardy.config import Settings
from shardy.ops.cluster import Cluster
from shardy.results import VerifiedResult

TESTS_DIR = Path(__file__).resolve().parent
REDIS_URL = os.environ.get("SHARDY_TEST_REDIS_URL")
AMQP_URL = os.environ.get("SHARDY_TEST_AMQP_URL")
DATABASE_URL = os.environ.get("SHARDY_TEST_DATABASE_URL")

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")


def short_home() -> Path:
    """A fresh data dir with a path short enough for a unix socket."""
    return Path(tempfile.mkdtemp(prefix="shy", dir="/tmp"))


def payload(n: int, seed: int = 0) -> bytes:
    """``n`` random bytes, the same for the same seed."""
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def oracle(kernel: str, data: bytes, params: dict | None = None) -> np.ndarray:
    """A registered kernel's reference output for ``data`` (seed 0)."""
    from shardy.kernels import registry

    k = registry.get(kernel)
    return k.reference(data, k.resolve_params(params), 0)


def make_settings(home: Path, **overrides: object) -> Settings:
    """Settings for a test cluster: fast retries and redelivery, defaults otherwise."""
    base = {
        "home": home,
        "retry_max": 2,
        "backoff_base": 0.2,
        "backoff_max": 2.0,
        "task_time_limit": 60,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def with_votes(
    client: Client, res: VerifiedResult, count: int, timeout: float = 120.0
) -> VerifiedResult:
    """``res`` read again once ``count`` attestations are recorded: an early quorum verifies a
    task before its slowest replicas (a round still open `grace` after its first arrival),
    whose votes settle records as they come."""
    deadline = time.monotonic() + timeout
    while len(res.attestations) < count and time.monotonic() < deadline:
        time.sleep(0.25)
        res = client.handle(res.task_id).get(timeout=timeout)
    assert len(res.attestations) >= count, f"{len(res.attestations)} of {count} votes recorded"
    return res


class RunningCluster:
    """A started cluster plus a client bound to it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.settings = cluster.settings
        self.client = Client(cluster.settings)
        self.app = self.client.app


def importable_tests(kw: dict) -> dict:
    """``Cluster`` arguments where every worker given test modules (``worker_modules``: fault
    kernels, Byzantine behaviours, all files in tests/) can import them: tests/ is put on its
    PYTHONPATH."""
    modules = kw.get("worker_modules") or {}
    env = {i: dict(e) for i, e in (kw.get("worker_env") or {}).items()}
    path = os.pathsep.join(filter(None, (str(TESTS_DIR), os.environ.get("PYTHONPATH"))))
    for i in modules:
        env.setdefault(i, {})["PYTHONPATH"] = path
    return {**kw, "worker_env": env}


def start_cluster(settings: Settings, **kw: object) -> Iterator[RunningCluster]:
    cluster = Cluster(settings, loglevel="info", **importable_tests(kw))  # type: ignore[arg-type]
    try:
        cluster.start()
        running = RunningCluster(cluster)
        yield running
        running.client.close()
    finally:
        cluster.stop()
        if os.environ.get("SHARDY_TEST_KEEP_LOGS"):
            print(f"cluster logs kept in {cluster.logdir}")
        else:
            shutil.rmtree(settings.home, ignore_errors=True)


def publish_garbage(app, body: bytes, message_id: str) -> None:
    """Put a raw message that claims to be a Shardy task, but is not a frame, on shardy.gpu."""
    from shardy import frames
    from shardy.celery_app import GPU_QUEUE

    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="shardy",
            routing_key=GPU_QUEUE,
            content_type=frames.CONTENT_TYPE,
            content_encoding="binary",
            headers={"task": "shardy.execute", "id": message_id, "lang": "py"},
        )


def reset_database(url: str) -> None:
    """Drop Shardy's tables and Alembic's version row on a shared test database."""
    from sqlalchemy import text

    from shardy.store import Base, Store

    store = Store(url, migrate=False)
    with store.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    store.close()


def record_assignments(
    app, task_id: str, replicas, round_no: int = 1, worker_id: str | None = None,
    kind: str = "fleet", fleet: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """Record assignments as dispatch would (the trusted side's record), and register the
    ``fleet`` worker ids as fleet workers do on start, for tests that hand settle results of
    replicas dispatch never sent."""
    from shardy.orchestrator import reputation
    from shardy.store import Assignment

    with app.store.session() as s:
        for i in replicas:
            s.merge(Assignment(task_id=task_id, round=round_no, replica=i, worker_id=worker_id,
                               kind=kind))  # fmt: skip
        for wid in fleet:
            reputation.register(s, {"id": wid, "hostname": "test"})
