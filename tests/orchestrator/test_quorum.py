import numpy as np

from shardy.orchestrator.quorum import Vote, close, count_votes, decide, tolerance_votes

A, B = "a" * 64, "b" * 64


def votes(*pairs):
    return [Vote(i, w, d) for i, (w, d) in enumerate(pairs)]


def test_majority_verifies_and_names_the_dissenter():
    d = decide(votes(("w1", A), ("w2", A), ("w3", B)), quorum=2, replicas_sent=3, max_replicas=6)
    assert d.kind == "verified" and d.digest == A and d.agreeing == ("w1", "w2")
    assert d.verdicts == {0: "agree", 1: "agree", 2: "disagree"}


def test_one_worker_counts_once():
    d = decide(votes(("w1", A), ("w1", A), ("w2", B)), quorum=2, replicas_sent=3, max_replicas=6)
    assert d.kind == "extend" and d.extra == 1
    assert count_votes(votes(("w1", A), ("w1", A)))[1] == {0: "counted", 1: "duplicate"}


def test_no_quorum_extends_then_dies():
    d = decide(votes(("w1", A), ("w2", B)), quorum=2, replicas_sent=3, max_replicas=6)
    assert (d.kind, d.extra) == ("extend", 1)
    d = decide(votes(("w1", A), ("w2", B)), quorum=2, replicas_sent=6, max_replicas=6)
    assert d.kind == "dead" and "1 of 2" in d.reason and "shardy dlq replay" in d.reason


def test_all_failed_needs_a_full_quorum_of_extras():
    d = decide([], quorum=2, replicas_sent=3, max_replicas=6)
    assert (d.kind, d.extra) == ("extend", 2)
    assert decide([], quorum=2, replicas_sent=3, max_replicas=4).kind == "dead"


def test_tie_is_not_a_verdict():
    d = decide(votes(("w1", A), ("w2", B)), quorum=1, replicas_sent=2, max_replicas=3)
    assert (d.kind, d.extra) == ("extend", 1)


def test_waits_for_a_later_round():
    d = decide(votes(("w1", A)), quorum=2, replicas_sent=4, max_replicas=6, in_flight=1)
    assert d.kind == "wait"


def _outs(*arrays):
    return {i: np.asarray(a, dtype=np.float32) for i, a in enumerate(arrays)}


def test_tolerance_cluster_verifies_rounding_differences_and_refuses_the_outlier():
    base = np.linspace(-1, 1, 16, dtype=np.float32)
    ulp = np.spacing(base)
    outputs = _outs(base, base + ulp, base - ulp, base + 0.5)
    votes = [Vote(i, f"w{i}", f"{i:064x}") for i in range(4)]
    labelled = tolerance_votes(votes, outputs, atol=1e-5, rtol=1e-5)
    d = decide(labelled, quorum=3, replicas_sent=4, max_replicas=8)
    assert d.kind == "verified" and set(d.agreeing) == {"w0", "w1", "w2"}
    assert d.verdicts[3] == "disagree"
    assert d.digest == f"{0:064x}"  # the member nearest the element-wise median


def test_tolerance_cluster_below_quorum_extends():
    base = np.ones(8, dtype=np.float32)
    outputs = _outs(base, base * 2, base * 3)
    votes = [Vote(i, f"w{i}", f"{i:064x}") for i in range(3)]
    d = decide(
        tolerance_votes(votes, outputs, 1e-3, 1e-3), quorum=2, replicas_sent=3, max_replicas=6
    )
    assert d.kind == "extend"


def test_close_is_symmetric_and_strict_about_shape_and_non_finite_values():
    a = np.array([1.0, np.inf, np.nan], dtype=np.float32)
    assert close(a, a.copy(), 0, 0)
    assert not close(a, np.array([1.0, -np.inf, np.nan], dtype=np.float32), 1, 1)
    assert not close(np.zeros(3, np.float32), np.zeros(4, np.float32), 1, 1)
    x, y = np.array([100.0]), np.array([100.5])
    assert close(x, y, 0, 0.005) == close(y, x, 0, 0.005)
