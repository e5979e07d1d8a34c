import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardy import merkle


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf(str(uuid.UUID(int=i + 1)), i, 1024, f"{i:064x}") for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.data())
def test_every_path_verifies_and_a_wrong_index_or_leaf_does_not(n, data):
    ls = leaves(n)
    r = merkle.root(ls)
    i = data.draw(st.integers(0, n - 1))
    steps = merkle.path(ls, i)
    assert merkle.verify(ls[i], i, n, steps, r)
    if n > 1:
        j = (i + 1) % n
        assert not merkle.verify(ls[j], i, n, steps, r)  # another leaf at this position
        assert not merkle.verify(ls[i], j, n, steps, r)  # this leaf claimed elsewhere
    assert not merkle.verify(ls[i], n, n, steps, r)  # an index outside the signed size
    assert not merkle.verify(ls[i], i, n, steps, bytes(32))


def test_tampered_steps_fail_without_raising():
    ls = leaves(5)
    r, steps = merkle.root(ls), merkle.path(ls, 2)
    flipped = [(not left, h) for left, h in steps]
    assert not merkle.verify(ls[2], 2, 5, flipped, r)
    assert not merkle.verify(ls[2], 2, 5, [*steps, (False, "00" * 32)], r)
    assert not merkle.verify(ls[2], 2, 5, steps[:-1], r)
    assert not merkle.verify(ls[2], 2, 5, [(steps[0][0], "zz")] + steps[1:], r)
    assert not merkle.verify(ls[2], 7, 5, steps, r)


def test_leaf_binds_every_field():
    base = (str(uuid.uuid4()), 1, 2, "ab" * 32)
    variants = [
        (str(uuid.uuid4()), 1, 2, "ab" * 32),
        (base[0], 9, 2, "ab" * 32),
        (base[0], 1, 3, "ab" * 32),
        (base[0], 1, 2, "cd" * 32),
    ]
    assert len({merkle.leaf(*base), *(merkle.leaf(*v) for v in variants)}) == 5


def test_single_leaf_root_is_the_leaf_and_empty_is_refused():
    (only,) = leaves(1)
    assert merkle.root([only]) == only and merkle.path([only], 0) == []
    with pytest.raises(ValueError):
        merkle.root([])
