"""End to end on real parts: embedded Redis, real `celery worker` processes, lavapipe, SQLite."""

from __future__ import annotations

import dataclasses
import time

import kernels_faults  # noqa: F401 - registers the test-only kernels in this process too
import numpy as np
import pytest
from cluster_support import (
    make_settings,
    oracle,
    payload,
    publish_garbage,
    short_home,
    start_cluster,
    with_votes,
)
from sqlalchemy import func, select

from shardy import prechecks
from shardy.celery_app import GPU_QUEUE, VERIFIED_STREAM
from shardy.errors import KernelError, PayloadError, TaskFailed
from shardy.keyring import KEY_PREFIX, default_build, load_build
from shardy.orchestrator import dlq, keys, precheck
from shardy.orchestrator.settle import settle
from shardy.settled import Waiter
from shardy.store import Replica, Task, Worker

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    home = short_home()
    fault = home / "fault"
    # max_replicas = R: one round decides. Standing stays out of the way (a dissent by an
    # established worker would need extra replicas): tests/orchestrator/test_collusion.py
    # payloads from 512 KiB up are streamed to disk by the workers (SHARDY_STREAM_THRESHOLD).
    # No known-answer copies drawn at random: one that the byzantine gpu2 fails quarantines it
    # mid-module, and its later votes are ignored (the spot-check test makes its own clients)
    settings = make_settings(home, max_replicas=3, max_payload=1 << 20, probation_votes=10**6,
                             stream_threshold=512 * 1024, spot_check_rate=0.0)  # fmt: skip
    env = {"SHARDY_TEST_FAULT_FILE": str(fault)}
    modules = {
        0: ["kernels_faults"],
        1: ["kernels_faults"],
        2: ["kernels_faults", "kernels_byzantine"],
    }
    yield from start_cluster(
        settings, workers=3, worker_env={i: env for i in range(3)}, worker_modules=modules
    )


def test_workers_warm_up_as_they_start(cluster):
    """A fleet worker opens its GPU, loads the key and proves once as it starts (the key cache
    on disk holds the packaged key before any task named it), and the orchestrator seeded and
    published the key before any submit."""
    logs = [cluster.cluster.logdir / f"gpu{i}.log" for i in range(3)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        "warmed up in" in p.read_text(errors="replace") for p in logs
    ):
        time.sleep(0.2)
    for p in logs:
        assert "warmed up in" in p.read_text(errors="replace"), p.read_text()[-2000:]
    kid = load_build(default_build())[0]
    assert (cluster.settings.home / "keys" / kid / "attestation.zkey").is_file()
    assert cluster.app.redis.exists(KEY_PREFIX + kid)  # the orchestrator published it as it started


def test_task_is_verified_by_three_distinct_workers(cluster):
    data = payload(100_000)
    with Waiter(cluster.app.redis) as waiter:
        handle = cluster.client.submit("sha256", data, params={"block": 1000})
        assert waiter.wait(handle.id, 120)  # settle announced the decision
        res = with_votes(cluster.client, handle.get(timeout=120), 3)
    assert np.array_equal(res.output, oracle("sha256", data, {"block": 1000}))
    assert res.redundancy == 3 and res.quorum == 2
    assert len({a.worker_id for a in res.attestations}) == 3
    assert all(a.valid and a.agrees and a.digest == res.digest for a in res.attestations)
    # who ran each: fleet workers, their operators (each its own here) and adapters (lavapipe)
    assert {a.worker_kind for a in res.attestations} == {"fleet"}
    assert {a.operator for a in res.attestations} == {a.worker_id for a in res.attestations}
    assert all(a.adapter for a in res.attestations)
    entries = cluster.app.redis.xrange(VERIFIED_STREAM)
    assert any(e[1][b"task_id"].decode() == res.task_id for e in entries)


def test_a_lone_replica_is_proven_with_its_own_statement_and_prechecked(cluster):
    """A replica that finds its worker's prover idle (nothing waiting or about to join) is
    proven as K = 1 proves it, not as a batch of one: its own proof, noted for the
    orchestrator's early check, which verified and tagged it before settle."""
    res = with_votes(cluster.client, cluster.client.submit("sha256", payload(2000, 11)).get(
        timeout=120), 3)  # fmt: skip
    own = [a for a in res.attestations if a.batch is None]
    assert own, [a.batch for a in res.attestations]  # idle workers: lone replicas
    assert all(a.valid and a.proof and a.public_signals for a in own)
    kid = keys.active_key(cluster.app)
    tags = [precheck.TAG_PREFIX + prechecks.digest(kid, a.proof, a.public_signals).hex()
            for a in own]  # fmt: skip
    assert cluster.app.redis.exists(*tags) == len(own)  # the prechecker verified each


