// Batched affine point addition on BLS12-381 G1 and G2, the inner loop of msm.js.
//
// reduceG1/reduceG2 sum many groups of affine points at once: pairwise, level by level, with a
// single field inversion per level for all groups (Montgomery's trick), so an addition costs
// about 6 field multiplications against 12+ for a projective one. G2's Fp2 denominators are
// inverted through their Fp norms. Equal points (doubling) and opposite points (the point at
// infinity, x = null) are handled; no point of a prime-order group has y = 0.
import { P, batchInvert } from "./field.js";

/**
 * Each `reduce*` sums, in place, the points of every group g (entries starts[g] ..
 * starts[g] + counts[g] of the coordinate arrays) until one point is left at starts[g]; x = null
 * marks the point at infinity. counts is updated (0 for an empty group).
 */

const ADD = 1;
const DOUBLE = 2;
const CANCEL = 3;

export function reduceG1(X, Y, starts, counts) {
  const groups = starts.length;
  const cap = X.length >> 1;
  const kind = new Uint8Array(cap);
  const den = new Array(cap);
  for (;;) {
    let np = 0;
    let nd = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      for (let i = starts[g], end = i + c - 1; i < end; i += 2) {
        const x1 = X[i];
        const x2 = X[i + 1];
        if (x1 === null || x2 === null) kind[np++] = 0;
        else if (x1 !== x2) {
          kind[np++] = ADD;
          den[nd++] = x2 > x1 ? x2 - x1 : x2 - x1 + P;
        } else if (Y[i] === Y[i + 1]) {
          kind[np++] = DOUBLE;
          den[nd++] = (2n * Y[i]) % P;
        } else kind[np++] = CANCEL;
      }
    }
    if (np === 0) return;
    batchInvert(den, nd);
    let p = 0;
    let d = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      const s = starts[g];
      let out = s;
      for (let i = s, end = s + c - 1; i < end; i += 2, out++) {
        const k = kind[p++];
        const x1 = X[i];
        const y1 = Y[i];
        if (k === ADD || k === DOUBLE) {
          const x2 = X[i + 1];
          const lam =
            k === ADD ? ((Y[i + 1] - y1) * den[d++]) % P : (((3n * x1 * x1) % P) * den[d++]) % P;
          let x3 = (lam * lam - x1 - x2) % P;
          if (x3 < 0n) x3 += P;
          let y3 = (lam * (x1 - x3) - y1) % P;
          if (y3 < 0n) y3 += P;
          X[out] = x3;
          Y[out] = y3;
        } else if (k === CANCEL) {
          X[out] = null;
        } else if (x1 === null) {
          X[out] = X[i + 1];
          Y[out] = Y[i + 1];
        } else {
          X[out] = x1;
          Y[out] = y1;
        }
      }
      if (c & 1) {
        X[out] = X[s + c - 1];
        Y[out] = Y[s + c - 1];
      }
      counts[g] = (c + 1) >> 1;
    }
  }
}

export function reduceG2(X0, X1, Y0, Y1, starts, counts) {
  const groups = starts.length;
  const cap = X0.length >> 1;
  const kind = new Uint8Array(cap);
  const den0 = new Array(cap); // the Fp2 denominators a0 + a1·u ...
  const den1 = new Array(cap);
  const norm = new Array(cap); // ... are inverted through their norms a0² + a1² (one Fp batch)
  for (;;) {
    let np = 0;
    let nd = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      for (let i = starts[g], end = i + c - 1; i < end; i += 2) {
        const a0 = X0[i];
        const b0 = X0[i + 1];
        if (a0 === null || b0 === null) {
          kind[np++] = 0;
          continue;
        }
        let d0;
        let d1;
        if (a0 !== b0 || X1[i] !== X1[i + 1]) {
          kind[np++] = ADD;
          d0 = b0 - a0;
          d1 = X1[i + 1] - X1[i];
        } else if (Y0[i] === Y0[i + 1] && Y1[i] === Y1[i + 1]) {
          kind[np++] = DOUBLE;
          d0 = 2n * Y0[i];
          d1 = 2n * Y1[i];
        } else {
          kind[np++] = CANCEL;
          continue;
        }
        den0[nd] = d0;
        den1[nd] = d1;
        norm[nd++] = (d0 * d0 + d1 * d1) % P;
      }
    }
    if (np === 0) return;
    batchInvert(norm, nd);
    let p = 0;
    let d = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      const s = starts[g];
      let out = s;
      for (let i = s, end = s + c - 1; i < end; i += 2, out++) {
        const k = kind[p++];
        if (k === ADD || k === DOUBLE) {
          const x0 = X0[i];
          const x1 = X1[i];
          const y0 = Y0[i];
          const y1 = Y1[i];
          // 1/den = conj(den)/norm
          const n = norm[d];
          const i0 = (den0[d] * n) % P;
          const i1 = (-den1[d] * n) % P;
          d++;
          let u0;
          let u1;
          if (k === ADD) {
            u0 = Y0[i + 1] - y0;
            u1 = Y1[i + 1] - y1;
          } else {
            // 3x²
            const t0 = (x0 + x1) * (x0 - x1);
            const t1 = 2n * x0 * x1;
            u0 = (3n * t0) % P;
            u1 = (3n * t1) % P;
          }
          // lam = u · inv (Karatsuba)
          const m0 = u0 * i0;
          const m1 = u1 * i1;
          const l0 = (m0 - m1) % P;
          const l1 = ((u0 + u1) * (i0 + i1) - m0 - m1) % P;
          // lam²
          const q0 = (l0 + l1) * (l0 - l1);
          const q1 = 2n * l0 * l1;
          let x30 = (q0 - x0 - X0[i + 1]) % P;
          if (x30 < 0n) x30 += P;
          let x31 = (q1 - x1 - X1[i + 1]) % P;
          if (x31 < 0n) x31 += P;
          // y3 = lam·(x - x3) - y
          const e0 = x0 - x30;
          const e1 = x1 - x31;
          const n0 = l0 * e0;
          const n1 = l1 * e1;
          let y30 = (n0 - n1 - y0) % P;
          if (y30 < 0n) y30 += P;
          let y31 = ((l0 + l1) * (e0 + e1) - n0 - n1 - y1) % P;
          if (y31 < 0n) y31 += P;
          X0[out] = x30;
          X1[out] = x31;
          Y0[out] = y30;
          Y1[out] = y31;
        } else if (k === CANCEL) {
          X0[out] = null;
        } else {
          const j = X0[i] === null ? i + 1 : i;
          X0[out] = X0[j];
          X1[out] = X1[j];
          Y0[out] = Y0[j];
          Y1[out] = Y1[j];
        }
      }
      if (c & 1) {
        const j = s + c - 1;
        X0[out] = X0[j];
        X1[out] = X1[j];
        Y0[out] = Y0[j];
        Y1[out] = Y1[j];
      }
      counts[g] = (c + 1) >> 1;
    }
  }
}
