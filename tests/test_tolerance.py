"""Float kernels on a mixed fleet: replicas that differ by rounding reach quorum by tolerance,
one that differs beyond it is refused; the verified output is the orchestrator's element-wise
median of the agreeing cluster (no one worker's output), within tolerance of float64."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster, with_votes
from sqlalchemy import select

from shardy.blobs import BlobRef
from shardy.kernels import registry
from shardy.store import Replica

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    noise = {
        1: {"SHARDY_TEST_FLOAT_NOISE": "ulp"},
        2: {"SHARDY_TEST_FLOAT_NOISE": "far"},
        3: {"SHARDY_TEST_FLOAT_NOISE": "mixed"},
    }
    yield from start_cluster(
        make_settings(short_home(), redundancy_factor=4, quorum=3, max_replicas=4),
        workers=4,
        worker_env=noise,
        worker_modules={i: ["behaviour_float_noise"] for i in noise},
    )


def test_rounding_differences_agree_and_an_outlier_is_refused(cluster):
    m, n, k = 24, 20, 16
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    payload = np.concatenate([a.ravel(), b.ravel()]).astype("<f4").tobytes()
    params = {"m": m, "n": n, "k": k}
    res = cluster.client.submit("matmul_f32", payload, params=params).get(timeout=120)
    res = with_votes(cluster.client, res, 4)

    kernel = registry.get("matmul_f32")
    tol = kernel.determinism
    expected = kernel.reference(payload, kernel.resolve_params(params), 0)
    assert np.allclose(res.output, expected, atol=tol.atol, rtol=tol.rtol)
    by_worker = {a.worker_id.split("@")[0]: a for a in res.attestations}
    assert by_worker["gpu0"].agrees and by_worker["gpu1"].agrees  # one ulp apart: agree
    assert by_worker["gpu3"].agrees  # within tolerance too, pulling its own way
    assert by_worker["gpu0"].digest != by_worker["gpu1"].digest  # yet not bit-identical
    assert by_worker["gpu2"].agrees is False  # 0.5 off: refused
    assert all(a.valid for a in res.attestations)  # every proof is fine: it is the value
    # the verified output is the element-wise median of the agreeing outputs, with its own
    # digest: nobody's output is taken whole (the review's biased worker won every task so)
    outputs = [np.frombuffer(cluster.app.blobs.get(BlobRef(a.digest, 4 * m * n)), "<f4")
               for a in res.attestations if a.agrees]  # fmt: skip
    median = np.median(np.stack(outputs), axis=0).astype("<f4")
    assert np.array_equal(np.asarray(res.output).ravel(), median)
    assert res.digest == hashlib.sha256(median.tobytes()).hexdigest()
    assert res.digest not in {a.digest for a in res.attestations}
    with cluster.app.store.session() as s:
        verdicts = {
            r.worker_id.split("@")[0]: r.verdict
            for r in s.scalars(select(Replica).where(Replica.task_id == res.task_id))
        }
    assert verdicts == {"gpu0": "agree", "gpu1": "agree", "gpu2": "disagree", "gpu3": "agree"}
