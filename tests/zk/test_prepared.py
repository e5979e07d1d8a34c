"""A worker's prepared proving key (shardy.zk.prepared): the proof it makes is the plain
prover's, bit for bit, for the same randomness; snarkjs accepts it; a witness that leaves the
fixed part it was prepared for is never proven with the wrong fixed part."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path

import pytest

from shardy import statement
from shardy.statement import Subject
from shardy.zk import load_circuit, prove, verify
from shardy.zk.circuit import Circuit
from shardy.zk.codec import proof_to_json
from shardy.zk.field import R
from shardy.zk.poseidon import commitment
from shardy.zk.prepared import Preparations, prepare
from shardy.zk.prover import prove_with

ROOT = Path(__file__).resolve().parents[2]
V1, V2 = ROOT / "circuits" / "build", ROOT / "circuits" / "build-v2"


@pytest.fixture(scope="module")
def v2() -> Circuit:
    return load_circuit(V2)


def replica(circuit: Circuit, secret: int, output_len: int = 1024) -> dict[str, int]:
    """An honest replica attestation's inputs for a fresh task and digest."""
    subject = Subject(str(uuid.uuid4()), secrets.randbelow(1 << 63), output_len, "histogram",
                      {"bins": 16}, secrets.token_hex(32))  # fmt: skip
    return statement.replica_inputs(circuit.statement, subject, secrets.token_hex(32), secret,
                                    secrets.randbelow(8), secrets.randbelow(4))  # fmt: skip


def batch(circuit: Circuit, secret: int, size: int) -> dict[str, int]:
    return statement.batch_inputs(circuit.statement, str(uuid.uuid4()), size,
                                  secrets.token_hex(32), secret)  # fmt: skip


def signals(circuit: Circuit, witness: list[int]) -> list[str]:
    return [str(v) for v in witness[1 : circuit.proving_key.n_public + 1]]


def test_a_prepared_proof_is_the_plain_proof_for_the_same_randomness(v2: Circuit) -> None:
    secret = secrets.randbelow(R)
    first = v2.witness(replica(v2, secret))
    wires = v2._varying(replica(v2, secret), first)
    assert wires is not None and 0 < len(wires) <= 8  # the replica's inputs and their squares
    prepared = prepare(v2.proving_key, first, wires)
    assert prepared is not None
    for inputs in (replica(v2, secret), batch(v2, secret, 1), batch(v2, secret, 32)):
        witness = v2.witness(inputs)
        r, s = secrets.randbelow(R), secrets.randbelow(R)
        fast = prepared.prove(witness, r, s)
        plain = prove_with(v2.proving_key, witness, r, s)
        assert fast is not None and (fast.a, fast.b, fast.c) == (plain.a, plain.b, plain.c)
        assert verify(v2.vkey_json, proof_to_json(fast), signals(v2, witness))


def test_snarkjs_accepts_a_prepared_proof_and_refuses_it_for_other_signals(
    snarkjs, tmp_path: Path
) -> None:
    circuit = load_circuit(V2)
    secret = secrets.randbelow(R)
    prove(circuit, replica(circuit, secret))  # prepares
    proof, public = prove(circuit, replica(circuit, secret))
    assert circuit.preparations._entries  # the second proof went the prepared way
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "public.json").write_text(json.dumps(public))
    other = [*public[:-2], str(int(public[-2]) ^ 1), public[-1]]
    (tmp_path / "other.json").write_text(json.dumps(other))
    ok = snarkjs("groth16", "verify", str(V2 / "vkey.json"), "public.json", "proof.json")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = snarkjs("groth16", "verify", str(V2 / "vkey.json"), "other.json", "proof.json")
    assert bad.returncode != 0


