"""Part 3 of bench/browser.py: verified tasks/s of three browser tabs against three Python
remote workers, in one real cluster behind one real gateway.

One cluster (no fleet workers, R = 3, quorum 3: every task needs all three workers), its
gateway, three Python remote workers (``rw0..2``, as `shardy up --remote` starts them) and three
headless Chromium tabs, each opened with an operator's enrollment link (one operator per tab and
per Python worker). A scenario keeps one trio connected: the Python workers are stopped
(SIGTERM) while the tabs serve, and the tabs' sessions are closed while the Python workers
serve (then opened again from the same tabs, shaders and key still loaded). Each scenario is
warmed up, then a burst of tasks (histogram and sha256, half each, one fixed
payload size) is submitted with `Client.map`; tasks/s is first submit → last verified, from
the store's timestamps, as bench/dispatch.py measures it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "workers")]

from browser_support import chromium  # noqa: E402
from cluster_support import make_settings, short_home, start_cluster  # noqa: E402
from sqlalchemy import select  # noqa: E402

from shardy import routing  # noqa: E402
from shardy.orchestrator import operators  # noqa: E402
from shardy.store import Task  # noqa: E402

KERNELS = (("histogram", {}), ("sha256", {}))
WORKERS = 3

#: Leave: what `Session.stop()` means to do. It closes with code 1001, which browsers refuse
#: to send ("The close code must be either 1000, or between 3000 and 4999"), so the bench
#: closes with 1000 itself.
_LEAVE = "const s = shardy.session; s.stopped = true; s.ws?.close(1000, 'leaving');"
#: Come back: a fresh session of the same enrolled identity and the same warm compute worker
#: (the old session's reconnect loop, asleep in its back-off, ends when it wakes: stopped).
_REJOIN = """
const o = shardy.session;
const s = new o.constructor({url: o.url, token: null, client: o.client, identity: o.identity,
  adapter: o.adapter, batch: o.slots, wait: o.batcher ? o.batcher.wait * 1000 : 0,
  onchange: o.onchange});
