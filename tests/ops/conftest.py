"""Fixtures of the operations tests: one real cluster shared by the Flower and metrics tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_support import RunningCluster, make_settings, short_home, start_cluster


@pytest.fixture(scope="session")
def ops_cluster() -> Iterator[RunningCluster]:
    """Embedded Redis, SQLite, the orchestrator and two GPU workers; R=2, quorum 2."""
    settings = make_settings(short_home(), redundancy_factor=2, quorum=2)
    yield from start_cluster(settings, workers=2)
