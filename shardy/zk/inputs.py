"""Mapping Shardy's task data into the attestation circuit's field elements.

- task id: a UUID maps to its 128-bit integer value (``uuid.UUID(s).int``).
- result digest: a sha256 hex digest maps to its top 248 bits (the first 31 bytes, big-endian),
  which always lie below r (< 2^255); two digests collide only if their first 31 bytes agree.
- seed: any integer in [0, 2^64).
- output length: any integer in [0, 2^32) (the circuit range-checks it).
- worker secret: a uniformly random nonzero element of Fr; the public commitment is Poseidon(it).
"""

from __future__ import annotations

import re
import secrets
import uuid

from shardy.errors import ProofError
from shardy.zk.circuit import PUBLIC_INPUTS, PUBLIC_INPUTS_V2
from shardy.zk.field import R
from shardy.zk.poseidon import commitment

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def task_id_to_field(task_id: str | uuid.UUID) -> int:
    """A task UUID as a field element (its 128-bit value)."""
    try:
        return (task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))).int
    except ValueError as exc:
        raise ProofError(f"task id {task_id!r} is not a UUID") from exc


def digest_to_int(digest_hex: str) -> int:
    """A sha256 hex digest as its 256-bit integer value."""
    if not isinstance(digest_hex, str) or not _SHA256_HEX.fullmatch(digest_hex):
        raise ProofError(f"result digest must be 64 hex characters, got {digest_hex!r}")
    return int(digest_hex, 16)


def digest_to_field(digest_hex: str) -> int:
    """A sha256 hex digest as a version 1 field element: its top 248 bits."""
    return digest_to_int(digest_hex) >> 8


def new_worker_secret() -> int:
    """A fresh random worker secret (keep it private; publish commitment(secret))."""
    return secrets.randbelow(R - 1) + 1


def attestation_inputs(
    task_id: str | uuid.UUID, seed: int, output_len: int, result_digest: str, worker_secret: int
) -> dict[str, int]:
    """The attestation circuit's full input (public and private) for one replica result.

    Raises:
        ProofError: a value is out of its range.
    """
    for name, value, bound in (("seed", seed, 1 << 64), ("output_len", output_len, 1 << 32)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
            raise ProofError(f"{name} must be an int in [0, {bound}), got {value!r}")
    if isinstance(worker_secret, bool) or not isinstance(worker_secret, int):
        raise ProofError("worker secret must be an int")
    if not 0 < worker_secret < R:
        raise ProofError("worker secret must lie in [1, r)")
    return {
        "taskId": task_id_to_field(task_id),
        "seed": seed,
        "outputLen": output_len,
        "resultDigest": digest_to_field(result_digest),
        "workerCommitment": commitment(worker_secret),
        "workerSecret": worker_secret,
    }


def public_signals(inputs: dict[str, int]) -> list[str]:
    """The public signals (snarkjs order and form) that a proof for these inputs carries
    (statement version 2's when the inputs have its ``statement`` signal, else version 1's)."""
    names = PUBLIC_INPUTS_V2 if "statement" in inputs else PUBLIC_INPUTS
    return [str(inputs[name]) for name in names]
