// Groth16 prover (and a verifier, for tests) on BLS12-381 over a snarkjs zkey; mirrors
// shardy/zk/prover.py and shardy/zk/verifier.py and gives snarkjs-compatible proofs.
//
// The QAP is evaluated on the odd coset exactly as snarkjs does; the three MSMs (π_A in G1, π_B
// in G2, π_C over the C, H and B1 queries in G1) run over fixed-base tables precomputed once
// per key (see msm.js). prove() is async and yields between its two stages (π_A with π_B, then
// π_C: about 45 ms each here), so it holds the thread no longer than one; in the page it runs in
// a Web Worker, and π_A with π_B (the G2 MSM, the largest) can run on a second one while it
// computes π_C (helper.js). Pure: no DOM, no I/O.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { g1ToJson, g2ToJson, proofFromJson, publicSignalsFromJson, vkeyFromJson } from "./codec.js";
import { ProofError } from "./errors.js";
import { R, bytesToBigInt, cosetEvaluations } from "./field.js";
import { GROUPS, fixedBaseTable, msm } from "./msm.js";
import { parseZkey } from "./zkey.js";

const G1Point = bls12_381.G1.Point;
const G2Point = bls12_381.G2.Point;
const Fp12 = bls12_381.fields.Fp12;

/** Yield to the event loop (setImmediate in Node, a message round-trip in browsers). */
export function pause() {
  if (typeof setImmediate === "function") return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === "function") {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(0);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The digit width that minimises the work of one MSM over `live` bases: live·⌈256/w⌉ bucket
 * additions plus about 2^w for the weighted bucket sum.
 */
export function bestWindow(live) {
  let best = 4;
  let bestCost = Infinity;
  for (let w = 4; w <= 14; w++) {
    const cost = live * Math.ceil(256 / w) + (1 << w);
    if (cost < bestCost) {
      best = w;
      bestCost = cost;
    }
  }
  return best;
}

function affineG1(p) {
  return { x: p.x, y: p.y };
}

async function table(group, bases, pauseFn) {
  const live = bases.reduce((n, p) => n + (p !== null), 0);
  return fixedBaseTable(group, bases, bestWindow(live), pauseFn);
}

const prepared = new WeakMap();

/** The key's MSM tables: π_A's (G1), π_B's (G2) and π_C's (G1, with the B1 query). */
export const PARTS = Object.freeze(["A", "B", "C"]);

/**
 * Parse a zkey (if given bytes) and precompute its fixed-base tables: the slow, once-per-key
 * step (about a second for the attestation circuit), so that prove() does MSMs only.
 *
 * @param {ArrayBuffer | Uint8Array | object} zkey the zkey's bytes or parseZkey's result
 * @param {{pause?: () => Promise<void>, parts?: string[]}} [options] pause is awaited between
 *   precomputation rounds; parts (of {@link PARTS}) limits the tables: ["C"] for a prover whose
 *   π_A and π_B come from a helper, ["A", "B"] for that helper (see helper.js)
 * @returns {Promise<object>} a prepared key for {@link prove} (cached per zkey object)
 * @throws {ProofError} the zkey is malformed
 */
export async function prepareProvingKey(zkey, options = {}) {
  const parts = [...new Set(options.parts ?? PARTS)].sort();
  if (parts.some((p) => !PARTS.includes(p))) {
    throw new ProofError(`parts must be among ${PARTS.join(", ")}, got ${parts.join(", ")}`);
  }
  if (zkey && zkey.prepared === true) return zkey;
  const cacheKey = parts.join(",");
  const cache = typeof zkey === "object" && zkey !== null ? prepared.get(zkey) : undefined;
  if (cache?.has(cacheKey)) return cache.get(cacheKey);
  const pk = zkey instanceof ArrayBuffer || ArrayBuffer.isView(zkey) ? parseZkey(zkey) : zkey;
  if (!pk || !Array.isArray(pk.aQuery)) {
    throw new ProofError("prove needs a zkey's bytes, a parsed zkey or a prepared key");
  }
  const pauseFn = options.pause ?? pause;
  // the random terms ride along as more bases: r·δ1 in π_A, s·δ2 in π_B, and r·B1 (π_B's twin
  // in G1) inside π_C's MSM (see prove)
  const out = { prepared: true, pk, a: null, b2: null, c: null };
  if (parts.includes("B")) out.b2 = await table(GROUPS.G2, [...pk.b2Query, pk.delta2], pauseFn);
  if (parts.includes("A")) out.a = await table(GROUPS.G1, [...pk.aQuery, pk.delta1], pauseFn);
  if (parts.includes("C")) {
    const bases = [...pk.cQuery, ...pk.hQuery, ...pk.b1Query, pk.beta1];
    out.c = await table(GROUPS.G1, bases, pauseFn);
  }
  if (typeof zkey === "object" && zkey !== null) {
    if (!prepared.has(zkey)) prepared.set(zkey, new Map());
    prepared.get(zkey).set(cacheKey, out);
  }
  return out;
}

/**
 * (A·B - C) evaluated on the odd coset w_2n·<w_n>: the scalars of the H query (see
 * shardy/zk/prover.py quotient_evaluations).
 */
export function quotientEvaluations(pk, witness) {
  const n = pk.domainSize;
  const aT = new Array(n).fill(0n);
  const bT = new Array(n).fill(0n);
  const { matrix, constraint, signal, value } = pk.coeffs;
  for (let i = 0; i < value.length; i++) {
    const w = witness[signal[i]];
    if (w === 0n) continue;
    const row = matrix[i] === 0 ? aT : bT;
    row[constraint[i]] += value[i] * w;
  }
  const cT = new Array(n);
  for (let i = 0; i < n; i++) {
    aT[i] %= R;
    bT[i] %= R;
    cT[i] = (aT[i] * bT[i]) % R;
  }
  const a = cosetEvaluations(aT, pk.logDomain);
  const b = cosetEvaluations(bT, pk.logDomain);
  const c = cosetEvaluations(cT, pk.logDomain);
  const h = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = (a[i] * b[i] - c[i]) % R;
    h[i] = v < 0n ? v + R : v;
  }
  return h;
}

