"""The libp2p host: TCP + Noise + Yamux/Mplex, GossipSub with a validator that checks the
orchestrator's signature and re-verifies the proofs, Kademlia DHT.

Discovery (bootstrap, DHT, mDNS), reconnection and circuit relay live in ``connect.py``,
scoring and bans in ``bans.py``; this module builds the host and runs the gossip side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.relay.circuit_v2.protocol import CircuitV2Protocol
from libp2p.relay.circuit_v2.resources import RelayLimits
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from shardy.errors import P2PError
from shardy.p2p import announce
from shardy.p2p.bans import Bans, ForgivingScorer, score_params
from shardy.p2p.identity import load_or_create_identity
from shardy.p2p.keys import KeyRing, default_keyring
from shardy.p2p.signed import SignedRecord, decode_signed
from shardy.p2p.validate import KeyLoader, RecordValidator, Verdict

log = logging.getLogger("shardy.p2p")

#: The GossipSub topic orchestrator-signed records travel on (``/1`` carried unsigned ones).
TOPIC = "shardy/verified/2"

#: Called for every record the node accepts, its own publishes included:
#: (signed record, sender peer id, distinct valid voters, wire bytes).
OnRecord = Callable[[SignedRecord, str, int, bytes], Awaitable[None]]
#: ``screen(record, wire bytes) -> "new" | "same" | "conflict"``: how a record relates to
#: what this node stored (`RecordStore.screen`); runs on the validation thread.
Screen = Callable[[SignedRecord, bytes], str]
#: ``keep(record, forwarder, wire bytes, the digest it conflicts with)``: keep a conflicting
#: record as evidence (`RecordStore.keep_conflict`).
KeepConflict = Callable[[SignedRecord, str, bytes, str], None]

_VERDICTS_KEPT = 4096
_REASONS_KEPT = 64


@dataclass
class NodeConfig:
    """Options of one libp2p node (the sidecar passes its settings through here)."""

    #: Identity key file (created 0600 on first use).
    key_file: Path
    listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",)
    #: Multiaddrs (with /p2p/<id>) dialled at start and redialled whenever they drop.
    bootstrap: Sequence[str] = ()
    #: Dial peers that the DHT or mDNS finds (off: only bootstrap peers, e.g. a fixed line).
    discover: bool = True
    mdns: bool = False
    #: Serve as a circuit relay v2 (hop) for peers that cannot accept inbound connections.
    relay_hop: bool = False
    #: Relays (multiaddrs with /p2p/<id>) to reserve a slot on and advertise a circuit address.
    relays: Sequence[str] = ()
    #: Join the topic (a relay-only node does not).
    subscribe: bool = True
    #: Records per second a peer may send on the topic before GossipSub drops (and logs) more.
    max_rate: float = 200.0
    heartbeat_s: int = 1
    muxer: str = "yamux"
    max_peers: int = 32
    #: Seconds between connection upkeep rounds (redial, discovery).
    upkeep_s: float = 2.0
    #: Key id → verifying key; default: the packaged manifest's active key.
    keys: KeyRing | None = None
    #: Verifier keys by id for ids not in ``keys`` (rotation), e.g. `trust.RedisKeySource`.
    key_loader: KeyLoader | None = None
    #: Orchestrator public keys (hex) whose signed records are accepted (`trust.TrustedKeys`).
    trusted: Container[str] = frozenset()
    #: Fewest distinct enrolled voters a record must prove (default: the quorum of R = 3).
    min_quorum: int = 2
    #: Oldest record accepted (s); older signed records are replays.
    max_age_s: float = 7 * 86_400.0
    screen: Screen | None = None
    keep_conflict: KeepConflict | None = None
    #: Seconds a validator may take before the message counts as rejected.
    validation_timeout_s: float = 30.0


@dataclass
class NodeStats:
    """Counters of the gossip side (read them; the node updates them)."""

    published: int = 0
    accepted: int = 0
    rejected: int = 0
    #: Refused without blame on the forwarder (duplicates, unknown keys, conflicts).
    ignored: int = 0
    malformed: int = 0
    conflicts: int = 0
    banned: int = 0
    received_from_peers: int = 0
    #: Verifier keys learned from signed announcements (`shardy.p2p.announce`).
    keys_learned: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class P2PNode:
    """A libp2p host speaking GossipSub on :data:`TOPIC`, with a validating topic handler.

    Use ``await nursery.start(node.run)``; the node stops when that task is cancelled.
    """

    def __init__(self, config: NodeConfig, on_record: OnRecord | None = None) -> None:
        self.config = config
        self.on_record = on_record
        self.key_pair = load_or_create_identity(config.key_file)
        self.validator = RecordValidator(
            config.keys if config.keys is not None else default_keyring(),
            min_quorum=config.min_quorum, trusted=config.trusted, max_age_s=config.max_age_s,
            key_loader=config.key_loader,
        )  # fmt: skip
        self.stats = NodeStats()
        #: One validation at a time: `check` updates the key ring and the recent verdicts.
        self.verify_limiter = trio.CapacityLimiter(1)
        #: Circuit addresses (relay addr/p2p-circuit) this node holds a reservation on.
        self.circuit_addrs: list[multiaddr.Multiaddr] = []
        self._valid_workers: dict[tuple[bytes, bytes], int] = {}
        #: task id → digest of records accepted lately (before the table has them)
        self._recent: dict[str, str] = {}
        self.host = self._build_host()
        self.peer_id: ID = self.host.get_id()
        self.gossipsub = GossipSub(
            protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
            degree=6,
            degree_low=4,
            degree_high=12,
            heartbeat_interval=config.heartbeat_s,
            heartbeat_initial_delay=0.1,
            score_params=score_params(),
            max_messages_per_topic_per_second=config.max_rate,
        )
        self.scorer = ForgivingScorer(score_params())
        self.gossipsub.scorer = self.scorer
        self.bans = Bans(self)
        self.pubsub = Pubsub(
            self.host,
            self.gossipsub,
            strict_signing=True,
            validation_timeout=config.validation_timeout_s,
        )
        # py-libp2p starts seqnos at unix seconds: a node restarted with the same key within
        # a few seconds reuses (from, seqno) pairs, which peers drop as already seen.
        self.pubsub.counter = time.time_ns()
        self.pubsub.set_topic_validator(TOPIC, self._validate, is_async_validator=True)
        self.dht = KadDHT(self.host, DHTMode.SERVER, enable_random_walk=False)
        self.relay = CircuitV2Protocol(
            self.host,
            RelayLimits(duration=24 * 3600, data=1 << 34, max_circuit_conns=64,
                        max_reservations=64),
            allow_hop=config.relay_hop,
        )  # fmt: skip
        self.ready = trio.Event()

    # ---- construction ------------------------------------------------------------------

    def _build_host(self) -> Any:
        pair = self.key_pair
        noise = NoiseTransport(pair, noise_privkey=create_new_x25519_key_pair().private_key)
        muxers: dict[TProtocol, Any] = {
            TProtocol(YAMUX_PROTOCOL_ID): Yamux,
            TProtocol(MPLEX_PROTOCOL_ID): Mplex,
        }
        if self.config.muxer.lower() == "mplex":
            muxers = dict(reversed(list(muxers.items())))
        elif self.config.muxer.lower() != "yamux":
            raise P2PError(f"unknown muxer {self.config.muxer!r}; use 'yamux' or 'mplex'")
        try:
            listen = [multiaddr.Multiaddr(a) for a in self.config.listen]
        except Exception as exc:
            raise P2PError(f"bad listen multiaddr in {list(self.config.listen)}: {exc}") from exc
        return new_host(
            key_pair=pair,
            sec_opt={TProtocol(NOISE_PROTOCOL_ID): noise},
            muxer_opt=muxers,
            listen_addrs=listen,
            enable_mDNS=self.config.mdns,
            addrs_factory=self._advertised,
        )

    def _advertised(self, addrs: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
        return [*addrs, *self.circuit_addrs]

    # ---- running ---------------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen, join the topic and keep connections up until cancelled."""
        from shardy.p2p.connect import Connector

        listen = [multiaddr.Multiaddr(a) for a in self.config.listen]
        try:
            host_cm = self.host.run(listen_addrs=listen)
        except Exception as exc:
            raise P2PError(f"cannot start the libp2p host on {self.config.listen}: {exc}") \
                from exc  # fmt: skip
        async with (
            host_cm,
            background_trio_service(self.pubsub),
            background_trio_service(self.gossipsub),
            background_trio_service(self.dht),
            background_trio_service(self.relay),
            trio.open_nursery() as nursery,
        ):
            await self.pubsub.wait_until_ready()
            if self.config.subscribe:
                sub = await self.pubsub.subscribe(TOPIC)
                nursery.start_soon(self._receive, sub)
            self.connector = Connector(self)
            nursery.start_soon(self.connector.run)
            nursery.start_soon(self.bans.run)
            self.ready.set()
            task_status.started()
            await trio.sleep_forever()

    @property
    def addrs(self) -> list[str]:
        """Dialable multiaddrs of this node, each ending in /p2p/<peer id>."""
        return [str(a) for a in self.host.get_addrs()]

    def topic_peers(self) -> list[ID]:
        """Connected peers subscribed to the topic."""
        peers = self.pubsub.peer_topics.get(TOPIC, set())
        return [p for p in peers if p in self.pubsub.peers]

    def score(self, peer: str | ID) -> float:
        """The GossipSub score this node gives ``peer`` on the topic."""
        pid = peer if isinstance(peer, ID) else ID.from_base58(peer)
        return self.gossipsub.scorer.score(pid, [TOPIC])

    async def publish(self, data: bytes) -> None:
        """Publish an encoded record (it passes this node's own validator first).

        Raises:
            P2PError: the publish failed inside libp2p.
        """
        try:
            await self.pubsub.publish(TOPIC, data)
        except Exception as exc:
            raise P2PError(f"publishing on {TOPIC} failed: {exc}") from exc
        self.stats.published += 1

    # ---- gossip ----------------------------------------------------------------------------

    def check(self, data: bytes, *, own: bool = False) -> tuple[SignedRecord | None, Verdict]:
        """Decode and judge a message (runs on a worker thread).

        Order: envelope (trusted signer, signature, age), then the table (a record stored
        already is a duplicate: accepted when this node publishes it again, ignored from
        peers), then the proofs; a valid record for a task stored with another digest is
        kept as evidence and ignored.
        """
        if data[:2] == announce.MAGIC:
            return None, self._check_key(data, own)
        try:
            signed = decode_signed(data)
        except P2PError as exc:
            return None, Verdict(False, 0, f"malformed: {exc}")
        refused = self.validator.check_envelope(signed)
        if refused is not None:
            return signed, refused
        seen = self.config.screen(signed, data) if self.config.screen is not None else "new"
        if seen == "same":
            return signed, Verdict(own, signed.record.quorum, "duplicate", ignore=not own)
        task, digest = signed.record.task_id, signed.record.digest
        if self._recent.get(task, digest) != digest:  # accepted a moment ago, not yet stored
            seen = "conflict"
        verdict = self.validator.check_signed(signed)
        if verdict.accepted and seen != "conflict":
            self._recent.setdefault(task, digest)
            while len(self._recent) > _VERDICTS_KEPT:
                del self._recent[next(iter(self._recent))]
        if verdict.accepted and seen == "conflict":
            return signed, Verdict(False, verdict.valid_workers, "conflict: task "
                                   f"{signed.record.task_id} is stored with another digest; "
                                   "kept as evidence", ignore=True)  # fmt: skip
        return signed, verdict

    def _check_key(self, data: bytes, own: bool) -> Verdict:
        """Judge a verifier-key announcement: a trusted signer's, over a well-formed key; a
        new key joins the validator's ring (bounded), a known one is a duplicate."""
        try:
            key = announce.decode_key(data)
        except P2PError as exc:
            return Verdict(False, 0, f"malformed: {exc}")
        if key.signer not in self.validator.trusted:
            return Verdict(False, 0, f"untrusted signer: {key.signer[:16]}… is not trusted")
        if not announce.verify(key):
            return Verdict(False, 0, "bad signature: not the orchestrator's over this key")
        if key.key_id in self.validator.keys:
            return Verdict(own, 0, "duplicate", ignore=not own)
        self.validator.learn_key(key.key_id, key.vkey)
        self.stats.keys_learned += 1
        log.info("learned verifier key %s from a signed announcement", key.key_id)
        return Verdict(True, 0)

    async def _validate(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        own = forwarder == self.peer_id
        signed, verdict = await trio.to_thread.run_sync(
            lambda: self.check(msg.data, own=own), limiter=self.verify_limiter
        )
        if verdict.accepted:
            self._valid_workers[(msg.from_id, msg.seqno)] = verdict.valid_workers
            while len(self._valid_workers) > _VERDICTS_KEPT:
                del self._valid_workers[next(iter(self._valid_workers))]
            return True
        key = verdict.reason.split(":")[0]
        if key in self.stats.reasons or len(self.stats.reasons) < _REASONS_KEPT:
            self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1
        if verdict.ignore:
            self.stats.ignored += 1
            self.scorer.forgive(forwarder)
            if key == "conflict" and signed is not None:
                self.stats.conflicts += 1
                if self.config.keep_conflict is not None:
                    other = self._recent.get(signed.record.task_id, "")
                    await trio.to_thread.run_sync(
                        self.config.keep_conflict, signed, forwarder.to_base58(), msg.data, other
                    )
                log.warning("conflicting record from %s kept as evidence: %s", forwarder,
                            verdict.reason)  # fmt: skip
            return False
        self.stats.rejected += 1
        if signed is None:
            self.stats.malformed += 1
        log.warning(
            "rejected a record from %s (forwarded by %s): %s",
            ID(msg.from_id), forwarder, verdict.reason,
        )  # fmt: skip
        return False

    async def _receive(self, sub: Any) -> None:
        while True:
            msg = await sub.get()
            try:
                signed = decode_signed(msg.data)
            except P2PError:  # validated already; cannot happen unless libp2p skips validators
                continue
            sender = ID(msg.from_id)
            self.stats.accepted += 1
            if sender != self.peer_id:
                self.stats.received_from_peers += 1
            valid = self._valid_workers.pop((msg.from_id, msg.seqno), signed.record.quorum)
            if self.on_record is not None:
                await self.on_record(signed, sender.to_base58(), valid, msg.data)
