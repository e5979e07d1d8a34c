"""Float kernels on a mixed fleet: replicas that differ by rounding reach quorum by tolerance,
one that differs beyond it is refused; the result stays within tolerance of float64."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_support import make_settings, short_home, start_cluster
from sqlalchemy import select

from shardy.kernels import registry
from shardy.store import Replica

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    noise = {1: {"SHARDY_TEST_FLOAT_NOISE": "ulp"}, 2: {"SHARDY_TEST_FLOAT_NOISE": "far"}}
    yield from start_cluster(
        make_settings(short_home(), max_replicas=3),
        workers=3,
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

    kernel = registry.get("matmul_f32")
    tol = kernel.determinism
    expected = kernel.reference(payload, kernel.resolve_params(params), 0)
    assert np.allclose(res.output, expected, atol=tol.atol, rtol=tol.rtol)
    by_worker = {a.worker_id.split("@")[0]: a for a in res.attestations}
    assert by_worker["gpu0"].agrees and by_worker["gpu1"].agrees  # one ulp apart: agree
    assert by_worker["gpu0"].digest != by_worker["gpu1"].digest  # yet not bit-identical
    assert by_worker["gpu2"].agrees is False  # 0.5 off: refused
    assert all(a.valid for a in res.attestations)  # every proof is fine: it is the value
    with cluster.app.store.session() as s:
        verdicts = {
            r.worker_id.split("@")[0]: r.verdict
            for r in s.scalars(select(Replica).where(Replica.task_id == res.task_id))
        }
    assert verdicts == {"gpu0": "agree", "gpu1": "agree", "gpu2": "disagree"}
