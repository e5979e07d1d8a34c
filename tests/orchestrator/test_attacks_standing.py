"""Adversarial review of early quorum, standing, spot checks, adaptive replication, re-checks
and homogeneous redundancy (issue 20): each test is an attack by a remote worker or a new
operator, written to assert the safe behaviour; each was fixed in the module it names.

Pure decisions and settle's helpers on SQLite and the embedded Redis; no cluster.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cluster_support import make_settings

from shardy import arrivals
from shardy.celery_app import ShardyCelery
from shardy.embedded import EmbeddedRedis
from shardy.kernels import registry
from shardy.orchestrator import decide as rounds
from shardy.orchestrator import homogeneous, recheck, spot, standing
from shardy.orchestrator.quorum import Vote, decide
from shardy.store import Assignment, Replica, Standing, Task, Worker
from shardy.store.models import utcnow

A, B = "a" * 64, "b" * 64


@pytest.fixture
def app(home: Path) -> Iterator[ShardyCelery]:
    """An orchestrator app on its own embedded Redis and SQLite, with no workers; probation
    ends after 3 agreeing votes."""
    settings = make_settings(home, probation_votes=3)
    with EmbeddedRedis(settings):
        app = ShardyCelery(settings)
        yield app
        app.redis.close()
        app.store.close()


def _workers(app: ShardyCelery, rows: dict[str, tuple[str, str, str]]) -> None:
    """Worker rows: id -> (kind, operator, adapter)."""
    with app.store.session() as session:
        for wid, (kind, operator, adapter) in rows.items():
            session.add(Worker(id=wid, kind=kind, operator=operator, hostname="",
                               adapter=adapter, replicas_ok=0, replicas_failed=0, agreed=0,
                               disagreed=0, invalid=0, reputation=0.5))  # fmt: skip


def _establish(app: ShardyCelery, *voters: str) -> None:
    with app.store.session() as session:
        for v in voters:
            for _ in range(app.settings.probation_votes + 2):
                standing.judge(session, app.settings, v, "agree")


def _task(**kw: object) -> Task:
    fields = {"id": str(uuid.uuid4()), "kernel": "histogram", "seed": 0, "output_len": 1024,
              "params": {}, "payload_sha256": "0" * 64, "payload_size": 512, "redundancy": 3,
              "quorum": 2, "max_replicas": 6, "replicas_sent": 3, "rounds_sent": 1,
              "rounds_settled": 0, "sweeps": 0, "state": "running", "agreeing": 0,
              "published": False, "updated_at": utcnow()}  # fmt: skip
    fields.update(kw)
    return Task(**fields)


def _ok(task_id: str, replica: int, worker: str, digest: str) -> Replica:
    return Replica(task_id=task_id, replica=replica, round=1, status="ok", worker_id=worker,
                   digest=digest, output_sha256=digest, output_size=1024, attempts=1,
                   verdict="none", proof_valid=True)  # fmt: skip


# ---- early quorum against the established-dissent rule ---------------------------------------


def test_colluders_answering_first_cannot_beat_the_dissent_rule_by_early_quorum(app):
    # R=3, q=2: two colluding operators (fewer than R) drawn with one honest established one.
    # docs/reliability.md "The bound": no wrong result is accepted in this case.
    _workers(app, {"c1": ("fleet", "c1", ""), "c2": ("fleet", "c2", ""),
                   "h1": ("fleet", "h1", "")})  # fmt: skip
    _establish(app, "c1", "c2", "h1")
    task = _task()
    with app.store.session() as session:
        session.add(task)
        session.flush()
        session.add_all([_ok(task.id, 0, "c1", B), _ok(task.id, 1, "c2", B)])
    # the watch's partial settle of round 1 while h1's replica 2 is still computing
    with app.store.session() as session, session.no_autoflush:
        task = session.get(Task, task.id)
        rows = list(session.query(Replica).filter_by(task_id=task.id))
        out = rounds.decide(app, session, task, rows, 1, [], early=True)
    assert out.state != "verified", f"verified {out.digest[:8]} on the colluders' word alone"


def test_a_quorum_against_the_kernels_own_answer_does_not_verify(app):
    # a known-answer copy of this task went to other workers; the whole quorum on the task
    # itself returned another digest (colluding, or sharing one fault): before, the result was
    # only flagged (assurance.spot_checked.agrees = False) and its voters kept their standing
    _workers(app, {f"c{i}": ("fleet", f"c{i}", "") for i in range(3)})
    _establish(app, "c0", "c1", "c2")
    task = _task(assurance={"spot_twin": {"task": str(uuid.uuid4()), "digest": A}})
    with app.store.session() as session:
        session.add(task)
        session.flush()
        session.add_all([_ok(task.id, i, f"c{i}", B) for i in range(3)])
    follow: list = []
    with app.store.session() as session, session.no_autoflush:
        task = session.get(Task, task.id)
        rows = list(session.query(Replica).filter_by(task_id=task.id))
        out = rounds.decide(app, session, task, rows, 1, follow)
    assert out.state != "verified", f"verified {B[:8]} against the kernel's answer {A[:8]}"
    assert [a for a, _ in follow] == ["extend"]  # fresh replicas decide it
    assert {r.verdict for r in rows} == {"disagree"}
    with app.store.read() as session:
        standings = {st.voter: st for st in session.query(Standing)}
    assert all(standings[f"c{i}"].quarantined_at is not None for i in range(3))


# ---- the dissent bar: votes on probation split over digests -----------------------------------


def test_probation_votes_split_over_digests_do_not_raise_the_dissent_bar():
    """Fixed in quorum._dissent (the dissenting votes are weighed as one group): before, each
    dissenting digest's probation voters were capped apart, so new operators (Sybils) voting
    distinct garbage digests beside one established dissent raised the bar by one per vote,
    as fast as honest replicas added weight, until the task died at SHARDY_MAX_REPLICAS."""
    old = frozenset({"h1", "h2", "h3", "h4", "e"})
    honest = [Vote(i, f"h{i + 1}", A) for i in range(4)]
    kw = {"quorum": 2, "replicas_sent": 8, "max_replicas": 8, "established": old}
    together = [Vote(4, "e", B), *(Vote(5 + i, f"j{i}", "c" * 64) for i in range(3))]
    apart = [Vote(4, "e", B), *(Vote(5 + i, f"j{i}", str(i) * 64) for i in range(3))]
    one = decide(honest + together, **kw)
    assert one.kind == "verified" and one.digest == A
    split = decide(honest + apart, **kw)
    assert (split.kind, split.digest) == (one.kind, one.digest)


def test_a_single_established_dissent_plus_sybils_cannot_kill_an_honest_task():
    """The same attack as a run of rounds: each extension's replicas go half to honest
    established operators, half to fresh operators on probation voting garbage; one
    established voter dissents. The honest digest must still verify within the budget."""
    old = frozenset({f"h{i}" for i in range(8)} | {"e"})
    votes = [Vote(0, "h0", A), Vote(1, "h1", A), Vote(2, "e", B)]
    sent, honest, sybil = 3, 2, 0
    kw = {"quorum": 2, "max_replicas": 12, "established": old}
    d = decide(votes, replicas_sent=sent, **kw)
    while d.kind == "extend":
        for _ in range(d.extra):
            if (sent % 2) == 0:
                votes.append(Vote(sent, f"h{honest}", A))
                honest += 1
            else:
                votes.append(Vote(sent, f"sybil{sybil}", f"{sybil:064x}"))
                sybil += 1
            sent += 1
        d = decide(votes, replicas_sent=sent, **kw)
    assert d.kind == "verified" and d.digest == A


# ---- known-answer spot checks -----------------------------------------------------------------


def test_a_worker_cannot_tell_spot_checks_from_payloads_it_has_seen():
    """Fixed in spot.draw: a check is an exact copy of one of the submission's tasks, so its
    orders differ from the original's in the task id alone. (Before, a block-shuffled copy
    was told apart by a worker that kept the sorted block hashes of payloads it ran.)"""
    from shardy.blobs import BlobRef
    from shardy.messages import ReplicaOrder

    k = registry.get("histogram")
    params = k.resolve_params(None)
    rng = random.Random(5)
    real = [rng.randbytes(1024) for _ in range(20)]  # a submission
    checks = spot.draw(k, params, 0, real, 0.5, random.Random(9))
    assert checks and all(c.data == real[c.original] for c in checks)

    def meta(task_id: str, data: bytes) -> dict:
        order = ReplicaOrder(
            task_id,
            0,
            1,
            "histogram",
            0,
            1024,
            params,
            BlobRef(hashlib.sha256(data).hexdigest(), len(data)),
            "k" * 16,
        )
        return {**ReplicaOrder.decode(order.encode()).__dict__, "task_id": None}  # fmt: skip

    for data, _, _ in checks:
        assert meta(str(uuid.uuid4()), data) == meta(str(uuid.uuid4()), data)


# ---- homogeneous redundancy -------------------------------------------------------------------


def test_one_operator_cannot_capture_the_homogeneous_platform_with_many_keys(app):
    honest = {f"f{i}": ("fleet", f"op{i}", "NVIDIA H100|vulkan|550") for i in range(3)}
    sybils = {f"r{i}": ("remote", "mallory", "Made Up GPU|vulkan|1") for i in range(5)}
    _workers(app, {**honest, **sybils})
    by_worker = homogeneous.adapters(app, [*honest, *sybils])
    voter_of = {w: op for w, (_, op, _) in {**honest, **sybils}.items()}
    platform = homogeneous.choose(by_worker, app.settings.effective_quorum, voter_of)
    assert platform == "NVIDIA H100|vulkan|550"


# ---- re-checks ----------------------------------------------------------------------------------


def test_a_revoked_result_can_be_replayed(app):
    """Fixed in recheck.conclude: revoking a verified task drops its 'decided' mark. Before,
    the mark set when the wrong single replica verified lived on for a day, so `shardy dlq
    replay` of the revoked task (the documented remedy) had every replica skipped by workers
    and the gateway ('decided before this replica ran') and died again."""
    _workers(app, {"w1": ("fleet", "liar", "")})
    original = _task(redundancy=1, quorum=1, replicas_sent=1, state="verified", digest=B,
                     output_sha256=B, single_voter="liar", settled_at=utcnow())  # fmt: skip
    check = _task(state="verified", digest=A, agreeing=2, recheck_of=original.id)
    with app.store.session() as session:
        session.add_all([original, check])
    arrivals.close(app.redis, original.id, 1, "histogram", decided=True)
    assert app.redis.exists(arrivals.decided_key(original.id))
    follow: list = []
    with app.store.session() as session:
        recheck.conclude(app, session, session.get(Task, check.id), follow)
    with app.store.read() as session:
        assert session.get(Task, original.id).state == "dead"
    assert not app.redis.exists(arrivals.decided_key(original.id))


def test_a_recheck_of_a_float_result_agrees_within_the_kernels_tolerance(app):
    """Fixed in recheck.conclude (the outputs are compared within the kernel's tolerance):
    before, a re-check compared digests bit for bit, so an honest single-replica float result
    re-run on other GPUs (its verified output the element-wise median of theirs) was revoked,
    and each revocation faulted its operator: one fault, from an honest float replica just
    outside tolerance or from colluders, re-checked up to 100 of its single results and
    quarantined it."""
    _workers(app, {"w1": ("fleet", "honest", "")})
    params = {"m": 4, "k": 4, "n": 4}
    mine = np.linspace(-3, 3, 16, dtype=np.float32)
    theirs = (mine * np.float32(1 + 2e-6)).astype(np.float32)  # another GPU's rounding
    assert not np.array_equal(mine, theirs)
    a = app.blobs.put(mine.tobytes(), inline=False)
    b = app.blobs.put(theirs.tobytes(), inline=False)
    common = {"kernel": "matmul_f32", "params": params, "payload_size": 128, "output_len": 64}
    original = _task(**common, redundancy=1, quorum=1, replicas_sent=1, state="verified",
                     digest=a.sha256, output_sha256=a.sha256, output_size=a.size,
                     single_voter="honest", settled_at=utcnow())  # fmt: skip
    check = _task(**common, state="verified", digest=b.sha256, output_sha256=b.sha256,
                  output_size=b.size, agreeing=2, recheck_of=original.id)  # fmt: skip
    with app.store.session() as session:
        session.add_all([original, check])
    with app.store.session() as session:
        recheck.conclude(app, session, session.get(Task, check.id), [])
    with app.store.read() as session:
        assert session.get(Task, original.id).state == "verified"
        assert session.get(Task, original.id).assurance == {"rechecked": True}
        st = session.get(Standing, "honest")
        assert st is None or st.faults == 0


def test_a_wrong_float_single_result_is_still_revoked(app):
    _workers(app, {"w1": ("fleet", "liar", "")})
    params = {"m": 4, "k": 4, "n": 4}
    truth = np.linspace(-3, 3, 16, dtype=np.float32)
    a = app.blobs.put((truth + np.float32(0.5)).tobytes(), inline=False)
    b = app.blobs.put(truth.tobytes(), inline=False)
    common = {"kernel": "matmul_f32", "params": params, "payload_size": 128, "output_len": 64}
    original = _task(**common, redundancy=1, quorum=1, replicas_sent=1, state="verified",
                     digest=a.sha256, output_sha256=a.sha256, output_size=a.size,
                     single_voter="liar", settled_at=utcnow())  # fmt: skip
    check = _task(**common, state="verified", digest=b.sha256, output_sha256=b.sha256,
                  output_size=b.size, agreeing=2, recheck_of=original.id)  # fmt: skip
    with app.store.session() as session:
        session.add_all([original, check])
    with app.store.session() as session:
        recheck.conclude(app, session, session.get(Task, check.id), [])
    with app.store.read() as session:
        assert session.get(Task, original.id).state == "dead"
        assert session.get(Standing, "liar").faults == 1


# ---- the gateway's reassignment -----------------------------------------------------------------


def _reassign(app: ShardyCelery, live: list, quarantined: set[str], platform: str | None = None):
    """A remote replica whose assignee r0 dropped its session, handed on by the gateway:
    returns the new assignee (None: handed back to settle)."""
    from types import SimpleNamespace

    from shardy import routing
    from shardy.blobs import BlobRef
    from shardy.messages import ReplicaOrder
    from shardy.orchestrator.gateway import relay
    from shardy.store import Assignment

    routing.beat_all(app.redis, live)
    if quarantined:
        app.redis.sadd(routing.QUARANTINED_KEY, *quarantined)
    task = _task(kernel="matmul_f32", platform=platform)
    with app.store.session() as session:
        session.add(task)
        session.flush()
        session.add(Assignment(task_id=task.id, round=1, replica=0, worker_id="r0",
                               kind="remote"))  # fmt: skip
    order = ReplicaOrder(task.id, 0, 1, task.kernel, 0, 64, {"m": 4, "k": 4, "n": 4},
                         BlobRef("0" * 64, 128), "k" * 16, assignee="r0")  # fmt: skip
    gw = SimpleNamespace(app=app, settings=app.settings)
    try:
        relay._elsewhere(gw, order, "its session did not come back", 0)
    except relay.Reassign as moved:
        return ReplicaOrder.decode(moved.frame).assignee
    return None


def test_the_gateway_reassigns_no_replica_to_a_quarantined_operator(app):
    from shardy import routing

    live = [routing.Live("r0", "gw.q", 1, "op0", "remote"),
            routing.Live("r1", "gw.q", 1, "mallory", "remote")]  # fmt: skip
    assert _reassign(app, live, {"mallory"}) is None


def test_the_gateway_keeps_a_homogeneous_replica_on_its_platform(app):
    from shardy import routing

    _workers(app, {"r0": ("remote", "op0", "NVIDIA H100|vulkan|550"),
                   "r1": ("remote", "op1", "AMD MI300|vulkan|24")})  # fmt: skip
    live = [routing.Live("r0", "gw.q", 1, "op0", "remote"),
            routing.Live("r1", "gw.q", 1, "op1", "remote")]  # fmt: skip
    assert _reassign(app, live, set(), platform="NVIDIA H100|vulkan|550") is None


# ---- adaptive replication -----------------------------------------------------------------------


def test_an_order_does_not_tell_a_single_replica_task_from_a_checked_one(app):
    from shardy import routing
    from shardy.blobs import BlobRef
    from shardy.orchestrator import adaptive, dispatch

    s = app.settings
    live = [routing.Live(f"w{i}", f"q{i}", 4, f"op{i}", "fleet") for i in range(5)]
    routing.beat_all(app.redis, live)
    _establish(app, *(w.voter for w in live))
    with app.store.read() as session:
        rows = {st.voter: st for st in session.query(Standing)}
    reps = adaptive.plan(app.redis, s, rows, 400, (3, 2), {w.worker_id for w in live},
                         random.Random(3))  # fmt: skip
    single, checked = set(), set()
    for rep in reps:
        task = _task(redundancy=rep.redundancy, quorum=rep.quorum, replicas_sent=rep.redundancy)
        targets = None if rep.single is None else [rep.single]
        payload = BlobRef("0" * 64, 512)
        planned = dispatch.plan_round(app, task, payload, dispatch.replicas(task, rep), 1,
                                      targets=targets)  # fmt: skip
        for order, target in planned.orders:
            if target.worker_id == "w0":  # what the operator of w0 sees
                (single if rep.single is not None else checked).add(order.replica)
    assert single and checked
    assert checked <= single, f"replicas {sorted(checked - single)} only ever come in checks"


def test_replicas_after_a_single_one_take_numbers_past_it(app):
    # a single replica carries a number drawn from 0..R-1 (above): one that failed is
    # followed by replicas numbered past it, never by one that reuses its number
    _workers(app, {"w0": ("fleet", "op0", "")})
    task = _task(redundancy=1, quorum=1, replicas_sent=1, max_replicas=3)
    with app.store.session() as session:
        session.add(task)
        session.flush()
        session.add(Assignment(task_id=task.id, round=1, replica=2, worker_id="w0",
                               kind="fleet", assigned_at=utcnow()))  # fmt: skip
        session.add(Replica(task_id=task.id, replica=2, round=1, status="failed",
                            worker_id="w0", attempts=1, verdict="none", error="lost"))  # fmt: skip
    follow: list = []
    with app.store.session() as session, session.no_autoflush:
        task = session.get(Task, task.id)
        rows = list(session.query(Replica).filter_by(task_id=task.id))
        rounds.decide(app, session, task, rows, 1, follow)
        sent = task.replicas_sent
    ((action, (numbers, round_no)),) = follow
    assert action == "extend" and round_no == 2
    assert numbers.start == 3 and sent == numbers.stop
