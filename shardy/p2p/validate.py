"""Judge a gossiped record (pure, no I/O): the orchestrator's signature under a trusted key,
its age, then settle's own attestation check (`shardy.attestations`) and the quorum count
over the enrolled voters the signature vouches for."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from shardy import attestations
from shardy.p2p.keys import KeyRing, prepare_keyring
from shardy.p2p.record import VerifiedRecord
from shardy.p2p.signed import SignedRecord
from shardy.statement import commitment_signal

#: Verifier keys a peer keeps from signed announcements (`shardy.p2p.announce`).
MAX_LEARNED_KEYS = 32
#: Seconds a record may be issued ahead of this peer's clock.
CLOCK_SKEW_S = 300.0

#: ``loader(key id) -> vkey JSON | None``: verifier keys that arrive after start (rotation).
KeyLoader = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one record: ``accepted``, or the reason it was refused.

    ``ignore`` marks a refusal that says nothing bad about the peer that forwarded it (a
    duplicate, a record under a verifier key this peer does not know yet, a conflict kept as
    evidence): it is not forwarded, and it does not lower the forwarder's score.
    """

    accepted: bool
    #: Distinct enrolled voters (or, unsigned, commitments) whose proofs verify.
    valid_workers: int
    reason: str = ""
    ignore: bool = False


