"""What the `shardy` command modules share: the console, and the settings and app of a
command, with a configuration or broker error turned into click's clear exit."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from shardy.config import Settings
from shardy.errors import ShardyError

console = Console()


def settings() -> Settings:
    """The settings from the environment (SHARDY_*); a bad one ends the command clearly."""
    try:
        return Settings.from_env()
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc


def app() -> Any:
    """The Shardy Celery app of a command that needs the broker running."""
    from shardy.api import Client
    from shardy.embedded import require_broker

    current = settings()
    try:
        require_broker(current)
    except ShardyError as exc:
        raise click.ClickException(str(exc)) from exc
    return Client(current).app
