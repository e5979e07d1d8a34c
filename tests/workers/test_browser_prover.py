"""The browser worker's prover (workers/browser: JavaScript on @noble/curves) against Shardy's
verifier and snarkjs: its proofs pass both, and a tampered proof or signal fails both.

Set-up: ``npm ci --prefix workers/browser`` (run here when its node_modules is absent, as
dev.sh does) and ``npm ci --prefix circuits`` for snarkjs (a failure names the command).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from shardy.zk import (
    attestation_inputs,
    batch_verify,
    find_invalid,
    load_circuit,
    new_worker_secret,
    public_signals,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
BROWSER = ROOT / "workers" / "browser"
BUILD = ROOT / "circuits" / "build"
SNARKJS = ROOT / "circuits" / "node_modules" / ".bin" / "snarkjs"


@pytest.fixture(scope="module")
def browser_prover() -> Path:
    """workers/browser with its node_modules, installed from the lockfile if absent."""
    if not (BROWSER / "node_modules" / "@noble" / "curves").is_dir():
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


@pytest.fixture(scope="module")
def inputs() -> dict[str, int]:
    """A replica's real attestation inputs: a fresh task, digest and worker secret."""
    digest = hashlib.sha256(b"browser worker output").hexdigest()
    return attestation_inputs(uuid.uuid4(), seed=2**63 + 5, output_len=65536,
                              result_digest=digest, worker_secret=new_worker_secret())  # fmt: skip


@pytest.fixture(scope="module")
def browser_run(browser_prover: Path, inputs: dict[str, int], tmp_path_factory) -> dict[str, Any]:
    """The page's witness and two proofs of the same inputs, from scripts/prove.mjs: the first
    on one thread, the second with π_A and π_B from its helper thread."""
    path = tmp_path_factory.mktemp("browser") / "input.json"
    path.write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
    run = subprocess.run(
        ["node", "scripts/prove.mjs", str(BUILD), str(path), "2"],
        cwd=browser_prover, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def vkey_json() -> dict[str, Any]:
    return json.loads((BUILD / "vkey.json").read_text())


@pytest.fixture()
def snarkjs_verify(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`snarkjs groth16 verify` in its own process (GPL: a checker only); True when it says OK."""
    if not SNARKJS.exists():
        pytest.fail("circuits/node_modules is absent: run `npm ci --prefix circuits`")

    def check(proof: dict[str, Any], public: list[str]) -> bool:
        (tmp_path / "proof.json").write_text(json.dumps(proof))
        (tmp_path / "public.json").write_text(json.dumps(public))
        run = subprocess.run(
            [str(SNARKJS), "groth16", "verify", str(BUILD / "vkey.json"), "public.json",
             "proof.json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        out = run.stdout + run.stderr
        if run.returncode == 0 and "OK" in out:
            return True
        assert "Invalid proof" in out, out  # a rejection, not a crash
        return False

    return check


def _tampered_signals(public: list[str]) -> list[str]:
    return [public[0], str(int(public[1]) ^ 1), *public[2:]]


def test_page_witness_equals_the_python_witness(browser_run, inputs: dict[str, int]) -> None:
    circuit = load_circuit(BUILD)
    assert [int(v) for v in browser_run["witness"]] == circuit.witness(inputs)


@pytest.mark.parametrize("index", [0, 1], ids=["one-thread", "helper-thread"])
def test_page_proof_passes_shardy_and_snarkjs_and_tampering_fails_both(
    browser_run, inputs: dict[str, int], vkey_json: dict[str, Any], snarkjs_verify, index: int
) -> None:
    first, second = browser_run["proofs"][index], browser_run["proofs"][1 - index]
    assert first["threads"] == index + 1
    proof, public = first["proof"], first["publicSignals"]
    assert public == public_signals(inputs)
    bad_public = _tampered_signals(public)
    mixed = {**proof, "pi_c": second["proof"]["pi_c"]}  # a valid proof's part in another
    swapped = copy.deepcopy(proof)
    swapped["pi_a"], swapped["pi_c"] = proof["pi_c"], proof["pi_a"]

    # accept and reject side by side, in both verifiers
    assert verify(vkey_json, proof, public) is True
    assert snarkjs_verify(proof, public) is True
    assert verify(vkey_json, proof, bad_public) is False
    assert snarkjs_verify(proof, bad_public) is False
    assert verify(vkey_json, mixed, public) is False
    assert snarkjs_verify(mixed, public) is False
    assert verify(vkey_json, swapped, public) is False


def test_page_proofs_batch_verify_and_a_bad_one_is_found(
    browser_run, vkey_json: dict[str, Any]
) -> None:
    items = [(p["proof"], p["publicSignals"]) for p in browser_run["proofs"]]
    assert items[0][0]["pi_a"] != items[1][0]["pi_a"]  # fresh randomness per proof
    assert batch_verify(vkey_json, items) is True
    bad = [items[0], (items[1][0], _tampered_signals(items[1][1]))]
    assert batch_verify(vkey_json, bad) is False
    assert find_invalid(vkey_json, bad) == [1]


def test_the_prover_s_own_node_tests_pass(browser_prover: Path) -> None:
    """workers/browser/test (node --test): zkey parsing, witness errors, MSM edge cases,
    accept and reject, the helper thread, and a bundle built from its sources only."""
    run = subprocess.run(["npm", "test", "--silent"], cwd=browser_prover, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout[-1000:]
