"""A sidecar that holds up: it prints where it listens, waits for Redis, follows its trusted
keys and rotated verifier keys without a restart, and trusts the key the orchestrator
published (`orchestrator.signing`) in its own Redis."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
import redis
import trio
from forgeries import STRANGER, wire
from p2p_support import TRUSTED, SidecarProcess, await_for, copy_build, stream_entry, wait_for

from shardy.config import Settings
from shardy.embedded import EmbeddedRedis
from shardy.errors import ConfigError
from shardy.keyring import publish
from shardy.orchestrator import signing
from shardy.p2p import sidecar as sidecar_module
from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.sidecar import VERIFIED_STREAM, Sidecar
from shardy.p2p.signed import public_key_hex, sign_stream_fields
from shardy.p2p.store import RecordStore

TIMEOUT = 60


def test_prints_its_address_and_waits_for_redis(scratch: Path) -> None:
    receiver = SidecarProcess(scratch / "recv", "--no-discover").start()
    socket = Path(Settings(home=scratch / "r").embedded_socket)
    url = f"unix://{socket}"
    pub = SidecarProcess(scratch / "pub", "--redis-url", url, "--bootstrap", receiver.addr,
                         "--no-discover")  # fmt: skip
    try:
        pub.start()  # listening (and printing) before Redis exists
        peer = pub.info["peer_id"]
        wait_for(lambda: "waiting for Redis" in pub.log.read_text(), 30, "the waiting line")
        text = pub.log.read_text()
        assert f"peer id {peer}" in text
        assert re.search(rf"^listening on /ip4/127\.0\.0\.1/tcp/\d+/p2p/{peer}$", text, re.M)
        with EmbeddedRedis(Settings(home=scratch / "r")):
            entry = stream_entry()
            redis.Redis(unix_socket_path=str(socket)).xadd(VERIFIED_STREAM, entry)
            store = RecordStore(scratch / "recv")
            wait_for(lambda: entry["task_id"] in store.task_ids(), 90, "the record")
            text = pub.log.read_text()
            assert text.count("waiting for Redis") == 1 and "Traceback" not in text
            assert "is up; publishing" in text
    finally:
        pub.stop()
        receiver.stop()


async def _pair(nursery: trio.Nursery, scratch: Path, **options) -> tuple[P2PNode, Sidecar]:
    x = P2PNode(NodeConfig(key_file=scratch / "x" / KEY_FILE, discover=False))
    x.pubsub.remove_topic_validator(TOPIC)
    await nursery.start(x.run)
    a = Sidecar(scratch / "a", bootstrap=[x.addrs[0]], discover=False, **options)
    await nursery.start(a.run)
    await await_for(lambda: a.node.topic_peers(), TIMEOUT, "a to join x")
    return x, a


def test_follows_its_trusted_key_file(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sidecar_module, "TRUST_REFRESH_S", 0.2)
    path = scratch / "trusted"
    path.write_text(public_key_hex(STRANGER) + "\n")
    first, second = stream_entry(), stream_entry()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            x, a = await _pair(nursery, scratch, trusted=[str(path)])
            await x.publish(wire(first))
            await await_for(lambda: a.node.stats.rejected == 1, TIMEOUT, "the refusal")
            assert list(a.node.stats.reasons) == ["untrusted signer"]
            path.write_text(f"# rotated in\n{TRUSTED}\n")
            os.utime(path, (time.time() + 2, time.time() + 2))
            await await_for(lambda: TRUSTED in a.trusted, TIMEOUT, "the new trusted key")
            await x.publish(wire(second))
            await await_for(lambda: a.store.count() == 1, TIMEOUT, "the record")
            assert a.store.task_ids() == {second["task_id"]}
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_follows_a_rotated_verifier_key_and_the_published_orchestrator_key(
    scratch: Path, redis_url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sidecar_module, "TRUST_REFRESH_S", 0.2)
    client = redis.Redis.from_url(redis_url)
    rotated = publish(client, copy_build(scratch / "k2", b"rotated"))  # a key made after start
    settings = Settings(home=home)
    key = signing.load_or_create(signing.key_path(settings))
    assert stat.S_IMODE(signing.key_path(settings).stat().st_mode) == 0o600
    assert signing.public_key(settings) == public_key_hex(key)  # the same key, read back
    entry = stream_entry()
    atts = [{**a, "key_id": rotated} for a in json.loads(entry["attestations"])]
    fields = {k: v for k, v in entry.items() if k not in ("enrolled", "issued_at", "signer",
                                                         "signature")}  # fmt: skip
    fields["attestations"] = json.dumps(atts)
    enrolled = [(a["public_signals"][-1], f"op{i}") for i, a in enumerate(atts)]
    fields.update(sign_stream_fields(fields, enrolled, key))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            # no SHARDY_P2P_TRUSTED: the sidecar trusts what the orchestrator publishes in Redis
            x, a = await _pair(nursery, scratch, redis_url=redis_url)
            assert not a.trusted.keys
            signing.publish_public_key(client, key)
            await await_for(lambda: public_key_hex(key) in a.trusted, TIMEOUT, "the key")
            client.xadd(VERIFIED_STREAM, fields)
            await await_for(lambda: a.store.count() == 1, TIMEOUT, "the record")
            assert rotated in a.node.validator.keys and a.skipped == 0
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert signing.published_keys(client) == [public_key_hex(key)]


def test_a_readable_orchestrator_key_is_refused(home: Path) -> None:
    path = home / "k.pem"
    signing.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        signing.load_or_create(path)
    path.chmod(0o600)
    path.write_text("garbage")
    with pytest.raises(ConfigError, match="not an unencrypted PEM key"):
        signing.load_or_create(path)
