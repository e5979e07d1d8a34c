"""Re-verify a verified record: batch-check its proofs and count the quorum (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from shardy.errors import ProofError
from shardy.p2p.keys import KeyRing, prepare_keyring
from shardy.p2p.record import VerifiedRecord
from shardy.zk import VerifyingKey, digest_to_field, find_invalid, task_id_to_field


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one record: ``accepted`` or the reason it was refused."""

    accepted: bool
    #: Distinct worker commitments whose proofs verify and whose signals match the record.
    valid_workers: int
    reason: str = ""


class RecordValidator:
    """Checks records against a key ring; invalid proofs are counted out, never raised.

    A record is accepted when the number of distinct worker commitments among attestations
    that (a) name a known key, (b) carry public signals equal to the record's (task id, seed,
    output length, digest) and (c) verify, reaches ``max(record.quorum, min_quorum)``.

    Args:
        keys: key id → verifying key.
        min_quorum: the smallest quorum a record may claim (a record claiming less is refused).
    """

    def __init__(self, keys: KeyRing, *, min_quorum: int = 1) -> None:
        self.keys: dict[str, VerifyingKey] = prepare_keyring(keys)
        self.min_quorum = max(1, min_quorum)

    def expected_prefix(self, record: VerifiedRecord) -> list[str] | None:
        """The first four public signals a matching attestation must carry (None: malformed)."""
        try:
            return [
                str(task_id_to_field(record.task_id)),
                str(record.seed),
                str(record.output_len),
                str(digest_to_field(record.digest)),
            ]
        except ProofError:
            return None

    def check(self, record: VerifiedRecord) -> Verdict:
        """Verify ``record``'s attestations (one batch per key) and count its quorum."""
        if record.quorum < self.min_quorum:
            return Verdict(False, 0, f"claims quorum {record.quorum} < {self.min_quorum}")
        prefix = self.expected_prefix(record)
        if prefix is None:
            return Verdict(False, 0, "task id or digest cannot be mapped to field elements")
        # Only attestations that could count are verified: known key, matching signals.
        by_key: dict[str, list[int]] = {}
        for i, att in enumerate(record.attestations):
            signals = list(att.public_signals)
            if att.key_id not in self.keys or len(signals) != len(prefix) + 1:
                continue
            if signals[: len(prefix)] != prefix or att.digest.lower() != record.digest.lower():
                continue
            by_key.setdefault(att.key_id, []).append(i)
        commitments: set[str] = set()
        for kid, indices in by_key.items():
            items = [
                (record.attestations[i].proof, list(record.attestations[i].public_signals))
                for i in indices
            ]
            bad = set(find_invalid(self.keys[kid], items))
            commitments.update(
                record.attestations[i].public_signals[-1]
                for n, i in enumerate(indices)
                if n not in bad
            )
        need = max(record.quorum, self.min_quorum)
        if len(commitments) < need:
            return Verdict(
                False, len(commitments), f"{len(commitments)} valid distinct workers < {need}"
            )
        return Verdict(True, len(commitments))