def test_a_round_sends_no_more_replicas_than_live_workers(cluster):
    data = payload(3000, 99)
    handle = cluster.client.submit("sha256", data, redundancy=5, quorum=3)
    res = handle.get(timeout=120)
    assert res.redundancy == 5 and res.quorum == 3
    with cluster.app.store.read() as s:
        task = s.get(Task, res.task_id)
        rows = s.scalars(select(Replica).where(Replica.task_id == res.task_id)).all()
        assert task.replicas_sent == 3  # three live workers: one replica each, none skipped
        assert sorted(r.status for r in rows) == ["ok"] * 3
        assert len({r.worker_id for r in rows}) == 3


def test_many_tasks_spread_over_distinct_workers(cluster):
    data = [payload(5000, i) for i in range(12)]
    handles = cluster.client.map("sha256", data)
    for d, h in zip(data, handles, strict=True):
        res = h.get(timeout=120)
        assert np.array_equal(res.output, oracle("sha256", d))
        counted = [a.worker_id for a in res.attestations if a.valid]
        assert len(counted) == len(set(counted)) >= 2


def test_byzantine_replica_is_outvoted_and_recorded(cluster):
    data = payload(50_000, 1)
    res = with_votes(cluster.client, cluster.client.submit("histogram", data).get(timeout=120), 3)
    assert np.array_equal(res.output, oracle("histogram", data))
    by_worker = {a.worker_id.split("@")[0]: a for a in res.attestations}
    assert by_worker["gpu2"].agrees is False and by_worker["gpu2"].digest != res.digest
    assert by_worker["gpu0"].agrees and by_worker["gpu1"].agrees
    with cluster.app.store.session() as s:
        gpu2 = s.scalars(select(Worker).where(Worker.id.like("gpu2@%"))).one()
        gpu0 = s.scalars(select(Worker).where(Worker.id.like("gpu0@%"))).one()
        assert gpu2.disagreed >= 1 and gpu0.disagreed == 0
        assert gpu2.reputation < gpu0.reputation
        row = s.scalars(
            select(Replica).where(Replica.task_id == res.task_id, Replica.worker_id == gpu2.id)
        ).one()
        assert row.verdict == "disagree"


def test_transient_failures_dead_letter_with_backoff_then_replay(cluster):
    fault = cluster.settings.home / "fault"
    fault.touch()
    data = payload(3000, 2)
    with Waiter(cluster.app.redis) as waiter:
        handle = cluster.client.submit("flaky_histogram", data)
        assert waiter.wait(handle.id, 120)  # a dead-lettered task is announced too
    with pytest.raises(TaskFailed, match="dead-lettered"):
        handle.get(timeout=120)
    mine = [e for e in dlq.entries(cluster.app) if e.task_id == handle.id]
    replicas = [e for e in mine if e.kind == "replica"]
    assert len(replicas) == 3 and [e.kind for e in mine].count("task") == 1
    base = cluster.settings.backoff_base
    for e in replicas:
        assert e.attempts == cluster.settings.retry_max + 1
        gaps = np.diff(e.attempt_times)
        # equal jitter: the k-th delay lies in [base*2^k/2, base*2^k] (plus scheduling time)
        for k, gap in enumerate(gaps):
            assert gap >= base * 2**k / 2 - 0.01, (k, gaps)
        assert "injected transient GPU fault" in e.reason
    fault.unlink()
    notes = [note for entry, note in dlq.replay(cluster.app) if entry.task_id == handle.id]
    assert sum(n.startswith("replayed as round") for n in notes) == 1
    assert all(n.startswith(("replayed", "covered")) for n in notes)
    res = handle.get(timeout=120)
    assert np.array_equal(res.output, oracle("histogram", data))
    assert not [e for e in dlq.entries(cluster.app) if e.task_id == handle.id]
    again = [n for e, n in dlq.replay(cluster.app) if e.task_id == handle.id]
    assert again == []  # every entry was replayed exactly once and left the queue


def test_settle_twice_records_once(cluster):
    from shardy.api import Client

    # no known-answer copy: its settle would move the workers' counts compared below
    client = Client(dataclasses.replace(cluster.settings, spot_check_rate=0.0))
    try:
        handle = client.submit("histogram", payload(2000, 3))
        first = handle.get(timeout=120)
    finally:
        client.close()
    app = cluster.app
    with app.store.session() as s:
        rows = s.scalars(select(Replica).where(Replica.task_id == handle.id)).all()
        results = [
            {"status": r.status, "task_id": r.task_id, "replica": r.replica,
             "worker_id": r.worker_id, "digest": r.digest, "output_sha256": r.output_sha256,
             "output_size": r.output_size}
            for r in rows
        ]  # fmt: skip
        stats = {w.id: (w.agreed, w.disagreed) for w in s.scalars(select(Worker))}
    published = len(app.redis.xrange(VERIFIED_STREAM))
    for _ in range(2):
        out = settle(app, results, handle.id, 1)
        assert out["state"] == "verified" and out["action"] == "recorded"
    with app.store.session() as s:
        n = s.scalar(select(func.count()).select_from(Replica).where(Replica.task_id == handle.id))
        assert n == 3
        assert {w.id: (w.agreed, w.disagreed) for w in s.scalars(select(Worker))} == stats
        assert s.get(Task, handle.id).digest == first.digest
    assert len(app.redis.xrange(VERIFIED_STREAM)) == published


