"""Namespaces the test creates: mDNS discovery, and a peer with no inbound route behind a relay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import netns
import pytest
import redis
from p2p_support import SidecarProcess, stream_entry, wait_for

from shardy.p2p.sidecar import VERIFIED_STREAM
from shardy.p2p.store import RecordStore

REASON = netns.available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))


@pytest.fixture
def spaces() -> Iterator[netns.Namespaces]:
    ns = netns.Namespaces("p2p")
    yield ns
    ns.close()


def test_peer_without_inbound_route_receives_through_relay(
    scratch: Path, redis_url: str, spaces: netns.Namespaces
) -> None:
    # nat (10.77.1.2) -- relay (10.77.1.1 | 10.77.2.1) -- pub (10.77.2.2); the relay does not
    # forward IP, so pub has no route to nat at all: only the relay's circuit joins them.
    relay_ns, nat_ns, pub_ns = spaces.add("r"), spaces.add("n"), spaces.add("p")
    spaces.link(relay_ns, "10.77.1.1", nat_ns, "10.77.1.2")
    spaces.link(relay_ns, "10.77.2.1", pub_ns, "10.77.2.2")
    relay = SidecarProcess(
        scratch / "relay", "--relay-hop", "--no-subscribe", "--listen", "/ip4/10.77.1.1/tcp/4001",
        "--listen", "/ip4/10.77.2.1/tcp/4001", netns=relay_ns,
    ).start()  # fmt: skip
    rid = relay.info["peer_id"]
    nat = pub = None
    try:
        nat_side = f"/ip4/10.77.1.1/tcp/4001/p2p/{rid}"
        nat = SidecarProcess(
            scratch / "nat", "--listen", "/ip4/10.77.1.2/tcp/4001", "--bootstrap", nat_side,
            "--relay", nat_side, netns=nat_ns,
        ).start()  # fmt: skip
        pub = SidecarProcess(
            scratch / "pub", "--listen", "/ip4/10.77.2.2/tcp/4001", "--bootstrap",
            f"/ip4/10.77.2.1/tcp/4001/p2p/{rid}", "--redis-url", redis_url, netns=pub_ns,
        ).start()  # fmt: skip
        entry = stream_entry()
        redis.Redis.from_url(redis_url).xadd(VERIFIED_STREAM, entry)
        store = RecordStore(scratch / "nat")
        wait_for(lambda: store.count() == 1, 90, "the record at the peer behind the relay")
        assert store.task_ids() == {entry["task_id"]}
        assert RecordStore(scratch / "relay").count() == 0  # the relay never joined the topic
    finally:
        for proc in (pub, nat, relay):
            if proc is not None:
                proc.stop()


def test_mdns_finds_a_peer_on_the_lan(scratch: Path, spaces: netns.Namespaces) -> None:
    # two namespaces on one veth "LAN" with multicast; no bootstrap peers at all
    a_ns, b_ns = spaces.add("a"), spaces.add("b")
    spaces.link(a_ns, "10.78.1.1", b_ns, "10.78.1.2")
    a = SidecarProcess(scratch / "a", "--mdns", "--listen", "/ip4/10.78.1.1/tcp/4001",
                       netns=a_ns).start()  # fmt: skip
    b = None
    try:
        b = SidecarProcess(scratch / "b", "--mdns", "--listen", "/ip4/10.78.1.2/tcp/4001",
                           netns=b_ns).start()  # fmt: skip
        # the sidecar's 10 s status line reports the topic peers it has
        wait_for(lambda: "(topic 1)" in b.log.read_text(), 90, "b to find a by mDNS")
        assert "(topic 1)" in a.log.read_text() or "(topic 1)" in b.log.read_text()
    finally:
        for proc in (b, a):
            if proc is not None:
                proc.stop()
