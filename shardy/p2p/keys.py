"""The key ring a validator checks proofs against.

Key ids are `shardy.keyring.key_id`: they cover a key's vkey, zkey and witness wasm, and a peer
holding only a vkey recomputes its id from the two published file hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from shardy.errors import P2PError, ProofError
from shardy.keyring import build_manifest, default_build, key_id
from shardy.zk import VerifyingKey, load_vkey
from shardy.zk.codec import vkey_to_json

#: A key id → verifying key (snarkjs JSON or parsed) mapping.
KeyRing = Mapping[str, VerifyingKey | dict[str, Any]]

__all__ = ["KeyRing", "default_keyring", "key_id", "prepare_keyring"]


def default_keyring(build_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The single key of a circuit build directory (vkey JSON, checked), under its key id;
    by default the packaged manifest's active key.

    The id covers the build's attestation.zkey and attestation.wasm too (see
    `shardy.keyring`), so the directory must hold all three files.

    Raises:
        P2PError: a file is missing, or vkey.json is malformed.
    """
    try:
        root = Path(build_dir or default_build())
        hashes = build_manifest(root)
    except ProofError as exc:
        raise P2PError(f"cannot compute the key id: {exc}") from exc
    path = root / "vkey.json"
    try:
        vkey_json = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise P2PError(f"cannot load the verifying key {path}: {exc}") from exc
    if not isinstance(vkey_json, dict):
        raise P2PError(f"cannot load the verifying key {path}: not a JSON object")
    return prepare_keyring({key_id(vkey_json, hashes["zkey"], hashes["wasm"]): vkey_json})


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
