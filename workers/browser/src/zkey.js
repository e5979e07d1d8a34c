// Reader for snarkjs's binary zkey format (groth16 on BLS12-381); mirrors shardy/zk/zkey.py.
//
// Layout: magic "zkey", u32 version, u32 section count, then sections (u32 id, u64 size, data).
// Section 1: protocol (1 = groth16). 2: header (n8q, q, n8r, r, nVars, nPublic, domainSize, α1,
// β1, β2, γ2, δ1, δ2). 3: IC. 4: QAP coefficients of A and B. 5-9: A, B1, B2, C and H queries.
// Points are affine, little-endian, Montgomery form (x·2^384 mod q); the identity is all zeros.
// Coefficients are stored as c·R² mod r (R = 2^256).
//
// Points come out as affine BigInt coordinates: G1 {x, y}, G2 {x: {c0, c1}, y: {c0, c1}}, null
// for the identity. Every point is checked to lie on its curve (a cheap check that catches a
// corrupt or foreign key); subgroup membership is not checked, as a wrong key can only yield
// proofs that fail verification.
import { ProofError } from "./errors.js";
import { N8Q, N8R, P, R, bytesToBigInt, powMod } from "./field.js";

const MONT_Q_INV = powMod(powMod(2n, BigInt(8 * N8Q), P), P - 2n, P);
const COEF_R2_INV = powMod(powMod(2n, BigInt(16 * N8R), R), R - 2n, R);
const G1_BYTES = 2 * N8Q;
const G2_BYTES = 4 * N8Q;

function sections(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== "zkey") {
    throw new ProofError("not a zkey file (bad magic)");
  }
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== 2) throw new ProofError(`unsupported zkey version ${version}`);
  const count = view.getUint32(8, true);
  const out = new Map();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + 12 > bytes.length) throw new ProofError("zkey section table runs past the end");
    const id = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    pos += 12;
    if (pos + size > bytes.length) {
      throw new ProofError(`zkey section ${id} runs past the end of the file`);
    }
    if (out.has(id)) throw new ProofError(`zkey section ${id} appears twice`);
    out.set(id, bytes.subarray(pos, pos + size));
    pos += size;
  }
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    if (!out.has(id)) throw new ProofError(`zkey lacks section ${id}`);
  }
  return out;
}

function fq(buf, offset) {
  return (bytesToBigInt(buf, offset, N8Q) * MONT_Q_INV) % P;
}

function g1(buf, offset, what) {
  const x = fq(buf, offset);
  const y = fq(buf, offset + N8Q);
  if (x === 0n && y === 0n) return null;
  if ((y * y - x * x * x - 4n) % P !== 0n) throw new ProofError(`zkey ${what} is not on G1`);
  return { x, y };
}

function g2(buf, offset, what) {
  const x0 = fq(buf, offset);
  const x1 = fq(buf, offset + N8Q);
  const y0 = fq(buf, offset + 2 * N8Q);
  const y1 = fq(buf, offset + 3 * N8Q);
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return null;
  // y² = x³ + 4(1 + u) in Fp2 = Fp[u]/(u² + 1)
  const xx0 = (x0 * x0 - x1 * x1) % P;
  const xx1 = (2n * x0 * x1) % P;
  const xxx0 = xx0 * x0 - xx1 * x1;
  const xxx1 = xx0 * x1 + xx1 * x0;
  const ok = (y0 * y0 - y1 * y1 - xxx0 - 4n) % P === 0n && (2n * y0 * y1 - xxx1 - 4n) % P === 0n;
  if (!ok) throw new ProofError(`zkey ${what} is not on G2`);
  return { x: { c0: x0, c1: x1 }, y: { c0: y0, c1: y1 } };
}

function points(buf, count, size, parse, what) {
  if (buf.length !== count * size) {
    throw new ProofError(`zkey ${what} has ${buf.length} bytes, expected ${count} points`);
  }
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = parse(buf, i * size, `${what}[${i}]`);
  return out;
}

function required(point, what) {
  if (point === null) throw new ProofError(`zkey ${what} is the identity`);
  return point;
}

