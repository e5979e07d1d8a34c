"""The libp2p sidecar: verified records on GossipSub, re-verified by every peer.

Modules, in data-path order: ``record`` (codec), ``keys`` (key ids), ``validate`` (settle's
attestation check and the quorum count), ``identity`` (peer key), ``node`` (libp2p host),
``connect`` (discovery, relay, reconnection), ``store`` (the sidecar's table), ``sidecar``
(Redis stream → gossip).
"""

from shardy.p2p.keys import default_keyring, key_id
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.record import VerifiedRecord, decode, encode, from_stream_entry
from shardy.p2p.sidecar import Sidecar, run_sidecar
from shardy.p2p.store import RecordStore, VerifiedEntry, is_verified
from shardy.p2p.validate import RecordValidator, Verdict

__all__ = [
    "TOPIC",
    "NodeConfig",
    "P2PNode",
    "RecordStore",
    "RecordValidator",
    "Sidecar",
    "Verdict",
    "VerifiedEntry",
    "VerifiedRecord",
    "decode",
    "default_keyring",
    "encode",
    "from_stream_entry",
    "is_verified",
    "key_id",
    "run_sidecar",
]