function randomScalar() {
  const bytes = new Uint8Array(48); // 384 bits reduced mod r: bias below 2^-128
  crypto.getRandomValues(bytes);
  return bytesToBigInt(bytes, 0, 48) % R;
}

function checkWitness(pk, witness) {
  if (!Array.isArray(witness) || witness.length !== pk.nVars) {
    throw new ProofError(`witness has ${witness?.length} wires, the key expects ${pk.nVars}`);
  }
  const values = new Array(witness.length);
  for (let i = 0; i < witness.length; i++) {
    const w = witness[i];
    const v =
      typeof w === "bigint" ? w : typeof w === "string" && /^[0-9]+$/.test(w) ? BigInt(w) : -1n;
    if (v < 0n || v >= R) throw new ProofError(`witness wire ${i} is not a value in [0, r)`);
    values[i] = v;
  }
  if (values[0] !== 1n) throw new ProofError("witness wire 0 must be the constant 1");
  return values;
}

function needs(key, part) {
  const table = { A: key.a, B: key.b2, C: key.c }[part];
  if (!table) throw new ProofError(`this prepared key lacks part ${part}: prepare it with it`);
  return table;
}

/**
 * π_A = α1 + Σ w_i·A_i + r·δ1 and π_B = β2 + Σ w_i·B2_i + s·δ2, and s·π_A (for π_C), as
 * @noble/curves points: the work a helper thread can do while prove() computes π_C's MSM.
 */
function provePointsAB(key, w, r, s) {
  const a = msm(needs(key, "A"), [...w, r]).add(G1Point.fromAffine(affineG1(key.pk.alpha1)));
  const b = msm(needs(key, "B"), [...w, s]).add(G2Point.fromAffine(key.pk.beta2));
  return { a, b, sa: a.multiplyUnsafe(s) };
}

/**
 * The helper's share of a proof (see helper.js): π_A, π_B and s·π_A in snarkjs JSON form.
 *
 * @param key a prepared key with parts A and B
 * @param {Array<bigint | string>} witness every wire
 * @param {bigint} r the proof's random r
 * @param {bigint} s the proof's random s
 * @throws {ProofError} the key lacks a part, or the witness or r, s do not fit
 */
export function proveAB(key, witness, r, s) {
  const w = checkWitness(key.pk, witness);
  for (const v of [r, s]) {
    if (typeof v !== "bigint" || v < 0n || v >= R) {
      throw new ProofError("r and s must lie in [0, r)");
    }
  }
  const { a, b, sa } = provePointsAB(key, w, r, s);
  return { pi_a: g1ToJson(a), pi_b: g2ToJson(b), s_pi_a: g1ToJson(sa) };
}

