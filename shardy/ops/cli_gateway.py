"""The `shardy` commands of the trust boundary: `gateway` (serve remote workers) and
`operators add|list|revoke` (who may enroll workers)."""

from __future__ import annotations

import json
import os
import socket
import sys

import click

from shardy.config import Settings
from shardy.errors import ShardyError

#: Relay threads of a gateway: replicas in flight at once (idle sessions cost no thread).
GATEWAY_CONCURRENCY = 64


def gateway_id(settings: Settings) -> str:
    """This gateway's id: SHARDY_GATEWAY_ID, else host and port."""
    if settings.gateway_id:
        return settings.gateway_id
    port = settings.gateway_listen.rpartition(":")[2]
    return f"{socket.gethostname()}-{port}"


def gateway_command(gid: str, concurrency: int, loglevel: str) -> list[str]:
    """The Celery worker command line of a gateway (its relay pool and its server)."""
    return [
        sys.executable, "-m", "celery", "-A", "shardy.orchestrator.gateway.tasks", "worker",
        "-Q", f"shardy.gw.{gid}", "-n", f"gateway-{gid}@%h", "-P", "threads",
        "-c", str(concurrency), "-l", loglevel, "--without-gossip", "--without-mingle",
    ]  # fmt: skip


@click.command()
@click.option("--listen", default=None, help="host:port to serve on (SHARDY_GATEWAY_LISTEN).")
@click.option("--id", "gid", default=None, help="Gateway id (SHARDY_GATEWAY_ID).")
@click.option("--concurrency", default=GATEWAY_CONCURRENCY, show_default=True,
              help="Replicas relayed at once.")  # fmt: skip
@click.option("--loglevel", default="info", show_default=True)
def gateway(listen: str | None, gid: str | None, concurrency: int, loglevel: str) -> None:
    """Serve remote workers: sessions over WebSocket, replicas relayed from Celery.

    Prints the URLs workers connect to (a Python worker, and the worker page a browser tab
    opens); `shardy operators add NAME` makes their tokens.
    """
    try:
        settings = Settings.from_env()
        if listen:
            settings = settings.replace(gateway_listen=listen)
        gid = gid or gateway_id(settings)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    env = {"SHARDY_GATEWAY_ID": gid, "SHARDY_GATEWAY_LISTEN": settings.gateway_listen}
    os.environ.update(env)
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    scheme = "wss" if settings.gateway_cert else "ws"
    click.echo(f"gateway {gid}: workers connect to {scheme}://{settings.gateway_listen}/session "
               "(`shardy worker --gateway URL --token TOKEN`)")  # fmt: skip
    page = "https" if settings.gateway_cert else "http"
    click.echo(f"browser workers open {page}://{settings.gateway_listen}/worker/#token=TOKEN")
    cmd = gateway_command(gid, concurrency, loglevel)
    os.execv(sys.executable, cmd)


@click.group()
def operators() -> None:
    """Operators of remote workers: add (prints an enrollment token), list, revoke; every
    voter's standing: standing, quarantine, lift."""


def _store_session():
    from shardy.api import Client

    client = Client(Settings.from_env())
    return client.app, client.app.store.session()


@operators.command("add")
@click.argument("name")
def operators_add(name: str) -> None:
    """Create operator NAME and print its enrollment token (shown once)."""
    from shardy.orchestrator import operators as ops

    _, scope = _store_session()
    try:
        with scope as session:
            token = ops.add(session, name)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"operator {name} created; its enrollment token (keep it secret):\n{token}")
    click.echo(f"a worker joins with: shardy worker --gateway URL --token {token}")


@operators.command("list")
@click.option("--json", "as_json", is_flag=True)
def operators_list(as_json: bool) -> None:
    """Every operator with its enrolled workers and state."""
    from shardy.orchestrator import operators as ops

    _, scope = _store_session()
    with scope as session:
        rows = ops.listing(session)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        click.echo(f"{r['name']:<24} {state:<32} {r['workers']} workers  id {r['id']}")


@operators.command("revoke")
@click.argument("name")
def operators_revoke(name: str) -> None:
    """Revoke operator NAME (and every worker of it), or one worker by its id: their sessions
    close and their votes stop counting."""
    from shardy.orchestrator import operators as ops

    app, scope = _store_session()
    try:
        with scope as session:
            revoked = ops.revoke(session, name)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name}: {len(revoked)} workers; their votes no longer count")
    try:
        for worker_id in revoked:  # after the commit: gateways close these sessions
            app.redis.publish(ops.REVOKED_CHANNEL, worker_id)
    except Exception as exc:  # noqa: BLE001 - no Redis now: sessions end at their next hello
        click.echo(f"could not tell the gateways ({exc}); open sessions end when they reconnect")


@operators.command("standing")
@click.option("--json", "as_json", is_flag=True)
def operators_standing(as_json: bool) -> None:
    """Every voter's standing: probation, established or quarantined, score, faults."""
    from shardy.orchestrator import standing

    app, scope = _store_session()
    with scope as session:
        rows = standing.listing(session, app.settings)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        reason = f"  ({r['reason']})" if r["reason"] else ""
        click.echo(f"{r['voter']:<32} {r['state']:<12} score {r['score']:.3f}  "
                   f"{r['judged']} judged  {r['faults']} faults{reason}")  # fmt: skip


@operators.command("quarantine")
@click.argument("voter")
@click.option("--reason", default="", help="Why (kept with the record).")
def operators_quarantine(voter: str, reason: str) -> None:
    """Quarantine VOTER (an operator, or a worker id with SHARDY_DISTINCT=worker): it gets no
    more orders and its votes are ignored until lifted."""
    from shardy.orchestrator import standing

    app, scope = _store_session()
    with scope as session:
        standing.impose(session, voter, reason)
    with app.store.read() as session:
        standing.mirror(app.redis, session)
    click.echo(f"quarantined {voter}: no orders, votes ignored (`shardy operators lift {voter}`)")


@operators.command("lift")
@click.argument("voter")
def operators_lift(voter: str) -> None:
    """Lift VOTER's quarantine: it starts again on probation."""
    from shardy.orchestrator import standing

    app, scope = _store_session()
    try:
        with scope as session:
            standing.lift(session, voter)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    with app.store.read() as session:
        standing.mirror(app.redis, session)
    click.echo(f"lifted {voter}'s quarantine; it is on probation again")
