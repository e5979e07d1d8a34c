"""What an attestation proves: the statement versions, the order hash, and the public signals
an honest worker's proof carries (pure; the circuits' field mapping lives here and in
`shardy.zk.inputs`).

A key's statement version follows from its verifying key: 5 public inputs is version 1, 6 is
version 2.

- **Version 1** (``circuits/attestation.circom``): ``[taskId, seed, outputLen, digest >> 8,
  commitment]``. It binds the task, seed and output length and the digest's top 248 bits.
- **Version 2** (``circuits/attestation_v2.circom``): ``[2, taskId, orderHash, digestHi,
  digestLo, commitment]``. The digest is bound in full (two 128-bit halves), and the order
  hash binds everything that decides the output: the kernel (a shipped kernel's name is the
  sha256 of its spec), its params, the payload's sha256, the seed, the output length, and the
  replica's round and number, so a proof of one replica fits no other replica, round or order.

``order_hash = sha256(b"shardy.order/2\\n" ‖ canonical JSON of {kernel, params, payload, seed,
output_len, round, replica}) >> 8`` (sorted keys, no spaces, ASCII). A batch statement (one
proof over a Merkle root of replica leaves, `shardy.merkle`) puts the batch's size where the
order hash goes; an enrollment proof puts 0 there. No real order hashes to a value that small.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shardy.errors import ProofError

V1 = 1
V2 = 2
#: Public signal counts by statement version (the verifying key's nPublic tells a key's version).
N_PUBLIC = {V1: 5, V2: 6}
_ORDER_DOMAIN = b"shardy.order/2\n"


def version_of(vkey_json: Mapping[str, Any]) -> int:
    """The statement version a verifying key (snarkjs JSON) proves.

    Raises:
        ProofError: its nPublic is no known version's.
    """
    n = vkey_json.get("nPublic") if isinstance(vkey_json, Mapping) else None
    for version, count in N_PUBLIC.items():
        if n == count:
            return version
    raise ProofError(
        f"a verifying key with nPublic={n!r} proves no known attestation statement (version 1 "
        "has 5 public inputs, version 2 has 6); install a key built by circuits/build.sh"
    )


def commitment_signal(signals: Any) -> str | None:
    """The worker commitment among public signals (the last one in every version), or None."""
    if isinstance(signals, list | tuple) and len(signals) in N_PUBLIC.values():
        last = signals[-1]
        return last if isinstance(last, str) else None
    return None


def order_hash(
    kernel: str,
    params: Mapping[str, Any],
    payload_sha256: str,
    seed: int,
    output_len: int,
    round_: int,
    replica: int,
) -> int:
    """The order hash of one replica (a field element below 2^248)."""
    body = {
        "kernel": kernel,
        "params": params,
        "payload": payload_sha256,
        "seed": seed,
        "output_len": output_len,
        "round": round_,
        "replica": replica,
    }
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProofError(f"an order's params are not plain JSON: {exc}") from exc
    return int.from_bytes(hashlib.sha256(_ORDER_DOMAIN + text.encode()).digest(), "big") >> 8


def digest_halves(digest_hex: str) -> tuple[int, int]:
    """A sha256 hex digest as (its high 128 bits, its low 128 bits)."""
    from shardy.zk.inputs import digest_to_int

    value = digest_to_int(digest_hex)
    return value >> 128, value & ((1 << 128) - 1)


@dataclass(frozen=True)
class Subject:
    """What a task's replicas attest to, as the trusted side recorded it (everything a
    statement binds except the replica's round and number, its digest and its commitment)."""

    task_id: str
    seed: int
    output_len: int
    kernel: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    payload_sha256: str = "0" * 64
    #: an enrollment proof's subject: no order (its version 2 order hash is 0)
    enrollment: bool = False

    def order_hash(self, round_: int, replica: int) -> int:
        """The order hash of this task's replica ``replica`` of round ``round_``."""
        return order_hash(self.kernel, self.params, self.payload_sha256, self.seed,
                          self.output_len, round_, replica)  # fmt: skip

    def leaf(self, version: int, digest: str, round_: int | None, replica: int | None) -> bytes:
        """This replica's batch leaf (`shardy.merkle`) under statement ``version``.

        Raises:
            ProofError: version 2 lacks the round or replica.
        """
        from shardy import merkle

        if version == V1:
            return merkle.leaf(self.task_id, self.seed, self.output_len, digest)
        if round_ is None or replica is None:
            raise ProofError("a version 2 batched claim needs its round and replica")
        return merkle.leaf_v2(self.task_id, self.order_hash(round_, replica), digest)

    def signals(
        self, version: int, digest: str, commitment: str, round_: int | None, replica: int | None
    ) -> list[str]:
        """The public signals of an honest attestation of ``digest`` for this replica.

        Raises:
            ProofError: a value is out of range, or version 2 lacks the round or replica.
        """
        if version == V1:
            from shardy.zk.inputs import digest_to_field, task_id_to_field

            values = [task_id_to_field(self.task_id), self.seed, self.output_len,
                      digest_to_field(digest), int(commitment)]  # fmt: skip
            return [str(v) for v in values]
        if version == V2:
            if self.enrollment:
                oh = 0
            elif round_ is None or replica is None:
                raise ProofError("a version 2 statement needs the replica's round and number")
            else:
                oh = self.order_hash(round_, replica)
            return _v2_signals(self.task_id, oh, digest, commitment)
        raise ProofError(f"unknown statement version {version!r}")


def batch_signals(version: int, batch_id: str, size: int, root: str, commitment: str) -> list[str]:
    """The public signals of a batch proof over ``size`` leaves under Merkle ``root``."""
    from shardy.merkle import BATCH_OUTPUT_LEN

    subject = Subject(batch_id, size, BATCH_OUTPUT_LEN)
    if version == V1:
        return subject.signals(V1, root, commitment, None, None)
    return _v2_signals(batch_id, size, digest=root, commitment=commitment)


def _v2_signals(task_id: str, order_slot: int, digest: str, commitment: str) -> list[str]:
    """Version 2's signals: [2, task id, order hash (or batch size, or 0), digest halves,
    commitment]."""
    from shardy.zk.inputs import task_id_to_field

    hi, lo = digest_halves(digest)
    return [str(v) for v in (V2, task_id_to_field(task_id), order_slot, hi, lo, int(commitment))]


def inputs_for(signals: list[str], secret: int) -> dict[str, int]:
    """The circuit's full input (public and private) for these public signals."""
    from shardy.zk.circuit import public_inputs

    names = public_inputs(len(signals))
    return {**{n: int(s) for n, s in zip(names, signals, strict=True)}, "workerSecret": secret}


def replica_inputs(
    version: int,
    subject: Subject,
    digest: str,
    secret: int,
    round_: int | None = None,
    replica: int | None = None,
) -> dict[str, int]:
    """The circuit input of an honest attestation of ``digest`` for this replica (worker side)."""
    from shardy.zk.poseidon import commitment

    return inputs_for(subject.signals(version, digest, str(commitment(secret)), round_, replica),
                      secret)  # fmt: skip


def batch_inputs(version: int, batch_id: str, size: int, root: str, secret: int) -> dict[str, int]:
    """The circuit input of a batch proof over ``size`` leaves under ``root`` (worker side)."""
    from shardy.zk.poseidon import commitment

    return inputs_for(batch_signals(version, batch_id, size, root, str(commitment(secret))), secret)
