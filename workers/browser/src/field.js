// BLS12-381 field constants and the scalar-field NTTs the prover needs (snarkjs's roots of unity).
//
// Mirrors shardy/zk/field.py. Fp elements are BigInts in [0, P); Fr elements BigInts in [0, R).
// Inversion comes from @noble/curves; everything on the hot path is inline BigInt arithmetic.
import { bls12_381 } from "@noble/curves/bls12-381.js";

const { Fp, Fr } = bls12_381.fields;

/** Order of the base field Fq (point coordinates). */
export const P = Fp.ORDER;
/** Order of the scalar field Fr (witness values, public signals). */
export const R = Fr.ORDER;
/** Bytes per Fq and per Fr element in snarkjs's files. */
export const N8Q = 48;
export const N8R = 32;

const frInv = (a) => Fr.inv(a);

/** a^e mod m for BigInts (e ≥ 0). */
export function powMod(a, e, m) {
  let result = 1n;
  a %= m;
  while (e > 0n) {
    if (e & 1n) result = (result * a) % m;
    a = (a * a) % m;
    e >>= 1n;
  }
  return result;
}

/** Little-endian bytes → BigInt. */
export function bytesToBigInt(bytes, offset, length) {
  let hex = "";
  for (let i = offset + length - 1; i >= offset; i--) hex += HEX[bytes[i]];
  return BigInt("0x" + hex);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Invert every element of `values[0..count)` in place (all nonzero) with one field inversion. */
export function batchInvert(values, count, modulus = P) {
  if (count === 0) return;
  const prefix = new Array(count);
  let acc = values[0];
  prefix[0] = 1n;
  for (let i = 1; i < count; i++) {
    prefix[i] = acc;
    acc = (acc * values[i]) % modulus;
  }
  let inv = modulus === P ? Fp.inv(acc) : Fr.inv(acc);
  for (let i = count - 1; i > 0; i--) {
    const v = values[i];
    values[i] = (inv * prefix[i]) % modulus;
    inv = (inv * v) % modulus;
  }
  values[0] = inv;
}

// --- Fr roots of unity, as ffjavascript (snarkjs) picks them ---------------------------------

function twoAdicity(r) {
  let s = 0;
  let t = r - 1n;
  while ((t & 1n) === 0n) {
    s++;
    t >>= 1n;
  }
  return [s, t];
}

const [TWO_ADICITY, ODD] = twoAdicity(R);
const NQR = (() => {
  let n = 2n;
  while (powMod(n, (R - 1n) / 2n, R) !== R - 1n) n++;
  return n;
})();
/** ffjavascript's coset shift for a full-size domain: nqr². */
const SHIFT = (NQR * NQR) % R;

/** The primitive 2^logN-th root of unity snarkjs uses (ffjavascript's Fr.w[logN]). */
export function rootOfUnity(logN) {
  if (logN < 0 || logN > TWO_ADICITY) throw new RangeError(`no 2^${logN}-th root of unity in Fr`);
  return powMod(NQR, ODD << BigInt(TWO_ADICITY - logN), R);
}

const nttTables = new Map();

/** Bit-reversal permutation and per-stage twiddles for a size-2^logN NTT (cached). */
function tables(logN, inverse) {
  const key = `${logN}:${inverse}`;
  let t = nttTables.get(key);
  if (t) return t;
  const n = 1 << logN;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < logN; b++) r |= ((i >> b) & 1) << (logN - 1 - b);
    perm[i] = r;
  }
  let root = rootOfUnity(logN);
  if (inverse) root = frInv(root);
  const stages = [];
  for (let size = 2; size <= n; size *= 2) {
    const step = powMod(root, BigInt(n / size), R);
    const tw = new Array(size / 2);
    tw[0] = 1n;
    for (let k = 1; k < size / 2; k++) tw[k] = (tw[k - 1] * step) % R;
    stages.push(tw);
  }
  // n^-1 · inc^i: the inverse NTT's normalisation fused with the coset shift
  const inc = logN === TWO_ADICITY ? SHIFT : rootOfUnity(logN + 1);
  const scale = new Array(n);
  scale[0] = frInv(BigInt(n));
  for (let i = 1; i < n; i++) scale[i] = (scale[i - 1] * inc) % R;
  t = { perm, stages, scale };
  nttTables.set(key, t);
  return t;
}

function ntt(values, logN, inverse) {
  const { perm, stages } = tables(logN, inverse);
  const n = values.length;
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = values[perm[i]];
  let half = 1;
  for (const tw of stages) {
    const size = 2 * half;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const i = start + k;
        const j = i + half;
        const u = a[i];
        const v = (a[j] * tw[k]) % R;
        let x = u + v;
        if (x >= R) x -= R;
        let y = u - v;
        if (y < 0n) y += R;
        a[i] = x;
        a[j] = y;
      }
    }
    half = size;
  }
  return a;
}

/**
 * From evaluations on the size-2^logN domain to evaluations on its odd coset w_2n·<w_n>:
 * snarkjs's ifft, multiply coefficient i by inc^i, fft (see shardy/zk/field.py).
 */
export function cosetEvaluations(evals, logN) {
  const coeffs = ntt(evals, logN, true);
  const { scale } = tables(logN, true);
  for (let i = 0; i < coeffs.length; i++) coeffs[i] = (coeffs[i] * scale[i]) % R;
  return ntt(coeffs, logN, false);
}
