"""Prometheus metrics of a Shardy deployment, read from the SQL store and the broker at scrape time.

The exporter (`shardy metrics`, `serve_metrics`) is its own process, often its own container,
while proof verification runs in the orchestrator's Celery pool children. Gauges and counters
are therefore derived from the shared state at each scrape (SQL rows, queue depths), and the one
latency histogram is kept in Redis (`shardy.orchestrator.timer`), which every process of a
deployment reaches. Metric names and labels are listed in docs/operations.md ("Metrics").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shardy import routing
from shardy.celery_app import CONTROL_QUEUE, DLQ, GPU_QUEUE, ShardyCelery
from shardy.orchestrator import standing
from shardy.orchestrator.timer import PROOF_VERIFY_SECONDS, SharedHistogram
from shardy.store import DeadLetter, Replica, Task, Worker

log = logging.getLogger("shardy.metrics")

#: Task states that are always exported (0 when no task is in them).
TASK_STATES = ("pending", "running", "verified", "dead")
#: Replica verdicts that count as Byzantine detections.
BYZANTINE_VERDICTS = ("disagree", "invalid")
#: Work queues whose depth is exported (the DLQ has its own gauge).
WORK_QUEUES = (GPU_QUEUE, CONTROL_QUEUE)


class ShardyCollector(Collector):
    """Reads the SQL store, the broker and Redis on every scrape and yields Shardy's metrics.

    A source that cannot be read is reported as ``shardy_metrics_source_up{source=...} 0``
    and its metrics are left out of that scrape; the others are still exported.
    """

    def __init__(self, app: ShardyCelery, histograms: Sequence[SharedHistogram] = ()) -> None:
        self.app = app
        self.histograms = tuple(histograms) or (PROOF_VERIFY_SECONDS,)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "shardy_metrics_source_up",
            "1 when the exporter could read this source during the scrape, else 0.",
            labels=["source"],
        )
        for source, reader in (
            ("sql", self._sql),
            ("broker", self._broker),
            ("redis", self._redis),
        ):
            try:
                metrics = list(reader())
            except Exception as exc:  # noqa: BLE001 - one source down must not fail the scrape
                log.warning("metrics: cannot read %s: %s", source, exc)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from metrics
        yield up

    # ---- SQL: tasks, replicas, workers, dead letters ------------------------------------------

    def _sql(self) -> Iterator[Metric]:
        with self.app.store.session() as s:
            states = dict(s.execute(select(Task.state, func.count()).group_by(Task.state)).all())
            sent = s.scalar(select(func.coalesce(func.sum(Task.replicas_sent), 0))) or 0
            by_status = dict(
                s.execute(select(Replica.status, func.count()).group_by(Replica.status)).all()
            )
            by_verdict = dict(
                s.execute(select(Replica.verdict, func.count()).group_by(Replica.verdict)).all()
            )
            letters = dict(
                s.execute(select(DeadLetter.kind, func.count()).group_by(DeadLetter.kind)).all()
            )
            workers = list(s.scalars(select(Worker).order_by(Worker.id)))
            voters = standing.listing(s, self.app.settings)

        tasks = GaugeMetricFamily("shardy_tasks", "Tasks by state.", labels=["state"])
        for state in sorted({*TASK_STATES, *states}):
            tasks.add_metric([state], states.get(state, 0))
        yield tasks
        yield CounterMetricFamily(
            "shardy_quorum_failures",
            "Tasks that ended dead: quorum not reached within SHARDY_MAX_REPLICAS.",
            value=states.get("dead", 0),
        )
        byz = CounterMetricFamily(
            "shardy_byzantine_detections",
            "Replicas caught misbehaving: digest outvoted (disagree) or attestation refused "
            "(invalid).",
            labels=["verdict"],
        )
        for verdict in BYZANTINE_VERDICTS:
            byz.add_metric([verdict], by_verdict.get(verdict, 0))
        yield byz
        replicas = CounterMetricFamily(
            "shardy_replicas", "Replica results settle recorded, by status.", labels=["status"]
        )
        for status in sorted({"ok", "failed", "skipped", *by_status}):
            replicas.add_metric([status], by_status.get(status, 0))
        yield replicas
        yield GaugeMetricFamily(
            "shardy_replicas_in_flight",
            "Replicas dispatched whose result settle has not recorded yet.",
            value=max(0, int(sent) - sum(by_status.values())),
        )
        dead = CounterMetricFamily(
            "shardy_dead_letters", "Dead-letter audit records, by kind.", labels=["kind"]
        )
        for kind in sorted({"replica", "task", "malformed", *letters}):
            dead.add_metric([kind], letters.get(kind, 0))
        yield dead
        yield from _worker_metrics(workers)
        yield from _voter_metrics(voters)

    # ---- broker: queue depths --------------------------------------------------------------

    def _broker(self) -> Iterator[Metric]:
        work = (*WORK_QUEUES, *routing.direct_queues(self.app.redis))  # + live workers' own
        depth = routing.queue_depths(self.app, (*work, DLQ))
        queues = GaugeMetricFamily(
            "shardy_queue_depth", "Messages waiting in a work queue.", labels=["queue"]
        )
        for q in work:
            queues.add_metric([q], depth[q])
        yield queues
        yield GaugeMetricFamily(
            "shardy_dlq_depth", f"Messages in the dead-letter queue {DLQ}.", value=depth[DLQ]
        )

    # ---- Redis: shared histograms ----------------------------------------------------------

    def _redis(self) -> Iterator[Metric]:
        for hist in self.histograms:
            yield hist.collect_from(self.app.redis)


def _worker_metrics(workers: list[Worker]) -> Iterator[Metric]:
    rep = GaugeMetricFamily(
        "shardy_worker_reputation",
        "A worker's reputation in [0, 1] (orchestrator/reputation.py).",
        labels=["worker", "adapter"],
    )
    verdicts = CounterMetricFamily(
        "shardy_worker_replicas",
        "A worker's replicas by outcome: agreed, disagreed, invalid (attestation refused), failed.",
        labels=["worker", "outcome"],
    )
    seen = GaugeMetricFamily(
        "shardy_worker_last_seen_timestamp_seconds",
        "When the orchestrator last heard from a worker (Unix time).",
        labels=["worker"],
    )
    for w in workers:
        rep.add_metric([w.id, w.adapter or ""], float(w.reputation))
        for outcome, value in (
            ("agreed", w.agreed),
            ("disagreed", w.disagreed),
            ("invalid", w.invalid),
            ("failed", w.replicas_failed),
        ):
            verdicts.add_metric([w.id, outcome], value or 0)
        if w.last_seen is not None:
            seen.add_metric([w.id], w.last_seen.timestamp())
    yield rep
    yield verdicts
    yield seen


def registry_for(app: ShardyCelery, *, process: bool = True) -> CollectorRegistry:
    """A registry with the Shardy collector (and the exporter's own process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShardyCollector(app))
    if process:
        ProcessCollector(registry=registry)
    return registry


def render(app: ShardyCelery) -> str:
    """One scrape in the Prometheus text format (``shardy metrics --once``, tests)."""
    return generate_latest(registry_for(app, process=False)).decode()


def serve_metrics(app: ShardyCelery, port: int, addr: str = "127.0.0.1") -> tuple[Any, Any]:
    """Serve ``/metrics`` over HTTP in a daemon thread; returns at once.

    Args:
        app: the Shardy Celery app (its settings name the database, broker and Redis).
        port: TCP port; 0 picks a free one (read it from ``server.server_port``).
        addr: interface to bind; keep 127.0.0.1 unless the port is firewalled or proxied.
    Returns:
        ``(server, thread)``: call ``server.shutdown()`` to stop, or ``thread.join()`` to
        serve until the process ends.
    """
    from prometheus_client import start_http_server

    return start_http_server(port, addr=addr, registry=registry_for(app))


def _voter_metrics(voters: list[dict]) -> Iterator[Metric]:
    score = GaugeMetricFamily(
        "shardy_voter_standing",
        "A voter's (operator's) decayed standing score in [0, 1] (orchestrator/standing.py).",
        labels=["voter", "state"],
    )
    quarantined = GaugeMetricFamily(
        "shardy_voters_quarantined", "Voters quarantined: no orders, votes ignored."
    )
    for v in voters:
        score.add_metric([v["voter"], v["state"]], v["score"])
    quarantined.add_metric([], sum(v["state"] == "quarantined" for v in voters))
    yield score
    yield quarantined
