"""Whom a peer trusts, followed without a restart: orchestrator public keys (configured, or
published in the sidecar's Redis) and verifier keys that arrive by rotation (from Redis,
checked against their key id)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import redis

from shardy.errors import P2PError, ProofError
from shardy.keyring import KEY_PREFIX, MANIFEST_FIELD, manifest_id, vkey_sha256
from shardy.p2p.signed import PUBLISHED_KEYS, parse_public_key

log = logging.getLogger("shardy.p2p")

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
#: Seconds an unknown verifier key id is not looked up again.
_MISS_TTL_S = 10.0
_MISSES_KEPT = 1024
#: Least seconds between two refreshes caused by a record from an unknown signer.
_REFRESH_ON_MISS_S = 1.0


def _read_key_file(path: Path) -> frozenset[str]:
    keys = set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if text:
            keys.add(parse_public_key(text, f"{path}:{n}:"))
    return frozenset(keys)


class TrustedKeys:
    """The orchestrator public keys whose signed records this peer accepts.

    Args:
        entries: hex public keys, or files of keys (one per line, ``#`` comments), re-read by
            `refresh` when they change (SHARDY_P2P_TRUSTED).
        client: the sidecar's Redis. Used only when ``entries`` is empty: then the keys the
            orchestrator published there (``shardy:zk:orchestrator``) are trusted, as the
            sidecar already trusts that Redis for the verified stream.
    Raises:
        P2PError: an entry is neither a key nor a readable file of keys.
    """

    def __init__(self, entries: Sequence[str] = (), client: redis.Redis | None = None) -> None:
        self.keys: frozenset[str] = frozenset()
        self.client = client
        self._static: set[str] = set()
        self._files: dict[Path, tuple[float, frozenset[str]]] = {}
        for entry in (e.strip() for e in entries if e.strip()):
            if _HEX_KEY.fullmatch(entry):
                self._static.add(parse_public_key(entry, "SHARDY_P2P_TRUSTED entry"))
                continue
            path = Path(entry).expanduser()
            try:
                self._files[path] = (path.stat().st_mtime, _read_key_file(path))
            except OSError as exc:
                raise P2PError(
                    f"SHARDY_P2P_TRUSTED entry {entry!r} is neither an Ed25519 public key (64 "
                    f"hex characters) nor a readable file of keys: {exc}"
                ) from exc
        self.configured = bool(self._static or self._files)
        self.keys = self._collect()
        self._refreshed = 0.0

    def __contains__(self, key: object) -> bool:
        """True for a trusted key; an unknown one first refreshes the set (at most once a
        second), so a key published a moment ago is not refused."""
        if key in self.keys:
            return True
        if time.monotonic() - self._refreshed >= _REFRESH_ON_MISS_S:
            self.refresh()
        return key in self.keys

    def _collect(self) -> frozenset[str]:
        keys = set(self._static)
        for _, found in self._files.values():
            keys |= found
        return frozenset(keys)

    def refresh(self) -> bool:
        """Re-read changed key files (or the Redis-published keys); True when the set changed.

        A file that cannot be read or parsed keeps its previous keys (logged); Redis errors
        keep the previous keys too.
        """
        self._refreshed = time.monotonic()
        for path, (mtime, old) in list(self._files.items()):
            try:
                now = path.stat().st_mtime
                if now != mtime:
                    self._files[path] = (now, _read_key_file(path))
            except (OSError, P2PError) as exc:
                log.warning("trusted-key file %s unreadable (%s); keeping its %d keys",
                            path, exc, len(old))  # fmt: skip
        keys = self._collect()
        if not self.configured and self.client is not None:
            try:
                raw = self.client.hkeys(PUBLISHED_KEYS)
            except redis.RedisError as exc:
                log.debug("cannot read the published orchestrator keys: %s", exc)
                return False
            keys = frozenset(k.decode() if isinstance(k, bytes) else str(k) for k in raw)
        if keys == self.keys:
            return False
        added, removed = sorted(keys - self.keys), sorted(self.keys - keys)
        self.keys = keys
        log.info("trusted orchestrator keys now %s (added %s, removed %s)",
                 sorted(k[:16] for k in keys), [k[:16] for k in added],
                 [k[:16] for k in removed])  # fmt: skip
        return True


class RedisKeySource:
    """Verifier keys by id from the orchestrator's Redis (``shardy:zk:key:<id>``), so a
    sidecar verifies proofs made under a key rotated in after it started.

    Only the vkey and the key's manifest are read; the manifest must hash to the id and the
    vkey to the manifest's entry, so Redis cannot substitute another key under an id.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._misses: dict[str, float] = {}

    def __call__(self, kid: str) -> dict[str, Any] | None:
        """The vkey JSON of key ``kid``, or None when it is not (validly) published."""
        if self._misses.get(kid, 0.0) > time.monotonic():
            return None
        try:
            vkey_raw, manifest_raw = self.client.hmget(KEY_PREFIX + kid, "vkey", MANIFEST_FIELD)
            manifest = orjson.loads(manifest_raw) if manifest_raw else None
            vkey = orjson.loads(vkey_raw) if vkey_raw else None
            ok = isinstance(manifest, dict) and isinstance(vkey, dict)
            ok = ok and manifest_id(manifest) == kid and vkey_sha256(vkey) == manifest["vkey"]
        except (redis.RedisError, orjson.JSONDecodeError, ProofError, KeyError) as exc:
            log.debug("verifier key %s unavailable from Redis: %s", kid, exc)
            ok = False
        if not ok:
            while len(self._misses) >= _MISSES_KEPT:
                del self._misses[next(iter(self._misses))]
            self._misses[kid] = time.monotonic() + _MISS_TTL_S
            return None
        log.info("loaded verifier key %s from Redis (rotation)", kid)
        return vkey