def test_bad_input_is_refused_with_typed_errors(cluster):
    with pytest.raises(KernelError, match="unknown kernel 'nope'"):
        cluster.client.submit("nope", b"abc")
    with pytest.raises(PayloadError, match="SHARDY_MAX_PAYLOAD"):
        cluster.client.submit("histogram", b"\0" * ((1 << 20) + 1))
    with pytest.raises(KernelError, match="output_len"):
        cluster.client.submit("histogram", b"abc", output_len=12)
    for seed in (1 << 63, -1, 1.5, True):  # outside the recorded column, or not an int
        with pytest.raises(KernelError, match="seed must be an int"):
            cluster.client.submit("histogram", b"abc", seed=seed)
    big = cluster.client.submit("histogram", b"abc", seed=(1 << 63) - 1).get(timeout=120)
    assert big.task_id
    assert cluster.client.submit("histogram", b"abc", seed=np.uint32(7)).get(timeout=120).task_id


def test_malformed_messages_are_dead_lettered_and_the_worker_keeps_serving(cluster):
    app = cluster.app
    # 1. a valid task message whose frame argument is garbage
    app.send_task("shardy.execute", args=(b"not a frame",), queue=GPU_QUEUE)
    # 2. a raw message whose body is not a decodable frame at all
    publish_garbage(app, b"\x00garbage", "garbage-1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        malformed = [e for e in dlq.entries(app) if e.kind == "malformed"]
        if len(malformed) >= 2:
            break
        time.sleep(0.2)
    reasons = " | ".join(e.reason for e in malformed)
    assert "malformed replica order" in reasons and "undecodable" in reasons
    data = payload(4000, 4)
    res = cluster.client.submit("histogram", data).get(timeout=120)
    assert np.array_equal(res.output, oracle("histogram", data))
    kept = [n for e, n in dlq.replay(app) if e.kind == "malformed"]
    assert kept and all(n.startswith("kept") for n in kept)
    assert all(p.poll() is None for p in cluster.cluster.procs.values())


def test_a_large_payload_is_streamed_to_disk_and_verifies(cluster):
    data = payload(900_000, 7)
    res = cluster.client.submit("sha256", data, params={"block": 4096}).get(timeout=120)
    assert np.array_equal(res.output, oracle("sha256", data, {"block": 4096}))
    logs = "".join(p.read_text(errors="replace") for p in cluster.cluster.logdir.glob("gpu*.log"))
    streamed = [line for line in logs.splitlines() if "streaming its payload to disk" in line]
    assert any(res.task_id in line for line in streamed)
    small = cluster.client.submit("sha256", payload(100_000, 8), params={"block": 1000}).get(120)
    assert not any(small.task_id in line for line in streamed)  # below the threshold: in RAM


def test_a_result_records_whether_its_known_answer_copy_confirmed_it(cluster):
    """Spot checks copy submitted tasks; the copied task's assurance says whether the copy's
    known answer (the kernel's reference) equals its verified result."""
    from shardy.api import Client

    checking = Client(dataclasses.replace(cluster.settings, spot_check_rate=1.0))
    unchecked = Client(dataclasses.replace(cluster.settings, spot_check_rate=0.0))
    try:
        data = payload(4096, 11)
        res = checking.submit("sha256", data, params={"block": 1024}).get(timeout=120)
        plain = unchecked.submit("sha256", data, params={"block": 1024}).get(timeout=120)
    finally:
        checking.close()
        unchecked.close()
    found = res.assurance["spot_checked"]
    assert found["agrees"] is True and found["task"] != res.task_id
    with cluster.app.store.read() as s:
        copy = s.get(Task, found["task"])
        assert copy.spot_digest == res.digest and copy.payload_sha256 == s.get(
            Task, res.task_id).payload_sha256  # fmt: skip
    assert plain.assurance["spot_checked"] is None  # no copy of it was sent


def test_kernel_with_a_wasm_preprocessor_verifies(cluster):
    data = payload(20_000, 6)
    params = {"alpha": 0.2, "dtype": "u16", "block": 512}
    res = cluster.client.submit("ema_sha256", data, params=params).get(timeout=120)
    assert np.array_equal(res.output, oracle("ema_sha256", data, params))
    assert len([a for a in res.attestations if a.agrees]) >= 2  # an early quorum may skip one


def test_live_status_view_shows_workers_queues_and_recent_verifications(cluster):
    from rich.console import Console

    from shardy.ops.status import live_view

    res = cluster.client.submit("histogram", payload(1000, 7)).get(timeout=120)
    console = Console(record=True, width=140)
    console.print(live_view(cluster.settings))
    text = console.export_text()
    assert "shardy.gpu" in text and "shardy.dlq" in text
    assert all(f"gpu{i}@" in text for i in range(3))
    assert res.task_id[:8] in text and "recently verified" in text
