"""Byzantine fleet: wrong digests, forged proofs, replayed and re-randomised attestations,
malformed frames and results. Nothing they send is accepted; each is held against its worker."""

from __future__ import annotations

import contextlib
import time

import pytest
from chaos_support import (
    BYZANTINE,
    HONEST,
    byzantine_settings,
    byzantine_workers,
    cluster,
    long_only,
    payloads,
    run_byzantine_tasks,
    wait_settled,
    worker_stats,
)
from sqlalchemy import select

from shardy.celery_app import CONTROL_QUEUE
from shardy.errors import ShardyError
from shardy.orchestrator import dlq
from shardy.orchestrator.settle import settle
from shardy.store import Replica

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def fleet():
    with cluster(byzantine_settings(), workers=8, **byzantine_workers()) as rc:
        yield rc


def rows_of(rc, ids: list[str], index: int) -> list[Replica]:
    with rc.app.store.session() as s:
        return list(
            s.scalars(
                select(Replica).where(
                    Replica.task_id.in_(ids), Replica.worker_id.like(f"gpu{index}@%")
                )
            )
        )


def test_byzantine_workers_are_outvoted_refused_and_recorded(fleet):
    run = run_byzantine_tasks(fleet, n_tasks=4)
    ledger, ids = run.ledger, list(run.jobs)
    assert ledger.lost == 0 and ledger.verified_first == ledger.tasks, ledger.notes
    assert ledger.wrong_accepted == 0 and ledger.byzantine_accepted == 0, ledger.notes
    assert ledger.duplicate_rows == 0 and ledger.duplicate_votes == 0, ledger.notes
    stats = worker_stats(fleet)
    for i in range(HONEST):
        agreed, disagreed, invalid = stats[f"gpu{i}"]
        assert agreed >= 1 and disagreed == 0 and invalid == 0, (i, stats[f"gpu{i}"])
    # wrong digests: valid proofs of a wrong output, outvoted
    wrong = rows_of(fleet, ids, 3)
    assert wrong and all(r.proof_valid and r.verdict == "disagree" for r in wrong)
    assert stats["gpu3"][1] >= len(ids)
    # forged, replayed and re-randomised attestations: refused, counted invalid
    for i, reason in ((4, "proof does not verify"), (5, ""), (6, "")):
        rows = rows_of(fleet, ids, i)
        assert rows, BYZANTINE[i][0]
        assert all(r.status != "ok" or r.verdict == "invalid" for r in rows), BYZANTINE[i][0]
        assert any(r.verdict == "invalid" and reason in (r.error or "") for r in rows)
        assert stats[f"gpu{i}"][2] >= 1 and stats[f"gpu{i}"][0] == 0, (i, stats[f"gpu{i}"])
    # malformed results never count as votes; the orchestrator keeps serving
    with fleet.app.store.session() as s:
        counted = s.scalars(  # votes: ok results whose attestation was accepted
            select(Replica).where(
                Replica.task_id.in_(ids), Replica.status == "ok", Replica.proof_valid.is_(True)
            )
        ).all()
    assert not [r for r in counted if r.worker_id and r.worker_id.startswith("gpu7@")]
    assert all(p.poll() is None for p in fleet.cluster.procs.values())
    malformed = [e for e in dlq.entries(fleet.app) if e.kind == "malformed"]
    assert malformed  # the garbage frames were dead-lettered, not executed


def test_malformed_results_are_recorded_against_their_worker(fleet):
    ids = [fleet.client.submit("histogram", data).id for _, data, _ in payloads(1, 7)]
    wait_settled(fleet, ids, 180)
    rows = rows_of(fleet, ids, 7)
    # malformed: recorded as a failed replica; well-formed with a junk proof: an invalid vote
    assert rows and all(r.status == "failed" or r.verdict == "invalid" for r in rows)
    assert all(not r.proof_valid for r in rows)


def test_forged_settle_message_cannot_stall_a_task(fleet):
    _, data, _ = payloads(1, 11)[0]
    handle = fleet.client.submit("histogram", data)
    fleet.app.send_task("shardy.settle", args=([], handle.id, 99), queue=CONTROL_QUEUE)
    handle.get(timeout=60)


def test_settle_survives_malformed_replica_fields(fleet):
    handle = fleet.client.submit("histogram", payloads(1, 12)[0][1])
    handle.get(timeout=150)
    bad = [{"status": "failed", "task_id": handle.id, "replica": [1], "worker_id": "x@y"}]
    with contextlib.suppress(ShardyError):
        settle(fleet.app, bad, handle.id, 1)


@long_only
@pytest.mark.slow
def test_byzantine_fleet_long(fleet):
    t0 = time.monotonic()
    run = run_byzantine_tasks(fleet, n_tasks=60, seed=3)
    assert run.ledger.lost == 0 and run.ledger.wrong_accepted == 0, run.ledger.notes
    assert run.ledger.byzantine_accepted == 0, time.monotonic() - t0
