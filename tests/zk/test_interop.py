"""Shardy ↔ snarkjs: each side verifies the other's proofs and rejects tampered ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shardy.zk import Circuit, prove, verify


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


@pytest.mark.parametrize("field", ["taskId", "seed", "outputLen", "resultDigest"])
def test_each_public_input_is_bound(proved, vkey_json: dict[str, Any], field: str) -> None:
    proof, public = proved
    index = ["taskId", "seed", "outputLen", "resultDigest"].index(field)
    changed = list(public)
    changed[index] = str(int(changed[index]) ^ 1)
    assert verify(vkey_json, proof, public) is True
    assert verify(vkey_json, proof, changed) is False
