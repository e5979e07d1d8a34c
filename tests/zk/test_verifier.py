"""Single and batch verification, accept and reject side by side; malformed input raises."""

from __future__ import annotations

import contextlib
import copy
import sys
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_arkworks_bls12381 import G1Point, G2Point, Scalar
from py_ecc.optimized_bls12_381 import FQ2, b2, is_on_curve, normalize
from py_ecc.optimized_bls12_381.optimized_swu import iso_map_G2, optimized_swu_G2

from shardy.errors import ProofError
from shardy.zk import Circuit, batch_verify, blst, find_invalid, load_vkey, prove, verify
from shardy.zk.codec import proof_from_json, public_signals_from_json
from shardy.zk.field import Q, R
from shardy.zk.verifier import verify_parsed


@pytest.fixture(scope="module")
def batch(circuit: Circuit, inputs: dict[str, int]) -> list[tuple[dict[str, Any], list[str]]]:
    return [prove(circuit, {**inputs, "seed": seed}) for seed in range(6)]


def test_batch_accepts_valid_and_rejects_one_bad(batch, vkey_json) -> None:
    assert batch_verify(vkey_json, batch) is True
    assert find_invalid(vkey_json, batch) == []
    bad = list(batch)
    bad[3] = (batch[3][0], batch[4][1])  # a valid proof for other public signals
    assert batch_verify(vkey_json, bad) is False
    assert find_invalid(vkey_json, bad) == [3]


def test_batch_rejects_proofs_that_cancel_in_a_plain_sum(batch, vkey_json) -> None:
    (p0, s0), (p1, s1) = batch[0], batch[1]
    swapped = [({**p0, "pi_c": p1["pi_c"]}, s0), ({**p1, "pi_c": p0["pi_c"]}, s1)]
    assert batch_verify(vkey_json, batch[:2]) is True
    assert batch_verify(vkey_json, swapped) is False
    assert find_invalid(vkey_json, swapped) == [0, 1]


def test_empty_batch_is_true(vkey_json) -> None:
    assert batch_verify(vkey_json, []) is True


def test_find_invalid_counts_malformed_items(batch, vkey_json) -> None:
    items = [batch[0], ({"pi_a": "junk"}, batch[1][1]), batch[2]]
    assert find_invalid(vkey_json, items) == [1]
    with pytest.raises(ProofError, match="batch item 1"):
        batch_verify(vkey_json, items)


def test_both_single_verify_paths_agree(batch, vkey_json) -> None:
    """verify (blst, from JSON) and verify_parsed (one arkworks multi-pairing) side by side."""
    vk = load_vkey(vkey_json)
    (p0, s0), (_, s1) = batch[0], batch[1]
    proof, public = proof_from_json(p0), public_signals_from_json(s0, vk.n_public)
    assert verify_parsed(vk, proof, public) is True
    assert verify(vk, p0, s0) is True
    other = public_signals_from_json(s1, vk.n_public)  # differs in the seed only
    assert verify_parsed(vk, proof, other) is False
    assert verify(vk, p0, s1) is False
    zeros = [0] * vk.n_public  # every limb of every scalar drops out of the combination
    assert verify_parsed(vk, proof, zeros) is False
    assert verify(vk, p0, ["0"] * vk.n_public) is False
    swapped = {**p0, "pi_a": p0["pi_c"], "pi_c": p0["pi_a"]}
    assert verify_parsed(vk, proof_from_json(swapped), public) is False
    assert verify(vk, swapped, s0) is False


def _runs_during(vkey_json, items, polite: bool) -> bool:
    """Whether a thread woken just before ``items`` are verified one by one (``polite`` or
    not) runs before the last verification ends. Python's forced switches are pushed past the
    test (a 10 s switch interval): only a verification that gives the GIL up lets it in."""
    woken, ran = threading.Event(), []
    waiter = threading.Thread(target=lambda: (woken.wait(), ran.append(True)))
    waiter.start()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        woken.set()
        for proof, signals in items:
            verify(vkey_json, proof, signals, polite=polite)
        during = bool(ran)
    finally:
        sys.setswitchinterval(interval)
        waiter.join()
    return during


