"""Crash chaos: workers SIGKILLed and restarted every few seconds, Redis restarted (AOF), the
orchestrator SIGKILLed mid-settle; every task ends verified (after a DLQ replay) exactly once."""

from __future__ import annotations

import pytest
from chaos_support import Ledger, long_only, run_crash

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def check(ledger: Ledger) -> None:
    assert ledger.faults["orchestrator SIGKILL"] == 1 and ledger.faults["worker SIGKILL"] >= 1
    assert ledger.wrong_accepted == 0, ledger.notes
    assert ledger.duplicate_rows == 0 and ledger.duplicate_votes == 0, ledger.notes
    assert ledger.lost == 0, ledger.notes
    assert ledger.verified_after_replay == ledger.tasks


def test_crash_chaos_short() -> None:
    ledger = run_crash(n_tasks=100, workers=4, kill_every=3.0, seed=0)
    assert ledger.faults["Redis restart"] == 1
    check(ledger)


@long_only
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_crash_chaos_long() -> None:
    check(run_crash(n_tasks=1000, workers=4, kill_every=3.0, seed=1, settle_timeout=1800))
