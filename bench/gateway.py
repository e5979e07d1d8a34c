"""One gateway against simulated remote workers (clients on loopback that answer at once):
sessions held and memory per session, and orders relayed per second next to plain Celery's
no-op task rate in the same run (the same broker, the same threads pool size).

Orders are relayed two ways each round: one ``shardy.relay`` message per order (what dispatch
sends for a lone task) and grouped as dispatch sends a burst (`shardy.orchestrator.grouped`:
one ``shardy.relay_many`` per SHARDY_GROUP_ORDERS orders). Then once end to end, as a user
gets it: `Client.map` of ``--map`` tasks through the gateway.

Targets (issue 18): 10,000 idle sessions in under 2 GiB; relay at least 0.8x the no-op rate.
The sessions are enrolled in SQL up front (as `shardy operators add` and one enrollment each
would leave them); each still opens with a signed challenge. Prints a table; asserts nothing.

    python bench/gateway.py [--sessions 10000] [--orders 2000] [--clients 50] [--rounds 3]
                            [--map 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from gateway_support import Identity, hello_meta  # noqa: E402
from procstat import CpuMeter, rss_mib  # noqa: E402

from shardy import arrivals, enrollment  # noqa: E402
from shardy import session as wire  # noqa: E402
from shardy.api import Client  # noqa: E402
from shardy.blobs import BlobRef  # noqa: E402
from shardy.config import Settings  # noqa: E402
from shardy.messages import ReplicaOrder  # noqa: E402
from shardy.ops.cli_gateway import GATEWAY_CONCURRENCY  # noqa: E402
from shardy.ops.cluster import Cluster  # noqa: E402
from shardy.ops.remote import RemoteFleet  # noqa: E402
from shardy.orchestrator import grouped, operators  # noqa: E402
from shardy.orchestrator.dispatch import PlannedRound  # noqa: E402
from shardy.routing import Target  # noqa: E402
from shardy.store import Worker  # noqa: E402

CLIENT = HERE / "gateway_clients.py"


def enroll_many(settings: Settings, n: int, operator: str) -> list[Identity]:
    """``n`` identities bound in SQL to one operator (what enrollment leaves behind)."""
    app = Client(settings).app
    idents = [Identity() for _ in range(n)]
    with app.store.session() as s:
        operators.add(s, operator)
        for ident in idents:
            s.add(Worker(id=enrollment.worker_id(ident.key.public_hex, operator), kind="remote",
                         operator=operator, public_key=ident.key.public_hex,
                         commitment=ident.commitment, replicas_ok=0, replicas_failed=0,
                         agreed=0, disagreed=0, invalid=0, reputation=0.5))  # fmt: skip
    return idents


async def _hold(url: str, idents: list[Identity], ready: asyncio.Event, conns: list) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sem = asyncio.Semaphore(200)

        async def one(ident: Identity) -> None:
            async with sem:
                ws = await http.ws_connect(url, heartbeat=None)
                challenge = wire.decode((await ws.receive()).data, "challenge").meta
                await ws.send_bytes(wire.encode("hello", hello_meta(ident, challenge)))
                wire.decode((await ws.receive()).data, "welcome")
                conns.append(ws)

        await asyncio.gather(*(one(i) for i in idents))
        ready.set()
        await asyncio.Event().wait()


def idle_sessions(settings: Settings, gateway_pid: int, url: str, n: int) -> dict:
    """Open ``n`` sessions and measure the gateway's memory before and after."""
    idents = enroll_many(settings, n, "idle")
    before = rss_mib(gateway_pid)
    conns: list = []

    async def main() -> float:
        ready = asyncio.Event()
        t0 = time.perf_counter()
        task = asyncio.create_task(_hold(url, idents, ready, conns))
        await asyncio.wait_for(ready.wait(), 600)
        took = time.perf_counter() - t0
        await asyncio.sleep(12)  # a liveness beat for every session, pings under way
        task.cancel()
        return took

    took = asyncio.run(_with_rss(main(), gateway_pid))
    after = _PEAK[0]
    return {"sessions": len(conns), "open_s": took, "rss_before": before, "rss_after": after,
            "kib_per_session": (after - before) * 1024 / max(1, len(conns))}  # fmt: skip