def test_a_polite_verification_agrees_and_lets_other_threads_run(batch, vkey_json) -> None:
    """The prechecker's verifications hand the GIL to the orchestrator's other threads (its
    Celery consumer) between blst's steps; an ordinary one keeps it throughout."""
    (p0, s0), (_, s1) = batch[0], batch[1]
    assert verify(vkey_json, p0, s0, polite=True) is True
    assert verify(vkey_json, p0, s1, polite=True) is False
    assert _runs_during(vkey_json, batch, polite=True)
    assert not _runs_during(vkey_json, batch, polite=False)


def test_identity_points_are_refused_as_proofs(proved, vkey_json) -> None:
    proof, public = proved
    for field, identity in (("pi_a", ["0", "1", "0"]), ("pi_c", ["0", "1", "0"]),
                            ("pi_b", [["0", "0"], ["1", "0"], ["0", "0"]])):  # fmt: skip
        assert verify(vkey_json, {**proof, field: identity}, public) is False


def test_find_invalid_of_one_item(proved, batch, vkey_json) -> None:
    proof, public = proved
    assert find_invalid(vkey_json, [(proof, public)]) == []
    assert find_invalid(vkey_json, [(proof, batch[1][1])]) == [0]
    assert find_invalid(vkey_json, [({**proof, "pi_a": _g1_not_in_subgroup()}, public)]) == [0]
    assert find_invalid(vkey_json, [({"pi_a": "junk"}, public), (proof, public)]) == [0]


def test_signal_plus_modulus_is_refused_not_accepted(proved, vkey_json) -> None:
    proof, public = proved
    assert verify(vkey_json, proof, public) is True
    aliased = [str(int(public[0]) + R), *public[1:]]
    with pytest.raises(ProofError, match="field modulus"):
        verify(vkey_json, proof, aliased)


def test_wrong_signal_count_raises(proved, vkey_json) -> None:
    proof, public = proved
    with pytest.raises(ProofError, match="expects 5 public signals"):
        verify(vkey_json, proof, public[:-1])
    with pytest.raises(ProofError, match="expects 5 public signals"):
        verify(vkey_json, proof, [*public, "0"])


def _g1_not_in_subgroup() -> list[str]:
    x = 0
    while True:
        x += 1
        rhs = (x**3 + 4) % Q
        y = pow(rhs, (Q + 1) // 4, Q)
        if y * y % Q == rhs:
            return [str(x), str(y), "1"]


def _g2_not_in_subgroup() -> list[list[str]]:
    """A point of the twist E2 outside G2: py_ecc's SWU map before the cofactor is cleared."""
    x, y = normalize(iso_map_G2(*optimized_swu_G2(FQ2([5, 7]))))
    assert is_on_curve((x, y, FQ2.one()), b2)
    return [[str(c) for c in x.coeffs], [str(c) for c in y.coeffs], ["1", "0"]]


def test_compressed_encoding_matches_arkworks() -> None:
    """The blst path builds compressed points itself: flags and sign as arkworks writes them."""
    for k in range(1, 40):  # both signs of y, and the G2 sign taken from y.c1 or y.c0
        for point in (G1Point() * Scalar(3**k), G2Point() * Scalar(5**k)):
            xy = point.to_xy_bytes_be()
            coords = [int.from_bytes(xy[i : i + 48], "big") for i in range(0, len(xy), 48)]
            if isinstance(point, G1Point):
                ours = blst.g1((coords[0], coords[1]), "p")
            else:
                ours = blst.g2((coords[0], coords[1], coords[2], coords[3]), "p")
            assert ours.compress() == bytes(point.to_compressed_bytes())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pi_a", _g1_not_in_subgroup(), "not a point of G1"),
        ("pi_b", _g2_not_in_subgroup(), "not a point of G2"),
        ("pi_a", ["1", "2", "1"], "not a point of G1"),
        ("pi_a", ["0", "0", "1"], "not on the curve"),
        ("pi_a", [str(Q), "2", "1"], "field modulus"),
        ("pi_a", ["1", "2"], "list of 3"),
        ("pi_c", ["1", "2", "2"], "affine"),
        ("pi_b", [["1", "2"], ["3", "4"], ["1", "0"]], "not a point of G2"),
        ("pi_b", ["1", "2", "1"], "list of 2"),
        ("pi_a", ["-1", "2", "1"], "decimal"),
        ("pi_a", [" 1", "2", "1"], "decimal"),
    ],
)
def test_malformed_points_raise(proved, vkey_json, field: str, value, message: str) -> None:
    proof, public = proved
    assert verify(vkey_json, proof, public) is True
    with pytest.raises(ProofError, match=message):
        verify(vkey_json, {**proof, field: value}, public)


