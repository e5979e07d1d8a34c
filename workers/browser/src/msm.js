// Fixed-base multi-scalar multiplication on BLS12-381 G1 and G2 for the zkey's queries.
//
// The zkey's points never change, so each base P_i is stored once with its shifts 2^(w·j)·P_i
// (j < m, w·m ≥ 256). A scalar is cut into m signed w-bit digits d_ij ∈ (-2^(w-1), 2^(w-1)],
// and Σ s_i·P_i = Σ_ij d_ij·2^(w·j)·P_i becomes one bucket sum Σ_b b·S_b over 2^(w-1)
// buckets with no doublings at all. Zero scalars and zero digits cost nothing, small scalars
// only their nonzero digits.
//
// All additions are affine and batched (affine.js): every bucket is summed pairwise, level by
// level, with one field inversion per level for all buckets. The weighted bucket sum
// Σ b·S_b is split as b = lo + 2^h·hi into row and column sums (again batched), whose own
// weights are summed bit by bit (batched) and combined with a few projective doublings
// (@noble/curves points).
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { reduceG1, reduceG2 } from "./affine.js";
import { ProofError } from "./errors.js";
import { P } from "./field.js";

const G1Point = bls12_381.G1.Point;
const G2Point = bls12_381.G2.Point;

// ---- the two groups ------------------------------------------------------------------------

/** Affine coordinate layout and conversions of one group. */
const G1 = {
  name: "G1",
  coords: 2,
  reduce: (cols, starts, counts) => reduceG1(cols[0], cols[1], starts, counts),
  split: (p) => [p.x, p.y],
  negateCols: [1],
  toPoint: (cols, i) => G1Point.fromAffine({ x: cols[0][i], y: cols[1][i] }),
  ZERO: G1Point.ZERO,
};

const G2 = {
  name: "G2",
  coords: 4,
  reduce: (cols, starts, counts) => reduceG2(cols[0], cols[1], cols[2], cols[3], starts, counts),
  split: (p) => [p.x.c0, p.x.c1, p.y.c0, p.y.c1],
  negateCols: [2, 3],
  toPoint: (cols, i) =>
    G2Point.fromAffine({
      x: { c0: cols[0][i], c1: cols[1][i] },
      y: { c0: cols[2][i], c1: cols[3][i] },
    }),
  ZERO: G2Point.ZERO,
};

/** The group description for "G1" or "G2". */
export const GROUPS = { G1, G2 };

/** Affine doubling of every point in `cols` at once (no point has y = 0 in a prime-order group). */
function doubleAll(group, cols) {
  const n = cols[0].length;
  const starts = new Int32Array(n);
  const counts = new Int32Array(n).fill(2);
  const work = cols.map(() => new Array(2 * n));
  for (let i = 0; i < n; i++) {
    starts[i] = 2 * i;
    for (let c = 0; c < cols.length; c++) work[c][2 * i] = work[c][2 * i + 1] = cols[c][i];
  }
  group.reduce(work, starts, counts);
  for (let i = 0; i < n; i++) {
    if (work[0][2 * i] === null) {
      throw new ProofError(`zkey holds a ${group.name} point of order 2`);
    }
    for (let c = 0; c < cols.length; c++) cols[c][i] = work[c][2 * i];
  }
}

/**
 * Precompute the shifted bases of one query.
 *
 * @param group GROUPS.G1 or GROUPS.G2
 * @param bases affine points (null for the identity)
 * @param window digit width w (bits)
 * @param pause optional async function awaited between doubling rounds
 * @returns a table for {@link msm}
 */
export async function fixedBaseTable(group, bases, window, pause) {
  const m = Math.ceil(256 / window);
  const index = [];
  for (let i = 0; i < bases.length; i++) if (bases[i] !== null) index.push(i);
  const live = index.length;
  const cur = Array.from({ length: group.coords }, () => new Array(live));
  for (let k = 0; k < live; k++) {
    const coords = group.split(bases[index[k]]);
    for (let c = 0; c < group.coords; c++) cur[c][k] = coords[c];
  }
  // entry (k, j) = 2^(w·j)·bases[index[k]], stored at k·m + j
  const cols = Array.from({ length: group.coords }, () => new Array(live * m));
  for (let j = 0; j < m; j++) {
    if (j > 0) {
      for (let t = 0; t < window; t++) doubleAll(group, cur);
      if (pause) await pause();
    }
    for (let c = 0; c < group.coords; c++) {
      const dst = cols[c];
      const src = cur[c];
      for (let k = 0; k < live; k++) dst[k * m + j] = src[k];
    }
  }
  const slot = new Int32Array(bases.length).fill(-1);
  index.forEach((i, k) => (slot[i] = k));
  return { group, window, m, size: bases.length, slot, cols };
}

/**
 * Σ scalars[i]·bases[i] over a table from {@link fixedBaseTable}.
 *
 * @param table the precomputed bases
 * @param scalars BigInts in [0, r), one per base (missing trailing ones count as zero)
 * @returns a @noble/curves projective point
 */
