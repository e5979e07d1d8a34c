"""Per-task overhead: a tiny kernel end to end in a GPU worker, next to the same kernel alone.

    PYTHONPATH=. python bench/overhead.py [--tasks 30] [--kernel histogram] [--size 256]
                                          [--workers 3] [--redundancy 3] [--attest-batch 1]
                                          [--adapter N]

First, in this process, the kernel alone on the same adapter: one dispatch on a resident payload
(timed to the read-back of 4 bytes, and by GPU timestamps where the adapter has them, as in
bench/gpu.py), and `GPU.run` (upload, dispatch, read-back into a fresh array). Then a local
cluster (embedded Redis, SQLite, ``--workers`` GPU worker processes) verifies ``--tasks`` such
tasks one at a time, each awaited before the next is submitted, so nothing queues (its R
replicas do run at once, on R workers: ``--redundancy 1 --workers 1`` is one replica at a time,
the bare per-task path). The
replicas' stage timings come from their rows: fetch (payload from the blob store, plan),
preprocess, gpu (`GPU.run` in the worker), store (output into the blob store) and attest (the
Groth16 proof, or the wait for the batch proof at K > 1); their sum is the worker's time per
replica. End to end is submit → verified from the task rows (R replicas, settle, quorum), and
as the caller sees it: from the `submit` call to the return of `TaskHandle.get`.
Prints medians and their ratio to `GPU.run`; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gpu as bench  # noqa: E402  (bench/gpu.py: the resident timing)

from shardy.kernels import registry  # noqa: E402
from shardy.workers.gpu import GPU  # noqa: E402

STAGES = ("fetch", "preprocess", "gpu", "store", "attest")


def kernel_alone(kernel: str, payloads: list[bytes], adapter: str | None) -> dict[str, float]:
    """Median seconds of one resident dispatch (wall and GPU-timed) and of `GPU.run`."""
    gpu = GPU(adapter, features=("timestamp-query",))
    k = registry.get(kernel)
    plan = k.make_plan(len(payloads[0]), {}, 0)
    wall, on_gpu = bench.resident_times(gpu, k, payloads[0], plan, 1)
    runs = []
    for payload in [payloads[0], *payloads]:  # the first call warms the pipeline cache
        t = time.perf_counter()
        gpu.run(k, payload, k.make_plan(len(payload), {}, 0))
        runs.append(time.perf_counter() - t)
    figures = {"resident dispatch": wall, "GPU.run": statistics.median(runs[1:])}
    if on_gpu is not None:
        figures["resident dispatch, GPU-timed"] = on_gpu
    return figures


def in_worker(
    kernel: str, payloads: list[bytes], workers: int, redundancy: int, attest_batch: int
) -> tuple[dict[str, float], float, float, int]:
    """Median seconds per stage of the replicas, median submit → verified (task rows, and
    submit → ``get`` returns), replicas counted."""
    from sqlalchemy import select

    from shardy.api import Client
    from shardy.config import Settings
    from shardy.ops.cluster import Cluster
    from shardy.store import Replica, Task

    home = Path(tempfile.mkdtemp(prefix="sho", dir="/tmp"))
    settings = Settings(home=home, attest_batch=attest_batch, redundancy_factor=redundancy)
    with Cluster(settings, workers=workers):
        client = Client(settings)
        client.submit(kernel, payloads[0]).get(timeout=300)  # warm up every worker's device
        ids, waited = [], []
        for payload in payloads:
            t0 = time.perf_counter()
            handle = client.submit(kernel, payload)
            handle.get(timeout=300)
            waited.append(time.perf_counter() - t0)
            ids.append(handle.id)
        with client.app.store.session() as s:
            tasks = s.scalars(select(Task).where(Task.id.in_(ids))).all()
            latency = [(t.settled_at - t.created_at).total_seconds() for t in tasks]
            rows = s.scalars(
                select(Replica).where(Replica.task_id.in_(ids), Replica.status == "ok")
            ).all()
            timings = [r.timings for r in rows if r.timings]
        client.close()
    stages = {st: statistics.median(t.get(st, 0.0) for t in timings) for st in STAGES}
    stages["worker total (sum)"] = statistics.median(sum(t.values()) for t in timings)
    return stages, statistics.median(latency), statistics.median(waited), len(timings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=30)
    ap.add_argument("--kernel", default="histogram")
    ap.add_argument("--size", type=int, default=256, help="payload bytes")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--redundancy", type=int, default=3, help="replicas per task (R)")
    ap.add_argument("--attest-batch", type=int, default=1, help="SHARDY_ATTEST_BATCH (K)")
    ap.add_argument("--adapter", default=None, help="adapter index or name (kernel alone)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    payloads = [
        rng.integers(0, 256, args.size, dtype=np.uint8).tobytes() for _ in range(args.tasks)
    ]

    alone = kernel_alone(args.kernel, payloads, args.adapter)
    stages, latency, waited, replicas = in_worker(
        args.kernel, payloads, args.workers, args.redundancy, args.attest_batch
    )
    base = alone["GPU.run"]
    print(f"\n{args.kernel} on {args.size} B, {args.tasks} tasks one at a time, "
          f"{args.workers} workers, R={args.redundancy}, K={args.attest_batch} "
          f"({replicas} replicas)")  # fmt: skip
    print(f"{'':44}{'median ms':>10}{'x GPU.run':>10}")
    rows = [(f"kernel alone: {name}", v) for name, v in alone.items()]
    rows += [(f"in the worker: {name}", v) for name, v in stages.items()]
    rows.append(("end to end: submit -> verified", latency))
    rows.append(("caller: submit() -> get() returns", waited))
    for label, seconds in rows:
        print(f"{label:44}{seconds * 1e3:>10.3f}{seconds / base:>10.1f}")


if __name__ == "__main__":
    main()