class RecordValidator:
    """Checks records against trusted orchestrator keys and a verifier-key ring; invalid
    signatures and proofs are counted out, never raised.

    A signed record is accepted when its signer is trusted, its signature verifies, it was
    issued within ``max_age_s`` (and not over `CLOCK_SKEW_S` ahead), and the valid claims
    (settle's `shardy.attestations.check`: known key, public signals bound to the task or to
    the batch and the replica's Merkle path, Groth16 proofs) from commitments the record lists
    as enrolled come from at least ``max(record.quorum, min_quorum)`` distinct voters.

    Args:
        keys: key id → verifying key (vkey JSON or parsed).
        min_quorum: the fewest distinct voters any record must prove.
        trusted: orchestrator public keys (hex) whose signatures are accepted.
        max_age_s: the oldest record accepted (older ones are replays).
        key_loader: consulted for key ids not in ``keys`` (rotation); its keys are kept.
    """

    def __init__(
        self,
        keys: KeyRing,
        *,
        min_quorum: int = 1,
        trusted: Container[str] = frozenset(),
        max_age_s: float = 7 * 86_400.0,
        key_loader: KeyLoader | None = None,
    ) -> None:
        self.keys: dict[str, dict[str, Any]] = prepare_keyring(keys)
        self.min_quorum = max(1, min_quorum)
        self.trusted = trusted
        self.max_age_s = max_age_s
        self.key_loader = key_loader
        self._learned: list[str] = []

    def learn_key(self, kid: str, vkey: dict[str, Any]) -> None:
        """Add a verifier key announced by a trusted orchestrator; the ring keeps at most
        `MAX_LEARNED_KEYS` learned ones (the oldest goes first), besides its own."""
        if kid in self.keys:
            return
        self.keys.update(prepare_keyring({kid: vkey}))
        self._learned.append(kid)
        while len(self._learned) > MAX_LEARNED_KEYS:
            self.keys.pop(self._learned.pop(0), None)

    # ---- the signed envelope -------------------------------------------------------------

    def check_envelope(self, signed: SignedRecord, now: float | None = None) -> Verdict | None:
        """None when the signer is trusted, the signature verifies and the record is fresh;
        else the refusal (cheap: no pairing)."""
        if signed.signer not in self.trusted:
            return Verdict(False, 0, f"untrusted signer: {signed.signer[:16]}… is not trusted")
        if not signed.verify():
            return Verdict(False, 0, "bad signature: not the orchestrator's over this record")
        age = (time.time() if now is None else now) - signed.issued_at_ms / 1000
        if age > self.max_age_s:
            return Verdict(False, 0, f"stale: issued {age:.0f} s ago (max {self.max_age_s:.0f})")
        if age < -CLOCK_SKEW_S:
            return Verdict(False, 0, f"from the future: issued {-age:.0f} s ahead of this clock")
        return None

    def check_signed(self, signed: SignedRecord, now: float | None = None) -> Verdict:
        """Judge a signed record: envelope first, then its attestations and quorum."""
        refused = self.check_envelope(signed, now)
        if refused is not None:
            return refused
        unknown = self._unknown_keys(signed.record)
        if unknown:
            return Verdict(False, 0, f"unknown verifier key: {sorted(unknown)[0]}", ignore=True)
        return self.check(signed.record, signed.enrolled_voters())

    def _unknown_keys(self, record: VerifiedRecord) -> set[str]:
        wanted = {a.key_id for a in record.attestations if _for_record(record, a)}
        unknown = {k for k in wanted if k is not None and k not in self.keys}
        for kid in list(unknown):
            vkey = self.key_loader(kid) if self.key_loader is not None else None
            if vkey is not None:
                self.keys.update(prepare_keyring({kid: vkey}))
                unknown.discard(kid)
        return unknown

    # ---- the attestations ----------------------------------------------------------------

    def claims(
        self, record: VerifiedRecord, enrolled: Mapping[str, str] | None = None
    ) -> list[attestations.Claim]:
        """The record's attestations that could count, numbered (``replica``) for
        `attestations.check`.

        Left out (their proofs are not verified): attestations for another digest (unless the
        record is a tolerance quorum, where each proves its own), those
        whose commitment is not enrolled (when ``enrolled`` is given), and a batched one whose
        batch id another attestation already used with a different root, size, key, proof or
        signals (`check` verifies each batch id's proof once, so one id is one statement).
        """
        out: list[attestations.Claim] = []
        batches: dict[str, attestations.BatchProof] = {}
        numbers: set[int] = set()
        for i, att in enumerate(record.attestations):
            if not _for_record(record, att):
                continue
            if enrolled is not None and commitment_signal(att.public_signals) not in enrolled:
                continue
            proven = att.batch_proof()
            if proven is not None and batches.setdefault(proven.id, proven) != proven:
                continue
            # Verdicts are keyed by replica: a record's own numbers (version 3) must be unique
            number = i if att.round is None else att.replica
            if number in numbers:
                continue
            numbers.add(number)
            out.append(dataclasses.replace(att, replica=number))
        return out

    def check(self, record: VerifiedRecord, enrolled: Mapping[str, str] | None = None) -> Verdict:
        """Verify ``record``'s attestations and count its quorum.

        Args:
            enrolled: commitment → voter, from the signed envelope: only enrolled commitments
                count, and each voter once. None counts distinct commitments (an unsigned
                record's best, which proves nothing about who made them).
        """
        if record.quorum < self.min_quorum:
            return Verdict(False, 0, f"claims quorum {record.quorum} < {self.min_quorum}")
        if not (0 <= record.seed < 1 << 64 and 0 <= record.output_len < 1 << 32):
            return Verdict(False, 0, "seed or output length out of range")
        claims = self.claims(record, enrolled)
        verdicts, _ = attestations.check(record.subject(), claims, self.keys, bound={}, known={})
        valid = {c.public_signals[-1] for c in claims if verdicts[c.replica] is None}
        units = valid if enrolled is None else {enrolled[c] for c in valid}
        need = max(record.quorum, self.min_quorum)
        if len(units) < need:
            what = "workers" if enrolled is None else "enrolled voters"
            return Verdict(False, len(units), f"{len(units)} valid distinct {what} < {need}")
        return Verdict(True, len(units))


def _for_record(record: VerifiedRecord, att: attestations.Claim) -> bool:
    """Whether ``att`` can count for ``record``: it attests the record's digest, or the record
    is a tolerance quorum, where each worker proves its own."""
    return record.tolerance or att.digest.lower() == record.digest.lower()
