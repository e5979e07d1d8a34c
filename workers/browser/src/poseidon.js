// Poseidon over BLS12-381's scalar field (t = 2, x^5; circomlib's convention), as
// shardy/zk/poseidon.py: the worker commitment H(workerSecret) the attestation circuit checks.
import { ProofError } from "./errors.js";
import { R } from "./field.js";
import { ALPHA, FULL_ROUNDS, MDS, PARTIAL_ROUNDS, ROUND_CONSTANTS } from "./poseidon_constants.js";

function pow5(x) {
  const x2 = (x * x) % R;
  return (((x2 * x2) % R) * x) % R;
}

/** The Poseidon permutation of a width-2 state. */
export function permute([s0, s1]) {
  const [[m00, m01], [m10, m11]] = MDS;
  const half = FULL_ROUNDS / 2;
  if (ALPHA !== 5n) throw new ProofError("poseidon: only x^5 is implemented");
  for (let rnd = 0; rnd < FULL_ROUNDS + PARTIAL_ROUNDS; rnd++) {
    s0 = pow5((s0 + ROUND_CONSTANTS[2 * rnd]) % R);
    s1 = (s1 + ROUND_CONSTANTS[2 * rnd + 1]) % R;
    if (rnd < half || rnd >= half + PARTIAL_ROUNDS) s1 = pow5(s1);
    [s0, s1] = [(m00 * s0 + m01 * s1) % R, (m10 * s0 + m11 * s1) % R];
  }
  return [s0, s1];
}

/**
 * Hash one field element: lane 0 of permute([0, x]).
 *
 * @throws {ProofError} x is not in [0, r)
 */
export function poseidon(x) {
  const v = BigInt(x);
  if (v < 0n || v >= R) throw new ProofError(`Poseidon input must be in [0, r), got ${x}`);
  return permute([0n, v])[0];
}
