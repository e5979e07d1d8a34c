"""A task whose round vanished (never sent, or its chord failed) is re-sent by the sweeper."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster

from shardy.kernels import registry
from shardy.store import Task
from shardy.store.models import utcnow

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    yield from start_cluster(make_settings(short_home(), stale_after=5), workers=3)


def test_a_task_whose_round_vanished_is_resent_and_verified(cluster):
    data = np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    kernel = registry.get("histogram")
    # warm every worker up first (device, shaders, prover: ~4 s on the 2-core VM), so the fresh
    # round below takes well under the 5 s silence window and is not re-sent for being slow
    cluster.client.submit("histogram", data[:100]).get(timeout=120)
    ref = cluster.app.blobs.put(data)
    task_id = str(uuid.uuid4())
    with cluster.app.store.session() as s:  # as dispatch writes it, but no chord ever sent
        s.add(
            Task(
                id=task_id,
                kernel="histogram",
                seed=0,
                output_len=1024,
                params={},
                payload_sha256=ref.sha256,
                payload_size=ref.size,
                redundancy=3,
                quorum=2,
                max_replicas=6,
                replicas_sent=3,
                rounds_sent=1,
                rounds_settled=0,
                state="running",
                agreeing=0,
                published=False,
                updated_at=utcnow() - timedelta(seconds=60),
            )  # fmt: skip
        )
    res = cluster.client.handle(task_id).get(timeout=120)
    assert np.array_equal(res.output, kernel.reference(data, {}, 0))
    with cluster.app.store.session() as s:
        task = s.get(Task, task_id)
        assert task.rounds_sent == 2 and task.replicas_sent == 6  # one fresh round, no more
    assert sorted(a.replica for a in res.attestations) == [3, 4, 5]
