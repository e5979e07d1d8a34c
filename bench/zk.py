"""Groth16 (BLS12-381) benchmark: Shardy's prover and verifier against snarkjs, same circuit.

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
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shardy.zk import (  # noqa: E402
    attestation_inputs,
    batch_verify,
    load_circuit,
    load_vkey,
    new_worker_secret,
    prove,
    verify,
)
from shardy.zk.prover import prove_witness  # noqa: E402

BUILD = ROOT / "circuits" / "build"


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


def main() -> None:
    """Measure and print the ratio table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    n = args.iterations

    circuit = load_circuit(BUILD)
    vkey = load_vkey(circuit.vkey_json)
    secret = new_worker_secret()
    inputs = attestation_inputs(uuid.uuid4(), 7, 4096, "ab" * 32, secret)

    js = snarkjs_figures(inputs, n)

    witness = circuit.witness(inputs)
    proof, public = prove(circuit, inputs)
    ours = {
        "fullprove_ms": median_ms(lambda: prove(circuit, inputs), n),
        "prove_ms": median_ms(lambda: prove_witness(circuit.proving_key, witness), n),
        "witness_ms": median_ms(lambda: circuit.witness(inputs), n),
        "verify_ms": median_ms(lambda: verify(vkey, proof, public), n),
    }
    assert verify(circuit.vkey_json, proof, public)
    items = [prove(circuit, {**inputs, "seed": s}) for s in range(256)]
    for size in (64, 256):
        batch = items[:size]
        assert batch_verify(vkey, batch)
        ours[f"batch{size}_ms"] = median_ms(lambda b=batch: batch_verify(vkey, b), max(3, n // 4))

    rows = [
        ("prove from inputs (witness + proof)", ours["fullprove_ms"], js["fullprove_ms"], 0.25),
        ("prove from witness", ours["prove_ms"], js["prove_ms"], None),
        ("verify (one proof)", ours["verify_ms"], js["verify_ms"], 0.10),
        ("batch verify, per proof (64)", ours["batch64_ms"] / 64, js["verify_ms"], 0.03),
        ("batch verify, per proof (256)", ours["batch256_ms"] / 256, js["verify_ms"], 0.03),
    ]
    print(f"Groth16 BLS12-381 attestation circuit ({circuit.proving_key.n_vars} wires, "
          f"domain {circuit.proving_key.domain_size}); medians of {n} runs")  # fmt: skip
    print(f"{'operation':38} {'shardy ms':>10} {'snarkjs ms':>11} {'ratio':>7} {'target':>7}")
    for name, mine, theirs, target in rows:
        goal = f"≤{target:.2f}" if target else "-"
        print(f"{name:38} {mine:10.2f} {theirs:11.2f} {mine / theirs:7.3f} {goal:>7}")
    print(f"(witness alone: {ours['witness_ms']:.2f} ms; batch of 64: {ours['batch64_ms']:.1f} ms, "
          f"of 256: {ours['batch256_ms']:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
