"""Attestation statements: versions from the key, the order hash, and the order frame's hash."""

import dataclasses
import uuid

import pytest

from shardy import frames, statement
from shardy.blobs import BlobRef
from shardy.errors import FrameError, ProofError
from shardy.keyring import CIRCUITS
from shardy.messages import ReplicaOrder
from shardy.statement import Subject
from shardy.zk import load_circuit

SUBJECT = Subject(str(uuid.uuid4()), 7, 1024, "histogram", {"bins": 16, "scale": 0.5}, "ab" * 32)


def test_a_keys_version_follows_from_its_vkey():
    assert load_circuit(CIRCUITS / "build").statement == statement.V1
    assert load_circuit(CIRCUITS / "build-v2").statement == statement.V2
    with pytest.raises(ProofError, match="nPublic=4"):
        statement.version_of({"nPublic": 4})


def test_the_order_hash_binds_every_field_and_the_replicas_place():
    base = SUBJECT.order_hash(1, 0)
    assert base == SUBJECT.order_hash(1, 0) < 1 << 248
    variants = [
        SUBJECT.order_hash(2, 0),
        SUBJECT.order_hash(1, 1),
        dataclasses.replace(SUBJECT, kernel="sha256").order_hash(1, 0),
        dataclasses.replace(SUBJECT, params={"bins": 17, "scale": 0.5}).order_hash(1, 0),
        dataclasses.replace(SUBJECT, params={"bins": 16}).order_hash(1, 0),
        dataclasses.replace(SUBJECT, payload_sha256="ac" * 32).order_hash(1, 0),
        dataclasses.replace(SUBJECT, seed=8).order_hash(1, 0),
        dataclasses.replace(SUBJECT, output_len=1025).order_hash(1, 0),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # key order in params does not matter (canonical JSON), the values do
    same = dataclasses.replace(SUBJECT, params={"scale": 0.5, "bins": 16})
    assert same.order_hash(1, 0) == base
    with pytest.raises(ProofError, match="plain JSON"):
        dataclasses.replace(SUBJECT, params={"x": float("nan")}).order_hash(1, 0)


def test_signals_of_both_versions_and_the_commitment_is_last():
    v1 = SUBJECT.signals(statement.V1, "ff" * 32, "42", None, None)
    v2 = SUBJECT.signals(statement.V2, "ff" * 32, "42", 1, 0)
    assert len(v1) == 5 and len(v2) == 6 and v2[0] == "2"
    assert statement.commitment_signal(v1) == statement.commitment_signal(v2) == "42"
    assert int(v2[3]) == int(v2[4]) == (1 << 128) - 1  # both halves of the full digest
    with pytest.raises(ProofError, match="round"):
        SUBJECT.signals(statement.V2, "ff" * 32, "42", None, 0)
    enroll = Subject(SUBJECT.task_id, 0, 0, enrollment=True)
    assert enroll.signals(statement.V2, "ff" * 32, "42", None, None)[2] == "0"
    assert statement.batch_signals(statement.V2, SUBJECT.task_id, 3, "00" * 32, "42")[2] == "3"


def test_an_order_frame_carries_a_checked_order_hash():
    order = ReplicaOrder(SUBJECT.task_id, 2, 1, SUBJECT.kernel, SUBJECT.seed, SUBJECT.output_len,
                         dict(SUBJECT.params), BlobRef("ab" * 32, 3, b"abc"), "k",
                         with_order_hash=True)  # fmt: skip
    frame = frames.decode_frame(order.encode())
    assert frame.meta["order_hash"] == f"{SUBJECT.order_hash(1, 2):064x}"
    assert ReplicaOrder.decode(order.encode()) == order
    for bad in ("00" * 32, 7, f"{SUBJECT.order_hash(1, 3):064x}"):
        forged = frames.encode_frame({**frame.meta, "order_hash": bad}, frame.segments)
        with pytest.raises(FrameError, match="order_hash"):
            ReplicaOrder.decode(forged)
    plain = dataclasses.replace(order, with_order_hash=False)
    assert "order_hash" not in frames.decode_frame(plain.encode()).meta
