"""The `shardy` commands that face outward: `sidecar` (gossip verified results over libp2p)
and `keys` (the verifier keys, and the orchestrator's signing key that peers trust)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from shardy.errors import ShardyError
from shardy.ops.cli_common import app as _app
from shardy.ops.cli_common import console
from shardy.ops.cli_common import settings as _settings


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@click.command()
@click.option("--listen", multiple=True, help="Multiaddr to listen on (SHARDY_P2P_LISTEN).")
@click.option("--bootstrap", multiple=True, help="Peer to join through (SHARDY_P2P_BOOTSTRAP).")
@click.option("--relay", multiple=True, help="Circuit-relay peer (SHARDY_P2P_RELAYS).")
@click.option("--relay-hop", is_flag=True, help="Serve as a circuit relay for other peers.")
@click.option("--mdns/--no-mdns", default=None, help="LAN discovery (SHARDY_P2P_MDNS).")
@click.option("--no-discover", is_flag=True, help="Do not dial peers found in the DHT.")
@click.option("--max-rate", type=float, default=None, help="Records/s accepted per peer.")
@click.option("--loglevel", default="info", show_default=True)
def sidecar(listen, bootstrap, relay, relay_hop, mdns, no_discover, max_rate, loglevel) -> None:
    """Gossip verified results over libp2p (reads the shardy:verified stream)."""
    import logging

    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        from shardy.p2p.sidecar import run_sidecar
    except ImportError as exc:
        raise click.ClickException(
            f"the sidecar needs libp2p: pip install 'shardy[p2p]' ({exc})"
        ) from exc
    s = _settings()
    try:
        run_sidecar(
            s.p2p_dir,
            redis_url=s.blob_redis_url,
            listen=listen or _split(s.p2p_listen),
            bootstrap=bootstrap or _split(s.p2p_bootstrap),
            relays=relay or _split(s.p2p_relays),
            relay_hop=relay_hop,
            mdns=s.p2p_mdns if mdns is None else mdns,
            discover=not no_discover,
            max_rate=s.p2p_max_rate if max_rate is None else max_rate,
            min_quorum=s.effective_p2p_min_quorum,
            trusted=_split(s.p2p_trusted),
            max_records=s.p2p_max_records,
            max_age_s=float(s.p2p_max_age),
        )
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def keys() -> None:
    """Verifier keys: list them, rotate in a new one; the orchestrator's signing key."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """Each key's id, statement version, state (active / grace / retired) and vkey.json path."""
    from shardy.orchestrator import keys as ops

    rows = ops.listing(_app())
    if as_json:
        console.print_json(json.dumps(rows))
        return
    for r in rows:
        until = f" until {r['grace_until']}" if r["grace_until"] else ""
        console.print(f"{r['id']}  v{r['statement']}  {r['state']}{until}  {r['vkey']}")


@keys.command("rotate")
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--grace", type=int, default=None, help="Seconds the old key stays accepted.")
def keys_rotate(build_dir: Path, grace: int | None) -> None:
    """Install the key in BUILD_DIR (attestation.zkey, .wasm, vkey.json) as the active key."""
    from shardy.orchestrator import keys as ops

    app = _app()
    try:
        kid = ops.rotate(app, build_dir, app.settings.key_grace if grace is None else grace)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"active key is now {kid}; the previous key stays accepted for its grace window")


@keys.command("orchestrator")
def keys_orchestrator() -> None:
    """Print the orchestrator's public signing key (what sidecars put in SHARDY_P2P_TRUSTED)."""
    from shardy.orchestrator import signing

    try:
        click.echo(signing.public_key(_settings()))
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
