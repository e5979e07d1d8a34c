"""One gateway against simulated remote workers (clients on loopback that answer at once):
sessions held and memory per session, and orders relayed per second next to plain Celery's
no-op task rate in the same run (the same broker, the same threads pool size).

Targets (issue 18): 10,000 idle sessions in under 2 GiB; relay at least 0.8x the no-op rate.
The sessions are enrolled in SQL up front (as `shardy operators add` and one enrollment each
would leave them); each still opens with a signed challenge. Prints a table; asserts nothing.

    python bench/gateway.py [--sessions 10000] [--orders 2000] [--clients 50] [--rounds 3]
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from gateway_support import Identity, hello_meta  # noqa: E402

from shardy import enrollment  # noqa: E402
from shardy import session as wire  # noqa: E402
from shardy.api import Client  # noqa: E402
from shardy.blobs import BlobRef  # noqa: E402
from shardy.config import Settings  # noqa: E402
from shardy.messages import ReplicaOrder  # noqa: E402
from shardy.ops.cli_gateway import GATEWAY_CONCURRENCY  # noqa: E402
from shardy.ops.cluster import Cluster  # noqa: E402
from shardy.ops.remote import RemoteFleet  # noqa: E402
from shardy.orchestrator import operators  # noqa: E402
from shardy.store import Worker  # noqa: E402

CLIENT = HERE / "gateway_clients.py"


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (MiB)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid: int) -> int:
    """Context switches (voluntary and not) of all of a process's threads so far."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0
    for task in tasks:
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class CpuMeter:
    """CPU seconds each named process spends between `start` and `stop` (the bench's own
    process as ``bench``), to see who the machine's two cores went to."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {"bench": me.ru_utime + me.ru_stime,
                **{name: cpu_s(pid) for name, pid in self.pids.items()},
                **{f"{name} switches": switches(pid) for name, pid in self.pids.items()
                   if name in ("gateway", "worker")}}  # fmt: skip

    def start(self) -> CpuMeter:
        self._t0 = self._now()
        return self

    def stop(self) -> dict[str, float]:
        now = self._now()
        self.used = {k: now[k] - self._t0[k] for k in now}
        return self.used


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


def relay_rate(
    settings: Settings, url: str, queue: str, orders: int, clients: int, pids: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """Orders relayed per second: ``orders`` shardy.relay messages for ``clients`` sessions
    whose workers answer at once; first send → last result stored. Also the CPU seconds
    the gateway, the simulated workers, Redis and this process spent meanwhile."""
    idents = enroll_many(settings, clients, f"relay{time.monotonic_ns() % 10**6}")
    env = {**os.environ, "BENCH_URL": url, "BENCH_KEYS": ",".join(
        i.key.private_hex() for i in idents)}  # fmt: skip
    answering = subprocess.Popen([sys.executable, str(CLIENT)], env=env, stdout=subprocess.PIPE,
                                 text=True)  # fmt: skip
    assert answering.stdout.readline().strip() == "ready"
    app = Client(settings).app
    with app.store.session() as s:
        by_key = {w.public_key: w.id for w in s.query(Worker).filter(Worker.kind == "remote")}
    ids = [by_key[i.key.public_hex] for i in idents]
    payload = BlobRef("0" * 64, 16, b"\0" * 16)
    sent = []
    meter = CpuMeter(**pids, workers=answering.pid).start()
    t0 = time.perf_counter()
    for n in range(orders):
        task_id = f"00000000-0000-4000-8000-{n:012d}"
        order = ReplicaOrder(task_id=task_id, replica=0, round=1, kernel="histogram", seed=0,
                             output_len=1024, params={}, payload=payload, key_id="bench",
                             assignee=ids[n % len(ids)])  # fmt: skip
        sent.append(app.send_task("shardy.relay", args=(order.encode(),), queue=app.queue(queue)))
    _wait_stored(app, [r.id for r in sent])
    rate = orders / (time.perf_counter() - t0)
    used = meter.stop()
    answering.terminate()
    return rate, used


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
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    home = Path(tempfile.mkdtemp(prefix="shyb", dir="/tmp"))
    settings = Settings(home=home, remote_slots=64)
    with Cluster(settings, workers=0) as cluster:
        fleet = RemoteFleet(cluster, 0).start()  # a gateway, no workers of its own
        pid = cluster.procs["gateway"].pid
        queue = f"shardy.gw.{fleet.gateway_id}"
        print(f"gateway pid {pid}", flush=True)  # for a profiler (py-spy record -p PID)
        redis = cluster.redis.process.pid if cluster.redis and cluster.redis.process else 0
        rows = []
        for r in range(a.rounds):
            noop, noop_cpu = noop_rate(settings, a.orders, {"redis": redis})
            relay, relay_cpu = relay_rate(settings, fleet.url, queue, a.orders, a.clients,
                                          {"gateway": pid, "redis": redis})  # fmt: skip
            rows.append((noop, relay))
            print(f"round {r + 1}: plain Celery no-op {noop:.0f}/s, gateway relay {relay:.0f}/s,"
                  f" ratio {relay / noop:.2f}", flush=True)  # fmt: skip
            for name, used in (("no-op", noop_cpu), ("relay", relay_cpu)):
                per = ", ".join(f"{k} {v * 1000 / a.orders:.2f}" for k, v in used.items()
                                if not k.endswith("switches"))  # fmt: skip
                ctx = ", ".join(f"{k} {v / a.orders:.0f}" for k, v in used.items()
                                if k.endswith("switches"))  # fmt: skip
                print(f"  {name} per order: CPU ms {per}; context {ctx}", flush=True)
        idle = idle_sessions(settings, pid, fleet.url, a.sessions)
    print("\n| measure | value | target |\n|---|---|---|")
    ratios = [relay / noop for noop, relay in rows]
    print(f"| relay / no-op, {a.rounds} rounds | {min(ratios):.2f}-{max(ratios):.2f} | >= 0.8 |")
    print(f"| idle sessions held | {idle['sessions']} (opened in {idle['open_s']:.1f}s) | 10000 |")
    print(f"| gateway RSS with them | {idle['rss_after']:.0f} MiB "
          f"({idle['kib_per_session']:.1f} KiB/session over {idle['rss_before']:.0f}) "
          f"| < 2048 MiB |")  # fmt: skip


if __name__ == "__main__":
    main()
