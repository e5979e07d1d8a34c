"""`shardy demo`: a local cluster verifies a sample workload and prints the evidence."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shardy.api import Client, VerifiedResult
from shardy.config import Settings
from shardy.errors import ShardyError
from shardy.kernels import registry
from shardy.ops.cluster import Cluster

KERNELS = ("histogram", "sha256", "ema_sha256")


def sample_workload(tasks: int, size: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """``tasks`` (kernel, payload) pairs of random bytes, alternating the built-in kernels."""
    rng = np.random.default_rng(seed)
    return [
        (KERNELS[i % len(KERNELS)], rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        for i in range(tasks)
    ]


#: The picture `shardy demo --png` verifies: 480 x 320 pixels of the Mandelbrot set.
PICTURE = {"width": 480, "height": 320, "x0": -2.0, "y0": -1.0, "step": 3.0 / 480,
           "max_iter": 256}  # fmt: skip


def run_demo(
    settings: Settings,
    *,
    workers: int,
    remote: int = 0,
    tasks: int,
    size: int,
    console: Console,
    png: str | None = None,
) -> list[VerifiedResult]:
    """Start a cluster, submit the workload, wait for every verified result, print a table.

    Raises:
        ShardyError: a result failed verification against its numpy oracle, or the
            cluster could not start.
    """
    console.print(
        f"[bold]shardy demo[/]: {workers} fleet + {remote} remote GPU workers, {tasks} tasks of "
        f"{size} bytes, R={settings.redundancy_factor}, quorum={settings.effective_quorum}, "
        f"home={settings.home}"
    )
    work = sample_workload(tasks, size)
    with Cluster(settings, workers=workers, remote=remote) as cluster:
        door = f" + a gateway ({cluster.remote.url}) and {remote} remote workers" if remote else ""
        console.print(f"cluster up: embedded Redis + orchestrator + {workers} fleet workers{door}")
        client = Client(settings)
        try:
            started = time.perf_counter()
            handles = [client.submit(kernel, payload) for kernel, payload in work]
            results: list[VerifiedResult] = []
            with Progress(console=console, transient=True) as bar:
                job = bar.add_task("verifying", total=len(handles))
                for h in handles:
                    results.append(h.get(timeout=300))
                    bar.advance(job)
            elapsed = time.perf_counter() - started
            if png is not None:
                picture = client.submit("mandelbrot", b"", params=PICTURE).get(timeout=300)
        finally:
            client.close()  # before the embedded broker stops
    for (kernel, payload), res in zip(work, results, strict=True):
        k = registry.get(kernel)
        expected = k.reference(payload, k.resolve_params(None), 0)
        if not np.array_equal(np.asarray(res.output).reshape(expected.shape), expected):
            raise ShardyError(f"task {res.task_id} verified an output that differs from numpy")
    console.print(results_table(results))
    if png is not None:
        from shardy.ops.png import escape_counts_to_gray, write_gray

        write_gray(png, escape_counts_to_gray(np.asarray(picture.output), PICTURE["max_iter"]))
        agree = sum(a.agrees for a in picture.attestations)
        console.print(f"Mandelbrot tile verified by {agree} workers, saved to {png}")
    console.print(
        f"[green]{len(results)} tasks verified[/] in {elapsed:.2f}s "
        f"→ {len(results) / elapsed:.1f} verified tasks/s "
        f"({len(results) * settings.redundancy_factor} replicas); outputs match numpy"
    )
    return results


def results_table(results: list[VerifiedResult]) -> Table:
    """One row per verified task: id, kernel, digest, agreeing workers, and the time the
    slowest agreeing replica spent proving (or waiting for its batch proof)."""
    table = Table(title="verified tasks")
    for col in ("task", "kernel", "digest", "agreeing workers", "attest ms"):
        table.add_column(col)
    for r in results:
        agree = [a.worker_id.split("@")[0] for a in r.attestations if a.agrees]
        table.add_row(
            r.task_id[:8],
            r.kernel,
            r.digest[:16] + "…",
            f"{len(agree)}/{r.redundancy} ({', '.join(agree)})",
            f"{r.attestation_wait * 1000:.0f}",
        )
    return table
