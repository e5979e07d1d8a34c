"""Witness computation under wasmtime against snarkjs `wtns calculate`, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shardy.errors import ProofError
from shardy.zk import Circuit, commitment
from shardy.zk.field import R
from shardy.zk.witness import fnv1a_64


def test_fnv1a_64_known_values() -> None:
    assert fnv1a_64("") == 0xCBF29CE484222325
    assert fnv1a_64("a") == 0xAF63DC4C8601EC8C


def test_witness_equals_snarkjs(circuit: Circuit, inputs: dict[str, int], snarkjs,
                                tmp_path: Path, build_dir: Path) -> None:  # fmt: skip
    (tmp_path / "in.json").write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
    wasm = str(build_dir / "attestation.wasm")
    assert snarkjs("wtns", "calculate", wasm, "in.json", "w.wtns").returncode == 0
    assert snarkjs("wtns", "export", "json", "w.wtns", "w.json").returncode == 0
    reference = [int(v) for v in json.loads((tmp_path / "w.json").read_text())]
    assert circuit.witness(inputs) == reference


def test_witness_layout(circuit: Circuit, inputs: dict[str, int]) -> None:
    witness = circuit.witness(inputs)
    assert witness[0] == 1
    names = ("taskId", "seed", "outputLen", "resultDigest", "workerCommitment")
    assert witness[1:6] == [inputs[n] for n in names]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workerCommitment": commitment(5)}, "assert failed"),
        ({"outputLen": 2**32}, "assert failed"),
        ({"seed": R}, r"in \[0, r\)"),
        ({"seed": -1}, r"in \[0, r\)"),
        ({"nope": 1}, "no input signal"),
    ],
)
def test_bad_inputs_raise_proof_error(circuit: Circuit, inputs: dict[str, int], change,
                                      message: str) -> None:  # fmt: skip
    expected = circuit.witness(inputs)
    with pytest.raises(ProofError, match=message):
        circuit.witness({**inputs, **change})
    assert circuit.witness(inputs) == expected  # the calculator is still usable, nothing stale


def test_missing_input_raises(circuit: Circuit, inputs: dict[str, int]) -> None:
    partial = {k: v for k, v in inputs.items() if k != "seed"}
    with pytest.raises(ProofError, match="inputs were given"):
        circuit.witness(partial)
