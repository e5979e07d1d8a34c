"""Where part 3's time goes (bench/browser.py, bench/browser_fabric.py): one burst per scenario
in the same cluster, with the CPU seconds of this bench's own processes and threads (psutil and
/proc: Chromium's renderer, its GPU process, the gateway, the orchestrator, the Python workers),
the replicas' batch sizes (one proof per batch) and the stage times the workers report. With
``--main-profile`` it also samples one tab's main thread with the DevTools CPU profiler.

Not a ratio benchmark (bench/browser.py part 3 is): a burst per scenario, for finding costs.

usage: python bench/browser_profile.py [--who tabs,python] [--tasks 96] [--kib 64] [--batch 16]
           [--main-profile]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil
from sqlalchemy import select

from shardy.store import Replica

TICK = os.sysconf("SC_CLK_TCK")
_CHROME_TYPES = ("renderer", "gpu-process", "utility", "zygote")


def kind(p: psutil.Process) -> str | None:
    """What a process of this bench is: chrome-<type>, gateway, orchestrator, py-worker, ..."""
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return None
    if "chromedriver" in cmd:
        return "chromedriver"
    if "chrom" in cmd:
        return next((f"chrome-{t}" for t in _CHROME_TYPES if f"--type={t}" in cmd), "chrome")
    for needle, name in (("gateway", "gateway"), ("orchestrator.tasks", "orchestrator"),
                         ("redis", "redis"), (" worker", "py-worker")):  # fmt: skip
        if needle in cmd:
            return name
    return "bench" if p.pid == os.getpid() else "other"


def snapshot() -> dict[tuple[int, int], tuple[str, str, float]]:
    """(pid, tid) -> (process kind, thread name, CPU seconds) of this process and its tree."""
    out = {}
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        k = kind(p)
        try:
            tids = os.listdir(f"/proc/{p.pid}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p.pid}/task/{t}/comm") as f:
                    comm = f.read().strip()
                with open(f"/proc/{p.pid}/task/{t}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[(p.pid, int(t))] = (k or "?", comm, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def cpu_during(
    fn: Callable[[], Any],
) -> tuple[Any, float, collections.Counter, collections.Counter]:
    """fn's result, its wall seconds, CPU seconds by process kind and by (kind, thread)."""
    a, t0 = snapshot(), time.monotonic()
    result = fn()
    dt, b = time.monotonic() - t0, snapshot()
    by_kind, by_thread = collections.Counter(), collections.Counter()
    for key, (k, comm, cpu) in b.items():
        d = cpu - (a[key][2] if key in a else 0.0)
        by_kind[k] += d
        by_thread[(k, comm)] += d
    return result, dt, by_kind, by_thread


def main_thread_profile(driver: Any, fn: Callable[[], Any]) -> Any:
    """Run fn while the DevTools profiler samples the tab's main thread; print its top self
    times."""
    driver.execute_cdp_cmd("Profiler.enable", {})
    driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 200})
    driver.execute_cdp_cmd("Profiler.start", {})
    try:
        return fn()
    finally:
        prof = driver.execute_cdp_cmd("Profiler.stop", {})["profile"]
        nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
        self_ms: collections.Counter = collections.Counter()
        for sample, delta in zip(prof["samples"], prof["timeDeltas"], strict=False):
            cf = nodes[sample]
            name, file = cf["functionName"] or "(anonymous)", cf["url"].rsplit("/", 1)[-1]
            where = f"{name} {file}:{cf['lineNumber']}"
            self_ms[where] += delta / 1000
        print("  one tab's main thread, self time:")
        for where, ms in self_ms.most_common(15):
            print(f"    {ms:8.1f} ms  {where}")


def profile(fab: Any, who: str, tasks: int, size: int, main: bool) -> None:
    fab.use(who)
    fab.burst(6, size, 999)  # warm
    with fab.rc.app.store.read() as s:
        seen = set(s.scalars(select(Replica.id)))
    run = lambda: fab.burst(tasks, size, 5)  # noqa: E731
    if main and who == "tabs":
        driver = next(iter(fab.tabs.values()))
        burst, dt, by_kind, by_thread = cpu_during(lambda: main_thread_profile(driver, run))
    else:
        burst, dt, by_kind, by_thread = cpu_during(run)
    total = sum(by_kind.values())
    print(f"== {who}: {burst.rate:.2f} tasks/s, p50 {burst.p50:.2f} s; CPU {total:.2f} s in "
          f"{dt:.1f} s ({total / dt:.2f} cores), {total / tasks * 1000:.1f} ms a task")  # fmt: skip
    for k, v in by_kind.most_common():
        if v >= 0.01:
            print(f"  {k:<20}{v:7.2f} s {v / tasks * 1000:7.1f} ms a task")
    for (k, comm), v in by_thread.most_common(12):
        if v >= 0.05:
            print(f"    {k:<20}{comm:<20}{v:7.2f} s")
    with fab.rc.app.store.read() as s:
        reps = [r for r in s.scalars(select(Replica)) if r.id not in seen and r.status == "ok"]
    batches = collections.Counter(r.batch_id for r in reps)
    print(f"  proofs: {len(batches)} for {len(reps)} replicas, "
          f"{len(reps) / max(1, len(batches)):.1f} a proof")  # fmt: skip
    stages = collections.defaultdict(list)
    for r in reps:
        for k, v in (r.timings or {}).items():
            if isinstance(v, int | float):
                stages[k].append(v)
    print("  stages (median ms): " + ", ".join(
        f"{k} {statistics.median(v) * 1000:.1f}" for k, v in stages.items()))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--who", default="tabs,python")
    ap.add_argument("--tasks", type=int, default=96)
    ap.add_argument("--kib", type=float, default=64.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--main-profile", action="store_true")
    args = ap.parse_args()
    from browser_fabric import Fabric  # after shardy: it puts tests/ on the path

    with contextlib.ExitStack() as stack:
        fab = Fabric(args.batch, stack)
        fab.open_tabs()
        for who in args.who.split(","):
            profile(fab, who, args.tasks, int(args.kib * 1024), args.main_profile)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
