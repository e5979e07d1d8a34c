"""Verifier keys: their ids, the committed manifest, and key material shared through Redis.

The orchestrator publishes each accepted key's zkey, witness wasm and vkey.json under
``shardy:zk:key:<id>``; a replica order names the key to prove with, and workers load it
from Redis once (checking that its vkey hashes to the id), so a rotation reaches every GPU box
without copying files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from shardy.errors import ProofError, TransientError

#: The packaged circuit artifacts (``shardy/circuits``, a link to the top-level ``circuits/``
#: in a checkout): the one place code finds them, in a checkout and an installed package alike.
CIRCUITS = Path(__file__).parent / "circuits"
MANIFEST = CIRCUITS / "manifest.json"
KEY_PREFIX = "shardy:zk:key:"
_FILES = {"zkey": "attestation.zkey", "wasm": "attestation.wasm", "vkey": "vkey.json"}


def key_id(vkey_json: Mapping[str, Any]) -> str:
    """A key's id: the first 16 hex digits of the sha256 of its canonical vkey JSON."""
    canonical = json.dumps(vkey_json, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


@dataclass(frozen=True)
class ManifestKey:
    """One entry of ``circuits/manifest.json``."""

    id: str
    build: Path
    state: str


def default_build() -> Path:
    """The build directory of the manifest's active key (the committed development key)."""
    for entry in read_manifest():
        if entry.state == "active":
            return entry.build
    raise ProofError(f"verifier-key manifest {MANIFEST} names no active key")


def read_manifest(path: Path = MANIFEST) -> list[ManifestKey]:
    """The keys a fresh deployment starts with. Raises ProofError if the manifest is bad."""
    try:
        entries = json.loads(path.read_text())["keys"]
        return [
            ManifestKey(str(e["id"]), (path.parent / e["build"]).resolve(), str(e["state"]))
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProofError(f"verifier-key manifest {path} is unreadable: {exc}") from exc


def load_build(build_dir: Path):
    """Load and check a build directory; returns (key id, Circuit)."""
    from shardy.zk import load_circuit

    circuit = load_circuit(build_dir)
    return key_id(circuit.vkey_json), circuit


def publish(client: redis.Redis, build_dir: Path) -> str:
    """Put a build's key material into Redis (no TTL) and return its key id."""
    kid, _ = load_build(build_dir)
    client.hset(
        KEY_PREFIX + kid,
        mapping={field: (build_dir / name).read_bytes() for field, name in _FILES.items()},
    )
    return kid


class KeyCache:
    """Worker side: circuits by key id, fetched from Redis once and kept on disk and in memory."""

    def __init__(self, client: redis.Redis, directory: Path) -> None:
        self.client = client
        self.directory = directory
        self._circuits: dict[str, Any] = {}

    def circuit(self, kid: str):
        """The Circuit for key ``kid``.

        Raises:
            TransientError: the key is not (yet) published in Redis.
            ProofError: the published material does not hash to ``kid``.
        """
        circuit = self._circuits.get(kid)
        if circuit is not None:
            return circuit
        target = self.directory / kid
        if not (target / _FILES["vkey"]).is_file():
            fields = self.client.hgetall(KEY_PREFIX + kid)
            if set(fields) != {f.encode() for f in _FILES}:
                raise TransientError(
                    f"verifier key {kid} is not published in Redis; the orchestrator publishes "
                    "its keys on start and on `shardy keys rotate`"
                )
            tmp = self.directory / f".{kid}.{os.getpid()}"
            tmp.mkdir(parents=True, exist_ok=True)
            for field, name in _FILES.items():
                (tmp / name).write_bytes(fields[field.encode()])
            try:
                os.replace(tmp, target)
            except OSError:  # another pool process stored it first
                shutil.rmtree(tmp, ignore_errors=True)
        got, circuit = load_build(target)
        if got != kid:
            raise ProofError(f"key material published as {kid} hashes to {got}; republish it")
        self._circuits[kid] = circuit
        return circuit
