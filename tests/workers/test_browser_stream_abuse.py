"""The worker page in headless Chromium against a gateway that streams orders badly (the same
cases as the Python worker's, `stream_support.broken_streams`): each fails that replica with a
clear ``failure``, an abort gets no answer, the tab serves on, and a good streamed order, spilled
to OPFS (``?spill=1048576``), gives the right output."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np
from browser_support import chromium, page_state
from stream_support import FakeGateway, answer, broken_streams, order

from shardy import enrollment
from shardy import session as wire

SIZE = 3 * wire.CHUNK + 4321


async def _scenario(driver: Any) -> None:
    gateway = FakeGateway(page=True)
    await gateway.start()
    token = enrollment.new_token(str(uuid.uuid4()))
    url = f"http://127.0.0.1:{gateway.port}/worker/?spill={wire.CHUNK}#token={token}"
    await asyncio.to_thread(driver.get, url)
    try:
        ws = await asyncio.wait_for(gateway.session, 180)  # after the tab's enrollment proof
        data = np.random.default_rng(12).integers(0, 256, SIZE, dtype=np.uint8).tobytes()
        await broken_streams(ws, gateway.kid, data)
        good = order(gateway.kid, data)
        for m in wire.order_messages(good, [data]):
            await ws.send_bytes(m)
        msg = await answer(ws, good)
        assert msg.kind == "result", msg.meta.get("error")
        result = wire.Result.parse(msg)
        expected = np.bincount(np.frombuffer(data, np.uint8), minlength=256).astype("<u4")
        assert result.output == expected.tobytes()
        assert "spool" in result.timings and "fetch" in result.timings, result.timings
        state = await asyncio.to_thread(page_state, driver)
        assert state["spill"].startswith("OPFS") and state["spilled"] == 1, state
        assert state["done"] == 1 and state["failed"] == 4, state
    finally:
        await gateway.stop()


def test_a_tab_fails_broken_streams_and_serves_on() -> None:
    with chromium() as driver:
        asyncio.run(_scenario(driver))
