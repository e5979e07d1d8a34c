"""The `shardy` command line."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from shardy.config import Settings
from shardy.errors import ShardyError
from shardy.ops.cli_common import app as _app
from shardy.ops.cli_common import console
from shardy.ops.cli_common import settings as _settings
from shardy.ops.cli_gateway import gateway, operators
from shardy.ops.cli_p2p import keys, sidecar


@click.group()
@click.version_option(package_name="shardy")
def cli() -> None:
    """Shardy: verifiable GPU compute on Celery."""


@cli.command()
@click.option("--workers", default=1, show_default=True, help="Fleet GPU worker processes.")
@click.option(
    "--remote",
    default=2,
    show_default=True,
    help="Remote GPU workers, each its own operator, through a local gateway.",
)
@click.option("--tasks", default=24, show_default=True, help="Tasks to verify.")
@click.option("--size", default=64 * 1024, show_default=True, help="Payload bytes per task.")
@click.option("--png", default=None, help="Also verify a Mandelbrot tile and save it as PNG.")
def demo(workers: int, remote: int, tasks: int, size: int, png: str | None) -> None:
    """Start a local cluster, verify a sample workload, print the table, shut down."""
    from shardy.ops.demo import run_demo

    run_demo(_settings(), workers=workers, remote=remote, tasks=tasks, size=size,
             console=console, png=png)  # fmt: skip


@cli.command()
@click.option("--workers", default=3, show_default=True, help="Fleet GPU worker processes.")
@click.option(
    "--remote",
    default=0,
    show_default=True,
    help="Remote GPU workers through a local gateway (each its own operator).",
)
@click.option("--per-adapter", is_flag=True, help="One worker per GPU adapter (ignores --workers).")
@click.option("--flower", is_flag=True, help="Also run Flower on the broker.")
@click.option("--flower-port", default=5555, show_default=True)
def up(workers: int, remote: int, per_adapter: bool, flower: bool, flower_port: int) -> None:
    """Run the local cluster (embedded Redis, orchestrator, workers) until Ctrl-C."""
    from shardy.ops.cluster import Cluster
    from shardy.ops.flower import start_flower

    settings = _settings()
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    cluster = (
        Cluster.per_adapter(settings, remote=remote)
        if per_adapter
        else Cluster(settings, workers=workers, remote=remote)
    )
    with cluster:
        if flower:
            cluster.add_process(
                "flower", lambda: start_flower(settings, flower_port, cluster.logdir)
            )
            console.print(f"Flower on http://127.0.0.1:{flower_port}/")
        door = f", a gateway on {cluster.remote.url} with {remote} remote workers" if remote else ""
        console.print(
            f"shardy up: broker {settings.broker}, database {settings.database}, "
            f"{cluster.n_workers} fleet GPU workers{door} (logs in {cluster.logdir}); the "
            "cluster restarts any process that exits; Ctrl-C stops"
        )
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        console.print("stopping…")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--gateway",
    "gateway_url",
    default=None,
    help="Run as a remote worker of this gateway (SHARDY_GATEWAY_URL).",
)
@click.option("--token", default=None, help="Enrollment token (first run; SHARDY_GATEWAY_TOKEN).")
@click.option("--adapter", default=None, help="GPU adapter index or name (SHARDY_GPU_ADAPTER).")
@click.option(
    "--name", default=None, help="Celery node name [default: gpu<N>-<adapter>@%h, or gpu0@%h]."
)
@click.option("--concurrency", default=1, show_default=True, help="Processes on this adapter.")
@click.option("--loglevel", default="info", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(
    gateway_url: str | None,
    token: str | None,
    adapter: str | None,
    name: str,
    concurrency: int,
    loglevel: str,
    celery_args: tuple,
) -> None:
    """Run one GPU worker: a fleet worker (wraps `celery worker -Q shardy.gpu`), or with
    --gateway a remote worker that reaches Shardy through that gateway only."""
    import os

    from shardy.celery_app import GPU_QUEUE
    from shardy.ops.cluster import gpu_pool, worker_command

    if adapter is not None:
        os.environ["SHARDY_GPU_ADAPTER"] = adapter
    settings = _settings()
    if gateway_url or settings.gateway_url:
        _remote_worker(settings, gateway_url or settings.gateway_url, token, loglevel)
        return
    if name is None:  # the adapter's index and name become part of the worker id
        from shardy.workers.gpu import list_adapters, worker_name

        chosen = [a for a in list_adapters() if adapter is not None and str(a.index) == adapter]
        name = f"{worker_name(chosen[0])}@%h" if chosen else "gpu0@%h"
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    pool, concurrency = gpu_pool(settings, concurrency)
    cmd = worker_command(GPU_QUEUE, name, concurrency=concurrency, loglevel=loglevel, pool=pool)
    os.execv(sys.executable, [*cmd, *celery_args])


def _remote_worker(settings: Settings, url: str, token: str | None, loglevel: str) -> None:
    import logging

    from shardy.workers.remote import run_remote_worker

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        run_remote_worker(settings, url, token or settings.gateway_token)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("kernel")
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True)
@click.option("--param", "params", multiple=True, help="Kernel parameter NAME=INT.")
@click.option("--wait/--no-wait", default=False, help="Wait for the verified result.")
@click.option("--timeout", default=300.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def submit(kernel, payload, seed, params, wait, timeout, as_json) -> None:
    """Submit KERNEL on the bytes of file PAYLOAD."""
    from shardy.api import Client

    parsed = {}
    for p in params:
        key, _, value = p.partition("=")
        try:
            parsed[key] = int(value)
        except ValueError as exc:
            raise click.BadParameter(f"{p!r}: expected NAME=INT", param_hint="--param") from exc
    try:
        handle = Client(_settings()).submit(kernel, payload.read_bytes(), seed=seed, params=parsed)
        out = {"task_id": handle.id}
        if wait:
            res = handle.get(timeout=timeout)
            out.update(
                digest=res.digest,
                agreeing=[a.worker_id for a in res.attestations if a.agrees],
                output_bytes=len(bytes(res.output)),
            )
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print_json(json.dumps(out)) if as_json else console.print(out)


@cli.command()
@click.argument("task_id", required=False)
@click.option("--digest", default=None, help="Ask the local sidecar: is DIGEST verified?")
@click.option("--watch", is_flag=True, help="A live view, refreshed every second (Ctrl-C ends).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(task_id: str | None, digest: str | None, watch: bool, as_json: bool) -> None:
    """Show a task's state, or an overview of tasks, workers and the DLQ.

    With --digest, answer from the sidecar's table whether that digest was verified (for
    TASK_ID, if given) by records gossiped on the mesh.
    """
    from shardy.ops.status import live_view, overview, task_status

    if watch:
        from rich.live import Live

        with Live(live_view(_settings()), console=console, refresh_per_second=2) as live:
            try:
                while True:
                    time.sleep(1)
                    live.update(live_view(_settings()))
            except KeyboardInterrupt:
                return
    try:
        if digest is not None:
            from shardy.p2p.store import is_verified

            entries = is_verified(_settings().p2p_dir, digest, task_id)
            data = {"digest": digest, "verified": bool(entries),
                    "records": [dict(e.__dict__) for e in entries]}  # fmt: skip
        else:
            data = task_status(_settings(), task_id) if task_id else overview(_settings())
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        console.print_json(json.dumps(data, default=str))
    else:
        console.print(data)


@cli.group()
def dlq() -> None:
    """Inspect and replay the dead-letter queue (shardy.dlq)."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True)
