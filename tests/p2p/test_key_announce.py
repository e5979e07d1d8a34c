"""Peers without the orchestrator's Redis learn rotated verifier keys from signed
announcements (`shardy.p2p.announce`), and refuse forged ones."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import redis
import trio
from forgeries import STRANGER
from p2p_support import ORCHESTRATOR, TRUSTED, await_for, copy_build, sign_entry, stream_entry

from shardy.errors import P2PError
from shardy.keyring import KEY_PREFIX, build_manifest, manifest_id, publish
from shardy.p2p import announce
from shardy.p2p import sidecar as sidecar_module
from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.sidecar import VERIFIED_STREAM, Sidecar

TIMEOUT = 60


def _key(scratch: Path, note: bytes) -> tuple[str, dict, dict]:
    build = copy_build(scratch / note.decode(), note)
    manifest = build_manifest(build)
    return manifest_id(manifest), manifest, json.loads((build / "vkey.json").read_text())


def test_an_announcement_round_trips_and_forgeries_are_refused(scratch: Path) -> None:
    kid, manifest, vkey = _key(scratch, b"k1")
    data = announce.sign_key(manifest, vkey, ORCHESTRATOR)
    key = announce.decode_key(data)
    assert (key.key_id, key.signer, key.vkey) == (kid, TRUSTED, vkey) and announce.verify(key)
    # a vkey that is not the manifest's, or a manifest of another key: no key at all
    other_kid, other_manifest, _ = _key(scratch, b"k2")
    assert other_kid != kid
    with pytest.raises(P2PError, match="does not hash"):
        announce.sign_key(manifest, {**vkey, "nPublic": 5}, ORCHESTRATOR)
    forged = announce.sign_key(other_manifest, vkey, ORCHESTRATOR)  # same vkey: well formed
    assert announce.decode_key(forged).key_id == other_kid  # the id is what the files hash to
    # any changed byte breaks the signature (or the form)
    for pos in (5, len(data) // 2, len(data) - 1):
        flipped = bytearray(data)
        flipped[pos] ^= 1
        with contextlib.suppress(P2PError):  # refused by its form, or else by its signature
            assert not announce.verify(announce.decode_key(bytes(flipped)))
    with pytest.raises(P2PError):
        announce.decode_key(data + b"\x00")
    assert announce.decode_key(announce.sign_key(manifest, vkey, STRANGER)).signer != TRUSTED


def test_a_peer_without_redis_learns_a_rotated_key_and_accepts_its_records(
    scratch: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sidecar_module, "TRUST_REFRESH_S", 0.2)
    client = redis.Redis.from_url(redis_url)
    rotated = publish(client, copy_build(scratch / "k2", b"rotated"))  # after the peers start
    entry = stream_entry()
    atts = [{**a, "key_id": rotated} for a in json.loads(entry["attestations"])]
    entry = sign_entry({**entry, "attestations": json.dumps(atts)})
    build = scratch / "k2"
    forged = announce.sign_key(build_manifest(build), json.loads((build / "vkey.json").read_text()),
                               STRANGER)  # fmt: skip

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            x = P2PNode(NodeConfig(key_file=scratch / "x" / KEY_FILE, discover=False))
            x.pubsub.remove_topic_validator(TOPIC)  # an attacker's node: sends anything
            await nursery.start(x.run)
            outsider = Sidecar(scratch / "b", trusted=[TRUSTED], discover=False,
                               bootstrap=[x.addrs[0]])  # fmt: skip
            await nursery.start(outsider.run)
            inside = Sidecar(scratch / "a", redis_url=redis_url, trusted=[TRUSTED],
                             bootstrap=[outsider.node.addrs[0]], discover=False)  # fmt: skip
            await nursery.start(inside.run)
            await await_for(lambda: outsider.node.topic_peers(), TIMEOUT, "the peers to meet")
            # the record first: the outsider does not know its key and ignores it, unblamed
            client.xadd(VERIFIED_STREAM, entry)
            await await_for(lambda: inside.acked == 1, TIMEOUT, "the record to be published")
            await await_for(lambda: outsider.node.stats.ignored >= 1, TIMEOUT, "the refusal")
            assert outsider.store.count() == 0 and rotated not in outsider.node.validator.keys
            # a stranger's announcement of the key teaches nothing
            await x.publish(forged)
            await await_for(lambda: outsider.node.stats.rejected >= 1, TIMEOUT, "the forgery")
            assert rotated not in outsider.node.validator.keys
            # the orchestrator's announcement, gossiped by the sidecar, does
            client.hset(KEY_PREFIX + rotated, announce.FIELD,
                        announce.sign_key(build_manifest(build),
                                          json.loads((build / "vkey.json").read_text()),
                                          ORCHESTRATOR))  # fmt: skip
            await await_for(lambda: outsider.node.stats.keys_learned == 1, TIMEOUT, "the key")
            assert rotated in outsider.node.validator.keys
            # the record again (a fresh signature: the first one is a duplicate to gossip)
            client.xadd(VERIFIED_STREAM, sign_entry(entry))
            await await_for(lambda: outsider.store.count() == 1, TIMEOUT, "the record")
            nursery.cancel_scope.cancel()

    trio.run(main)