def test_a_witness_outside_the_fixed_part_is_proven_plainly_then_prepared_again(v2) -> None:
    """Prepared for too few varying wires (one left out), a witness that moves that wire must
    not be proven with the stale fixed value: the preparation is rebuilt with it, and after
    REBUILDS misses the fixed part's proofs go the plain way."""
    secret = secrets.randbelow(R)
    inputs = replica(v2, secret)
    witness = v2.witness(inputs)
    wires = v2._varying(inputs, witness)
    assert wires
    dropped = max(wires)
    preparations = Preparations(v2.proving_key)
    key = ("worker", secret)

    def too_few() -> set[int]:
        return wires - {dropped}

    for round_ in range(Preparations.REBUILDS + 2):
        inputs = replica(v2, secret)
        witness = v2.witness(inputs)
        proof = preparations.prove(key, witness, too_few)
        assert verify(v2.vkey_json, proof_to_json(proof), signals(v2, witness)), round_
        prepared, rebuilds = preparations._entries[key]
        if round_ == 0:
            assert prepared is not None and dropped not in prepared.varying and rebuilds == 0
        else:  # every new replica moves the dropped wire: rebuilt once, with it in V
            assert prepared is not None and dropped in prepared.varying and rebuilds == 1
    # a different wire moves on every rebuild: after REBUILDS, plain proofs for good
    stale = Preparations(v2.proving_key)
    for round_ in range(Preparations.REBUILDS + 2):
        witness = v2.witness(replica(v2, secret))
        stale._entries[key] = [prepare(v2.proving_key, witness, set()), round_]
        moved = v2.witness(replica(v2, secret))
        proof = stale.prove(key, moved, too_few)
        assert verify(v2.vkey_json, proof_to_json(proof), signals(v2, moved))
        prepared, rebuilds = stale._entries[key]
        assert (prepared is None) == (round_ >= Preparations.REBUILDS)


def test_each_worker_secret_has_its_own_preparation(v2: Circuit) -> None:
    """Two workers sharing a process (and a circuit) never prove with each other's fixed part;
    the least recently used preparation is dropped beyond the limit."""
    circuit = load_circuit(V2)
    secrets_ = [secrets.randbelow(R) for _ in range(circuit.preparations.limit + 1)]
    for secret in [*secrets_, secrets_[-1], secrets_[0]]:
        proof, public = prove(circuit, replica(circuit, secret))
        assert verify(circuit.vkey_json, proof, public)
        assert public[-1] == str(commitment(secret))
    kept = [key[2] for key in circuit.preparations._entries]
    assert len(kept) == circuit.preparations.limit and kept[-1] == secrets_[0]
    assert secrets_[1] not in kept


def test_a_key_whose_witness_moves_in_many_wires_is_proven_plainly() -> None:
    """Version 1 range-checks outputLen bit by bit: 32 more wires move with it, more quadratic
    terms than a preparation is worth; its proofs go the plain way and still verify."""
    circuit = load_circuit(V1)
    secret = secrets.randbelow(R)
    for output_len in (1024, 4096, 7):
        proof, public = prove(circuit, replica(circuit, secret, output_len))
        assert verify(circuit.vkey_json, proof, public)
    assert [entry[0] for entry in circuit.preparations._entries.values()] == [None]


def test_threads_proving_on_one_circuit_at_once_each_get_a_valid_proof(v2: Circuit) -> None:
    """A worker's threads (K = 1 replicas) prove on its one circuit at once: every proof
    verifies with its own signals. Without the circuit's lock the witness calculator mixed
    the calls' inputs ("witness computation failed", signals of another call)."""
    from concurrent.futures import ThreadPoolExecutor

    from shardy.zk import prove_checked

    secret = secrets.randbelow(R)
    fresh = load_circuit(V2)  # unprepared: the first proofs prepare the key meanwhile
    inputs = [replica(fresh, secret) for _ in range(12)]
    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda i: prove_checked(fresh, i), inputs))
    for proof, public in done:  # prove_checked returns only the signals of its own inputs
        assert verify(fresh.vkey_json, proof, public)
    assert len({tuple(public) for _, public in done}) == len(inputs)
