"""Proofs verified as they arrive, so that a round's settle need not wait for the pairings.

On an idle system, verifying its replicas' proofs is the longest step of a round's settle
(two proofs: about 4 ms of a 15 ms settle on a 2-core machine), and it starts only once the
round's chord has returned. Workers note each proof they store (`shardy.prechecks`); a thread
in the orchestrator's main process (`Prechecker`) takes the newest notes, verifies their
proofs under the accepted keys while the round's other replicas still compute, and records
each proof that verifies as a tag in Redis: an HMAC of (key id, proof, public signals) under a
secret drawn when this module is first imported. The orchestrator imports it before its pool
forks, so its settle processes share the secret; it is never stored or sent. Settle looks up
the tags of the proofs it is about to verify (`known`, one MGET) and verifies only the rest.

What this trusts: nothing a worker says. A tag cannot be made without the secret, so a
process holding Redis credentials can delete tags (settle then verifies the proof itself) but
not make an invalid proof pass; a tag vouches only for the pairing check, and settle still
checks everything else (the key is accepted, the signals are the task's, the Merkle path, the
commitment, replays). A flood of notes is capped (`shardy.prechecks.KEEP`) and each costs one
blob read and at most one verification.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
from redis import RedisError

from shardy import zk
from shardy.attestations import BatchProof
from shardy.blobs import BlobRef
from shardy.celery_app import ShardyCelery
from shardy.errors import ShardyError
from shardy.orchestrator import keys
from shardy.prechecks import NOTES_KEY, digest

log = logging.getLogger("shardy.orchestrator")

#: Drawn once per orchestrator (its prefork children inherit it): only they can make a tag.
_SECRET = secrets.token_bytes(32)
#: Prefix of a tag's key (the digest's hex follows).
TAG_PREFIX = "shardy:prechecked:"
#: Seconds a tag lives: longer than a round takes to settle.
TAG_TTL = 600
#: Notes older than this (s) are skipped: their round has settled, or settle is verifying.
MAX_AGE = 5.0
#: Seconds between reloads of the accepted keys when a note names an unknown one.
KEY_RELOAD = 1.0
#: Notes waiting behind the one taken that mean the fabric is busy: the prechecker then
#: drops them all (settle verifies a busy round's proofs in one batch, more cheaply) and
#: steals no time from the orchestrator's main process.
BUSY = 8


def _tag(d: bytes) -> bytes:
    return hmac.new(_SECRET, d, hashlib.sha256).digest()


def known(client: Any, key_id: str, items: Sequence[tuple[Any, Sequence[str]]]) -> set[int]:
    """Indexes of ``items`` ((proof, public signals) pairs) whose proof this orchestrator's
    prechecker found valid under ``key_id``. Best effort: empty when Redis fails."""
    digests: list[bytes | None] = []
    for proof, signals in items:
        try:
            digests.append(digest(key_id, proof, signals))
        except TypeError:  # malformed: settle's own check names it
            digests.append(None)
    wanted = [(i, d) for i, d in enumerate(digests) if d is not None]
    if not wanted:
        return set()
    try:
        tags = client.mget([TAG_PREFIX + d.hex() for _, d in wanted])
    except RedisError as exc:
        log.info("precheck tags unavailable (%s); settle verifies every proof", exc)
        return set()
    return {
        i for (i, d), tag in zip(wanted, tags, strict=True)
        if tag is not None and hmac.compare_digest(tag, _tag(d))
    }  # fmt: skip


class Prechecker:
    """Verifies noted proofs on a daemon thread of the orchestrator's main process."""

    def __init__(self, app: ShardyCelery) -> None:
        self.app = app
        self._stop = threading.Event()
        self._keys: dict[str, dict] = {}
        self._keys_read = 0.0
        #: proofs checked lately: their digests, and the stored batch proofs by reference
        self._done: OrderedDict[bytes | tuple, None] = OrderedDict()
        self.checked = 0  # proofs verified and tagged (for tests and status)

    def start(self) -> Prechecker:
        threading.Thread(target=self._loop, name="shardy-precheck", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                popped = self.app.redis.blpop([NOTES_KEY], timeout=1)
            except RedisError as exc:
                log.info("precheck notes unavailable (%s)", exc)
                self._stop.wait(1.0)
                continue
            if popped is None:
                continue
            try:
                if self.app.redis.llen(NOTES_KEY) >= BUSY:
                    self.app.redis.delete(NOTES_KEY)
                    continue
                self.check(popped[1])
            except Exception:  # noqa: BLE001 - a note is only a hint: never stop the thread
                log.debug("precheck note skipped", exc_info=True)

    def check(self, raw: bytes) -> bool:
        """Verify the proof one note names and tag it if valid; whether it was tagged."""
        note = orjson.loads(raw)
        if not isinstance(note, dict) or not isinstance(note.get("k"), str):
            return False
        sent = note.get("t")
        if not isinstance(sent, int | float) or time.time() - sent > MAX_AGE:
            return False
        key_id = note["k"]
        # a gateway notes a remote batch's proof with each of its replicas: read it once
        blob = note.get("b")
        ref = ("b", key_id, *blob) if isinstance(blob, list) and len(blob) == 2 else None
        if ref is not None and ref in self._done:
            return False
        found = self._proof(key_id, note)
        vkey = self._vkey(key_id)
        if found is None or vkey is None:
            return False
        proof, signals = found
        try:
            d = digest(key_id, proof, signals)
        except TypeError:
            return False
        if d in self._done:
            return False
        for seen in (d, ref) if ref is not None else (d,):
            self._done[seen] = None
        while len(self._done) > 1024:
            self._done.popitem(last=False)
        try:
            valid = zk.verify(vkey, proof, signals, polite=True)
        except ShardyError:  # malformed: settle refuses it with its reason
            return False
        if valid:
            self.app.redis.set(TAG_PREFIX + d.hex(), _tag(d), ex=TAG_TTL)
            self.checked += 1
        return valid

    def _proof(self, key_id: str, note: dict) -> tuple[Any, list[str]] | None:
        """The (proof, public signals) a note names: inline, or a stored batch proof."""
        if "b" not in note:
            signals = note.get("g")
            return (note.get("p"), signals) if isinstance(signals, list) else None
        sha, size = note["b"]
        if not isinstance(sha, str) or type(size) is not int:
            return None
        try:
            batch = BatchProof.from_json(orjson.loads(self.app.blobs.get(BlobRef(sha, size))))
        except (ShardyError, ValueError, TypeError, KeyError):
            return None
        if batch.key_id != key_id or not isinstance(batch.public_signals, list):
            return None
        return batch.proof, batch.public_signals

    def _vkey(self, key_id: str) -> dict | None:
        """The verifying key of an accepted key id (the store's, read again at most every
        `KEY_RELOAD` seconds when an unknown id comes)."""
        if key_id not in self._keys and time.monotonic() - self._keys_read > KEY_RELOAD:
            self._keys_read = time.monotonic()
            with self.app.store.read() as session:
                self._keys = keys.accepted(session)
        return self._keys.get(key_id)
