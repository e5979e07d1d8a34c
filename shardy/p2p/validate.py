"""Re-verify a verified record with settle's own check (`shardy.attestations`) and count the
quorum (pure, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from shardy import attestations
from shardy.p2p.keys import KeyRing, prepare_keyring
from shardy.p2p.record import VerifiedRecord


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one record: ``accepted`` or the reason it was refused."""

    accepted: bool
    #: Distinct worker commitments whose proofs verify and whose signals match the record.
    valid_workers: int
    reason: str = ""


class RecordValidator:
    """Checks records against a key ring; invalid proofs are counted out, never raised.

    Each attestation (a `shardy.attestations.Claim`) for the record's digest is judged by
    `shardy.attestations.check`, as settle judges it: known key, public signals bound to the
    task (or, batched, to the batch and the replica's Merkle path into its root), and the
    Groth16 proofs, batch-verified per key and each batch proof once. A record is accepted when
    the distinct commitments (signal 4) of the valid claims reach
    ``max(record.quorum, min_quorum)``.

    Args:
        keys: key id → verifying key (vkey JSON or parsed).
        min_quorum: the smallest quorum a record may claim (a record claiming less is refused).
    """

    def __init__(self, keys: KeyRing, *, min_quorum: int = 1) -> None:
        self.keys: dict[str, dict[str, Any]] = prepare_keyring(keys)
        self.min_quorum = max(1, min_quorum)

    def claims(self, record: VerifiedRecord) -> list[attestations.Claim]:
        """The record's attestations that could count, numbered (``replica``) for
        `attestations.check`.

        Attestations for another digest are left out (they cannot count, so their proofs are
        not verified), and so is a batched one whose batch id another attestation already
        used with a different root, size, key, proof or signals: `check` verifies each batch
        id's proof once, so one batch id must stand for one statement.
        """
        out: list[attestations.Claim] = []
        batches: dict[str, attestations.BatchProof] = {}
        for i, att in enumerate(record.attestations):
            if att.digest.lower() != record.digest.lower():
                continue
            statement = att.batch_proof()
            if statement is not None and batches.setdefault(statement.id, statement) != statement:
                continue
            out.append(dataclasses.replace(att, replica=i))
        return out

    def check(self, record: VerifiedRecord) -> Verdict:
        """Verify ``record``'s attestations and count its quorum."""
        if record.quorum < self.min_quorum:
            return Verdict(False, 0, f"claims quorum {record.quorum} < {self.min_quorum}")
        if not (0 <= record.seed < 1 << 64 and 0 <= record.output_len < 1 << 32):
            return Verdict(False, 0, "seed or output length out of range")
        claims = self.claims(record)
        verdicts, _ = attestations.check(
            record.task_id, record.seed, record.output_len, claims, self.keys, bound={}, known={}
        )
        commitments = {c.public_signals[4] for c in claims if verdicts[c.replica] is None}
        need = max(record.quorum, self.min_quorum)
        if len(commitments) < need:
            return Verdict(
                False, len(commitments), f"{len(commitments)} valid distinct workers < {need}"
            )
        return Verdict(True, len(commitments))
