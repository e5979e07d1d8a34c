"""A built circuit (witness wasm + zkey + vkey) and the prove-from-inputs entry points."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shardy.errors import ProofError
from shardy.zk.codec import proof_to_json, vkey_from_json, vkey_to_json
from shardy.zk.data import Proof, ProvingKey, VerifyingKey
from shardy.zk.field import R
from shardy.zk.prepared import Preparations
from shardy.zk.prover import check_witness
from shardy.zk.verifier import verify
from shardy.zk.witness import WitnessCalculator
from shardy.zk.zkey import read_zkey

#: The version 1 attestation circuit's public signals, in order.
PUBLIC_INPUTS = ("taskId", "seed", "outputLen", "resultDigest", "workerCommitment")
#: The version 2 circuit's (`shardy.statement`).
PUBLIC_INPUTS_V2 = ("statement", "taskId", "orderHash", "digestHi", "digestLo", "workerCommitment")
#: The private input of both.
PRIVATE_INPUTS = ("workerSecret",)
#: The inputs that stay the same across one worker's proofs under one key; the others change
#: with every replica or batch.
STANDING_INPUTS = ("statement", "workerCommitment", "workerSecret")


def public_inputs(count: int) -> tuple[str, ...]:
    """The public input names of the attestation circuit with ``count`` public signals.

    Raises:
        ProofError: no attestation circuit has that many.
    """
    for names in (PUBLIC_INPUTS, PUBLIC_INPUTS_V2):
        if len(names) == count:
            return names
    raise ProofError(f"no attestation circuit has {count} public inputs")


@dataclass(frozen=True)
class Circuit:
    """A compiled circuit with its proving and verifying keys (one per worker). Its witness
    calculator and its preparations serve one call at a time (`lock`): a worker's threads
    (K = 1 replicas, an enrollment beside the batcher) may prove on it at once."""

    #: Directory holding ``<name>.wasm``, ``<name>.zkey`` and ``vkey.json``.
    build_dir: Path
    proving_key: ProvingKey
    verifying_key: VerifyingKey
    #: The verifying key in snarkjs JSON form (as shipped in vkey.json).
    vkey_json: dict[str, Any]
    witness_calculator: WitnessCalculator
    #: The proving key specialised to each worker's fixed witness part (`shardy.zk.prepared`).
    preparations: Preparations = field(init=False, repr=False, compare=False)
    #: Held while a witness is computed or a proof made (re-entrant: a first proof computes
    #: more witnesses to prepare the key).
    lock: threading.RLock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "preparations", Preparations(self.proving_key))
        object.__setattr__(self, "lock", threading.RLock())

    @property
    def statement(self) -> int:
        """The statement version this circuit proves (`shardy.statement.version_of`)."""
        from shardy.statement import version_of

        return version_of(self.vkey_json)

    def witness(self, inputs: Mapping[str, int | Sequence[int]]) -> list[int]:
        """The full witness for these input signals (see WitnessCalculator.calculate)."""
        with self.lock:  # the calculator's wasm memory holds one call's inputs at a time
            return self.witness_calculator.calculate(inputs)

    def prove_witness(self, inputs: Mapping[str, int], witness: Sequence[int]) -> Proof:
        """A zero-knowledge proof of ``witness``, the witness of ``inputs``.

        A worker's witnesses share every wire that does not depend on the per-replica inputs,
        so the key is specialised once per worker secret (`shardy.zk.prepared`); a proof then
        costs about a fifteenth of a plain one. The proof is the same either way.

        Raises:
            ProofError: the witness does not fit the key.
        """
        check_witness(self.proving_key, witness)
        key = tuple(inputs.get(name) for name in STANDING_INPUTS)
        with self.lock:
            return self.preparations.prove(key, witness, lambda: self._varying(inputs, witness))

    def _varying(self, inputs: Mapping[str, int], witness: Sequence[int]) -> set[int] | None:
        """The wires that move with the per-replica inputs: those that differ from ``witness``
        in the witnesses of three random draws of them (each below 2^(its bit length)). None if
        a draw has no witness (the circuit constrains them further)."""
        moving = [name for name in inputs if name not in STANDING_INPUTS]
        wires: set[int] = set()
        for _ in range(3):
            draw = {
                n: secrets.randbelow(min(1 << max(inputs[n].bit_length(), 1), R)) for n in moving
            }
            try:
                other = self.witness({**inputs, **draw})
            except ProofError:
                return None
            wires.update(i for i, (x, y) in enumerate(zip(witness, other, strict=True)) if x != y)
        return wires


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
    proof = circuit.prove_witness(inputs, witness)
    public = [str(v) for v in witness[1 : circuit.proving_key.n_public + 1]]
    return proof_to_json(proof), public


def prove_checked(circuit: Circuit, inputs: Mapping[str, int]) -> tuple[dict[str, Any], list[str]]:
    """Prove, then check the result against the key before anything leaves the worker.

    The public signals must equal the attestation inputs' own (computed without the witness
    wasm), and the proof must verify under the circuit's vkey. A witness wasm that does not match
    the key could otherwise put the private input among the public signals. Messages never
    carry signal values, and a failed witness computation's messages (which the wasm writes)
    are withheld.

    Returns:
        (proof, public_signals) in snarkjs JSON form.
    Raises:
        ProofError: the inputs are not the attestation's, the witness computation failed, or
            the signals or the proof do not match the key; nothing from it should be sent.
    """
    public_names = public_inputs(circuit.proving_key.n_public)
    names = (*public_names, *PRIVATE_INPUTS)
    if set(inputs) != set(names):
        raise ProofError(f"attestation inputs must be exactly {', '.join(names)}")
    for name in names:  # the values themselves stay out of every message
        value = inputs[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
            raise ProofError(f"attestation input {name} must be an int in [0, r)")
    expected = [str(inputs[name]) for name in public_names]
    try:
        witness = circuit.witness(inputs)
    except ProofError:
        raise ProofError(
            "witness computation failed (its messages are withheld: a witness wasm could write "
            "private inputs into them); check that workerCommitment = Poseidon(workerSecret) and "
            "every input is in range, and that the key's witness wasm is the published one"
        ) from None
    public = [str(v) for v in witness[1 : circuit.proving_key.n_public + 1]]
    if public != expected:
        differ = [n for n, a, b in zip(public_names, public, expected, strict=False) if a != b]
        raise ProofError(
            "the witness computed public signals that differ from the attestation inputs "
            f"({', '.join(differ) or 'their count'}): the circuit's witness wasm does not match "
            "its key; refusing to send. Clear the worker's key cache and republish the key with "
            "`shardy keys rotate DIR`"
        )
    proof = proof_to_json(circuit.prove_witness(inputs, witness))
    if not verify(circuit.vkey_json, proof, public):
        raise ProofError(
            "the proof does not verify under the circuit's own vkey: its witness wasm or zkey "
            "does not match vkey.json; refusing to send. Clear the worker's key cache and "
            "republish the key with `shardy keys rotate DIR`"
        )
    return proof, public
