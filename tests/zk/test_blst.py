"""The blst side of the verifier: fixed-base window tables against arkworks's arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_arkworks_bls12381 import G1Point, G2Point

from shardy.zk import blst, load_vkey, verify
from shardy.zk.codec import scalar
from shardy.zk.field import R

#: Scalars whose signed base-256 digits hit every edge: zero, the largest positive digit (128),
#: the first negative one (129 -> -127 and a carry), 0xff bytes that a carry turns into 256
#: (digit 0, carry on), and the largest scalar below r.
EDGES = [0, 1, 127, 128, 129, 255, 256, 0x80FF, 0x81FF, (1 << 248) - 1, 0xFF << 240, R - 1,
         R >> 1, int.from_bytes(bytes([0x80, 0xFF] * 16), "little") % R]  # fmt: skip


def _ark_combination(points: list[G1Point], scalars: list[int]) -> bytes:
    total = G1Point.identity()
    for p, s in zip(points, scalars, strict=True):
        total = total + p * scalar(s)
    return bytes(total.to_compressed_bytes())


@pytest.mark.parametrize("s", EDGES)
def test_window_tables_match_arkworks_on_digit_edges(vkey_json: dict[str, Any], s: int) -> None:
    vk = load_vkey(vkey_json)
    got = blst.combine(vk.blst.tables[:1], [s])
    assert got.compress() == _ark_combination([vk.alpha1], [s])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=R - 1) | st.sampled_from(EDGES),
                min_size=6, max_size=6))  # fmt: skip
def test_window_combination_of_the_ic_points(vkey_json: dict[str, Any], scalars) -> None:
    vk = load_vkey(vkey_json)
    got = blst.combine(vk.blst.tables[1:], scalars)
    assert got.compress() == _ark_combination(list(vk.ic), scalars)


@pytest.mark.parametrize("s", [0, 129, 0x81FF, R - 1])
def test_g2_tables_a_start_and_identity_terms_as_the_prover_uses_them(s: int) -> None:
    """The prover's sums (`shardy.zk.prepared`): G2 tables, a start point, identity terms
    (None) skipped, and the points back in arkworks."""
    p2 = G2Point() * scalar(7)
    q2 = G2Point() * scalar(11)
    start = blst.from_arkworks(q2)
    got = blst.combine([blst.window_table(blst.from_arkworks(p2)), None], [s, 5], start)
    want = q2 + p2 * scalar(s)
    assert blst.to_arkworks(got) == want
    assert blst.to_arkworks(blst.combine([None], [3], start)) == q2
    g1 = G1Point() * scalar(3)
    assert blst.to_arkworks(blst.combine([], [])) == G1Point.identity()
    assert blst.to_arkworks(blst.from_arkworks(g1)) == g1


def test_unreduced_scalars_are_refused(vkey_json: dict[str, Any]) -> None:
    vk = load_vkey(vkey_json)
    for bad in (R, R + 5, -1, 1 << 256):
        with pytest.raises(ValueError, match="not reduced"):
            blst.combine(vk.blst.tables[:1], [bad])


def test_signals_at_the_top_of_the_field_verify_false(proved, vkey_json) -> None:
    """The largest signal values (r - 1, 0xff..ff bytes) run through the tables: a clean False."""
    proof, public = proved
    assert verify(vkey_json, proof, public) is True
    for top in (R - 1, (1 << 248) - 1):
        assert verify(vkey_json, proof, [str(top), *public[1:]]) is False
        assert verify(vkey_json, proof, [*public[:-1], str(top)]) is False
