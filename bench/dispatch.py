"""Verified tasks/s: Shardy (R=3, quorum) vs plain Celery (chord of 3 + comparing callback).

Both run the same tiny exact kernel (`histogram` on a small payload) with 2 worker
processes on the same embedded Redis, in one run. Also: frame codec vs Celery's json
serializer (bytes as base64) for 64 KiB payloads. Prints ratios; asserts nothing.

    python bench/dispatch.py [--tasks 200] [--workers 2] [--size 256]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from celery import chord
from kombu import serialization

from shardy import frames
from shardy.api import Client
from shardy.cluster import Cluster
from shardy.config import Settings

HERE = Path(__file__).resolve().parent


def bench_shardy(
    settings: Settings, payloads: list[bytes], workers: int
) -> tuple[float, float, float]:
    """Verified tasks/s and p50/p99 submit→verified latency (s, from the task rows)."""
    from sqlalchemy import select

    from shardy.store import Task

    with Cluster(settings, workers=workers):
        client = Client(settings)
        client.submit("histogram", payloads[0]).get(timeout=120)  # warm up devices
        t0 = time.perf_counter()
        handles = [client.submit("histogram", p) for p in payloads]
        for h in handles:
            h.get(timeout=600)
        elapsed = time.perf_counter() - t0
        ids = [h.id for h in handles]
        with client.app.store.session() as s:
            rows = s.scalars(select(Task).where(Task.id.in_(ids))).all()
            lat = np.array([(t.settled_at - t.created_at).total_seconds() for t in rows])
        client.close()
    return len(payloads) / elapsed, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


def bench_plain(broker: str, payloads: list[bytes], workers: int) -> float:
    env = {**os.environ, "PLAIN_BROKER": broker, "PYTHONPATH": str(HERE)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "plain_celery",
                "worker",
                "-Q",
                "plain",
                "-c",
                "1",
                "-n",
                f"plain{i}@%h",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i in range(workers)
    ]
    sys.path.insert(0, str(HERE))
    os.environ["PLAIN_BROKER"] = broker
    import plain_celery as pc

    try:

        def one(p: bytes):
            b64 = base64.b64encode(p).decode()
            return chord([pc.run.s("histogram", b64) for _ in range(3)])(pc.compare.s())

        one(payloads[0]).get(timeout=120)  # warm up
        t0 = time.perf_counter()
        results = [one(p) for p in payloads]
        for r in results:
            assert r.get(timeout=600)["agree"] == 3
        return len(payloads) / (time.perf_counter() - t0)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def bench_codec(size: int = 64 * 1024, rounds: int = 2000) -> tuple[float, float, int, int]:
    payload = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes()
    body = ((payload,), {"attempt": 0}, {"chord": None})
    t0 = time.perf_counter()
    for _ in range(rounds):
        blob = frames.dumps(body)
        frames.loads(blob)
    t_frame = (time.perf_counter() - t0) / rounds
    json_body = (([base64.b64encode(payload).decode()],), {"attempt": 0}, {"chord": None})
    t0 = time.perf_counter()
    for _ in range(rounds):
        _, _, js = serialization.dumps(json_body, serializer="json")
        serialization.loads(js, "application/json", "utf-8")
        base64.b64decode(json_body[0][0][0])
    t_json = (time.perf_counter() - t0) / rounds
    return t_frame, t_json, len(blob), len(js)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=256, help="payload bytes (tiny kernel)")
    ap.add_argument("--sweep", default="1,8,32,128", help="attestation batch sizes K")
    ap.add_argument(
        "--wait-ms", type=int, default=Settings.attest_wait_ms, help="SHARDY_ATTEST_WAIT_MS"
    )
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    payloads = [
        rng.integers(0, 256, args.size, dtype=np.uint8).tobytes() for _ in range(args.tasks)
    ]
    runs = {}
    for k in [int(x) for x in args.sweep.split(",")]:
        home = Path(tempfile.mkdtemp(prefix="shb", dir="/tmp"))
        settings = Settings(home=home, attest_batch=k, attest_wait_ms=args.wait_ms)
        runs[k] = bench_shardy(settings, payloads, args.workers)
    from shardy.embedded import EmbeddedRedis

    with EmbeddedRedis(Settings(home=Path(tempfile.mkdtemp(prefix="shb", dir="/tmp")))) as server:
        plain_rate = bench_plain(f"redis+socket://{server.socket}", payloads, args.workers)
    t_frame, t_json, n_frame, n_json = bench_codec()
    print(f"\n{args.tasks} tasks, R=3, {args.workers} worker processes, embedded Redis, "
          f"histogram on {args.size} B")  # fmt: skip
    print(f"{'verified tasks/s (chords of 3)':34}{'Shardy':>12}{'plain Celery':>14}{'ratio':>8}"
          f"{'p50 s':>8}{'p99 s':>8}")  # fmt: skip
    for k, (rate, p50, p99) in runs.items():
        print(f"{f'  attestation batch K={k}':34}{rate:>12.1f}{plain_rate:>14.1f}"
              f"{rate / plain_rate:>8.2f}{p50:>8.3f}{p99:>8.3f}")  # fmt: skip
    print(f"{'':34}{'Shardy':>12}{'json+base64':>14}{'ratio':>8}")
    print(f"{'64 KiB body encode+decode (µs)':34}{t_frame * 1e6:>12.1f}{t_json * 1e6:>14.1f}"
          f"{t_frame / t_json:>8.2f}")  # fmt: skip
    print(f"{'64 KiB body size (bytes)':34}{n_frame:>12}{n_json:>14}{n_frame / n_json:>8.2f}")


if __name__ == "__main__":
    main()
