"""Gossip benchmark: publish-to-receive latency and accepted records/s across a 5-node line.

Run: ``PYTHONPATH=.:tests/p2p .venv/bin/python bench/gossip.py [--nodes 5] [--latency 50]
[--burst 100]``. All nodes run in this one process (trio), on 127.0.0.1, each re-verifying every
record (3 Groth16 proofs, one batch) before it accepts or forwards it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import trio
from p2p_support import stream_entry

from shardy.p2p.identity import KEY_FILE
from shardy.p2p.node import NodeConfig, P2PNode
from shardy.p2p.record import encode, from_stream_entry


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(nodes: int, latency_n: int, burst_n: int) -> None:
    print(f"preparing {latency_n + burst_n} records (3 proofs each)…", flush=True)
    records = [encode(from_stream_entry(stream_entry())) for _ in range(latency_n + burst_n)]
    tmp = Path(tempfile.mkdtemp(prefix="gossipbench"))
    arrivals: dict[str, float] = {}

    async def at_end(record, sender, valid, data) -> None:  # noqa: ANN001
        arrivals[record.task_id] = time.perf_counter()

    async with trio.open_nursery() as nursery:
        line: list[P2PNode] = []
        for i in range(nodes):
            config = NodeConfig(
                key_file=tmp / f"n{i}" / KEY_FILE, discover=False, max_rate=10_000,
                bootstrap=[line[-1].addrs[0]] if line else [],
            )  # fmt: skip
            node = P2PNode(config, on_record=at_end if i == nodes - 1 else None)
            await nursery.start(node.run)
            line.append(node)
        with trio.fail_after(60):
            while not all(n.topic_peers() for n in line):
                await trio.sleep(0.1)
        await trio.sleep(2)  # let the meshes graft

        # validation cost on one node, for reference
        t = time.perf_counter()
        for data in records[:20]:
            assert line[0].check(data)[1].accepted
        check_ms = (time.perf_counter() - t) / 20 * 1000

        # latency: one record at a time, publish → accepted at the far end
        lat = []
        for data in records[:latency_n]:
            task = decode_task(data)
            t0 = time.perf_counter()
            await line[0].publish(data)
            with trio.fail_after(30):
                while task not in arrivals:
                    await trio.sleep(0.0005)
            lat.append((arrivals[task] - t0) * 1000)

        # throughput: a burst, as fast as the publisher accepts them
        burst = records[latency_n:]
        waiting = {decode_task(d) for d in burst}
        t0 = time.perf_counter()
        for data in burst:
            await line[0].publish(data)
        published_s = time.perf_counter() - t0
        with trio.fail_after(300):
            while not waiting.issubset(arrivals):
                await trio.sleep(0.01)
        rate = len(burst) / (time.perf_counter() - t0)
        nursery.cancel_scope.cancel()

    print(f"\n{nodes}-node line, {latency_n} sequential records, burst of {burst_n}\n")
    print("| measure | value |\n|---|---:|")
    print(f"| validation of one record (3 proofs, one node) | {check_ms:.1f} ms |")
    print(f"| latency p50 (publish → accepted {nodes - 1} hops away) | {pct(lat, 0.5):.1f} ms |")
    print(f"| latency p99 | {pct(lat, 0.99):.1f} ms |")
    print(
        f"| latency mean (stdev) | {statistics.mean(lat):.1f} ({statistics.pstdev(lat):.1f}) ms |"
    )
    print(
        f"| records/s accepted at the far end (burst, validation on at all {nodes}) | {rate:.0f} |"
    )
    print(f"| records/s the publisher validated and sent | {len(burst) / published_s:.0f} |")


def decode_task(data: bytes) -> str:
    from shardy.p2p.record import decode

    return decode(data).task_id


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--latency", type=int, default=50)
    p.add_argument("--burst", type=int, default=100)
    a = p.parse_args()
    trio.run(run, a.nodes, a.latency, a.burst)


if __name__ == "__main__":
    main()
