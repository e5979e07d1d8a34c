"""Collusion benchmark: colluding operators on real local clusters, under fixed R = 3 and under
adaptive replication; then one hung worker against none. Prints the tables recorded in
docs/reliability.md.

Each scenario is a fresh cluster of ``--operators`` fleet workers, each its own operator. A
fraction of them collude: they return one shared wrong digest with valid proofs
(tests/behaviour_colluder.py). Naive colluders enrol after the honest fleet reached standing
and lie from their first replica; smart ones are there from the start, honest during the
warm-up, and lie after it. Spot checks run at the default rate.

    .venv/bin/python bench/collusion.py [--operators 8] [--warmup 80] [--tasks 60]
    .venv/bin/python bench/collusion.py --fractions ''    # the hung-worker scenario only
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cluster_support import make_settings, short_home, start_cluster  # noqa: E402
from sqlalchemy import select  # noqa: E402

from shardy import routing  # noqa: E402
from shardy.api import Client  # noqa: E402
from shardy.kernels import registry  # noqa: E402
from shardy.orchestrator import standing  # noqa: E402
from shardy.store import Task  # noqa: E402

KERNEL = "sha256"


@dataclasses.dataclass
class Row:
    scenario: str
    colluders: str
    tasks: int = 0
    wrong: int = 0
    dead: int = 0
    replicas: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    quarantined: str = ""
    revoked: int = 0
    #: honest operators established when the attack began (the bound assumes all)
    established: str = ""


def payloads(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, 4096, dtype=np.uint8).tobytes() for _ in range(n)]


def submit(client: Client, datas: list[bytes]) -> tuple[list[str], int, int]:
    """Submit a burst, wait for each; (task ids, wrong results returned, dead). A task
    revoked before it was read (a re-check caught it) counts as neither."""
    k = registry.get(KERNEL)
    handles = [client.submit(KERNEL, d) for d in datas]
    wrong = dead = 0
    for h, d in zip(handles, datas, strict=True):
        try:
            res = h.get(timeout=600)
        except Exception as exc:  # noqa: BLE001 - a dead-lettered task is counted, not fatal
            dead += "revoked" not in str(exc)
            continue
        wrong += not np.array_equal(res.output, k.reference(d, k.resolve_params(None), 0))
    return [h.id for h in handles], wrong, dead


def revoked(rc, ids: list[str], settle_for: float = 15.0) -> int:
    """Tasks revoked by re-checks (after ``settle_for`` s for the re-checks to finish)."""
    time.sleep(settle_for)
    with rc.app.store.read() as s:
        rows = s.scalars(select(Task).where(Task.id.in_(ids), Task.state == "dead")).all()
    return sum((t.error or "").startswith("revoked") for t in rows)


def measure(rc, ids: list[str], since) -> tuple[float, float, float]:
    """(replicas per verified task, spot checks included; p50; p99 latency in s)."""
    with rc.app.store.read() as s:
        mine = s.scalars(select(Task).where(Task.id.in_(ids))).all()
        spots = s.scalars(select(Task).where(Task.spot_digest.is_not(None),
                                             Task.created_at >= since)).all()  # fmt: skip
    verified = [t for t in mine if t.state == "verified"]
    lat = [(t.settled_at - t.created_at).total_seconds() for t in verified]
    sent = sum(t.replicas_sent for t in mine) + sum(t.replicas_sent for t in spots)
    per = sent / max(1, len(verified))
    return per, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


def scenario(n: int, k: int, mode: str, replication: str, warmup: int, tasks: int) -> Row:
    home = short_home()
    turn, always = home / "turn", home / "always"
    always.touch()
    settings = make_settings(home, task_time_limit=300)
    bad = list(range(n - k, n))
    env = {i: {"SHARDY_OPERATOR": f"op{i}"} for i in range(n)}
    for i in bad:
        env[i]["SHARDY_TEST_COLLUDE_FILE"] = str(turn if mode == "smart" else always)
    modules = {i: ["behaviour_colluder"] for i in bad}
    start = n - k if mode == "naive" else n
    row = Row(f"{mode}, {replication}", f"{k} of {n} ({100 * k // n}%)")
    for rc in start_cluster(settings, workers=start, worker_env=env, worker_modules=modules):
        submit(rc.client, payloads(warmup, 1))  # the fleet reaches standing
        if mode == "naive":
            for i in bad:
                rc.cluster.start_worker(i)
            while len(routing.alive(rc.app.redis)) < n:
                time.sleep(0.5)
        with rc.app.store.read() as s:
            states = {v["voter"]: v["state"] for v in standing.listing(s, settings)}
        honest = [f"op{i}" for i in range(n - k)]
        row.established = f"{sum(states.get(v) == 'established' for v in honest)}/{len(honest)}"
        turn.touch()
        client = Client(dataclasses.replace(settings, replication=replication))
        since = _now()
        ids, row.wrong, row.dead = submit(client, payloads(tasks, 2))
        client.close()
        row.tasks = tasks
        row.replicas, row.p50, row.p99 = measure(rc, ids, since)
        row.revoked = revoked(rc, ids, 15.0 if replication == "adaptive" else 0.0)
        with rc.app.store.read() as s:
            q = sorted(standing.quarantined(s))
        row.quarantined = ", ".join(q) or "-"
    return row


def hung(n: int, tasks: int, warmup: int) -> list[tuple[float, float]]:
    """(p50, p99) latency (s) of a burst without, then with, one stopped (hung) worker."""
    settings = make_settings(short_home(), task_time_limit=300)
    out = []
    for rc in start_cluster(settings, workers=n):
        submit(rc.client, payloads(warmup, 1))
        for hang in (False, True):
            pid = rc.cluster.procs["gpu0"].pid
            if hang:
                os.killpg(pid, signal.SIGSTOP)
            try:
                since = _now()
                ids, _, _ = submit(rc.client, payloads(tasks, 3 + hang))
                out.append(measure(rc, ids, since)[1:])
            finally:
                if hang:
                    os.killpg(pid, signal.SIGCONT)
    return out


def _now():
    from shardy.store.models import utcnow

    return utcnow()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--operators", type=int, default=8)
    ap.add_argument(
        "--warmup",
        type=int,
        default=80,
        help="honest tasks before the attack (every operator must reach standing)",
    )
    ap.add_argument("--tasks", type=int, default=60, help="tasks measured per scenario")
    ap.add_argument(
        "--fractions", default="0,0.1,0.25,0.4", help="colluding fractions ('': none, hung only)"
    )
    ap.add_argument("--skip-hung", action="store_true")
    args = ap.parse_args()
    n = args.operators
    rows = []
    for f in (float(x) for x in args.fractions.split(",") if x.strip()):
        k = round(f * n)
        for mode in ("naive", "smart") if k else ("honest",):
            for replication in ("fixed", "adaptive"):
                rows.append(scenario(n, k, mode, replication, args.warmup, args.tasks))
                _print(rows[-1])
    if rows:
        _table(rows)
    if not args.skip_hung:
        (p50, base), (p50_stuck, stuck) = hung(n, args.tasks, args.warmup)
        print("\n| one hung worker | p50 (s) | p99 (s) | p99 ratio |\n|---|---:|---:|---:|")
        print(
            f"| none | {p50:.2f} | {base:.2f} | 1.00 |\n"
            f"| one of {n} stopped | {p50_stuck:.2f} | {stuck:.2f} | {stuck / base:.2f} |"
        )


def _table(rows: list[Row]) -> None:
    print(
        "\n| scenario | colluding operators | honest established | tasks | wrong returned | "
        "revoked by re-checks | dead-lettered | replicas / verified task | p50 (s) | p99 (s) | "
        "quarantined |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        _print(r)


def _print(r: Row) -> None:
    print(
        f"| {r.scenario} | {r.colluders} | {r.established} | {r.tasks} | {r.wrong} | "
        f"{r.revoked} | {r.dead} | "
        f"{r.replicas:.2f} | {r.p50:.2f} | {r.p99:.2f} | {r.quarantined} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
