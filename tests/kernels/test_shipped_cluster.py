"""Shipped kernels through real clusters: a client's WgslKernel runs on fleet and remote workers
that never imported it, a worker that runs other WGSL is outvoted, bad kernels end in typed
errors while the workers serve on, and an endless shader is stopped by the time limit."""

from __future__ import annotations

import time

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster, with_votes
from examples_support import example
from sqlalchemy import select

import shardy
from shardy import layout as L
from shardy.celery_app import VERIFIED_STREAM
from shardy.errors import TaskFailed
from shardy.p2p.record import decode, encode, from_stream_entry
from shardy.store import DeadLetter, Replica, ShippedKernel, Task, Worker

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def rc():
    """Two fleet workers (gpu1 runs changed WGSL for shipped kernels) and a remote worker;
    R=3, quorum 2; workers allow at most 4096 workgroups per dispatch."""
    settings = make_settings(short_home(), redundancy_factor=3, quorum=2, max_workgroups=4096)
    yield from start_cluster(settings, workers=2, remote=1,
                             worker_modules={1: ["behaviour_kernel_swap"]})  # fmt: skip


def _rows(rc, task_id: str) -> list[Replica]:
    with rc.app.store.read() as s:
        return list(s.scalars(select(Replica).where(Replica.task_id == task_id)))


def _remote_ids(rc) -> set[str]:
    with rc.app.store.read() as s:
        return {w.id for w in s.scalars(select(Worker).where(Worker.kind == "remote"))}


def test_a_shipped_gemm_runs_on_workers_that_never_saw_it(rc):
    ex = example("int8_gemm")
    rng = np.random.default_rng(7)
    m, n, k = 24, 40, 96
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    handle = rc.client.submit(ex.GEMM, ex.inputs(a, b), params={"m": m, "n": n, "k": k})
    result = with_votes(rc.client, handle.get(timeout=180), 3)  # gpu1's late vote too
    assert np.array_equal(result.output.reshape(m, n), a.astype(np.int32) @ b.astype(np.int32))
    assert result.kernel == ex.GEMM.name
    with rc.app.store.read() as s:
        assert s.get(Task, handle.id).kernel == f"wgsl-{ex.GEMM.hash}"
        stored = s.get(ShippedKernel, ex.GEMM.hash)
        assert stored is not None and bytes(stored.spec) == ex.GEMM.to_json()
    # the verified record and the gossip record built from it name the exact kernel
    entry = next(f for _, f in rc.app.redis.xrange(VERIFIED_STREAM)
                 if f[b"task_id"].decode() == handle.id)  # fmt: skip
    record = from_stream_entry(entry)
    assert record.kernel == ex.GEMM.name and decode(encode(record)).kernel == ex.GEMM.name
    rows = _rows(rc, handle.id)
    agree = {r.worker_id for r in rows if r.verdict == "agree"}
    assert agree & _remote_ids(rc), "the remote worker's vote is among the agreeing ones"
    # hash binding: the worker that compiled other WGSL for this kernel was outvoted
    swapped = [r for r in rows if r.worker_id.startswith("gpu1")]
    assert swapped and all(r.verdict == "disagree" and r.digest != result.digest for r in swapped)


def test_a_shipped_float_kernel_verifies_within_tolerance(rc):
    ex = example("particles")
    particles = ex.make(500, seed=11)
    handle = rc.client.submit(ex.STEP, {"particles": particles},
                              params={"n": 500, "dt": 0.05, "gravity": 9.81})  # fmt: skip
    out = with_votes(rc.client, handle.get(timeout=180), 3).output
    got = np.concatenate([out["pos"][:, :3], out["vel"][:, :3]], axis=1)
    assert np.allclose(got, ex.reference(particles, 0.05, 9.81), atol=1e-5)
    assert sum(r.verdict == "agree" for r in _rows(rc, handle.id)) == 3


def _bad(source: str, grid: str = "n") -> shardy.WgslKernel:
    return shardy.WgslKernel(
        label="bad", source=source, inputs=[shardy.Buffer("x", L.array(L.u32), count="n")],
        output=shardy.Buffer("y", L.array(L.u32), count="n"), grid=[grid], params={"n": 4},
    )  # fmt: skip


