"""Groth16 (BLS12-381) benchmark: Shardy's prover and verifier against snarkjs, same circuit.

"prove from inputs" is a worker's steady state: its key is prepared for its secret
(`shardy.zk.prepared`) on its first proof, whose cost is the "prepare" row.

    npm ci --prefix circuits && PYTHONPATH=. python bench/zk.py [--iterations 20]

snarkjs runs in its own node process (bench/zk_snarkjs.mjs, in-process JS API calls in a loop
after a warm-up); Shardy runs here. Both report the median of the timed iterations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shardy.keyring import default_build  # noqa: E402
from shardy.statement import Subject, replica_inputs  # noqa: E402
from shardy.zk import (  # noqa: E402
    batch_verify,
    load_circuit,
    load_vkey,
    new_worker_secret,
    prove,
    verify,
)
from shardy.zk.prepared import prepare  # noqa: E402
from shardy.zk.prover import prove_witness  # noqa: E402

BUILD = default_build()  # the default key (attestation statement v2)


def inputs_for(circuit, seed: int, secret: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Attestation inputs of one replica under the circuit's statement version."""
    subject = Subject("3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b", seed, 4096, "histogram", {},
                      "ab" * 32)  # fmt: skip
    return replica_inputs(circuit.statement, subject, "ab" * 32, secret, 1, 0)


def median_ms(fn: Callable[[], object], iterations: int) -> float:
    """Median wall time of fn in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def snarkjs_figures(inputs: dict[str, int], iterations: int) -> dict[str, float]:
    """Run bench/zk_snarkjs.mjs and return its medians."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps({k: str(v) for k, v in inputs.items()}))
        out = subprocess.run(
            ["node", str(ROOT / "bench" / "zk_snarkjs.mjs"), str(BUILD), str(path),
             str(iterations)],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise SystemExit("snarkjs rejected its own proof")
    return result


def measure_shardy(circuit, vkey, inputs, items, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Shardy's medians for one round."""
    witness = circuit.witness(inputs)
    proof, public = prove(circuit, inputs)
    wires = circuit._varying(inputs, witness)
    ours = {
        "fullprove_ms": median_ms(lambda: prove(circuit, inputs), n),
        "prove_ms": median_ms(lambda: prove_witness(circuit.proving_key, witness), n),
        "prepare_ms": median_ms(lambda: prepare(circuit.proving_key, witness, wires), 3),
        "witness_ms": median_ms(lambda: circuit.witness(inputs), n),
        "verify_ms": median_ms(lambda: verify(vkey, proof, public), n),
    }
    for size in (64, 256):
        batch = items[:size]
        runs = max(5, n * 64 // size)
        ours[f"batch{size}_ms"] = median_ms(lambda b=batch: batch_verify(vkey, b), runs) / size
    return ours


ROWS = [  # (label, shardy key, snarkjs key, target ratio)
    ("prove from inputs (witness + proof)", "fullprove_ms", "fullprove_ms", 0.25),
    ("prove from witness, unprepared", "prove_ms", "prove_ms", None),
    ("prepare a worker's key (once)", "prepare_ms", "fullprove_ms", None),
    ("verify (one proof)", "verify_ms", "verify_ms", 0.10),
    ("batch verify, per proof (64)", "batch64_ms", "verify_ms", 0.03),
    ("batch verify, per proof (256)", "batch256_ms", "verify_ms", 0.03),
]


def main() -> None:
    """Measure in alternating rounds (snarkjs, then Shardy) and print the ratio table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="timed runs per figure")
    parser.add_argument("--rounds", type=int, default=3, help="alternating snarkjs/Shardy rounds")
    args = parser.parse_args()
    n = args.iterations

    circuit = load_circuit(BUILD)
    vkey = load_vkey(circuit.vkey_json)
    secret = new_worker_secret()
    inputs = inputs_for(circuit, 7, secret)
    items = [prove(circuit, inputs_for(circuit, s, secret)) for s in range(256)]
    assert batch_verify(vkey, items) and verify(circuit.vkey_json, *items[0])

    rounds = []
    for _ in range(args.rounds):
        rounds.append((snarkjs_figures(inputs, n), measure_shardy(circuit, vkey, inputs, items, n)))

    pk = circuit.proving_key
    print(f"Groth16 BLS12-381 attestation circuit ({pk.n_vars} wires, domain {pk.domain_size}); "
          f"{args.rounds} alternating rounds, medians of {n} runs each")  # fmt: skip
    print(f"{'operation':38} {'shardy ms':>10} {'snarkjs ms':>11} {'ratio':>7} {'target':>7}"
          "  per-round ratios")  # fmt: skip
    for label, mine_key, js_key, target in ROWS:
        ratios = [ours[mine_key] / js[js_key] for js, ours in rounds]
        mine = statistics.median(ours[mine_key] for _, ours in rounds)
        theirs = statistics.median(js[js_key] for js, _ in rounds)
        goal = f"<={target:.2f}" if target else "-"
        per_round = " ".join(f"{r:.3f}" for r in ratios)
        print(f"{label:38} {mine:10.2f} {theirs:11.2f} {statistics.median(ratios):7.3f} "
              f"{goal:>7}  {per_round}")  # fmt: skip
    witness = statistics.median(ours["witness_ms"] for _, ours in rounds)
    print(f"(ratio = median of the per-round ratios; witness alone: {witness:.2f} ms)")


if __name__ == "__main__":
    main()
