import contextlib
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu import serialization

from shardy import frames
from shardy.errors import FrameError

json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
values = st.recursive(
    json_leaf | st.binary(max_size=64),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_dumps_loads_round_trip(value):
    assert frames.loads(frames.dumps(value)) == value


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), json_leaf, max_size=5),
    st.lists(st.binary(max_size=100), max_size=5),
)
def test_frame_round_trip_keeps_segments(meta, segments):
    frame = frames.decode_frame(frames.encode_frame(meta, segments))
    assert frame.meta == meta
    assert [bytes(s) for s in frame.segments] == segments


def test_marker_lookalike_dicts_are_escaped():
    value = {"$seg": 0, "other": [{"$dt": "x"}, {"$esc": {"a": 1}}]}
    assert frames.loads(frames.dumps({"k": value["other"]})) == {"k": value["other"]}
    assert frames.loads(frames.dumps({"$seg": 0})) == {"$seg": 0}


def test_datetime_and_tuple():
    now = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)
    assert frames.loads(frames.dumps(((b"\x00", now),))) == [[b"\x00", now]]


def test_bytes_are_raw_not_base64():
    payload = bytes(range(256)) * 64
    encoded = frames.dumps([payload])
    assert payload in encoded
    assert len(encoded) < len(payload) + 64


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_frame_error(data):
    with contextlib.suppress(FrameError):
        frames.loads(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(min_size=1, max_size=120), st.integers(0, 200))
def test_corrupted_valid_frames_only_raise_frame_error(noise, cut):
    good = frames.dumps({"a": [1, b"xyz", {"b": b"\x01\x02"}]})
    for bad in (good[:cut], good[:cut] + noise, noise + good, good + noise):
        with contextlib.suppress(FrameError):
            frames.loads(bad)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "shorter"),
        (b"XXX\x01" + b"\0" * 4, "not a Shardy frame"),
        (b"SHF\x02" + b"\0" * 4, "version 2"),
        (b'SHF\x01\x05\0\0\0{"m"', "exceeds"),
        (b"SHF\x01\x02\0\0\0[]", "exactly the keys"),
        (b'SHF\x01\x0f\0\0\0{"m":1,"s":[5]}', "declare 5 bytes"),
    ],
)
def test_malformed_frames_say_what_is_wrong(data, message):
    with pytest.raises(FrameError, match=message):
        frames.decode_frame(data)


def test_unserialisable_values_raise_frame_error():
    with pytest.raises(FrameError, match="cannot put a set"):
        frames.dumps({"x": {1, 2}})
    with pytest.raises(FrameError, match="keys must be strings"):
        frames.dumps({1: 2})


def test_registered_with_kombu():
    frames.register()
    ctype, encoding, body = serialization.dumps({"x": b"\xff"}, serializer="shardy")
    assert ctype == frames.CONTENT_TYPE and encoding == "binary"
    assert serialization.loads(body, ctype, encoding, accept=[frames.CONTENT_TYPE]) == {
        "x": b"\xff"
    }
