"""The worker page (workers/browser/page): its committed bundle matches its sources, the
gateway's routes serve it with sha256s, and in headless Chromium (WebGPU on SwiftShader) its
outputs are bit-identical to the Python worker's (wgpu on lavapipe) for the exact kernels.

Set-up: ``npm ci --prefix workers/browser`` (run here when its node_modules is absent) and
Debian's ``chromium`` + ``chromium-driver`` (the browser tests skip without them).
"""

from __future__ import annotations

import hashlib
import json
import runpy
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import (
    BUILDS,
    chromium,
    dev_key,
    open_page,
    page_server,
    prove_in_page,
    run_in_page,
    version_in_page,
)

from shardy import statement
from shardy.kernels import registry
from shardy.keyring import default_build
from shardy.orchestrator.gateway.page import CSP, PAGE_DIR, WorkerPage
from shardy.statement import Subject
from shardy.zk import load_circuit, new_worker_secret, verify
from shardy.zk.poseidon import commitment

ROOT = Path(__file__).resolve().parents[2]
BROWSER = ROOT / "workers" / "browser"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """workers/browser with its node_modules, installed from the lockfile if absent."""
    if not (BROWSER / "node_modules" / "esbuild").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: run ./dev.sh test (it installs Node's tools)")
        run = subprocess.run(
            [npm, "ci", "--prefix", str(BROWSER), "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if run.returncode != 0:
            pytest.fail(f"`npm ci --prefix workers/browser` failed: {run.stderr.strip()[-300:]}")
    return BROWSER


def test_committed_bundle_matches_its_sources(node_modules: Path, tmp_path: Path) -> None:
    run = subprocess.run(["node", "scripts/build.mjs", "--outdir", str(tmp_path)],
                         cwd=node_modules, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    built = (tmp_path / "worker.js").read_bytes()
    committed = (PAGE_DIR / "worker.js").read_bytes()
    assert built == committed, (
        "workers/browser/page/worker.js differs from its sources: run `npm run build` in "
        "workers/browser and commit the result"
    )
    assert b'from "node:' not in built and b"require(" not in built  # browser code only


def test_the_pages_poseidon_constants_are_the_python_provers() -> None:
    script = BROWSER / "scripts" / "poseidon_constants.py"
    module = runpy.run_path(str(script))["module"]()
    assert (BROWSER / "src" / "poseidon_constants.js").read_text() == module, (
        "src/poseidon_constants.js is stale: regenerate it with scripts/poseidon_constants.py"
    )


# ---- the gateway's routes ----------------------------------------------------------------------


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with page_server() as url:
        yield url


def test_every_listed_file_is_served_with_its_sha256(server: str) -> None:
    status, _, body = _get(f"{server}/worker/manifest.json")
    assert status == 200
    files = json.loads(body)["files"]
    assert {"index.html", "worker.js", "preprocess.wasm", "shaders/histogram.wgsl",
            "shaders/sha256.wgsl", "circuit/attestation.wasm",
            "circuit/attestation.zkey"} <= set(files)  # fmt: skip
    for name, entry in files.items():
        status, headers, data = _get(f"{server}/worker/{name}")
        assert status == 200, name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == headers["X-Shardy-Sha256"]
        assert len(data) == entry["size"]
    assert (ROOT / "shaders" / "sha256.wgsl").read_bytes() == _get(
        f"{server}/worker/shaders/sha256.wgsl")[2]  # fmt: skip


def test_the_page_has_a_strict_policy_and_nothing_else_is_served(server: str) -> None:
    status, headers, body = _get(f"{server}/worker/")
    assert status == 200 and b'src="worker.js"' in body
    assert headers["Content-Security-Policy"] == CSP and "default-src 'none'" in CSP
    assert _get(f"{server}/worker")[0] == 200  # redirected to /worker/
    for name in ("../pyproject.toml", "shaders/../../pyproject.toml", "nope.js", "shaders/"):
        assert _get(f"{server}/worker/{name}")[0] == 404, name
    sha = _get(f"{server}/worker/worker.js")[1]["ETag"]
    assert _get(f"{server}/worker/worker.js", {"If-None-Match": sha})[0] == 304


def test_a_missing_bundle_names_the_build_command(tmp_path: Path) -> None:
    page = WorkerPage({"worker.js": tmp_path / "worker.js"})
    with pytest.raises(FileNotFoundError, match="npm run build"):
        _ = page.assets
    with page_server(page) as url:
        status, _, body = _get(f"{url}/worker/")
        assert status == 503 and b"npm run build" in body


# ---- outputs in Chromium against the Python worker ---------------------------------------------


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    """The worker page, ready, in headless Chromium."""
    with chromium() as driver:
        state = open_page(driver, f"{server}/worker/")
        assert "swiftshader" in state["adapter"].lower() or state["adapter"]
        yield driver


@pytest.fixture(scope="module")
def gpu() -> Any:
    from shardy.workers.gpu import GPU

    return GPU()


SIZES = (0, 1, 63, 1000, 4097, 65_539, 300_001)
MANDELBROT = {"width": 61, "height": 37, "x0": -1.9, "y0": -1.1, "step": 0.05, "max_iter": 200}
CUSTOM_FILTER = {"width": 37, "height": 23, "weights": [1, -2, 3, -4, 5, -4, 3, -2, 1], "mul": 3,
                 "shift": 2, "abs": 1}  # fmt: skip
#: (kernel, params, payload sizes): every built-in exact kernel, on the layouts its WGSL
#: distinguishes.
CASES = [
    ("histogram", {}, SIZES),
    ("sha256", {}, SIZES),  # 4096-byte blocks: vec4 loads
    ("sha256", {"block": 55}, SIZES),  # blocks off word boundaries: byte-built words
    ("ema_sha256", {"alpha": 0.3, "dtype": "u8"}, SIZES),  # the page's wasm preprocessor
    ("ema_sha256", {"alpha": 0.5, "dtype": "i16"}, (2, 4098)),
    ("mandelbrot", MANDELBROT, (0,)),
    ("montecarlo_pi", {"samples": 300_000, "offset": 7}, (0, 5)),
    ("conv2d_u8", {"width": 64, "height": 33}, (64 * 33,)),  # rows of whole vec4s
    ("conv2d_u8", {"width": 20, "height": 9, "filter": "sobel_x"}, (180,)),  # whole words
    ("conv2d_u8", CUSTOM_FILTER, (37 * 23,)),  # one word per item
]


def _python_worker(gpu: Any, name: str, payload: bytes, params: dict, seed: int) -> bytes:
    """What the Python worker computes: the preprocessor under wasmtime, then wgpu."""
    from shardy.workers.preprocess import Preprocessor

    kernel = registry.get(name)
    plan = kernel.make_plan(len(payload), params, seed)
    data = payload
    if kernel.preprocessor is not None:
        data = Preprocessor().run(kernel.preprocessor, payload, kernel.preprocess_args(params),
                                  seed)  # fmt: skip
    return bytes(gpu.run(kernel, data, plan, params=params, seed=seed))


@pytest.mark.cluster
@pytest.mark.parametrize(("name", "params", "sizes"), CASES)
def test_page_outputs_are_bit_identical_to_the_python_worker(page, gpu, name, params, sizes):
    kernel = registry.get(name)
    for n in sizes:
        rng = np.random.default_rng(n)
        payload = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        seed = int(rng.integers(0, 2**63)) * 2 + 1  # above 2**53: a BigInt in the page
        expected = _python_worker(gpu, name, payload, params, seed)
        oracle = kernel.reference(payload, kernel.resolve_params(params), seed)
        assert expected == oracle.tobytes()
        got = run_in_page(page, name, payload, params, seed)
        assert "error" not in got, (name, n, got)
        assert got["output"] == expected, (name, n)
        assert got["digest"] == hashlib.sha256(expected).hexdigest()


@pytest.mark.cluster
def test_the_float_kernel_agrees_within_its_tolerance(page, gpu) -> None:
    m, n, k = 70, 130, 45
    rng = np.random.default_rng(5)
    payload = rng.standard_normal(m * k + k * n).astype("<f4").tobytes()
    params = {"m": m, "n": n, "k": k}
    expected = np.frombuffer(_python_worker(gpu, "matmul_f32", payload, params, 1), "<f4")
    got = run_in_page(page, "matmul_f32", payload, params, 1)
    assert "error" not in got, got
    ours = np.frombuffer(got["output"], "<f4")
    tol = registry.get("matmul_f32").determinism
    assert np.allclose(ours, expected, atol=tol.atol, rtol=tol.rtol)


def test_the_default_key_is_version_2() -> None:
    assert default_build() == BUILDS[2]
    assert {v: load_circuit(b).statement for v, b in BUILDS.items()} == {1: 1, 2: 2}


@pytest.mark.cluster
@pytest.mark.parametrize("version", sorted(BUILDS))
def test_the_pages_proofs_verify_in_shardys_verifier(page, version: int) -> None:
    kid, _ = dev_key(BUILDS[version])
    vkey = load_circuit(BUILDS[version]).vkey_json
    assert version_in_page(page, kid) == version  # from the served vkey's nPublic
    digest = hashlib.sha256(b"a replica's output").hexdigest()
    secret = new_worker_secret()
    subject = Subject("6f1c9f0e-8d2a-4b8e-9f3e-2a1b0c9d8e7f", 2**63 + 1, 4096, "histogram",
                      {"bins": 256}, hashlib.sha256(b"payload").hexdigest())  # fmt: skip
    inputs = statement.replica_inputs(version, subject, digest, secret, 2, 1)
    expected = subject.signals(version, digest, str(commitment(secret)), 2, 1)
    for _ in range(2):  # the first proof also fetches the key and builds its tables
        got = prove_in_page(page, kid, inputs)
        assert "error" not in got, got
        assert got["publicSignals"] == expected
        assert verify(vkey, got["proof"], got["publicSignals"])
    digest_at = {1: 3, 2: 4}[version]  # resultDigest, digestLo
    forged = list(got["publicSignals"])
    forged[digest_at] = str(int(forged[digest_at]) ^ 1)
    assert not verify(vkey, got["proof"], forged)
    if version == 2:  # a version 2 proof of one replica fits no other replica
        other = subject.signals(version, digest, str(commitment(secret)), 2, 2)
        assert not verify(vkey, got["proof"], other)
    bad = prove_in_page(page, "0123456789abcdef", inputs)["error"]
    assert bad.startswith("ProofError") and "not published" in bad
    other_version = 3 - version  # the other version's inputs do not fit this key
    wrong = statement.replica_inputs(other_version, subject, digest, secret, 2, 1)
    assert prove_in_page(page, kid, wrong)["error"].startswith("ProofError")


@pytest.mark.cluster
def test_page_refuses_what_the_python_worker_refuses(page) -> None:
    assert run_in_page(page, "nope", b"x", {}, 0)["error"].startswith("KernelError")
    assert "no parameter(s) colour" in run_in_page(page, "sha256", b"x", {"colour": 1}, 0)["error"]
    bad = run_in_page(page, "sha256", b"x", {"block": 0}, 0)["error"]
    assert "block must be an integer in 1..16777216" in bad
    odd = run_in_page(page, "ema_sha256", b"abc", {"dtype": "u16"}, 0)["error"]
    assert "divisible by 2" in odd