def test_malformed_proof_objects_raise(proved, vkey_json) -> None:
    proof, public = proved
    for bad in ([], "proof", {"pi_a": proof["pi_a"]}, {**proof, "protocol": "plonk"},
                {**proof, "curve": "bn128"}):  # fmt: skip
        with pytest.raises(ProofError):
            verify(vkey_json, bad, public)


def test_malformed_vkey_raises(proved, vkey_json) -> None:
    proof, public = proved
    broken = copy.deepcopy(vkey_json)
    broken["IC"] = broken["IC"][:-1]
    with pytest.raises(ProofError, match="IC"):
        verify(broken, proof, public)
    with pytest.raises(ProofError):
        verify({**vkey_json, "vk_alpha_1": ["1", "2", "1"]}, proof, public)
    assert load_vkey(vkey_json) is load_vkey(copy.deepcopy(vkey_json))  # parsed once, cached


_FIXTURES = [HealthCheck.function_scoped_fixture]
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["0", "1", str(Q), str(R)]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(["pi_a", "pi_b", "pi_c"]), value=_json)
def test_fuzzed_proof_fields_never_escape_as_native_errors(proved, vkey_json, field, value) -> None:
    proof, public = proved
    try:
        result = verify(vkey_json, {**proof, field: value}, public)
    except ProofError:
        return
    assert result is False or value == proof[field]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(signals=st.lists(st.integers(min_value=-(2**300), max_value=2**300) | _json, max_size=7))
def test_fuzzed_public_signals(proved, vkey_json, signals) -> None:
    proof, _ = proved
    with contextlib.suppress(ProofError):
        assert verify(vkey_json, proof, signals) is False


def test_large_batches_check_every_chunk(batch, vkey_json) -> None:
    items = [batch[i % len(batch)] for i in range(40)]  # pairing jobs of 16, 16 and 8
    assert batch_verify(vkey_json, items) is True
    for bad in (3, 20, 39):  # one in each pairing job (either thread may take it)
        wrong = list(items)
        wrong[bad] = (items[bad][0], items[(bad + 1) % 40][1])
        assert batch_verify(vkey_json, wrong) is False
        assert find_invalid(vkey_json, wrong) == [bad]
    malformed = [*items[:15], ({"pi_a": "junk"}, items[15][1]), *items[16:]]
    with pytest.raises(ProofError, match="batch item 15"):
        batch_verify(vkey_json, malformed)


def test_large_batches_check_points_before_trusting_the_pairing(batch, vkey_json) -> None:
    """Large batches pair points before their subgroup check ends: a bad point still fails."""
    items = [batch[i % len(batch)] for i in range(40)]
    outside = [*items[:25], ({**items[25][0], "pi_a": _g1_not_in_subgroup()}, items[25][1])]
    outside += items[26:]
    with pytest.raises(ProofError, match="batch item 25: pi_a is not a point of G1"):
        batch_verify(vkey_json, outside)
    wrong = list(outside)
    wrong[7] = (items[7][0], items[8][1])
    assert find_invalid(vkey_json, wrong) == [7, 25]
    assert find_invalid(vkey_json, outside) == [25]


def test_small_batches_refuse_points_outside_the_subgroup(batch, vkey_json) -> None:
    """Batches below 16 proofs run on blst, whose decompression checks every point."""
    for field, point, group in (("pi_a", _g1_not_in_subgroup(), "G1"),
                                ("pi_b", _g2_not_in_subgroup(), "G2"),
                                ("pi_c", _g1_not_in_subgroup(), "G1")):  # fmt: skip
        items = list(batch)
        items[2] = ({**batch[2][0], field: point}, batch[2][1])
        with pytest.raises(ProofError, match=f"batch item 2: {field} is not a point of {group}"):
            batch_verify(vkey_json, items)
        assert find_invalid(vkey_json, items) == [2]
        wrong = list(items)
        wrong[4] = (batch[4][0], batch[5][1])
        assert find_invalid(vkey_json, wrong) == [2, 4]
