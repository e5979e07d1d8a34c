"""``python -m shardy.p2p``: run one sidecar (what `shardy sidecar` does, without settings)."""

from __future__ import annotations

import argparse
import logging
import sys

from shardy.errors import ShardyError
from shardy.p2p.sidecar import run_sidecar


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run the sidecar until SIGINT/SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m shardy.p2p", description=__doc__)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--redis-url", default=None)
    p.add_argument("--listen", action="append", default=[])
    p.add_argument("--bootstrap", action="append", default=[])
    p.add_argument("--relay", action="append", default=[], help="relay to reserve a slot on")
    p.add_argument("--relay-hop", action="store_true", help="serve as a circuit relay")
    p.add_argument("--mdns", action="store_true")
    p.add_argument("--no-discover", action="store_true")
    p.add_argument("--no-subscribe", action="store_true")
    p.add_argument("--max-rate", type=float, default=100.0)
    p.add_argument(
        "--trusted",
        action="append",
        default=[],
        help="orchestrator public key (hex) or file of keys to trust",
    )
    p.add_argument("--min-quorum", type=int, default=2)
    p.add_argument("--max-records", type=int, default=100_000)
    p.add_argument("--max-age", type=float, default=7 * 86_400.0, help="seconds")
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(argv)
    logging.basicConfig(level=a.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        _run(a)
    except ShardyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def _run(a: argparse.Namespace) -> None:
    run_sidecar(
        a.data_dir, redis_url=a.redis_url, listen=a.listen or ["/ip4/127.0.0.1/tcp/0"],
        bootstrap=a.bootstrap, relays=a.relay, relay_hop=a.relay_hop, mdns=a.mdns,
        discover=not a.no_discover, subscribe=not a.no_subscribe, max_rate=a.max_rate,
        trusted=a.trusted, min_quorum=a.min_quorum, max_records=a.max_records,
        max_age_s=a.max_age,
    )  # fmt: skip


if __name__ == "__main__":
    main()
