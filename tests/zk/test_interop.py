"""Shardy ↔ snarkjs: each side verifies the other's proofs and rejects tampered ones, under
both attestation statement versions (circuits/build: v1, circuits/build-v2: v2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shardy import statement
from shardy.statement import Subject
from shardy.zk import Circuit, attestation_inputs, load_circuit, prove, verify

ROOT = Path(__file__).resolve().parents[2]
BUILDS = {1: ROOT / "circuits" / "build", 2: ROOT / "circuits" / "build-v2"}
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TASK = "3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="module", params=sorted(BUILDS), ids=lambda v: f"statement-v{v}")
def build_dir(request) -> Path:
    return BUILDS[request.param]


@pytest.fixture(scope="module")
def circuit(build_dir: Path) -> Circuit:
    return load_circuit(build_dir)


@pytest.fixture(scope="module")
def vkey_json(build_dir: Path) -> dict[str, Any]:
    return json.loads((build_dir / "vkey.json").read_text())


@pytest.fixture(scope="module")
def inputs(circuit: Circuit) -> dict[str, int]:
    if circuit.statement == statement.V1:
        return attestation_inputs(TASK, 7, 4096, DIGEST, 123456789)
    subject = Subject(TASK, 7, 4096, "histogram", {"bins": 16}, "ab" * 32)
    return statement.replica_inputs(statement.V2, subject, DIGEST, 123456789, 1, 2)


@pytest.fixture(scope="module")
def proved(circuit: Circuit, inputs: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    return prove(circuit, inputs)


def _tamper_signal(public: list[str]) -> list[str]:
    return [str(int(public[0]) + 1), *public[1:]]


def test_shardy_proof_passes_snarkjs_and_tampering_fails(
    proved: tuple[dict[str, Any], list[str]], snarkjs, tmp_path: Path, build_dir: Path
) -> None:
    proof, public = proved
    vkey = str(build_dir / "vkey.json")
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "public.json").write_text(json.dumps(public))
    (tmp_path / "bad_public.json").write_text(json.dumps(_tamper_signal(public)))
    ok = snarkjs("groth16", "verify", vkey, "public.json", "proof.json")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = snarkjs("groth16", "verify", vkey, "bad_public.json", "proof.json")
    assert bad.returncode != 0 and "Invalid proof" in bad.stdout + bad.stderr


def test_snarkjs_proof_passes_shardy_and_tampering_fails(
    inputs: dict[str, int], snarkjs, tmp_path: Path, build_dir: Path, vkey_json: dict[str, Any]
) -> None:
    (tmp_path / "in.json").write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
    run = snarkjs("groth16", "fullprove", "in.json", str(build_dir / "attestation.wasm"),
                  str(build_dir / "attestation.zkey"), "proof.json", "public.json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    proof = json.loads((tmp_path / "proof.json").read_text())
    public = json.loads((tmp_path / "public.json").read_text())
    assert verify(vkey_json, proof, public) is True
    assert verify(vkey_json, proof, _tamper_signal(public)) is False
    swapped = copy.deepcopy(proof)
    swapped["pi_a"], swapped["pi_c"] = proof["pi_c"], proof["pi_a"]
    assert verify(vkey_json, swapped, public) is False


def test_proofs_are_randomised(circuit: Circuit, inputs: dict[str, int],
                               vkey_json: dict[str, Any]) -> None:  # fmt: skip
    (p1, s1), (p2, s2) = prove(circuit, inputs), prove(circuit, inputs)
    assert s1 == s2 and p1["pi_a"] != p2["pi_a"]
    assert verify(vkey_json, p1, s1) and verify(vkey_json, p2, s2)
    mixed = {**p1, "pi_c": p2["pi_c"]}
    assert verify(vkey_json, mixed, s1) is False


def test_each_public_input_is_bound(proved, vkey_json: dict[str, Any]) -> None:
    proof, public = proved
    assert verify(vkey_json, proof, public) is True
    for index in range(len(public)):
        changed = list(public)
        changed[index] = str(int(changed[index]) ^ 1)
        assert verify(vkey_json, proof, changed) is False, index


def test_the_version_2_statement_is_what_it_says(circuit: Circuit, proved) -> None:
    """v2: the statement signal is 2 and the circuit refuses any other; the digest's last byte
    is bound (v1 kept only the top 248 bits)."""
    from shardy.errors import ProofError

    if circuit.statement != statement.V2:
        pytest.skip("version 2 only")
    _, public = proved
    assert public[0] == "2" and int(public[3]) << 128 | int(public[4]) == int(DIGEST, 16)
    wrong = {**statement.inputs_for(public, 123456789), "statement": 3}
    with pytest.raises(ProofError, match="witness computation failed"):
        prove(circuit, wrong)