def dlq_list(as_json: bool) -> None:
    """List dead-lettered entries."""
    from shardy.orchestrator import dlq as ops

    items = ops.entries(_app())
    if as_json:
        console.print_json(json.dumps([e.to_dict() for e in items]))
        return
    for e in items:
        console.print(
            f"{e.id[:8]}  {e.kind:<9} task={e.task_id or '-'} replica={e.replica} "
            f"attempts={e.attempts}  {e.reason[:100]}"
        )
    console.print(f"{len(items)} entries")


@dlq.command("show")
@click.argument("entry_id")
def dlq_show(entry_id: str) -> None:
    """Show one entry (id or unique prefix) in full."""
    from shardy.orchestrator import dlq as ops

    entry = ops.show(_app(), entry_id)
    if entry is None:
        raise click.ClickException(
            f"no single DLQ entry matches {entry_id!r}; see `shardy dlq list`"
        )
    console.print_json(json.dumps(entry.to_dict()))


@dlq.command("replay")
@click.argument("entry_ids", nargs=-1)
def dlq_replay(entry_ids: tuple[str, ...]) -> None:
    """Replay entries (all when none given); each is replayed exactly once."""
    from shardy.orchestrator import dlq as ops

    done = ops.replay(_app(), list(entry_ids) or None)
    for entry, note in done:
        console.print(f"{entry.id[:8]}  task={entry.task_id or '-'}  {note}")
    console.print(f"{len(done)} entries considered")


@dlq.command("purge")
@click.confirmation_option(prompt="Delete every DLQ message?")
def dlq_purge() -> None:
    """Delete every DLQ message (the SQL audit trail is kept)."""
    from shardy.orchestrator import dlq as ops

    console.print(f"purged {ops.purge(_app())} entries")


@cli.command()
@click.option("--port", default=9100, show_default=True, help="Port of the /metrics endpoint.")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to bind.")
def metrics(port: int, address: str) -> None:
    """Serve Prometheus metrics (tasks, quorum failures, Byzantine workers, DLQ, reputation)."""
    from shardy.ops.metrics import serve_metrics

    _, thread = serve_metrics(_app(), port, address)
    console.print(f"metrics on http://{address}:{port}/metrics")
    thread.join()


@cli.command()
def gpus() -> None:
    """List the GPU adapters wgpu sees."""
    from shardy.workers.gpu import list_adapters

    for a in list_adapters():
        console.print(
            f"{a.index}: {a.name} [{a.backend}, {a.adapter_type}] max binding {a.max_binding}"
        )


cli.add_command(gateway)
cli.add_command(operators)
cli.add_command(sidecar)
cli.add_command(keys)


def main() -> None:
    """Entry point of the `shardy` console script."""
    try:
        cli(standalone_mode=True)
    except ShardyError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