@pytest.mark.parametrize(
    "spec, reason",
    [(_bad("@compute @workgroup_size(WG_X) fn main( {"), "WGSL does not compile"),
     (_bad("@compute @workgroup_size(WG_X) fn main() { y[0] = x[0].pos; }"),
      "WGSL does not compile"),
     (_bad("@compute @workgroup_size(WG_X) fn main() { y[0] = x[0]; }", grid="n * 100000"),
      "SHARDY_MAX_WORKGROUPS")],
    ids=["malformed", "layout-mismatch", "oversized"],
)  # fmt: skip
def test_bad_kernels_fail_typed_and_workers_serve_on(rc, spec, reason):
    handle = rc.client.submit(spec, {"x": np.arange(4, dtype="<u4")})
    with pytest.raises(TaskFailed):
        handle.get(timeout=180)
    with rc.app.store.read() as s:
        letters = list(s.scalars(select(DeadLetter).where(DeadLetter.task_id == handle.id)))
    reasons = [d.reason for d in letters if d.kind == "replica"]
    assert reasons and all("KernelError" in r and reason in r for r in reasons), reasons
    again = rc.client.submit("histogram", bytes(range(256)) * 4).get(timeout=180)
    assert again.output.tolist() == [4] * 256


# ---- an endless shader -----------------------------------------------------------------------

SPIN = shardy.WgslKernel(
    label="spin",
    source="""
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    loop { y[0] = y[0] + 1u + x[0]; if (x[1] == 99u) { break; } }
}""",
    inputs=[shardy.Buffer("x", L.array(L.u32, 2))],
    output=shardy.Buffer("y", L.array(L.u32, 1)),
    grid=["4194240"],  # 65535 workgroups of 64: hours on lavapipe, which caps each loop
)


def test_an_endless_shader_is_stopped_and_the_worker_recovers():
    """The time limit ends the replica with a permanent KernelTimeLimit; the wedged worker
    leaves and its supervisor restarts it on a fresh device; the next task verifies."""
    settings = make_settings(short_home(), redundancy_factor=1, quorum=1, task_time_limit=4)
    for rc in start_cluster(settings, workers=1):
        pid = rc.cluster.procs["gpu0"].pid
        handle = rc.client.submit(SPIN, {"x": np.zeros(2, "<u4")})
        with pytest.raises(TaskFailed):
            handle.get(timeout=120)
        with rc.app.store.read() as s:
            letters = list(s.scalars(select(DeadLetter).where(DeadLetter.task_id == handle.id)))
        reasons = [d.reason for d in letters]
        assert any("KernelTimeLimit" in r and "SHARDY_TASK_TIME_LIMIT" in r for r in reasons), (
            reasons
        )
        deadline = time.monotonic() + 120
        while rc.cluster.procs["gpu0"].pid == pid and time.monotonic() < deadline:
            time.sleep(0.5)
        assert rc.cluster.procs["gpu0"].pid != pid, "the wedged worker was restarted"
        again = rc.client.submit("histogram", bytes(range(256))).get(timeout=120)
        assert again.output.tolist() == [1] * 256


def test_a_kernel_seen_only_in_the_blob_store_is_still_recorded_in_sql(rc):
    """The orchestrator side reads kernels from SQL, then the blob store; one read from the
    blob store (which fleet workers can write) must not stop `submit` recording it in SQL,
    where verified results find it after the blob expires."""
    from shardy.kernels import catalog

    spec = shardy.WgslKernel(
        label="blob-first",
        source="@compute @workgroup_size(WG_X) fn main() { y[0] = x[0]; }",
        inputs=[shardy.Buffer("x", L.array(L.u32), count="n")],
        output=shardy.Buffer("y", L.array(L.u32), count="n"),
        grid=["n"],
        params={"n": 4},
    )
    rc.app.blobs.put(spec.to_json(), inline=False)
    assert catalog.lookup(rc.app, spec.name).spec == spec  # cached from the blob store
    rc.client.submit(spec, {"x": np.arange(4, dtype="<u4")}).get(timeout=180)
    with rc.app.store.read() as s:
        assert s.get(ShippedKernel, spec.hash) is not None
