"""Task data → field elements."""

from __future__ import annotations

import uuid

import pytest

from shardy.errors import ProofError
from shardy.zk import attestation_inputs, digest_to_field, public_signals, task_id_to_field
from shardy.zk.field import R


def test_mappings() -> None:
    assert digest_to_field("ff" * 32) == (1 << 248) - 1 < R
    assert digest_to_field("00" * 31 + "ab") == 0
    u = uuid.uuid4()
    assert task_id_to_field(str(u)) == task_id_to_field(u) == u.int
    with pytest.raises(ProofError):
        digest_to_field("zz" * 32)
    with pytest.raises(ProofError):
        task_id_to_field("not-a-uuid")


def test_attestation_inputs_ranges() -> None:
    good = attestation_inputs(uuid.uuid4(), 1, 2, "00" * 32, 5)
    assert public_signals(good)[2] == "2"
    with pytest.raises(ProofError, match="output_len"):
        attestation_inputs(uuid.uuid4(), 1, 2**32, "00" * 32, 5)
    with pytest.raises(ProofError, match="worker secret"):
        attestation_inputs(uuid.uuid4(), 1, 2, "00" * 32, 0)


def test_public_signals_follow_the_statement_version() -> None:
    import uuid

    from shardy.statement import Subject, replica_inputs

    subject = Subject(str(uuid.uuid4()), 1, 2, "sha256", {}, "ab" * 32)
    inputs = replica_inputs(2, subject, "cd" * 32, 5, 1, 0)
    assert public_signals(inputs) == subject.signals(2, "cd" * 32, str(inputs["workerCommitment"]),
                                                     1, 0)  # fmt: skip
