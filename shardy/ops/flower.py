"""Flower, the Celery web monitor, on Shardy's broker (`shardy up --flower`, compose's flower).

Flower takes its broker from the Celery app it loads with ``-A shardy.celery_app``, and that
app reads the broker from ``SHARDY_*`` variables (`Settings.from_env()`), which `start_flower`
passes to the child. The broker URL is deliberately not on the command line: it may carry a
password, and every local user can read a process's arguments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shardy.config import Settings

#: Flower's default port.
DEFAULT_PORT = 5555


def flower_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The command line that runs Flower (on the broker its environment names).

    Args:
        port: TCP port Flower listens on (0 is refused: Flower would not say which it took).
        address: interface to listen on; keep the default unless a proxy with auth fronts it.
    Returns:
        ``[python, -m, celery, -A, shardy.celery_app, flower, --port=..., ...]``; run it with
        `flower_env` (the broker comes from SHARDY_BROKER_URL there).
    Raises:
        ValueError: ``port`` is not in 1..65535.
    """
    if not 0 < port < 65536:
        raise ValueError(f"flower port must be in 1..65535, got {port}")
    return [
        sys.executable, "-m", "celery", "-A", "shardy.celery_app",
        "flower",
        f"--port={port}",
        f"--address={address}",
        # workers send no task events until asked (SHARDY_TASK_EVENTS); Flower asks every few
        # seconds while it runs, so its views fill while someone watches
        "--enable_events=True",
        # the task list shows our name and argument summary, nothing else is needed
        "--tasks_columns=name,uuid,state,args,received,runtime,worker",
    ]  # fmt: skip


def flower_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the Flower child: ``base`` (default os.environ) plus SHARDY_*."""
    from shardy.ops.cluster import settings_env

    env = {**(os.environ if base is None else base), **settings_env(settings)}
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    return env


def start_flower(
    settings: Settings, port: int = DEFAULT_PORT, logdir: Path | None = None
) -> subprocess.Popen:
    """Start Flower in its own session; its output goes to ``logdir/flower.log``.

    Args:
        settings: the cluster's settings.
        port: TCP port on 127.0.0.1.
        logdir: directory for ``flower.log`` (default: ``settings.home / "logs"``).
    Returns:
        The running process; stop it with ``os.killpg(proc.pid, SIGTERM)`` or ``proc.terminate()``.
    """
    logdir = settings.home / "logs" if logdir is None else Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    with open(logdir / "flower.log", "ab") as log:
        return subprocess.Popen(
            flower_command(port),
            env=flower_env(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
