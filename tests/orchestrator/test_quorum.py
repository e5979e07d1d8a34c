from orchestrator.quorum import Vote, count_votes, decide

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
