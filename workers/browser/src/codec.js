// snarkjs JSON ↔ @noble/curves points: proofs, verifying keys and public signals (mirrors
// shardy/zk/codec.py). Points are affine decimal strings: G1 [x, y, "1"]; G2 [[x.c0, x.c1],
// [y.c0, y.c1], ["1", "0"]]; the identity has z = 0. Parsing checks shape, range, curve and
// subgroup, and raises ProofError for anything malformed.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { ProofError } from "./errors.js";
import { P, R } from "./field.js";

const G1Point = bls12_381.G1.Point;
const G2Point = bls12_381.G2.Point;
const DECIMAL = /^[0-9]{1,116}$/;

/** A canonical decimal string (or BigInt) in [0, modulus). */
export function decimal(value, what, modulus) {
  let n;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "string" && DECIMAL.test(value)) n = BigInt(value);
  else throw new ProofError(`${what} must be a decimal string, got ${String(value).slice(0, 80)}`);
  if (n < 0n || n >= modulus) {
    throw new ProofError(`${what} = ${n} is not below the field modulus ${modulus}`);
  }
  return n;
}

function seq(value, length, what) {
  if (!Array.isArray(value) || value.length !== length) {
    throw new ProofError(`${what} must be a list of ${length} items`);
  }
  return value;
}

function checked(make, what) {
  try {
    const point = make();
    point.assertValidity(); // on the curve and in the prime-order subgroup
    return point;
  } catch (err) {
    throw new ProofError(`${what} is not a valid point: ${err.message}`, { cause: err });
  }
}

/** A snarkjs G1 point as a checked @noble/curves point. */
export function g1FromJson(value, what) {
  const [x, y, z] = seq(value, 3, what).map((v) => decimal(v, `${what} coordinate`, P));
  if (z === 0n) return G1Point.ZERO;
  if (z !== 1n) throw new ProofError(`${what} must be affine (z = 1) or the identity (z = 0)`);
  return checked(() => G1Point.fromAffine({ x, y }), what);
}

/** A snarkjs G2 point as a checked @noble/curves point. */
export function g2FromJson(value, what) {
  const [xs, ys, zs] = seq(value, 3, what).map((v) => seq(v, 2, what));
  const [x0, x1, y0, y1, z0, z1] = [...xs, ...ys, ...zs].map((v) =>
    decimal(v, `${what} coordinate`, P),
  );
  if (z0 === 0n && z1 === 0n) return G2Point.ZERO;
  if (z0 !== 1n || z1 !== 0n) {
    throw new ProofError(`${what} must be affine (z = 1) or the identity (z = 0)`);
  }
  return checked(() => G2Point.fromAffine({ x: { c0: x0, c1: x1 }, y: { c0: y0, c1: y1 } }), what);
}

/** snarkjs form of a G1 point. */
export function g1ToJson(point) {
  if (point.is0()) return ["0", "1", "0"];
  const { x, y } = point.toAffine();
  return [x.toString(), y.toString(), "1"];
}

/** snarkjs form of a G2 point. */
export function g2ToJson(point) {
  if (point.is0()) return [["0", "0"], ["1", "0"], ["0", "0"]];
  const { x, y } = point.toAffine();
  return [[x.c0.toString(), x.c1.toString()], [y.c0.toString(), y.c1.toString()], ["1", "0"]];
}

function checkTags(obj, what) {
  if ((obj.protocol ?? "groth16") !== "groth16") {
    throw new ProofError(`${what} is for protocol ${obj.protocol}, not groth16`);
  }
  if ((obj.curve ?? "bls12381") !== "bls12381") {
    throw new ProofError(`${what} is for curve ${obj.curve}, not bls12381`);
  }
}

/** snarkjs form of a proof {a, b, c} (noble points). */
export function proofToJson({ a, b, c }) {
  return {
    pi_a: g1ToJson(a),
    pi_b: g2ToJson(b),
    pi_c: g1ToJson(c),
    protocol: "groth16",
    curve: "bls12381",
  };
}

/** Parse and check a snarkjs proof object into {a, b, c}. */
export function proofFromJson(obj) {
  if (obj === null || typeof obj !== "object") throw new ProofError("a proof must be an object");
  checkTags(obj, "proof");
  for (const key of ["pi_a", "pi_b", "pi_c"]) {
    if (!(key in obj)) throw new ProofError(`proof lacks ${key}`);
  }
  return {
    a: g1FromJson(obj.pi_a, "pi_a"),
    b: g2FromJson(obj.pi_b, "pi_b"),
    c: g1FromJson(obj.pi_c, "pi_c"),
  };
}

/** Parse a snarkjs verification_key.json (groth16, bls12381). */
export function vkeyFromJson(obj) {
  if (obj === null || typeof obj !== "object") {
    throw new ProofError("a verifying key must be an object");
  }
  checkTags(obj, "verifying key");
  const nPublic = obj.nPublic;
  if (!Number.isSafeInteger(nPublic) || nPublic < 0) {
    throw new ProofError(`verifying key nPublic must be a count, got ${nPublic}`);
  }
  for (const key of ["vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"]) {
    if (!(key in obj)) throw new ProofError(`verifying key lacks ${key}`);
  }
  return {
    nPublic,
    alpha1: g1FromJson(obj.vk_alpha_1, "vk_alpha_1"),
    beta2: g2FromJson(obj.vk_beta_2, "vk_beta_2"),
    gamma2: g2FromJson(obj.vk_gamma_2, "vk_gamma_2"),
    delta2: g2FromJson(obj.vk_delta_2, "vk_delta_2"),
    ic: seq(obj.IC, nPublic + 1, "IC").map((p, i) => g1FromJson(p, `IC[${i}]`)),
  };
}

/** Parse public signals (decimal strings), refusing a wrong count or values ≥ r. */
export function publicSignalsFromJson(signals, nPublic) {
  if (!Array.isArray(signals)) throw new ProofError("public signals must be a list");
  if (signals.length !== nPublic) {
    throw new ProofError(`the key expects ${nPublic} public signals, got ${signals.length}`);
  }
  return signals.map((s, i) => decimal(s, `public signal ${i}`, R));
}
