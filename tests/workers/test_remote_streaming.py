"""A real remote worker process (``shardy worker --gateway``) against a gateway that streams
orders badly: chunks out of order, a wrong chunk count, bytes that do not hash to the order, a
chunk for an order it never sent, an abort. Each fails that replica with a clear ``failure``
message (an abort gets no answer); the worker does not crash, and then computes a good streamed
order (spooled to disk) whose output is right. The gateway is `stream_support.FakeGateway`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from cluster_support import short_home
from stream_support import FakeGateway, answer, broken_streams, order

from shardy import session as wire

SIZE = 3 * wire.CHUNK + 4321


async def _scenario(home: Path) -> None:
    gateway = FakeGateway()
    url = await gateway.start()
    (home / "remote").mkdir(parents=True)
    (home / "remote" / "enrolled.json").write_text(json.dumps({"worker_id": "w-fake"}))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHARDY_")},
           "SHARDY_HOME": str(home), "SHARDY_STREAM_THRESHOLD": "1",
           "SHARDY_TASK_TIME_LIMIT": "120", "XDG_RUNTIME_DIR": "/tmp"}  # fmt: skip
    log = open(home / "worker.log", "wb")  # noqa: SIM115, ASYNC230 - the child's output
    proc = subprocess.Popen([sys.executable, "-m", "shardy.ops.cli", "worker", "--gateway", url,
                             "--loglevel", "info"], env=env, stdout=log, stderr=log,
                            start_new_session=True)  # fmt: skip
    try:
        ws = await asyncio.wait_for(gateway.session, 120)
        data = np.random.default_rng(11).integers(0, 256, SIZE, dtype=np.uint8).tobytes()
        await broken_streams(ws, gateway.kid, data)
        assert proc.poll() is None, "the worker crashed"
        good = order(gateway.kid, data)
        for m in wire.order_messages(good, [data]):
            await ws.send_bytes(m)
        msg = await answer(ws, good)
        assert msg.kind == "result", msg.meta
        result = wire.Result.parse(msg)
        expected = np.bincount(np.frombuffer(data, np.uint8), minlength=256).astype("<u4")
        assert result.output == expected.tobytes()
        assert "spool" in result.timings and "fetch" in result.timings, result.timings
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        await gateway.stop()
    text = (home / "worker.log").read_text(errors="replace")
    assert "spooling its payload to disk as it streams in" in text
    assert "Traceback" not in text, text[-3000:]


def test_a_remote_worker_fails_broken_streams_and_serves_on() -> None:
    home = short_home()
    try:
        asyncio.run(_scenario(home))
    finally:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
