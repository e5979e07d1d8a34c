"""Groth16 attestations on BLS12-381: Circom circuit, snarkjs-compatible keys and proofs.

Modules: ``field`` (Fr/Fq, NTTs), ``poseidon`` (hash; constants from ``poseidon_params``),
``data`` (proof and key structures), ``codec`` (snarkjs JSON), ``zkey`` (binary proving key),
``witness`` (circom witness wasm under wasmtime), ``prover``, ``verifier`` (one proof),
``batch`` (many proofs in one check), ``circuit`` (loading a build directory; ``prove_checked``,
a worker's prove-then-check), ``inputs`` (task data → field elements).
"""

from shardy.zk.batch import batch_verify, find_invalid
from shardy.zk.circuit import (
    PRIVATE_INPUTS,
    PUBLIC_INPUTS,
    Circuit,
    load_circuit,
    prove,
    prove_checked,
)
from shardy.zk.data import Proof, ProvingKey, VerifyingKey
from shardy.zk.field import R as FIELD_MODULUS
from shardy.zk.inputs import (
    attestation_inputs,
    digest_to_field,
    new_worker_secret,
    public_signals,
    task_id_to_field,
)
from shardy.zk.poseidon import commitment, poseidon
from shardy.zk.verifier import load_vkey, verify

__all__ = [
    "FIELD_MODULUS",
    "PRIVATE_INPUTS",
    "PUBLIC_INPUTS",
    "Circuit",
    "Proof",
    "ProvingKey",
    "VerifyingKey",
    "attestation_inputs",
    "batch_verify",
    "commitment",
    "digest_to_field",
    "find_invalid",
    "load_circuit",
    "load_vkey",
    "new_worker_secret",
    "poseidon",
    "prove",
    "prove_checked",
    "public_signals",
    "task_id_to_field",
    "verify",
]
