"""The sidecar: publish the orchestrator's signed `shardy:verified` stream on GossipSub,
record peers'.

Entries are read through a Redis consumer group and acknowledged only after they were
published, so a sidecar killed mid-stream re-publishes (receivers keep the first copy) rather
than loses. Its consumer name is its peer id, so a restarted sidecar picks up its own pending
entries first; entries left pending by a consumer that never came back are claimed after
``claim_idle_s``. The sidecar waits for Redis (with backoff) rather than fail, and re-reads
its trusted orchestrator keys every few seconds; verifier keys rotated in after it started
are read from Redis when a record names them.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
import trio

from shardy.config import redact_url
from shardy.errors import P2PError
from shardy.keyring import KEY_PREFIX
from shardy.p2p import announce
from shardy.p2p.identity import KEY_FILE
from shardy.p2p.keys import KeyRing
from shardy.p2p.node import NodeConfig, P2PNode
from shardy.p2p.signed import SignedRecord, encode_signed, from_signed_stream_entry
from shardy.p2p.store import RecordStore
from shardy.p2p.trust import RedisKeySource, TrustedKeys

log = logging.getLogger("shardy.p2p")

#: The orchestrator's stream (same value as shardy.celery_app.VERIFIED_STREAM).
VERIFIED_STREAM = "shardy:verified"
#: The consumer group every sidecar of one deployment reads through.
GROUP = "shardy-sidecar"
#: File the sidecar writes once listening: its peer id and addresses (JSON).
NODE_FILE = "p2p-node.json"
#: Seconds between two reads of the trusted keys (files, or the keys published in Redis).
TRUST_REFRESH_S = 5.0
#: Seconds between two gossips of one verifier-key announcement (peers joining later learn it).
ANNOUNCE_AGAIN_S = 300.0
_REDIS_BACKOFF_MAX_S = 30.0


class Sidecar:
    """A P2P node plus the Redis stream pump and the table of accepted records.

    Args:
        data_dir: holds the identity key (0600), ``p2p.db`` and ``p2p-node.json``.
        redis_url: where the verified stream lives (None: gossip only, nothing to publish).
        listen, bootstrap, relays, mdns, relay_hop, discover: see NodeConfig.
        max_rate: records per second this sidecar publishes at most; peers accept up to
            twice that from one peer before GossipSub's spam protection drops messages.
        min_peers: topic peers needed before an entry is published (and acknowledged).
        trusted: orchestrator public keys (hex) or files of them (SHARDY_P2P_TRUSTED); empty:
            the keys the orchestrator published in ``redis_url``.
        min_quorum: fewest distinct enrolled voters a record must prove.
        max_records, max_age_s: bounds of the table; older records are refused as replays.
        announce: print the peer id and listen addresses on stdout once listening.
    Raises:
        P2PError: a trusted-key entry is malformed, or the data dir cannot be used.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        redis_url: str | None = None,
        listen: Sequence[str] = ("/ip4/127.0.0.1/tcp/0",),
        bootstrap: Sequence[str] = (),
        relays: Sequence[str] = (),
        mdns: bool = False,
        relay_hop: bool = False,
        discover: bool = True,
        subscribe: bool = True,
        max_rate: float = 100.0,
        min_peers: int = 1,
        keys: KeyRing | None = None,
        trusted: Sequence[str] = (),
        min_quorum: int = 2,
        max_records: int = 100_000,
        max_age_s: float = 7 * 86_400.0,
        announce: bool = False,
        stream: str = VERIFIED_STREAM,
        group: str = GROUP,
        batch: int = 32,
        claim_idle_s: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.store = RecordStore(self.data_dir, max_records=max_records, max_age_s=max_age_s)
        self.client = redis.Redis.from_url(redis_url, socket_timeout=30) if redis_url else None
        self.trusted = TrustedKeys(trusted, self.client)
        config = NodeConfig(
            key_file=self.data_dir / KEY_FILE, listen=listen, bootstrap=bootstrap,
            relays=relays, mdns=mdns, relay_hop=relay_hop, discover=discover,
            subscribe=subscribe, max_rate=2 * max_rate, keys=keys, min_quorum=min_quorum,
            trusted=self.trusted, max_age_s=max_age_s, screen=self.store.screen,
            key_loader=RedisKeySource(self.client) if self.client is not None else None,
            keep_conflict=lambda signed, sender, data, other: self.store.keep_conflict(
                signed, sender=sender, data=data, other=other),
        )  # fmt: skip
        self.node = P2PNode(config, on_record=self._on_record)
        self.announce = announce
        self.redis_url = redis_url
        self.stream, self.group, self.batch = stream, group, batch
        self.max_rate, self.min_peers, self.claim_idle_s = max_rate, min_peers, claim_idle_s
        self.consumer = self.node.peer_id.to_base58()
        self.acked = 0
        self.skipped = 0

    # ---- peers' records --------------------------------------------------------------------

    async def _on_record(self, signed: SignedRecord, sender: str, valid: int, data: bytes) -> None:
        added = await trio.to_thread.run_sync(
            lambda: self.store.add(signed, sender=sender, valid_workers=valid, data=data)
        )
        if added == "conflict":
            self.node.stats.conflicts += 1
            log.warning("task %s: a second signed digest arrived; kept as evidence",
                        signed.record.task_id)  # fmt: skip

    # ---- running -----------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run node and pump until cancelled."""
        async with trio.open_nursery() as nursery:
            await trio.to_thread.run_sync(self.trusted.refresh)
            await nursery.start(self.node.run)
            self._write_node_file()
            if self.announce:
                lines = [f"peer id {self.consumer}"]
                lines += [f"listening on {addr}" for addr in dialable(self.node.addrs)]
                print("\n".join(lines), flush=True)
            if self.client is not None:
                nursery.start_soon(self._pump, self.client)
                nursery.start_soon(self._announce_keys, self.client)
            log.info("sidecar %s listening on %s", self.consumer, ", ".join(self.node.addrs))
            if not self.trusted.keys:
                log.warning(
                    "no trusted orchestrator key yet: every record is refused until "
                    "SHARDY_P2P_TRUSTED names one (or, unset, the orchestrator publishes one "
                    "in this sidecar's Redis)"
                )
            nursery.start_soon(self._report)
            nursery.start_soon(self._follow_trust)
            task_status.started()

    async def _follow_trust(self) -> None:
        while True:
            await trio.sleep(TRUST_REFRESH_S)
            await trio.to_thread.run_sync(self.trusted.refresh)

    async def _announce_keys(self, client: redis.Redis) -> None:
        """Gossip the orchestrator's signed verifier-key announcements found in Redis: each
        new one once peers are there, and again every `ANNOUNCE_AGAIN_S`."""
        sent: dict[str, float] = {}
        while True:
            try:
                found = await trio.to_thread.run_sync(_announcements, client)
            except redis.RedisError:
                found = {}
            for kid, data in found.items():
                if trio.current_time() - sent.get(kid, -ANNOUNCE_AGAIN_S) < ANNOUNCE_AGAIN_S:
                    continue
                if not self.node.topic_peers():
                    break
                try:
                    await self.node.publish(data)
                except P2PError as exc:
                    log.warning("announcing verifier key %s failed (%s); will retry", kid, exc)
                    break
                sent[kid] = trio.current_time()
            await trio.sleep(TRUST_REFRESH_S)

    async def _report(self, every_s: float = 10.0) -> None:
        while True:
            await trio.sleep(every_s)
            await trio.to_thread.run_sync(self.store.evict)
            st = self.node.stats
            log.info(
                "peers %d (topic %d); published %d, acked %d, skipped %d; accepted %d "
                "(%d from peers), rejected %d, ignored %d, conflicts %d, banned %d",
                len(self.node.host.get_connected_peers()), len(self.node.topic_peers()),
                st.published, self.acked, self.skipped, st.accepted, st.received_from_peers,
                st.rejected, st.ignored, st.conflicts, st.banned,
            )  # fmt: skip

    def _write_node_file(self) -> None:
        path = self.data_dir / NODE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"peer_id": self.consumer, "addrs": self.node.addrs}))
        os.replace(tmp, path)

    def _ensure_group(self, client: redis.Redis) -> None:
        try:
            client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise P2PError(f"cannot create consumer group {self.group}: {exc}") from exc

    async def _wait_for_redis(self, client: redis.Redis, why: str) -> None:
        """Return once Redis answers and the consumer group exists; one log line while it
        does not, one when it is back (retries back off to 30 s)."""
        delay, waited = 0.5, False
        while True:
            try:
                await trio.to_thread.run_sync(self._ensure_group, client)
                if waited:
                    log.info("Redis at %s is up; publishing the verified stream", self._url)
                return
            except redis.RedisError as exc:
                if not waited:
                    log.warning("%s Redis at %s (%s); retrying with backoff up to %.0f s",
                                why, self._url, exc, _REDIS_BACKOFF_MAX_S)  # fmt: skip
                waited = True
            await trio.sleep(delay)
            delay = min(2 * delay, _REDIS_BACKOFF_MAX_S)

    @property
    def _url(self) -> str:
        return redact_url(self.redis_url or "")

    def _read(self, client: redis.Redis, rounds: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Own pending entries first, then entries idle elsewhere, then new ones."""
        own = client.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.batch)
        entries = own[0][1] if own else []
        if entries:
            return entries
        if rounds % 20 == 0:
            claimed = client.xautoclaim(
                self.stream, self.group, self.consumer, int(self.claim_idle_s * 1000),
                count=self.batch,
            )  # fmt: skip
            if claimed[1]:
                return claimed[1]
        new = client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch, block=1000
        )
        return new[0][1] if new else []

    async def _pump(self, client: redis.Redis) -> None:
        await self._wait_for_redis(client, "waiting for")
        rounds = 0
        interval = 1.0 / self.max_rate
        last = -interval
        while True:
            rounds += 1
            try:
                entries = await trio.to_thread.run_sync(self._read, client, rounds)
            except redis.RedisError:
                await self._wait_for_redis(client, f"reading {self.stream} failed: waiting for")
                continue
            for entry_id, fields in entries:
                if fields is None:  # trimmed away while pending: nothing left to publish
                    await trio.to_thread.run_sync(client.xack, self.stream, self.group, entry_id)
                    continue
                if not await self._wait_for_peers():
                    break  # not acknowledged: read again from the pending list
                await trio.sleep_until(last + interval)  # pace below peers' rate limit
                last = trio.current_time()
                if await self._publish(entry_id, fields):
                    await trio.to_thread.run_sync(client.xack, self.stream, self.group, entry_id)
                    self.acked += 1

    async def _wait_for_peers(self, timeout: float = 5.0) -> bool:
        with trio.move_on_after(timeout):
            while len(self.node.topic_peers()) < self.min_peers:
                await trio.sleep(0.1)
            return True
        log.info("no topic peers yet; holding the stream")
        return False

    async def _publish(self, entry_id: bytes, fields: dict[bytes, bytes]) -> bool:
        """Publish one entry; True when it may be acknowledged (published or unpublishable)."""
        try:
            signed = from_signed_stream_entry(fields)
            data = encode_signed(signed)
        except P2PError as exc:
            log.error("skipping stream entry %s: %s", entry_id.decode(), exc)
            self.skipped += 1
            return True
        if signed.signer not in self.trusted:  # a key published since the last refresh
            await trio.to_thread.run_sync(self.trusted.refresh)
        _, verdict = await trio.to_thread.run_sync(
            lambda: self.node.check(data, own=True), limiter=self.node.verify_limiter
        )
        if not verdict.accepted:
            log.error("not publishing entry %s: %s", entry_id.decode(), verdict.reason)
            self.skipped += 1
            return True
        try:
            await self.node.publish(data)
        except P2PError as exc:
            log.warning("publishing entry %s failed (%s); will retry", entry_id.decode(), exc)
            await trio.sleep(1)
            return False
        return True


def _announcements(client: redis.Redis, limit: int = 64) -> dict[str, bytes]:
    """Key id → signed announcement, of the verifier keys published in Redis."""
    out: dict[str, bytes] = {}
    for name in client.scan_iter(match=KEY_PREFIX + "*", count=100):
        data = client.hget(name, announce.FIELD)
        if data:
            out[(name.decode() if isinstance(name, bytes) else name)[len(KEY_PREFIX) :]] = data
        if len(out) >= limit:
            break
    return out


def dialable(addrs: Sequence[str]) -> list[str]:
    """``addrs`` with a wildcard /ip4/0.0.0.0 replaced by this host's IPv4 addresses (what an
    operator can hand to peers), as libp2p daemons print them."""
    try:
        import ifaddr  # comes with libp2p (zeroconf)

        ips = sorted({str(ip.ip) for a in ifaddr.get_adapters() for ip in a.ips if ip.is_IPv4})
    except Exception:  # no interface list: print the wildcard as it is
        ips = []
    out: list[str] = []
    for addr in addrs:
        if addr.startswith("/ip4/0.0.0.0/") and ips:
            out += [addr.replace("/ip4/0.0.0.0/", f"/ip4/{ip}/", 1) for ip in ips]
        else:
            out.append(addr)
    return out


def run_sidecar(
    data_dir: str | Path,
    *,
    redis_url: str | None,
    listen: Sequence[str] = ("/ip4/0.0.0.0/tcp/4001",),
    bootstrap: Sequence[str] = (),
    **options: Any,
) -> None:
    """Run a sidecar in the foreground until SIGINT or SIGTERM (the `shardy sidecar` command).

    Args:
        data_dir: the sidecar's data dir (e.g. ``settings.home / "p2p"``).
        redis_url: Redis holding `shardy:verified` (``settings.blob_redis_url``).
        listen: multiaddrs to listen on.
        bootstrap: multiaddrs (ending in /p2p/<id>) of peers to join through.
        options: further Sidecar keyword arguments (relays, mdns, relay_hop, max_rate, ...).
    Raises:
        P2PError: the sidecar could not start.
    """

    options.setdefault("announce", True)
    sidecar = Sidecar(data_dir, redis_url=redis_url, listen=listen, bootstrap=bootstrap,
                      **options)  # fmt: skip

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                await nursery.start(sidecar.run)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    try:
        trio.run(main)
    except BaseExceptionGroup as group:  # one clear error instead of trio's traceback
        first = _first_shardy_error(group)
        if first is None:
            raise
        raise first from None


def _first_shardy_error(group: BaseExceptionGroup) -> P2PError | None:
    for exc in group.exceptions:
        if isinstance(exc, P2PError):
            return exc
        if isinstance(exc, BaseExceptionGroup) and (found := _first_shardy_error(exc)):
            return found
    return None
