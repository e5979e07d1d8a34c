"""The libp2p sidecar: orchestrator-signed verified records on GossipSub, re-verified by every
peer.

Modules, in data-path order: ``record`` (codec; its byte-level pieces in ``wire``),
``signed`` (the orchestrator's signature and the enrolled workers), ``keys`` (key ids),
``trust`` (trusted orchestrator keys, verifier keys that follow rotation), ``validate``
(signature, age, settle's attestation check, the quorum), ``identity`` (peer key), ``node``
(libp2p host), ``bans`` (scoring and disconnection), ``connect`` (discovery, relay,
reconnection), ``store`` (the sidecar's bounded table), ``sidecar`` (Redis stream → gossip).

``record``, ``signed`` and ``validate`` need no libp2p (the orchestrator signs with
``signed``); the names below are imported on first use, so importing this package does not
load libp2p either.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TOPIC": "node",
    "NodeConfig": "node",
    "P2PNode": "node",
    "RecordStore": "store",
    "RecordValidator": "validate",
    "Sidecar": "sidecar",
    "SignedRecord": "signed",
    "Verdict": "validate",
    "VerifiedEntry": "store",
    "VerifiedRecord": "record",
    "decode": "record",
    "decode_signed": "signed",
    "default_keyring": "keys",
    "encode": "record",
    "encode_signed": "signed",
    "from_stream_entry": "record",
    "is_verified": "store",
    "key_id": "keys",
    "run_sidecar": "sidecar",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shardy.p2p' has no attribute {name!r}")
    return getattr(import_module(f"shardy.p2p.{module}"), name)