const g1FromTrustedJson = ([x, y, z]) =>
  z === "0" ? G1Point.ZERO : G1Point.fromAffine({ x: BigInt(x), y: BigInt(y) });

/**
 * A zero-knowledge Groth16 proof for a full witness (fresh random r, s from WebCrypto).
 *
 * @param {ArrayBuffer | Uint8Array | object} zkey bytes, parseZkey's result or a prepared key
 *   (pass the prepared key to skip the one-time precomputation)
 * @param {Array<bigint | string>} witness every wire (wire 0 is 1), as from WitnessCalculator
 * @param {{helper?: (witness: bigint[], r: bigint, s: bigint) => Promise<object>,
 *   pause?: Function}} [options] helper computes {@link proveAB} on another thread (see
 *   connectHelper); it runs while this thread does π_C's MSM, and the key then needs only part C
 * @returns {Promise<{proof: object, publicSignals: string[]}>} in snarkjs JSON form
 * @throws {ProofError} the key is malformed or the witness does not fit it
 */
export async function prove(zkey, witness, options = {}) {
  const key = await prepareProvingKey(zkey, { ...options, parts: options.helper ? ["C"] : PARTS });
  const pauseFn = options.pause ?? pause;
  const { pk } = key;
  const w = checkWitness(pk, witness);
  const r = randomScalar();
  const s = randomScalar();

  // π_A, π_B (the largest MSM) and s·π_A: on the helper, or here
  let ab;
  if (options.helper) ab = options.helper(w, r, s);
  else {
    const { a, b, sa } = provePointsAB(key, w, r, s);
    ab = { pi_a: g1ToJson(a), pi_b: g2ToJson(b), sa };
    await pauseFn();
  }
  // π_C = Σ_private w_i·C_i + Σ h_j·H_j + s·π_A + r·B1 - r·s·δ1 with B1 = β1 + Σ w_i·B1_i +
  // s·δ1. Expanding r·B1 = r·β1 + Σ (r·w_i)·B1_i + r·s·δ1 cancels the δ1 terms and puts B1's
  // bases into π_C's MSM: one bucket sum and one scalar multiplication fewer.
  const h = quotientEvaluations(pk, w);
  const rw = w.map((v) => (v * r) % R);
  let c = msm(needs(key, "C"), [...w.slice(pk.nPublic + 1), ...h, ...rw, r]);
  ab = await ab;
  c = c.add(ab.sa ?? g1FromTrustedJson(ab.s_pi_a));
  const proof = {
    pi_a: ab.pi_a,
    pi_b: ab.pi_b,
    pi_c: g1ToJson(c),
    protocol: "groth16",
    curve: "bls12381",
  };
  return { proof, publicSignals: w.slice(1, pk.nPublic + 1).map((v) => v.toString()) };
}

/**
 * Verify one Groth16 proof in snarkjs JSON form: e(A, B) = e(α, β)·e(X, γ)·e(C, δ) with
 * X = IC_0 + Σ s_i·IC_i. For tests and checks (the orchestrator verifies in Python).
 *
 * @returns {boolean} true for a valid proof, false for a well-formed one that fails
 * @throws {ProofError} the key, proof or public signals are malformed
 */
export function verify(vkeyJson, proofJson, publicSignals) {
  const vk = vkeyFromJson(vkeyJson);
  const signals = publicSignalsFromJson(publicSignals, vk.nPublic);
  const { a, b, c } = proofFromJson(proofJson);
  let x = vk.ic[0];
  for (let i = 0; i < signals.length; i++) {
    if (signals[i] !== 0n) x = x.add(vk.ic[i + 1].multiplyUnsafe(signals[i]));
  }
  const pairs = [
    { g1: a, g2: b },
    { g1: vk.alpha1.negate(), g2: vk.beta2 },
    { g1: x.negate(), g2: vk.gamma2 },
    { g1: c.negate(), g2: vk.delta2 },
  ].filter(({ g1, g2 }) => !g1.is0() && !g2.is0()); // e(O, Q) = e(P, O) = 1
  const product = bls12_381.pairingBatch(pairs);
  return Fp12.eql(product, Fp12.ONE);
}
