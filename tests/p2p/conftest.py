"""Fixtures for the p2p tests: a real embedded Redis and short scratch directories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from p2p_support import short_dir

from shardy.config import Settings
from shardy.embedded import EmbeddedRedis


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = short_dir()
    yield path
    if not os.environ.get("SHARDY_P2P_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def redis_url(scratch: Path) -> Iterator[str]:
    with EmbeddedRedis(Settings(home=scratch / "r")) as server:
        yield f"unix://{server.socket}"
