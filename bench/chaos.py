"""Chaos benchmark: crash faults and a Byzantine fleet on real local clusters; prints the table
of faults injected, tasks, verified, dead-lettered, lost and wrong accepted.

    .venv/bin/python bench/chaos.py [--tasks 100] [--byzantine-tasks 6] [--workers 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "chaos")]

from chaos_support import (  # noqa: E402
    Ledger,
    byzantine_settings,
    byzantine_workers,
    cluster,
    run_byzantine_tasks,
    run_crash,
)


def table(rows: list[tuple[Ledger, float]]) -> str:
    """The results as a Markdown table."""
    head = ("scenario", "faults injected", "tasks", "verified (1st pass)", "dead-lettered",
            "verified after replay", "lost", "wrong accepted", "Byzantine votes counted",
            "duplicate rows/votes", "time (s)")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r, secs in rows:
        cells = (r.scenario, r.fault_text, r.tasks, r.verified_first, r.dead_lettered,
                 r.verified_after_replay, r.lost, r.wrong_accepted, r.byzantine_accepted,
                 f"{r.duplicate_rows}/{r.duplicate_votes}", f"{secs:.0f}")  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=100, help="tasks of the crash run")
    ap.add_argument("--byzantine-tasks", type=int, default=6)
    ap.add_argument("--workers", type=int, default=4, help="GPU workers of the crash run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crash-only", action="store_true", help="skip the Byzantine run")
    args = ap.parse_args()
    rows = []
    t0 = time.monotonic()
    crash = run_crash(n_tasks=args.tasks, workers=args.workers, seed=args.seed)
    rows.append((crash, time.monotonic() - t0))
    if args.crash_only:
        _report(rows)
        return
    t0 = time.monotonic()
    with cluster(byzantine_settings(), workers=8, **byzantine_workers()) as rc:
        byz = run_byzantine_tasks(rc, args.byzantine_tasks, seed=args.seed + 1)
    rows.append((byz.ledger, time.monotonic() - t0))
    _report(rows)


def _report(rows: list[tuple[Ledger, float]]) -> None:
    print(table(rows))
    for r, _ in rows:
        for note in r.notes[:10]:
            print(f"  {r.scenario}: {note}")
        if r.resent_rounds or r.settle_s:
            print(f"  {r.scenario}: {r.resent_rounds} round(s) re-sent by the sweeper; "
                  f"first submit to last settle {r.settle_s:.0f} s")  # fmt: skip
        if r.chord_errors:
            print(f"  {r.scenario}: {r.chord_errors} ChordError(s) in the cluster logs")


if __name__ == "__main__":
    main()