_PEAK = [0.0]


async def _with_rss(coro, pid: int):
    async def sample() -> None:
        while True:
            _PEAK[0] = max(_PEAK[0], rss_mib(pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    try:
        return await coro
    finally:
        sampler.cancel()


class Answering:
    """``clients`` simulated remote workers with sessions open (of ``operators`` operators,
    in turn), answering at once, in their own process."""

    def __init__(self, settings: Settings, url: str, clients: int, operators_: int = 1) -> None:
        tag = time.monotonic_ns() % 10**6
        self.idents = [i for k in range(operators_) for i in enroll_many(
            settings, clients // operators_, f"relay{tag}-{k}")]  # fmt: skip
        env = {**os.environ, "BENCH_URL": url, "BENCH_KEYS": ",".join(
            i.key.private_hex() for i in self.idents)}  # fmt: skip
        self.proc = subprocess.Popen([sys.executable, str(CLIENT)], env=env,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.proc.stdout.readline().strip() == "ready"
        app = Client(settings).app
        with app.store.session() as s:
            by_key = {w.public_key: w.id for w in s.query(Worker).filter(Worker.kind == "remote")}
        self.ids = [by_key[i.key.public_hex] for i in self.idents]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def _orders(ids: list[str], n: int, replicas: int = 1) -> list[ReplicaOrder]:
    """``n`` orders of ``n / replicas`` tasks, each replica of a task to another worker."""
    payload = BlobRef("0" * 64, 16, b"\0" * 16)
    tag = time.monotonic_ns() % 10**12
    return [
        ReplicaOrder(task_id=f"00000000-0000-4000-8000-{(tag + k // replicas) % 10**12:012d}",
                     replica=k % replicas, round=1, kernel="histogram", seed=0, output_len=1024,
                     params={}, payload=payload, key_id="bench", assignee=ids[k % len(ids)])
        for k in range(n)
    ]  # fmt: skip


def relay_rate(
    settings: Settings,
    url: str,
    queue: str,
    orders: int,
    clients: int,
    pids: dict[str, int],
    how: str = "grouped",
) -> tuple[float, dict[str, float]]:
    """Orders relayed per second: ``orders`` orders for ``clients`` sessions whose workers
    answer at once; first send → last result stored. ``how``: ``single``, one
    ``shardy.relay`` message per order (a chord member each: what dispatch sends for a lone
    task); ``grouped``, what dispatch sends for a burst (`grouped.send`: one
    ``shardy.relay_many`` message per SHARDY_GROUP_ORDERS orders, 3 replicas a task on
    distinct sessions, a collect per group to the orchestrator). Also the CPU seconds the
    gateway, the simulated workers, Redis and this process spent meanwhile."""
    answering = Answering(settings, url, clients)
    app = Client(settings).app
    meter = CpuMeter(**pids, workers=answering.proc.pid).start()
    if how == "single":
        made = _orders(answering.ids, orders)
        t0 = time.perf_counter()
        sent = [app.send_task("shardy.relay", args=(o.encode(),), queue=app.queue(queue)).id
                for o in made]  # fmt: skip
    else:
        made = _orders(answering.ids, orders, replicas=3)
        t0 = time.perf_counter()
        rounds = [PlannedRound(made[k].task_id, 1, "histogram",
                               tuple((o, Target(o.assignee, queue, "remote"))
                                     for o in made[k : k + 3]))
                  for k in range(0, len(made), 3)]  # fmt: skip
        grouped.send(app, rounds)
        sent = [arrivals.replica_task_id(o.task_id, o.round, o.replica) for o in made]
    _wait_stored(app, sent)
    rate = orders / (time.perf_counter() - t0)
    used = meter.stop()
    answering.stop()
    return rate, used


def map_rate(
    settings: Settings, url: str, tasks: int, clients: int, group_orders: int
) -> tuple[float, float]:
    """What a user gets: `Client.map` of ``tasks`` histogram tasks (256 B, R = 3) to
    ``clients`` simulated workers of 3 operators through the gateway, dispatched with
    SHARDY_GROUP_ORDERS ``group_orders`` (1: a chord per task, one ``shardy.relay`` per
    replica, as before grouped relays). Returns (orders relayed per second, submitted tasks
    per second): from the call to the last replica result of round 1 stored, and to `map`'s
    return. (The workers' placeholder proofs fail settle's checks: the tasks end dead; only
    the relaying is measured.)"""
    answering = Answering(settings, url, clients, operators_=3)
    client = Client(replace(settings, group_orders=group_orders))
    rng = np.random.default_rng(0)
    datas = [rng.integers(0, 256, 256, dtype=np.uint8).tobytes() for _ in range(tasks)]
    t0 = time.perf_counter()
    handles = client.map("histogram", datas)
    submitted = tasks / (time.perf_counter() - t0)
    ids = [arrivals.replica_task_id(h.id, 1, r) for h in handles for r in range(3)]
    _wait_stored(client.app, ids)
    rate = len(ids) / (time.perf_counter() - t0)
    _wait_settled(client, [h.id for h in handles])  # the next measure starts on a quiet VM
    answering.stop()
    return rate, submitted


def _wait_settled(client: Client, ids: list[str], timeout: float = 300) -> None:
    from sqlalchemy import func, select

    from shardy.store import Task

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with client.app.store.read() as s:
            n = s.scalar(select(func.count()).select_from(Task).where(
                Task.id.in_(ids), Task.state.in_(("verified", "dead"))))  # fmt: skip
        if n == len(ids):
            return
        time.sleep(0.5)
    print(f"  ({len(ids) - n} tasks still unsettled after {timeout:.0f}s)", flush=True)


#: Results looked for per poll: the oldest outstanding ones (they come back about in order).
#: Polling every outstanding key instead loads Redis and this process in proportion to the
#: backlog times the run's length, which weighs on whichever side is slower.
WINDOW = 128


def _wait_stored(app, ids: list[str], timeout: float = 600) -> None:
    keys = [app.backend.get_key_for_task(i) for i in ids]
    deadline = time.monotonic() + timeout
    left = keys
    while left:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(left)} results never arrived")
        window = left[:WINDOW]
        stored = app.backend.client.mget(window)
        head = [k for k, v in zip(window, stored, strict=True) if v is None]
        left = head + left[WINDOW:]
        if head:
            time.sleep(0.01)


def noop_rate(
    settings: Settings, orders: int, pids: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """Plain Celery: ``orders`` no-op tasks on a threads pool of the same size, same broker;
    and the CPU seconds its worker, Redis and this process spent meanwhile."""
    env = {**os.environ, "PLAIN_BROKER": settings.broker, "PYTHONPATH": str(HERE)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "plain_celery", "worker", "-Q", "plain",
         "-P", "threads", "-c", str(GATEWAY_CONCURRENCY), "-l", "warning",
         "--without-gossip", "--without-mingle"], env=env, cwd=HERE,
    )  # fmt: skip
    try:
        sys.path.insert(0, str(HERE))
        os.environ["PLAIN_BROKER"] = settings.broker
        import plain_celery

        plain_celery.noop.delay().get(timeout=120)  # warm
        meter = CpuMeter(**pids, worker=worker.pid).start()
        t0 = time.perf_counter()
        results = [plain_celery.noop.delay() for _ in range(orders)]
        _wait_stored(plain_celery.app, [r.id for r in results])
        rate = orders / (time.perf_counter() - t0)
        return rate, meter.stop()
    finally:
        worker.terminate()
        worker.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--map", type=int, default=600, help="tasks of the Client.map run (0: none)")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    home = Path(tempfile.mkdtemp(prefix="shyb", dir="/tmp"))
    # the map run's placeholder proofs fail: no quarantine, no extra rounds (tasks end dead)
    settings = Settings(home=home, remote_slots=64, max_replicas=3, quarantine_faults=1e9)
    with Cluster(settings, workers=0) as cluster:
        fleet = RemoteFleet(cluster, 0).start()  # a gateway, no workers of its own
        pid = cluster.procs["gateway"].pid
        queue = f"shardy.gw.{fleet.gateway_id}"
        print(f"gateway pid {pid}", flush=True)  # for a profiler (py-spy record -p PID)
        redis = cluster.redis.process.pid if cluster.redis and cluster.redis.process else 0
        orch = cluster.procs["orchestrator"].pid
        rows = []
        for r in range(a.rounds):
            noop, noop_cpu = noop_rate(settings, a.orders, {"redis": redis})
            row = [noop]
            for how in ("single", "grouped"):
                relay, relay_cpu = relay_rate(settings, fleet.url, queue, a.orders, a.clients,
                                              {"gateway": pid, "redis": redis,
                                               "orchestrator": orch}, how)  # fmt: skip
                row.append(relay)
                _per_order(f"relay {how}", relay_cpu, a.orders)
            _per_order("no-op", noop_cpu, a.orders)
            rows.append(row)
            print(f"round {r + 1}: plain Celery no-op {noop:.0f}/s, gateway relay one message "
                  f"each {row[1]:.0f}/s (ratio {row[1] / noop:.2f}), grouped {row[2]:.0f}/s "
                  f"(ratio {row[2] / noop:.2f})", flush=True)  # fmt: skip
        mapped = {}
        for group in (1, settings.group_orders) if a.map else ():
            noop, _ = noop_rate(settings, a.orders, {"redis": redis})
            rate, submitted = map_rate(settings, fleet.url, a.map, a.clients, group)
            mapped[group] = (rate, noop)
            print(f"Client.map of {a.map} tasks (R = 3), SHARDY_GROUP_ORDERS {group}: "
                  f"{rate:.0f} orders relayed/s, {rate / noop:.2f}x plain Celery's no-op "
                  f"({noop:.0f}/s just before); submitted at {submitted:.0f} tasks/s",
                  flush=True)  # fmt: skip
        idle = idle_sessions(settings, pid, fleet.url, a.sessions)
    print("\n| measure | value | target |\n|---|---|---|")
    for k, name in ((2, "grouped relay"), (1, "relay, one message each")):
        ratios = " / ".join(f"{row[k] / row[0]:.2f}" for row in rows)
        print(f"| {name} / no-op, {a.rounds} rounds | {ratios} | >= 0.8 |")
    for group, (rate, noop) in mapped.items():
        how = "chords" if group == 1 else f"grouped by {group}"
        print(f"| Client.map ({how}) orders relayed / no-op | {rate / noop:.2f} | |")
    print(f"| idle sessions held | {idle['sessions']} (opened in {idle['open_s']:.1f}s) | 10000 |")
    print(f"| gateway RSS with them | {idle['rss_after']:.0f} MiB "
          f"({idle['kib_per_session']:.1f} KiB/session over {idle['rss_before']:.0f}) "
          f"| < 2048 MiB |")  # fmt: skip


def _per_order(name: str, used: dict[str, float], orders: int) -> None:
    per = ", ".join(f"{k} {v * 1000 / orders:.2f}" for k, v in used.items()
                    if not k.endswith("switches"))  # fmt: skip
    ctx = ", ".join(f"{k} {v / orders:.0f}" for k, v in used.items() if k.endswith("switches"))
    print(f"  {name} per order: CPU ms {per}; context {ctx}", flush=True)


if __name__ == "__main__":
    main()
