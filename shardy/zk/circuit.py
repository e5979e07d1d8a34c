"""A built circuit (witness wasm + zkey + vkey) and the prove-from-inputs entry point."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardy.errors import ProofError
from shardy.zk.codec import proof_to_json, vkey_from_json, vkey_to_json
from shardy.zk.data import ProvingKey, VerifyingKey
from shardy.zk.prover import prove_witness
from shardy.zk.witness import WitnessCalculator
from shardy.zk.zkey import read_zkey

#: The attestation circuit's public signals, in order.
PUBLIC_INPUTS = ("taskId", "seed", "outputLen", "resultDigest", "workerCommitment")
#: Its private input.
PRIVATE_INPUTS = ("workerSecret",)


@dataclass(frozen=True)
class Circuit:
    """A compiled circuit with its proving and verifying keys (one per worker; not thread-safe)."""

    #: Directory holding ``<name>.wasm``, ``<name>.zkey`` and ``vkey.json``.
    build_dir: Path
    proving_key: ProvingKey
    verifying_key: VerifyingKey
    #: The verifying key in snarkjs JSON form (as shipped in vkey.json).
    vkey_json: dict[str, Any]
    witness_calculator: WitnessCalculator

    def witness(self, inputs: Mapping[str, int | Sequence[int]]) -> list[int]:
        """The full witness for these input signals (see WitnessCalculator.calculate)."""
        return self.witness_calculator.calculate(inputs)


def load_circuit(build_dir: str | Path, name: str = "attestation") -> Circuit:
    """Load ``<build_dir>/<name>.wasm``, ``<name>.zkey`` and ``vkey.json``.

    Raises:
        ProofError: a file is missing or malformed, or vkey.json does not match the zkey.
    """
    root = Path(build_dir)
    pk, vk_from_zkey = read_zkey(root / f"{name}.zkey")
    try:
        vkey_json = json.loads((root / "vkey.json").read_text())
    except (OSError, ValueError) as exc:
        raise ProofError(f"cannot read {root / 'vkey.json'}: {exc}") from exc
    vk = vkey_from_json(vkey_json)
    if vkey_to_json(vk) != vkey_to_json(vk_from_zkey):
        raise ProofError(f"{root / 'vkey.json'} does not belong to {root / f'{name}.zkey'}")
    wasm = root / f"{name}.wasm"
    if not wasm.is_file():
        raise ProofError(f"witness wasm {wasm} is missing; run circuits/build.sh")
    return Circuit(root, pk, vk, vkey_json, WitnessCalculator(wasm))


def prove(circuit: Circuit, inputs: Mapping[str, int]) -> tuple[dict[str, Any], list[str]]:
    """Prove the circuit on these inputs.

    Returns:
        (proof, public_signals) in snarkjs JSON form.
    Raises:
        ProofError: the inputs are incomplete, out of range or do not satisfy the circuit.
    """
    witness = circuit.witness(inputs)
    proof = prove_witness(circuit.proving_key, witness)
    public = [str(v) for v in witness[1 : circuit.proving_key.n_public + 1]]
    return proof_to_json(proof), public
