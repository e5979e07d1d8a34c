"""Standing (probation, decay, quarantine), probation in quorum, adaptive replication and
known-answer spot checks: the decisions, on SQLite and the embedded Redis."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta

import numpy as np
import pytest

from shardy import routing
from shardy.config import Settings
from shardy.errors import ConfigError
from shardy.kernels import registry
from shardy.orchestrator import adaptive, spot, standing
from shardy.orchestrator.quorum import Vote, decide
from shardy.store import Standing, Store

S = Settings(probation_votes=5, quarantine_faults=3.0, standing_halflife=100.0)
A, B = "a" * 64, "b" * 64


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/t.db")
    yield s
    s.close()


def agree(session, voter: str, n: int) -> None:
    for _ in range(n):
        assert not standing.judge(session, S, voter, "agree")


def test_a_voter_is_established_after_probation(store):
    with store.session() as s:
        agree(s, "op1", 4)
        assert not standing.established(standing.row(s, "op1"), S)
        assert not standing.any_established(s, S)
        agree(s, "op1", 1)
        assert standing.established(standing.row(s, "op1"), S)
        assert standing.any_established(s, S)
        assert standing.listing(s, S)[0]["state"] == "established"


def test_votes_decay_with_the_halflife(store):
    with store.session() as s:
        agree(s, "op1", 8)
        st = standing.row(s, "op1")
        st.updated_at -= timedelta(seconds=100)  # one half-life ago
        standing.judge(s, S, "op1", "agree")
        assert st.good == pytest.approx(8 / 2 + 1)


def test_repeat_offenders_are_quarantined_and_a_failed_spot_check_suffices(store, redis_client):
    with store.session() as s:
        agree(s, "op1", 10)
        assert not standing.judge(s, S, "op1", "disagree")
        assert not standing.judge(s, S, "op1", "invalid")
        assert standing.judge(s, S, "op1", "disagree")  # the third fault
        assert not standing.established(standing.row(s, "op1"), S)
        assert standing.judge(s, S, "op2", "spot")  # one wrong known answer
        assert standing.quarantined(s) == {"op1", "op2"}
        standing.mirror(redis_client, s)
    live = {w: routing.Live(w, f"q.{w}", 1, voter, "fleet")
            for w, voter in (("w1", "op1"), ("w2", "op2"), ("w3", "op3"))}  # fmt: skip
    assert set(routing.eligible(redis_client, live)) == {"w3"}
    with store.session() as s:
        standing.lift(s, "op1")
        with pytest.raises(ConfigError, match="not quarantined"):
            standing.lift(s, "op3")
        st = standing.impose(s, "op3", "admin says so")
        assert st.quarantined_by == "admin"
    with store.session() as s:
        standing.mirror(redis_client, s)
        assert standing.row(s, "op1").judged == 0  # back on probation
    assert set(routing.eligible(redis_client, live)) == {"w1"}


def test_probation_voters_count_only_beside_established_ones():
    votes = [Vote(0, "new1", A), Vote(1, "new2", A), Vote(2, "old", B)]
    kw = {"quorum": 2, "replicas_sent": 3, "max_replicas": 6}
    # two newcomers agreeing on A outweigh nobody: only one probation seat in a quorum of 2
    d = decide(votes, established=frozenset({"old"}), **kw)
    assert d.kind == "extend"
    assert decide(votes, **kw).kind == "verified"  # probation off: the majority wins
    d = decide([Vote(0, "new1", A), Vote(1, "old", A)], established=frozenset({"old"}), **kw)
    assert d.kind == "verified" and d.digest == A
    one = {"quorum": 1, "replicas_sent": 1, "max_replicas": 6}
    assert decide([Vote(0, "new1", A)], established=frozenset(), **one).kind == "extend"
    assert decide([Vote(0, "old", A)], established=frozenset({"old"}), **one).kind == "verified"


def test_adaptive_replication_trusts_clean_established_voters_only(store):
    s = Settings(probation_votes=5, adaptive_check=0.1)
    with store.session() as session:
        for _ in range(200):
            standing.judge(session, s, "good", "agree")
        for _ in range(3):
            standing.judge(session, s, "new", "agree")
        for _ in range(200):
            standing.judge(session, s, "slipped", "agree")
        standing.judge(session, s, "slipped", "disagree")
        rows = {st.voter: st for st in session.query(Standing)}
        assert adaptive.p_full(rows["good"], s) == pytest.approx(0.1)
        assert adaptive.p_full(rows["new"], s) == 1.0
        assert adaptive.p_full(rows["slipped"], s) == 1.0  # one fault: back to full
        assert adaptive.p_full(None, s) == 1.0


def test_adaptive_plan_sends_single_replicas_to_trusted_workers(store, redis_client):
    s = Settings(probation_votes=5, adaptive_check=0.2)
    routing.beat_all(redis_client, [routing.Live("w1", "q1", 2, "good", "fleet"),
                                    routing.Live("w2", "q2", 2, "new", "fleet")])  # fmt: skip
    with store.session() as session:
        for _ in range(500):
            standing.judge(session, s, "good", "agree")
        rows = {st.voter: st for st in session.query(Standing)}
    reps = adaptive.plan(redis_client, s, rows, 2000, (3, 2), {"w1", "w2"}, random.Random(7))
    single = [x for x in reps if x.single is not None]
    assert all(x.single.worker_id == "w1" and (x.redundancy, x.quorum) == (1, 1) for x in single)
    assert all((x.redundancy, x.quorum) == (3, 2) for x in reps if x.single is None)
    # w1 is drawn about half the time and then checked in full about a fifth of the time
    assert 0.3 < len(single) / len(reps) < 0.5


def test_spot_checks_know_the_answer_of_exact_builtins_only():
    k = registry.get("histogram")
    data = bytes(range(256)) * 8
    expected = np.asarray(k.reference(data, k.resolve_params(None), 0), dtype="uint32")
    want = hashlib.sha256(expected.tobytes()).hexdigest()
    assert spot.known_answer(k, data, k.resolve_params(None), 0) == want
    assert not spot.checkable(registry.get("matmul_f32"))  # a tolerance kernel
    real = [bytes(range(256)) * 2, random.Random(2).randbytes(1000)]
    drawn = spot.draw(k, k.resolve_params(None), 0, real, 1.0, random.Random(1))
    assert len(drawn) == 2
    for data, digest, original in drawn:  # a copy of one of the submission's payloads
        assert data == real[original]
        assert digest == spot.known_answer(k, data, k.resolve_params(None), 0)
    assert spot.draw(k, k.resolve_params(None), 0, real * 25, 0.0) == []


def test_an_established_dissent_raises_the_bar():
    old = frozenset({"c1", "c2", "h1", "h2", "h3"})
    kw = {"quorum": 2, "max_replicas": 6}
    # two established colluders against one established honest voter: not carried
    d = decide([Vote(0, "c1", B), Vote(1, "c2", B), Vote(2, "h1", A)], established=old,
               replicas_sent=3, **kw)  # fmt: skip
    assert d.kind == "extend" and d.extra == 1
    votes = [Vote(0, "c1", B), Vote(1, "c2", B), Vote(2, "h1", A), Vote(3, "h2", A),
             Vote(4, "h3", A)]  # fmt: skip
    assert decide(votes, established=old, replicas_sent=5, **kw).kind == "extend"
    votes.append(Vote(5, "h4", A))
    d = decide(votes, established=old | {"h4"}, replicas_sent=6, **kw)
    assert d.kind == "verified" and d.digest == A
    assert d.verdicts[0] == d.verdicts[1] == "disagree"
    # a dissent by a voter on probation only is outvoted as before
    d = decide([Vote(0, "h1", A), Vote(1, "h2", A), Vote(2, "new", B)], established=old,
               replicas_sent=3, **kw)  # fmt: skip
    assert d.kind == "verified" and d.digest == A


def test_a_new_voter_judged_twice_before_a_flush_gets_one_row(store):
    with store.session() as s, s.no_autoflush:  # as settle judges
        standing.judge(s, S, "fresh", "agree")
        standing.judge(s, S, "fresh", "disagree")
    with store.read() as s:
        (st,) = s.query(Standing).all()
        assert (st.voter, st.judged, st.faults) == ("fresh", 2, 1)


def test_a_copied_tasks_result_is_confirmed_or_flagged_by_its_known_answer():
    from types import SimpleNamespace

    k = registry.get("histogram")
    real = [bytes(range(256)) * 2, bytes(512)]
    checks = spot.draw(k, k.resolve_params(None), 0, real, 1.0, random.Random(3))
    rows = [SimpleNamespace(id=f"t{i}", assurance=None) for i in range(len(real) + len(checks))]
    spot.twin(checks, rows)
    first = rows[checks[0].original]
    assert first.assurance["spot_twin"] == {"task": rows[len(real)].id,
                                            "digest": checks[0].digest}  # fmt: skip
    assert spot.confirmation(first, checks[0].digest) == {"task": rows[len(real)].id,
                                                          "agrees": True}  # fmt: skip
    assert spot.confirmation(first, "00" * 32)["agrees"] is False  # a verified wrong answer
    unchecked = SimpleNamespace(id="u", assurance=None)
    assert spot.confirmation(unchecked, "00" * 32) is None