/**
 * Parse a groth16 BLS12-381 zkey.
 *
 * @param {ArrayBuffer | Uint8Array} data the zkey file's bytes
 * @returns the proving key: nVars, nPublic, domainSize, logDomain, α1, β1, β2, γ2, δ1, δ2, ic,
 *   coeffs ({matrix, constraint, signal, value}: the QAP rows of A and B) and the A, B1, B2, C
 *   and H queries (C indexed from wire nPublic+1)
 * @throws {ProofError} not a groth16 zkey for BLS12-381, or truncated/corrupt
 */
export function parseZkey(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  try {
    return parse(bytes);
  } catch (err) {
    if (err instanceof ProofError) throw err;
    throw new ProofError(`zkey is truncated or corrupt: ${err.message}`, { cause: err });
  }
}

function parse(bytes) {
  const sec = sections(bytes);
  const u32 = (buf, offset) =>
    new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(offset, true);
  const protocol = u32(sec.get(1), 0);
  if (protocol !== 1) throw new ProofError(`zkey protocol ${protocol} is not groth16 (1)`);

  const h = sec.get(2);
  const n8q = u32(h, 0);
  const q = bytesToBigInt(h, 4, n8q);
  let pos = 4 + n8q;
  const n8r = u32(h, pos);
  const r = bytesToBigInt(h, pos + 4, n8r);
  if (n8q !== N8Q || q !== P || n8r !== N8R || r !== R) {
    throw new ProofError("zkey is not for BLS12-381 (compile with --prime bls12381)");
  }
  pos += 4 + n8r;
  const nVars = u32(h, pos);
  const nPublic = u32(h, pos + 4);
  const domainSize = u32(h, pos + 8);
  pos += 12;
  if (domainSize === 0 || domainSize & (domainSize - 1) || !(0 < nPublic && nPublic < nVars)) {
    throw new ProofError("zkey header is inconsistent");
  }
  const alpha1 = required(g1(h, pos, "alpha_1"), "alpha_1");
  const beta1 = required(g1(h, pos + G1_BYTES, "beta_1"), "beta_1");
  const beta2 = required(g2(h, pos + 2 * G1_BYTES, "beta_2"), "beta_2");
  const gamma2 = required(g2(h, pos + 2 * G1_BYTES + G2_BYTES, "gamma_2"), "gamma_2");
  const delta1 = required(g1(h, pos + 2 * G1_BYTES + 2 * G2_BYTES, "delta_1"), "delta_1");
  const delta2 = required(g2(h, pos + 3 * G1_BYTES + 2 * G2_BYTES, "delta_2"), "delta_2");

  const c = sec.get(4);
  const nCoef = u32(c, 0);
  const step = 12 + N8R;
  if (c.length !== 4 + nCoef * step) {
    throw new ProofError("zkey coefficient section has the wrong size");
  }
  const coeffs = {
    matrix: new Uint8Array(nCoef),
    constraint: new Uint32Array(nCoef),
    signal: new Uint32Array(nCoef),
    value: new Array(nCoef),
  };
  for (let i = 0; i < nCoef; i++) {
    const off = 4 + i * step;
    const m = u32(c, off);
    const row = u32(c, off + 4);
    const s = u32(c, off + 8);
    if (m > 1 || row >= domainSize || s >= nVars) {
      throw new ProofError(`zkey coefficient ${i} is out of range`);
    }
    coeffs.matrix[i] = m;
    coeffs.constraint[i] = row;
    coeffs.signal[i] = s;
    coeffs.value[i] = (bytesToBigInt(c, off + 12, N8R) * COEF_R2_INV) % R;
  }

  return {
    nVars,
    nPublic,
    domainSize,
    logDomain: Math.log2(domainSize),
    alpha1,
    beta1,
    beta2,
    gamma2,
    delta1,
    delta2,
    ic: points(sec.get(3), nPublic + 1, G1_BYTES, g1, "IC"),
    coeffs,
    aQuery: points(sec.get(5), nVars, G1_BYTES, g1, "A query"),
    b1Query: points(sec.get(6), nVars, G1_BYTES, g1, "B1 query"),
    b2Query: points(sec.get(7), nVars, G2_BYTES, g2, "B2 query"),
    cQuery: points(sec.get(8), nVars - nPublic - 1, G1_BYTES, g1, "C query"),
    hQuery: points(sec.get(9), domainSize, G1_BYTES, g1, "H query"),
  };
}