export function msm(table, scalars) {
  const { group, window: w, m, slot, cols } = table;
  const half = 1 << (w - 1);
  const full = 1 << w;
  const mask = full - 1;
  const n = Math.min(scalars.length, table.size);
  const words = new Uint32Array(9);

  // signed digits, counted per bucket
  const digits = new Int32Array(n * m);
  const perBucket = new Int32Array(half + 1);
  const terms = [];
  for (let i = 0; i < n; i++) {
    let s = scalars[i];
    const k = slot[i];
    if (s === 0n || k < 0) continue;
    for (let t = 0; t < 8; t++) {
      words[t] = Number(BigInt.asUintN(32, s));
      s >>= 32n;
    }
    let carry = 0;
    for (let j = 0; j < m; j++) {
      const bit = j * w;
      const at = bit >>> 5;
      const shift = bit & 31;
      let v = words[at] >>> shift;
      if (shift + w > 32) v |= words[at + 1] << (32 - shift);
      v = (v & mask) + carry;
      if (v > half) {
        v -= full;
        carry = 1;
      } else carry = 0;
      if (v !== 0) {
        digits[terms.length] = v;
        terms.push(k * m + j);
        perBucket[v < 0 ? -v : v]++;
      }
    }
  }
  if (terms.length === 0) return group.ZERO;

  // the terms, laid out bucket by bucket (negative digits negate the point)
  const starts = new Int32Array(half);
  const counts = new Int32Array(half);
  for (let b = 1, at = 0; b <= half; b++) {
    starts[b - 1] = at;
    at += perBucket[b];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(terms.length));
  for (let t = 0; t < terms.length; t++) {
    const v = digits[t];
    const b = (v < 0 ? -v : v) - 1;
    const at = fill[b]++;
    const e = terms[t];
    for (let c = 0; c < cols.length; c++) work[c][at] = cols[c][e];
    if (v < 0) {
      for (const c of group.negateCols) work[c][at] = work[c][at] === 0n ? 0n : P - work[c][at];
    }
  }
  for (let b = 0; b < half; b++) counts[b] = perBucket[b + 1];
  group.reduce(work, starts, counts);

  const sums = [];
  for (let b = 0; b < half; b++) {
    if (counts[b] && work[0][starts[b]] !== null) sums.push({ weight: b + 1, at: starts[b] });
  }
  return weightedSum(group, work, sums);
}

/**
 * Σ weight·point over affine points in `cols`, as b = lo + 2^h·hi: row sums (over hi) weighted
 * by lo and column sums (over lo) weighted by 2^h·hi, each weight summed bit by bit.
 */
function weightedSum(group, cols, items) {
  if (items.length === 0) return group.ZERO;
  const maxWeight = items.reduce((a, it) => Math.max(a, it.weight), 0);
  const bits = 32 - Math.clz32(maxWeight);
  const h = bits >> 1;
  const loMask = (1 << h) - 1;
  // groups: rows lo = 1..2^h-1, then columns hi = 1..maxWeight >> h
  const rows = loMask;
  const colsCount = maxWeight >> h;
  const groups = rows + colsCount;
  const counts = new Int32Array(groups);
  for (const { weight } of items) {
    if (weight & loMask) counts[(weight & loMask) - 1]++;
    if (weight >> h) counts[rows + (weight >> h) - 1]++;
  }
  const starts = new Int32Array(groups);
  let total = 0;
  for (let g = 0; g < groups; g++) {
    starts[g] = total;
    total += counts[g];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(total));
  const put = (g, at) => {
    const to = fill[g]++;
    for (let c = 0; c < cols.length; c++) work[c][to] = cols[c][at];
  };
  for (const { weight, at } of items) {
    if (weight & loMask) put((weight & loMask) - 1, at);
    if (weight >> h) put(rows + (weight >> h) - 1, at);
  }
  group.reduce(work, starts, counts);
  // now Σ_lo lo·R_lo + Σ_hi 2^h·hi·C_hi, by bits of the weights
  const next = [];
  for (let g = 0; g < groups; g++) {
    if (counts[g] && work[0][starts[g]] !== null) {
      next.push({ weight: g < rows ? g + 1 : (g - rows + 1) << h, at: starts[g] });
    }
  }
  return bitSum(group, work, next);
}

/** Σ weight·point by bits: T_k = Σ over weights with bit k set, then Horner in projective. */
function bitSum(group, cols, items) {
  if (items.length === 0) return group.ZERO;
  const maxWeight = items.reduce((a, it) => Math.max(a, it.weight), 0);
  const bits = 32 - Math.clz32(maxWeight);
  const counts = new Int32Array(bits);
  for (const { weight } of items) for (let k = 0; k < bits; k++) if ((weight >> k) & 1) counts[k]++;
  const starts = new Int32Array(bits);
  let total = 0;
  for (let k = 0; k < bits; k++) {
    starts[k] = total;
    total += counts[k];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(total));
  for (const { weight, at } of items) {
    for (let k = 0; k < bits; k++) {
      if ((weight >> k) & 1) {
        const to = fill[k]++;
        for (let c = 0; c < cols.length; c++) work[c][to] = cols[c][at];
      }
    }
  }
  group.reduce(work, starts, counts);
  let acc = group.ZERO;
  for (let k = bits - 1; k >= 0; k--) {
    acc = acc.double();
    if (counts[k] && work[0][starts[k]] !== null) acc = acc.add(group.toPoint(work, starts[k]));
  }
  return acc;
}
