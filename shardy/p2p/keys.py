"""Verifying-key ids and the key ring a validator checks proofs against."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from shardy.errors import P2PError, ProofError
from shardy.zk import VerifyingKey, load_vkey
from shardy.zk.codec import vkey_to_json

#: A key id → verifying key (snarkjs JSON or parsed) mapping.
KeyRing = Mapping[str, VerifyingKey | dict[str, Any]]

#: The circuit build shipped with the repository.
DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "circuits" / "build"


def canonical_vkey_bytes(vkey_json: Mapping[str, Any]) -> bytes:
    """vkey.json in canonical form: UTF-8 JSON, keys sorted, no whitespace."""
    return orjson.dumps(dict(vkey_json), option=orjson.OPT_SORT_KEYS)


def key_id(vkey_json: Mapping[str, Any]) -> str:
    """A key's id: the first 16 hex characters of sha256(canonical vkey.json)."""
    return hashlib.sha256(canonical_vkey_bytes(vkey_json)).hexdigest()[:16]


def default_keyring(build_dir: str | Path = DEFAULT_BUILD_DIR) -> dict[str, dict[str, Any]]:
    """The single key of a circuit build directory (vkey JSON, checked), under its key id.

    Raises:
        P2PError: vkey.json is missing or malformed.
    """
    path = Path(build_dir) / "vkey.json"
    try:
        vkey_json = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise P2PError(f"cannot load the verifying key {path}: {exc}") from exc
    if not isinstance(vkey_json, dict):
        raise P2PError(f"cannot load the verifying key {path}: not a JSON object")
    return prepare_keyring({key_id(vkey_json): vkey_json})


def prepare_keyring(keys: KeyRing) -> dict[str, dict[str, Any]]:
    """The ring as vkey JSON (what `shardy.attestations.check` takes), every key parsed once.

    Parsing here rejects malformed keys up front and warms `shardy.zk`'s parsed-key cache, so
    validation does not re-parse a key per message.

    Raises:
        P2PError: a key is malformed (the message names its id).
    """
    out: dict[str, dict[str, Any]] = {}
    for kid, vkey in keys.items():
        vkey_json = vkey_to_json(vkey) if isinstance(vkey, VerifyingKey) else vkey
        try:
            load_vkey(vkey_json)
        except ProofError as exc:
            raise P2PError(f"verifying key {kid!r} is malformed: {exc}") from exc
        out[kid] = vkey_json
    return out
