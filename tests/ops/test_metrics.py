"""The Prometheus exporter: exact values from real SQL rows and queues, and a scrape over HTTP."""

from __future__ import annotations

import uuid

import pytest
from cluster_support import make_settings
from ops_support import free_port, http_get
from prometheus_client.parser import text_string_to_metric_families

from shardy.celery_app import GPU_QUEUE, ShardyCelery
from shardy.ops.metrics import render, serve_metrics
from shardy.orchestrator.timer import PROOF_VERIFY_SECONDS, SharedHistogram
from shardy.store import DeadLetter, Replica, Task, Worker


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a scrape, parsed by prometheus_client's own parser."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed[(name, frozenset(labels.items()))]


def task_row(state: str, sent: int) -> Task:
    return Task(
        id=str(uuid.uuid4()), kernel="histogram", seed=0, output_len=256, params={},
        payload_sha256="0" * 64, payload_size=4, redundancy=3, quorum=2, max_replicas=6,
        replicas_sent=sent, state=state,
    )  # fmt: skip


def replica_row(task: Task, n: int, status: str, verdict: str, worker: str) -> Replica:
    return Replica(
        task_id=task.id, replica=n, round=0, status=status, verdict=verdict, worker_id=worker
    )


def test_collector_reports_exact_values_from_sql_and_queues(bare_app):
    verified, dead, running = task_row("verified", 3), task_row("dead", 6), task_row("running", 3)
    with bare_app.store.session() as s:
        s.add_all([verified, dead, running])
        s.flush()
        s.add_all([
            replica_row(verified, 0, "ok", "agree", "gpu0@h"),
            replica_row(verified, 1, "ok", "agree", "gpu1@h"),
            replica_row(verified, 2, "ok", "disagree", "evil@h"),
            replica_row(dead, 0, "ok", "invalid", "evil@h"),
            replica_row(dead, 1, "failed", "none", "gpu0@h"),
            replica_row(running, 0, "ok", "none", "gpu1@h"),
        ])  # fmt: skip
        s.add_all([
            Worker(id="gpu0@h", adapter="llvmpipe", reputation=0.9, agreed=5),
            Worker(id="evil@h", adapter="lavapipe", reputation=0.1, disagreed=1, invalid=1),
            DeadLetter(id=str(uuid.uuid4()), kind="task", task_id=dead.id, reason="no quorum"),
        ])  # fmt: skip
    with bare_app.producer_or_acquire() as producer:  # one order waiting, no worker to take it
        producer.publish(
            {"x": 1},
            exchange="shardy",
            routing_key=GPU_QUEUE,
            serializer="json",
            declare=[q for q in bare_app.amqp.queues.values() if q.name == GPU_QUEUE],
        )
    parsed = samples(render(bare_app))

    assert value(parsed, "shardy_tasks", state="verified") == 1
    assert value(parsed, "shardy_tasks", state="dead") == 1
    assert value(parsed, "shardy_tasks", state="pending") == 0
    assert value(parsed, "shardy_quorum_failures_total") == 1
    assert value(parsed, "shardy_byzantine_detections_total", verdict="disagree") == 1
    assert value(parsed, "shardy_byzantine_detections_total", verdict="invalid") == 1
    assert value(parsed, "shardy_replicas_total", status="failed") == 1
    assert value(parsed, "shardy_replicas_in_flight") == 12 - 6
    assert value(parsed, "shardy_dead_letters_total", kind="task") == 1
    assert value(parsed, "shardy_worker_reputation", worker="evil@h", adapter="lavapipe") == 0.1
    assert value(parsed, "shardy_worker_replicas_total", worker="evil@h", outcome="invalid") == 1
    assert value(parsed, "shardy_worker_replicas_total", worker="gpu0@h", outcome="agreed") == 5
    assert value(parsed, "shardy_queue_depth", queue=GPU_QUEUE) == 1
    assert value(parsed, "shardy_queue_depth", queue="shardy.control") == 0
    assert value(parsed, "shardy_dlq_depth") == 0
    for source in ("sql", "broker", "redis"):
        assert value(parsed, "shardy_metrics_source_up", source=source) == 1


