"""Peers that send invalid records: GossipSub's own peer score, and what py-libp2p 0.8.1 lacks
on top of it (an "ignore" verdict, and disconnecting a peer whose score fell too low).

py-libp2p scores invalid messages (P4) and stops accepting from a peer below the publish
threshold, but it never closes the connection, and a topic validator can only accept or
reject: a reject always counts against the forwarder. So:

- `ForgivingScorer` is GossipSub's `PeerScorer` with credits: a validator that refuses a
  message for a reason that does not blame the forwarder (`Verdict.ignore`) grants one, and
  the invalid-message count that follows is cancelled.
- `Bans` looks at every connected peer's score each interval; below `BAN_SCORE` the peer is
  blacklisted in pubsub (its stream reset, its messages dropped), disconnected, not redialled
  and disconnected again if it comes back, until its ban expires.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.score import PeerScorer, ScoreParams, TopicScoreParams

if TYPE_CHECKING:
    from shardy.p2p.node import P2PNode

log = logging.getLogger("shardy.p2p")

#: A peer scoring below this is disconnected and banned (ten invalid records, see
#: `score_params`).
BAN_SCORE = -100.0
#: Seconds a ban lasts.
BAN_S = 600.0
#: Most peers banned at once (the oldest ban is lifted first beyond it).
_MAX_BANS = 4096


def score_params() -> ScoreParams:
    """Peer-score parameters: each invalid message costs 10 points, decaying 1% per heartbeat.

    py-libp2p subtracts the P4 weight (a positive weight lowers the score). Below -100 (ten
    invalid records) a peer's messages are no longer accepted and `Bans` disconnects it.
    """
    return ScoreParams(
        p4_invalid_messages=TopicScoreParams(weight=10.0, cap=1000.0, decay=0.99),
        publish_threshold=BAN_SCORE,
        gossip_threshold=-50.0,
        graylist_threshold=2 * BAN_SCORE,
    )


class ForgivingScorer(PeerScorer):
    """GossipSub's scorer, where a refusal the validator marked ``ignore`` costs nothing."""

    def __init__(self, params: ScoreParams) -> None:
        super().__init__(params)
        self.credits: defaultdict[ID, int] = defaultdict(int)

    def forgive(self, peer: ID) -> None:
        """Cancel the next invalid message counted against ``peer``."""
        self.credits[peer] += 1

    def on_invalid_message(self, peer: ID, topic: str) -> None:
        if self.credits.get(peer, 0) > 0:
            self.credits[peer] -= 1
            if not self.credits[peer]:
                del self.credits[peer]
            return
        super().on_invalid_message(peer, topic)

    def remove_peer(self, peer: ID) -> None:
        super().remove_peer(peer)
        self.credits.pop(peer, None)


class Bans:
    """Disconnects and bans peers whose score fell below `BAN_SCORE` (see the module doc)."""

    def __init__(self, node: P2PNode, ban_s: float = BAN_S) -> None:
        self.node = node
        self.ban_s = ban_s
        #: peer → monotonic time its ban ends
        self.until: dict[ID, float] = {}

    def banned(self, peer: ID) -> bool:
        """True while ``peer`` is banned."""
        return self.until.get(peer, 0.0) > time.monotonic()

    async def run(self, every_s: float = 0.5) -> None:
        """Sweep until cancelled."""
        while True:
            await self.sweep()
            await trio.sleep(every_s)

    async def sweep(self) -> None:
        """Ban low scorers, keep banned peers disconnected, lift expired bans."""
        node = self.node
        now = time.monotonic()
        for peer, end in list(self.until.items()):
            if end <= now:
                del self.until[peer]
                node.pubsub.remove_from_blacklist(peer)
                log.info("ban of peer %s lifted", peer)
        for peer in list(node.host.get_connected_peers()):
            if peer == node.peer_id:
                continue
            if not self.banned(peer) and node.score(peer) < BAN_SCORE:
                self.ban(peer)
            if self.banned(peer):
                await self._disconnect(peer)

    def ban(self, peer: ID) -> None:
        """Ban ``peer`` for ``ban_s`` seconds (its connection closes on the next sweep)."""
        while len(self.until) >= _MAX_BANS:
            oldest = min(self.until, key=self.until.__getitem__)
            del self.until[oldest]
            self.node.pubsub.remove_from_blacklist(oldest)
        self.until[peer] = time.monotonic() + self.ban_s
        self.node.pubsub.add_to_blacklist(peer)
        self.node.stats.banned += 1
        log.warning(
            "peer %s sent invalid records (score %.0f < %.0f): disconnected and banned for %.0f s",
            peer, self.node.score(peer), BAN_SCORE, self.ban_s,
        )  # fmt: skip

    async def _disconnect(self, peer: ID) -> None:
        try:
            await self.node.host.disconnect(peer)
        except Exception as exc:  # already gone
            log.debug("disconnecting %s: %s", peer, exc)
