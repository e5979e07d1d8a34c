"""Interop with js-libp2p 3 + @libp2p/gossipsub 17: signed records flow both ways, forgeries
stop at the Shardy sidecar and never reach the js peer.

Set-up: ``npm ci --prefix tests/p2p/js`` (skipped with that hint when node_modules is absent).
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import trio
from forgeries import FORGERIES, wire
from p2p_support import ROOT, SidecarProcess, forge_short_quorum, stream_entry, wait_for

from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import TOPIC, NodeConfig, P2PNode
from shardy.p2p.sidecar import VERIFIED_STREAM
from shardy.p2p.signed import decode_signed, from_signed_stream_entry
from shardy.p2p.store import RecordStore

JS = ROOT / "tests" / "p2p" / "js"
pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (JS / "node_modules" / "libp2p").exists(),
        reason="tests/p2p/js/node_modules is absent: run `npm ci --prefix tests/p2p/js`",
    ),
]


class JsPeer:
    """peer.mjs in a subprocess; its JSON lines land in a queue."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "peer.mjs"], cwd=JS, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.expect("ready", 60)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.lines.put(json.loads(line))

    def expect(self, key: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if key in item:
                return item[key]
            assert "error" not in item, item
        raise AssertionError(f"js peer sent no {key!r} within {timeout} s")

    def send(self, **cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_records_flow_both_ways_with_js(scratch: Path, redis_url: str) -> None:
    js = JsPeer()
    side = None
    try:
        side = SidecarProcess(scratch / "py", "--redis-url", redis_url, "--bootstrap",
                              js.ready["addrs"][0], "--no-discover").start()  # fmt: skip
        # Shardy → js: an orchestrator entry arrives at the js peer, intact
        entry = stream_entry()
        redis.Redis.from_url(redis_url).xadd(VERIFIED_STREAM, entry)
        message = js.expect("message", 90)
        assert message["from"] == side.info["peer_id"]
        assert decode_signed(bytes.fromhex(message["data"])) == from_signed_stream_entry(entry)
        # js → Shardy: a forged record is refused, a valid one is accepted and stored
        store = RecordStore(scratch / "py")
        forged = forge_short_quorum(stream_entry())
        js.send(publish=wire(forged).hex())
        js.expect("published", 60)
        wait_for(lambda: "rejected a record" in side.log.read_text(), 60, "the rejection")
        good = stream_entry()
        js.send(publish=wire(good).hex())
        js.expect("published", 60)
        wait_for(lambda: good["task_id"] in store.task_ids(), 60, "the js record in the table")
        assert forged["task_id"] not in store.task_ids()
        hit = store.lookup(good["digest"], good["task_id"])
        assert hit[0].sender == js.ready["peerId"]
    finally:
        if side is not None:
            side.stop()
        js.close()


def test_forgeries_never_reach_js_through_a_sidecar(scratch: Path, redis_url: str) -> None:
    """x (an attacker that skips validation) - the sidecar (a process) - js."""
    good, last = stream_entry(), stream_entry()
    forged = [forge(good) for forge, _ in FORGERIES.values()]
    js = JsPeer()
    side = None
    try:
        side = SidecarProcess(scratch / "py", "--redis-url", redis_url, "--bootstrap",
                              js.ready["addrs"][0], "--no-discover").start()  # fmt: skip

        async def attack() -> None:
            x = P2PNode(NodeConfig(key_file=scratch / "x" / KEY_FILE, bootstrap=[side.addr],
                                   discover=False, max_rate=1e6))  # fmt: skip
            x.pubsub.remove_topic_validator(TOPIC)
            async with trio.open_nursery() as nursery:
                await nursery.start(x.run)
                deadline = trio.current_time() + 60
                while len(x.topic_peers()) < 1 and trio.current_time() < deadline:
                    await trio.sleep(0.1)
                await x.publish(wire(good))  # the genuine record: the conflict needs it stored
                for data in forged:
                    await x.publish(data)
                await x.publish(wire(last))  # a genuine one after the forgeries
                await trio.to_thread.run_sync(_wait_for_verdicts, side, len(forged))
                nursery.cancel_scope.cancel()

        trio.run(attack)
        seen = []
        deadline = time.monotonic() + 60
        while last["task_id"] not in seen and time.monotonic() < deadline:
            data = bytes.fromhex(js.expect("message", max(1, deadline - time.monotonic()))["data"])
            seen.append(decode_signed(data).record.task_id)
        time.sleep(2)  # anything still in flight arrives now
        while not js.lines.empty():
            item = js.lines.get()
            if "message" in item:
                seen.append(decode_signed(bytes.fromhex(item["message"]["data"])).record.task_id)
        assert seen == [good["task_id"], last["task_id"]], seen
    finally:
        if side is not None:
            side.stop()
        js.close()


def _wait_for_verdicts(side: SidecarProcess, n: int) -> None:
    def verdicts() -> int:
        text = side.log.read_text()
        return text.count("rejected a record") + text.count("kept as evidence")

    wait_for(lambda: verdicts() >= n, 60, f"{n} verdicts in the sidecar's log")