shardy.session = s;
s.run().catch((e) => console.error(e));
"""


@dataclasses.dataclass
class Burst:
    tasks: int
    seconds: float  # first submit -> last verified
    p50: float
    p99: float

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds


class Fabric:
    """The cluster, its three Python remote workers and three tabs; `use` picks who serves."""

    def __init__(self, batch: int, stack: contextlib.ExitStack) -> None:
        # As tests/workers/test_browser_session.py: no speculative replicas (a slower voter
        # must not change who votes) and newcomers may fill the quorum (fresh operators). Spot
        # checks off: the same tasks, and only them, in both scenarios.
        settings = make_settings(short_home(), redundancy_factor=WORKERS, quorum=WORKERS,
                                 task_time_limit=300, speculate_factor=0.0,
                                 probation_share=1.0, spot_check_rate=0.0,
                                 attest_batch=batch)  # fmt: skip
        gen = start_cluster(settings, workers=0, remote=WORKERS)
        self.rc = next(gen)
        stack.callback(lambda: next(gen, None))  # stops the cluster
        self.stack, self.batch = stack, batch
        self.redis = self.rc.cluster.client_app().redis
        self.python = {self.rc.cluster.remote.worker_id(i) for i in range(WORKERS)}
        self.tabs: dict[str, Any] = {}  # worker id -> selenium driver
        self.adapter = ""
        self.serving = "python"

    def live(self) -> set[str]:
        return {w for w, i in routing.live_workers(self.redis).items() if i.kind == "remote"}

    def wait_live(self, want: set[str], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.live() != want:
            if time.monotonic() > deadline:
                raise RuntimeError(f"live remote workers {sorted(self.live())} != {sorted(want)}")
            time.sleep(0.2)

    def open_tabs(self) -> None:
        """Stop the Python workers, then open three tabs, each enrolling as its own operator."""
        self._python(False)
        port = self.rc.cluster.remote.port
        for i in range(WORKERS):
            with self.rc.app.store.session() as s:
                token = str(operators.add(s, f"tab-{i}"))
            driver = self.stack.enter_context(chromium())
            driver.set_script_timeout(600)
            driver.get(f"http://127.0.0.1:{port}/worker/?batch={self.batch}#token={token}")
            deadline, state = time.monotonic() + 180, {}
            while not (state.get("connected") and state.get("workerId")):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tab {i} did not join: {state}")
                time.sleep(0.5)
                state = driver.execute_script("return window.shardy ? shardy.state : null") or {}
            self.tabs[state["workerId"]] = driver
            self.adapter = state["adapter"]
        self.wait_live(set(self.tabs))
        self.serving = "tabs"

    def _python(self, on: bool) -> None:
        for i in range(WORKERS):
            if on:
                self.rc.cluster.restart(f"rw{i}")
            else:
                try:
                    self.rc.cluster.kill(f"rw{i}", signal.SIGTERM, timeout=30)
                except Exception:  # noqa: BLE001 - a worker slow to leave is killed
                    self.rc.cluster.kill(f"rw{i}", signal.SIGKILL, timeout=30)

    def use(self, who: str) -> None:
        """Leave only ``who`` ("python" or "tabs") connected."""
        if who == self.serving:
            return
        if who == "python":
            for driver in self.tabs.values():
                driver.execute_script(_LEAVE)
            self.wait_live(set())
            self._python(True)
            self.wait_live(self.python)
        else:
            self._python(False)
            self.wait_live(set())
            for driver in self.tabs.values():
                driver.execute_script(_REJOIN)
            self.wait_live(set(self.tabs))
        self.serving = who

    def burst(self, n: int, size: int, seed: int) -> Burst:
        """Submit ``n`` tasks (half histogram, half sha256, ``size`` bytes each) at once; wait
        until each is verified by the three serving workers."""
        rng = np.random.default_rng(seed)
        datas = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(n)]
        client = self.rc.client
        handles = []
        for k, (kernel, params) in enumerate(KERNELS):
            handles += client.map(kernel, datas[k :: len(KERNELS)], params=params, seed=seed)
        want = set(self.tabs) if self.serving == "tabs" else self.python
        for h in handles:
            voters = {a.worker_id for a in h.get(timeout=600).attestations if a.valid and a.agrees}
            if voters != want:
                raise RuntimeError(f"task {h.id} verified by {sorted(voters)}, not {sorted(want)}")
        with self.rc.app.store.read() as s:
            rows = s.scalars(select(Task).where(Task.id.in_([h.id for h in handles]))).all()
        lat = [(t.settled_at - t.created_at).total_seconds() for t in rows]
        span = (max(t.settled_at for t in rows) - min(t.created_at for t in rows)).total_seconds()
        return Burst(n, span, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)))


def fabric_bench(rounds: int, tasks: int, kib: float, batch: int, warmup: int) -> None:
    """Part 3: alternate the two scenarios ``rounds`` times (A B, B A, ...); print each round
    and the spread of tabs / Python."""
    size = int(kib * 1024)
    with contextlib.ExitStack() as stack:
        t0 = time.monotonic()
        fab = Fabric(batch, stack)
        fab.open_tabs()
        print(f"\npart 3: {WORKERS} tabs ({fab.adapter}) against {WORKERS} Python remote workers "
              f"(lavapipe), one gateway; R = quorum = {WORKERS}, K = {batch}; {tasks} tasks a "
              f"burst ({len(KERNELS)} kernels, {kib:g} KiB); setup {time.monotonic() - t0:.0f} s",
              flush=True)  # fmt: skip
        rows: list[tuple[Burst, Burst]] = []
        hdr = ("round", "python t/s", "p50 s", "p99 s", "tabs t/s", "p50 s", "p99 s", "tabs/py",
               "load")  # fmt: skip
        print("{:<7}{:>11}{:>8}{:>8}{:>11}{:>8}{:>8}{:>9}{:>7}".format(*hdr), flush=True)
        for r in range(rounds):
            got: dict[str, Burst] = {}
            for who in ("python", "tabs") if r % 2 == 0 else ("tabs", "python"):
                fab.use(who)
                fab.burst(warmup, size, 1000 + r)  # warm: shaders, key, connections
                got[who] = fab.burst(tasks, size, r)
            py, tb = got["python"], got["tabs"]
            rows.append((py, tb))
            print(f"{r + 1:<7}{py.rate:11.2f}{py.p50:8.2f}{py.p99:8.2f}{tb.rate:11.2f}"
                  f"{tb.p50:8.2f}{tb.p99:8.2f}{tb.rate / py.rate:8.2f}x{os.getloadavg()[0]:7.1f}",
                  flush=True)  # fmt: skip
        ratios = [tb.rate / py.rate for py, tb in rows]
        print(
            f"tabs / python: median {statistics.median(ratios):.2f}x, spread "
            f"{min(ratios):.2f}-{max(ratios):.2f}x over {rounds} rounds (target >= 0.5x)"
        )
