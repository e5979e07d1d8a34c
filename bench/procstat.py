"""Per-process readings from /proc for the benches: resident memory, CPU seconds and
context switches, and a meter of the CPU each named process spends over a measured span."""

from __future__ import annotations

import os
import resource
from pathlib import Path


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
