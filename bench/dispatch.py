"""Verified tasks/s: Shardy (R=3, quorum) vs plain Celery (chord of 3 + comparing callback),
with Shardy's workers as fleet workers (Celery) and as remote workers behind a gateway.

Both run the same tiny exact kernel (`histogram` on a small payload) with 2 worker
processes on the same embedded Redis, in one run, twice: a burst (every task submitted back to
back, then awaited: the most tasks/s, with latency set by how long the backlog takes to drain)
and an open-loop run that offers tasks at a fixed rate, a fraction of plain Celery's burst rate
(latency at a sustained load). Latency is submit → verified: Shardy's from the task rows,
plain Celery's from the time its comparing callback ran. Also: frame codec vs Celery's json
serializer (bytes as base64) for 64 KiB payloads. Prints ratios; asserts nothing.

    python bench/dispatch.py [--tasks 200] [--workers 2] [--size 256] [--paced 0.8] [--lone 20]
        [--sweep default,1,16] [--paths fleet,gateway]

The lone row compares one task at a time against a lone plain chord plus one proof: the
three are timed in turn (a plain chord, a proof, a Shardy task, again), so that the VM's
speed, which drifts over minutes, weighs on each the same.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
from celery import chord
from kombu import serialization

from shardy import frames
from shardy.api import Client
from shardy.config import Settings
from shardy.ops.cluster import Cluster

HERE = Path(__file__).resolve().parent


class Run(NamedTuple):
    """One measured run: verified tasks/s and p50/p99 submit→verified latency (s)."""

    rate: float
    p50: float
    p99: float


def _summary(elapsed: float, done: list[float], latencies: list[float], paced: bool) -> Run:
    """A burst's rate is tasks / (first submit → last verified). A paced run's is the rate at
    which verdicts came between the 10th and the 90th percentile of their times, which equals
    the offered rate when the system keeps up and falls below it when it does not."""
    lat = np.array(latencies)
    if paced:
        t10, t90 = np.percentile(done, [10, 90])
        rate = 0.8 * len(done) / (t90 - t10)
    else:
        rate = len(done) / elapsed
    return Run(rate, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)))


def _paced(count: int, rate: float | None) -> Iterator[int]:
    """Yield 0..count-1: back to back (a burst), or open loop at `rate` submissions/s."""
    t0 = time.perf_counter()
    for i in range(count):
        if rate:
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield i


#: ``one(payload)``: run one task (or proof) to its end.
One = Callable[[bytes], object]
#: Seconds between lone runs.
LONE_PAUSE = 0.05


def _lone(sides: dict[str, One], payloads: list[bytes], count: int) -> dict[str, float]:
    """Median wall time (s) of ``count`` runs of each side, one at a time (submit to verified),
    the sides taking turns, each after a pause (a lone task meets a quiet machine: what the
    previous one left to do after its result, the other side's included, is done)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(count):
        for name, one in sides.items():
            time.sleep(LONE_PAUSE)
            t0 = time.perf_counter()
            one(payloads[i % len(payloads)])
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def prover() -> One:
    """One Groth16 attestation proof in this process (the default circuit), in a worker's
    steady state: after the warm-up proof has prepared the key for its secret."""
    import uuid

    from shardy.keyring import default_build
    from shardy.statement import Subject, replica_inputs
    from shardy.zk import load_circuit, new_worker_secret, prove

    circuit = load_circuit(default_build())
    subject = Subject(str(uuid.uuid4()), 7, 1024, "histogram", {}, "ab" * 32)
    inputs = replica_inputs(circuit.statement, subject, "ab" * 32, new_worker_secret(), 1, 0)
    prove(circuit, inputs)  # warm up
    return lambda _: prove(circuit, inputs)


def bench_shardy(
    settings: Settings,
    payloads: list[bytes],
    workers: int,
    rates: list[float | str | None],
    remote: bool = False,
    lone: int = 0,
    against: dict[str, One] | None = None,
) -> tuple[list[Run], dict[str, float]]:
    """One run per offered rate (None: a burst of submits; "map": a burst through one
    ``Client.map``); latency from the task rows. With ``remote``
    the workers are remote workers behind a local gateway (each its own operator). Then
    ``lone`` tasks one at a time, taking turns with each of ``against``: the median
    latency (s) of each, and of ``shardy``."""
    from sqlalchemy import select

    from shardy.store import Task

    runs = []
    fleet, behind = (0, workers) if remote else (workers, 0)
    with Cluster(settings, workers=fleet, remote=behind):
        client = Client(settings)
        client.submit("histogram", payloads[0]).get(timeout=120)  # warm up devices
        for rate in rates:
            t0 = time.perf_counter()
            if rate == "map":
                handles = client.map("histogram", payloads)
            else:
                pace = _paced(len(payloads), rate)  # type: ignore[arg-type]
                handles = [client.submit("histogram", payloads[i]) for i in pace]
            for h in handles:
                h.get(timeout=600)
            elapsed = time.perf_counter() - t0
            ids = [h.id for h in handles]
            with client.app.store.session() as s:
                rows = s.scalars(select(Task).where(Task.id.in_(ids))).all()
                lat = [(t.settled_at - t.created_at).total_seconds() for t in rows]
                done = [t.settled_at.timestamp() for t in rows]
            runs.append(_summary(elapsed, done, lat, rate not in (None, "map")))
        mine = {"shardy": lambda p: client.submit("histogram", p).get(timeout=120)}
        alone = _lone({**(against or {}), **mine}, payloads, lone) if lone else {}
        client.close()
    return runs, alone


@contextlib.contextmanager
def bench_plain(
    broker: str, payloads: list[bytes], workers: int, fractions: list[float]
) -> Iterator[tuple[list[Run], One]]:
    """A burst, then an open-loop run at each fraction of the burst's rate; yields their runs
    and one lone chord (run to its end) while the workers are still up."""
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
        runs: list[Run] = []
        for fraction in [None, *fractions]:
            rate = fraction * runs[0].rate if fraction else None
            t0 = time.perf_counter()
            sent = []
            for i in _paced(len(payloads), rate):
                sent.append((time.time(), one(payloads[i])))
            lat, done = [], []
            for at, r in sent:
                res = r.get(timeout=600)
                assert res["agree"] == 3
                lat.append(res["done"] - at)
                done.append(res["done"])
            runs.append(_summary(time.perf_counter() - t0, done, lat, rate is not None))
        yield runs, lambda p: one(p).get(timeout=120)
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
    ap.add_argument(
        "--sweep", default="default,1,16",
        help="attestation batch caps K ('default': SHARDY_ATTEST_BATCH and _WAIT_MS unset; "
        "'chords': the default but SHARDY_GROUP_ORDERS=1, a chord per task)",
    )  # fmt: skip
    ap.add_argument("--lone", type=int, default=20, help="tasks run one at a time, each side")
    ap.add_argument(
        "--paced",
        default="0.8",
        help="also offer tasks open loop at these fractions of plain Celery's burst rate",
    )
    ap.add_argument(
        "--wait-ms", type=int, default=250, help="SHARDY_ATTEST_WAIT_MS of the fixed-K runs"
    )
    ap.add_argument(
        "--paths", default="fleet,gateway",
        help="worker paths: fleet (Celery workers) and/or gateway (remote workers)",
    )  # fmt: skip
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    payloads = [
        rng.integers(0, 256, args.size, dtype=np.uint8).tobytes() for _ in range(args.tasks)
    ]
    from shardy.embedded import EmbeddedRedis

    fractions = [float(x) for x in args.paced.split(",") if x.strip()]
    runs, lone = {}, {}
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    home = Path(tempfile.mkdtemp(prefix="shb", dir="/tmp"))
    with (
        EmbeddedRedis(Settings(home=home)) as server,
        bench_plain(f"redis+socket://{server.socket}", payloads, args.workers, fractions) as (
            plain,
            plain_one,
        ),
    ):
        rates: list[float | str | None] = [None, "map", *(f * plain[0].rate for f in fractions)]
        against = {"plain": plain_one, "proof": prover()}  # timed in turn with each lone task
        for k in [x.strip() for x in args.sweep.split(",")]:
            for path in paths:
                fixed = (
                    {} if k == "default"
                    else {"group_orders": 1} if k == "chords"
                    else {"attest_batch": int(k), "attest_wait_ms": args.wait_ms}
                )  # fmt: skip
                settings = Settings(home=Path(tempfile.mkdtemp(prefix="shb", dir="/tmp")), **fixed)
                runs[k, path], lone[k, path] = bench_shardy(
                    settings, payloads, args.workers, rates, remote=path == "gateway",
                    lone=args.lone, against=against,
                )  # fmt: skip
    t_frame, t_json, n_frame, n_json = bench_codec()
    print(f"\n{args.tasks} tasks, R=3, {args.workers} worker processes, embedded Redis, "
          f"histogram on {args.size} B")  # fmt: skip
    print(f"{'verified tasks/s (chords of 3)':30}{'Shardy':>8}{'plain':>8}{'ratio':>7}"
          f"{'p50 s':>8}{'p99 s':>8}{'plain p50':>10}{'plain p99':>10}")  # fmt: skip
    labels = ["burst", "burst, map"] + [f"paced {f:g}x" for f in fractions]
    theirs_runs = [plain[0], *plain]  # both bursts against plain Celery's burst
    for (k, path), shardy_runs in runs.items():
        for label, mine, theirs in zip(labels, shardy_runs, theirs_runs, strict=True):
            print(f"{f'  K={k}, {path}, {label}':30}{mine.rate:>8.1f}{theirs.rate:>8.1f}"
                  f"{mine.rate / plain[0].rate:>7.2f}{mine.p50:>8.3f}{mine.p99:>8.3f}"
                  f"{theirs.p50:>10.3f}{theirs.p99:>10.3f}")  # fmt: skip
    if "fleet" in paths and "gateway" in paths:
        print(f"\n{'gateway / fleet, burst tasks/s':30}{'ratio':>8}  (target >= 0.8)")
        for k in {k for k, _ in runs}:
            ratio = runs[k, "gateway"][0].rate / runs[k, "fleet"][0].rate
            print(f"{f'  K={k}':30}{ratio:>8.2f}")
    if args.lone:
        print(
            f"\n{'lone task, median s':30}{'Shardy':>8}{'plain':>8}{'+proof':>8}{'ratio':>7}"
            "  (target <= 1.5; each row's plain chords and proofs timed in turn with it)"
        )
        for (k, path), m in lone.items():
            bound = m["plain"] + m["proof"]
            print(f"{f'  K={k}, {path}':30}{m['shardy']:>8.3f}{m['plain']:>8.3f}{bound:>8.3f}"
                  f"{m['shardy'] / bound:>7.2f}")  # fmt: skip
    print(f"{'':34}{'Shardy':>12}{'json+base64':>14}{'ratio':>8}")
    print(f"{'64 KiB body encode+decode (µs)':34}{t_frame * 1e6:>12.1f}{t_json * 1e6:>14.1f}"
          f"{t_frame / t_json:>8.2f}")  # fmt: skip
    print(f"{'64 KiB body size (bytes)':34}{n_frame:>12}{n_json:>14}{n_frame / n_json:>8.2f}")


if __name__ == "__main__":
    main()