def test_shared_histogram_counts_across_clients_and_refuses_bad_buckets(bare_app):
    hist = SharedHistogram("t_seconds", "test", buckets=(0.01, 0.1), key="shardy:test:hist")
    hist.observe(0.005, bare_app.redis)
    hist.observe(0.05, bare_app.redis)
    with hist.time(bare_app.redis):
        pass
    hist.observe(7.0, bare_app.redis)
    hist.observe_many([0.002, 0.003, 0.5], bare_app.redis)  # one round trip for several
    hist.observe_many([], bare_app.redis)
    family = hist.collect_from(bare_app.redis)
    got = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert got[("t_seconds_bucket", "0.01")] == 4
    assert got[("t_seconds_bucket", "0.1")] == 5
    assert got[("t_seconds_bucket", "+Inf")] == 7
    assert got[("t_seconds_count", None)] == 7
    assert got[("t_seconds_sum", None)] == pytest.approx(7.56, abs=0.01)
    with pytest.raises(ValueError):
        SharedHistogram("bad", "bad", buckets=(0.1, 0.01), key="k")


def test_unreachable_broker_is_reported_not_raised(home):
    # nothing listens on this 127.0.0.1 port: the broker and Redis sources are down, SQL is up
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = ShardyCelery(make_settings(home, broker_url=url))
    app.conf.broker_connection_timeout = 2
    parsed = samples(render(app))
    assert value(parsed, "shardy_metrics_source_up", source="sql") == 1
    assert value(parsed, "shardy_metrics_source_up", source="broker") == 0
    assert value(parsed, "shardy_metrics_source_up", source="redis") == 0
    assert value(parsed, "shardy_tasks", state="verified") == 0
    app.store.close()


@pytest.mark.cluster
def test_scrape_over_http_on_a_real_cluster(ops_cluster):
    for i in range(2):
        ops_cluster.client.submit("histogram", bytes([i]) * 2048).get(timeout=120)
    redis = ops_cluster.app.redis
    server, thread = serve_metrics(ops_cluster.app, 0)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        before = samples(http_get(url))
        PROOF_VERIFY_SECONDS.observe(0.003, redis)
        PROOF_VERIFY_SECONDS.observe(20.0, redis)
        parsed = samples(http_get(url))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

    assert value(parsed, "shardy_tasks", state="verified") >= 2
    for i in range(2):
        worker = f"gpu{i}@{ops_cluster.cluster.host}"
        rep = [v for (n, lab), v in parsed.items()
               if n == "shardy_worker_reputation" and ("worker", worker) in lab]  # fmt: skip
        assert len(rep) == 1 and 0 <= rep[0] <= 1
        assert value(parsed, "shardy_worker_replicas_total", worker=worker, outcome="agreed") >= 2
    assert value(parsed, "shardy_byzantine_detections_total", verdict="disagree") == 0
    assert value(parsed, "shardy_replicas_in_flight") >= 0
    assert value(parsed, "shardy_dlq_depth") == 0
    assert GPU_QUEUE in {dict(lab).get("queue") for (n, lab) in parsed if n == "shardy_queue_depth"}
    count = "shardy_proof_verify_seconds_count"
    assert value(parsed, count) - value(before, count) >= 2
    le = "shardy_proof_verify_seconds_bucket"
    assert value(parsed, le, le="0.005") - value(before, le, le="0.005") >= 1
    assert value(parsed, le, le="+Inf") == value(parsed, count)
    assert ("process_cpu_seconds_total", frozenset()) in parsed  # the exporter's own process
    for source in ("sql", "broker", "redis"):
        assert value(parsed, "shardy_metrics_source_up", source=source) == 1
