"""Connection upkeep: bootstrap and redial, DHT and mDNS discovery, circuit relay reservations.

One loop, one round every ``upkeep_s`` seconds; every dial and lookup in a round has its own
timeout and a round dials at most ``_DIALS_PER_ROUND`` peers, so a round is bounded in time.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import multiaddr
import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.relay.circuit_v2.config import RelayConfig, RelayRole
from libp2p.relay.circuit_v2.pb.circuit_pb2 import HopMessage, PeerId, Status
from libp2p.relay.circuit_v2.protocol import PROTOCOL_ID as HOP_PROTOCOL_ID
from libp2p.relay.circuit_v2.transport import CircuitV2Transport
from libp2p.relay.circuit_v2.utils import read_delimited_msg, write_delimited_msg

from shardy.errors import P2PError

if TYPE_CHECKING:
    from shardy.p2p.node import P2PNode

log = logging.getLogger("shardy.p2p")

_DIAL_TIMEOUT_S = 10.0
_LOOKUP_TIMEOUT_S = 10.0
_DIALS_PER_ROUND = 8
_MAX_BACKOFF_S = 60.0
#: Rounds between DHT self-lookups (which refresh the routing table).
_LOOKUP_EVERY = 3
#: A reservation is renewed when older than this (the relay grants an hour).
_RESERVATION_RENEW_S = 1200.0


def parse_peer_addr(addr: str) -> PeerInfo:
    """A PeerInfo from a multiaddr ending in /p2p/<peer id>.

    Raises:
        P2PError: the address is malformed or names no peer id.
    """
    try:
        return info_from_p2p_addr(multiaddr.Multiaddr(addr))
    except Exception as exc:
        raise P2PError(f"{addr!r} is not a multiaddr ending in /p2p/<peer id>: {exc}") from exc


def is_circuit(addr: multiaddr.Multiaddr) -> bool:
    """True for a /p2p-circuit address."""
    return "/p2p-circuit" in str(addr)


class Connector:
    """Keeps the node connected: what was dialled once is dialled again when it drops."""

    def __init__(self, node: P2PNode) -> None:
        self.node = node
        self.host = node.host
        self.bootstrap = [parse_peer_addr(a) for a in node.config.bootstrap]
        self.relays = [parse_peer_addr(a) for a in node.config.relays]
        self.circuit = CircuitV2Transport(
            self.host, node.relay, RelayConfig(roles=RelayRole.STOP | RelayRole.CLIENT)
        )
        self._failures: dict[ID, int] = {}
        self._next_try: dict[ID, float] = {}
        self._reserved: dict[ID, float] = {}
        self.rounds = 0

    async def run(self) -> None:
        """Upkeep rounds until cancelled."""
        for info in [*self.bootstrap, *self.relays]:
            self.host.get_peerstore().add_addrs(info.peer_id, info.addrs, 3600 * 24)
        while True:
            with trio.move_on_after(4 * _DIAL_TIMEOUT_S + _LOOKUP_TIMEOUT_S):
                await self.round()
            self.rounds += 1
            await trio.sleep(self.node.config.upkeep_s)

    async def round(self) -> None:
        """One upkeep round: redial, reserve on relays, discover."""
        pinned = [i.peer_id for i in [*self.bootstrap, *self.relays]]
        await self._dial_all(pinned)
        await self._reserve()
        if not self.node.config.discover:
            return
        if self.rounds % _LOOKUP_EVERY == 0:
            await self._lookup()
        connected = set(self.host.get_connected_peers())
        if len(connected) >= self.node.config.max_peers:
            return
        candidates = set(self.node.dht.routing_table.get_peer_ids())
        candidates |= set(self.host.get_peerstore().peers_with_addrs())
        await self._dial_all(sorted(candidates - connected, key=str))

    # ---- dialling --------------------------------------------------------------------------

    async def _dial_all(self, peers: list[ID]) -> None:
        now = time.monotonic()
        connected = set(self.host.get_connected_peers())
        todo = [
            p
            for p in peers
            if p != self.node.peer_id
            and p not in connected
            and self._next_try.get(p, 0) <= now
            and not self.node.bans.banned(p)
        ][:_DIALS_PER_ROUND]
        async with trio.open_nursery() as nursery:
            for peer in todo:
                nursery.start_soon(self._dial, peer)

    async def _dial(self, peer: ID) -> None:
        addrs = self.host.get_peerstore().addrs(peer)
        direct = [a for a in addrs if not is_circuit(a)]
        circuits = [a for a in addrs if is_circuit(a)]
        ok = False
        with trio.move_on_after(_DIAL_TIMEOUT_S):
            if direct:
                ok = await self._try(self.host.connect(PeerInfo(peer, direct)), peer, "direct")
            for addr in [*circuits, *self._via_relays(peer)]:
                if ok:
                    break
                ok = await self._try(self.circuit.dial(self._full_circuit(addr, peer)), peer, addr)
        if ok:
            self._failures.pop(peer, None)
            self._next_try.pop(peer, None)
            with trio.move_on_after(_DIAL_TIMEOUT_S):
                try:
                    await self.node.dht.add_peer(peer)
                except Exception as exc:  # a peer without the DHT protocol is fine
                    log.debug("DHT refused %s: %s", peer, exc)
            return
        n = self._failures.get(peer, 0) + 1
        self._failures[peer] = n
        delay = min(_MAX_BACKOFF_S, self.node.config.upkeep_s * 2 ** min(n, 8))
        self._next_try[peer] = time.monotonic() + delay

    async def _try(self, dial: object, peer: ID, how: object) -> bool:
        try:
            await dial  # type: ignore[misc]
            log.info("connected to %s (%s)", peer, how)
            return True
        except Exception as exc:
            log.debug("dial %s via %s failed: %s", peer, how, exc)
            return False

    def _via_relays(self, peer: ID, limit: int = 3) -> list[multiaddr.Multiaddr]:
        """Circuit addresses of ``peer`` through connected peers that serve as relays."""
        store = self.host.get_peerstore()
        out = []
        for relay in self.host.get_connected_peers():
            try:  # a peer that disconnects meanwhile leaves the store (PeerStoreError)
                hop = HOP_PROTOCOL_ID in store.get_protocols(relay)
                addrs = [a for a in store.addrs(relay) if not is_circuit(a)]
            except Exception:
                continue
            if hop and addrs and relay != peer:
                base = str(addrs[0]).split("/p2p/")[0]
                out.append(multiaddr.Multiaddr(f"{base}/p2p/{relay}/p2p-circuit"))
        return out[:limit]

    @staticmethod
    def _full_circuit(addr: multiaddr.Multiaddr, peer: ID) -> multiaddr.Multiaddr:
        text = str(addr)
        suffix = f"/p2p/{peer}"
        return multiaddr.Multiaddr(text if text.endswith(suffix) else text + suffix)

    # ---- discovery ---------------------------------------------------------------------

    async def _lookup(self) -> None:
        """A DHT walk toward our own id: fills the routing table with nearby peers."""
        if self.node.dht.routing_table.size() == 0:
            return
        with trio.move_on_after(_LOOKUP_TIMEOUT_S):
            try:
                await self.node.dht.peer_routing.find_closest_peers_network(
                    self.node.peer_id.to_bytes()
                )
            except Exception as exc:
                log.debug("DHT lookup failed: %s", exc)

    # ---- circuit relay -----------------------------------------------------------------

    async def _reserve(self) -> None:
        connected = set(self.host.get_connected_peers())
        for relay in self.relays:
            fresh = time.monotonic() - self._reserved.get(relay.peer_id, -1e9)
            if relay.peer_id not in connected or fresh < _RESERVATION_RENEW_S:
                continue
            with trio.move_on_after(_DIAL_TIMEOUT_S):
                if await self._reserve_on(relay):
                    self._reserved[relay.peer_id] = time.monotonic()

    async def _reserve_on(self, relay: PeerInfo) -> bool:
        """Ask ``relay`` for a reservation; on success advertise <relay>/p2p-circuit."""
        try:
            stream = await self.host.new_stream(relay.peer_id, [HOP_PROTOCOL_ID])
            try:
                request = HopMessage(
                    type=HopMessage.RESERVE, peer=PeerId(id=self.node.peer_id.to_bytes())
                )
                await write_delimited_msg(stream, request)
                response = await read_delimited_msg(stream, HopMessage)
            finally:
                await stream.close()
        except Exception as exc:
            log.warning("reservation on relay %s failed: %s", relay.peer_id, exc)
            return False
        if response.HasField("status") and response.status != Status.OK:
            log.warning("relay %s refused a reservation: status %s", relay.peer_id, response.status)
            return False
        for addr in relay.addrs:
            circuit = multiaddr.Multiaddr(f"{addr}/p2p/{relay.peer_id}/p2p-circuit")
            if str(circuit) not in {str(a) for a in self.node.circuit_addrs}:
                self.node.circuit_addrs.append(circuit)
        log.info("reserved a relay slot on %s", relay.peer_id)
        return True
