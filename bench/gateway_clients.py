"""Simulated remote workers for bench/gateway.py: one session per key in BENCH_KEYS to the
gateway at BENCH_URL, each answering every order at once (zeros of the ordered length, a
placeholder proof: the gateway relays, settle would judge). Prints "ready" once all joined."""

from __future__ import annotations

import asyncio
import os

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shardy import enrollment
from shardy import session as wire
from shardy.messages import ReplicaOrder


async def worker(http: aiohttp.ClientSession, url: str, key: enrollment.SigningKey,
                 joined: asyncio.Queue) -> None:  # fmt: skip
    async with http.ws_connect(url, max_msg_size=1 << 26) as ws:
        challenge = wire.decode((await ws.receive()).data, "challenge").meta
        signature = key.sign(
            enrollment.session_message(challenge["gateway"], challenge["nonce"], key.public_hex)
        )
        await ws.send_bytes(
            wire.encode(
                "hello",
                {
                    "public_key": key.public_hex,
                    "signature": signature,
                    "slots": 64,
                    "adapter": "bench",
                    "protocol": 1,
                },
            )
        )
        wire.decode((await ws.receive()).data, "welcome")
        await joined.put(1)
        async for msg in ws:
            order = ReplicaOrder.decode(msg.data)
            res = wire.Result(
                order.task_id,
                order.round,
                order.replica,
                order.key_id,
                bytes(order.output_len),
                {"pi_a": []},
                ["0"] * 5,
            )
            for part in res.encode():
                await ws.send_bytes(part)


async def main() -> None:
    url = os.environ["BENCH_URL"]
    keys = [enrollment.SigningKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k)))
            for k in os.environ["BENCH_KEYS"].split(",")]  # fmt: skip
    joined: asyncio.Queue = asyncio.Queue()
    async with aiohttp.ClientSession() as http:
        jobs = [asyncio.create_task(worker(http, url, k, joined)) for k in keys]
        for _ in keys:
            await joined.get()
        print("ready", flush=True)
        await asyncio.gather(*jobs)


if __name__ == "__main__":
    asyncio.run(main())
