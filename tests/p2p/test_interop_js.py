"""Interop with js-libp2p 3 + @libp2p/gossipsub 17: records flow both ways, forgeries stop.

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
from p2p_support import ROOT, SidecarProcess, forge_short_quorum, stream_entry, wait_for

from shardy.p2p.record import decode, encode, from_stream_entry
from shardy.p2p.sidecar import VERIFIED_STREAM
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
        assert decode(bytes.fromhex(message["data"])) == from_stream_entry(entry)
        # js → Shardy: a forged record is refused, a valid one is accepted and stored
        store = RecordStore(scratch / "py")
        forged = forge_short_quorum(stream_entry())
        js.send(publish=encode(from_stream_entry(forged)).hex())
        js.expect("published", 60)
        wait_for(lambda: "rejected a record" in side.log.read_text(), 60, "the rejection")
        good = stream_entry()
        js.send(publish=encode(from_stream_entry(good)).hex())
        js.expect("published", 60)
        wait_for(lambda: good["task_id"] in store.task_ids(), 60, "the js record in the table")
        assert forged["task_id"] not in store.task_ids()
        hit = store.lookup(good["digest"], good["task_id"])
        assert hit[0].sender == js.ready["peerId"]
    finally:
        if side is not None:
            side.stop()
        js.close()
