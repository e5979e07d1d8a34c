// msm.js: fixed-base batch-affine MSMs equal @noble/curves's own sums, edge cases included.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { R } from "../src/field.js";
import { GROUPS, fixedBaseTable, msm } from "../src/msm.js";

const { G1, G2 } = bls12_381;
const naive = (Point, bases, scalars) =>
  bases.reduce(
    (acc, p, i) => (p && scalars[i] ? acc.add(p.multiplyUnsafe(scalars[i])) : acc),
    Point.ZERO,
  );
const affine1 = (p) => p.toAffine();
const affine2 = (p) => p.toAffine();

function scalarsFor(n, seed) {
  let x = BigInt(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) % R;
    out.push(x * x * x % R);
  }
  return out;
}

for (const [name, Point, group, affine] of [
  ["G1", G1.Point, GROUPS.G1, affine1],
  ["G2", G2.Point, GROUPS.G2, affine2],
]) {
  test(`${name}: random, zero, small and extreme scalars`, async () => {
    const pts = [3n, 5n, 7n, 11n, 13n].map((k) => Point.BASE.multiply(k));
    for (const w of [4, 7]) {
      const table = await fixedBaseTable(group, [...pts.map(affine), null], w);
      for (const scalars of [
        scalarsFor(6, w),
        [0n, 1n, 2n, R - 1n, 0n, 5n],
        [1n << 254n, (1n << 255n) % R, R - 2n, 3n, 0n, 0n],
        [0n, 0n, 0n, 0n, 0n, 0n],
      ]) {
        const got = msm(table, scalars);
        assert.ok(got.equals(naive(Point, [...pts, null], scalars)), `w=${w} ${scalars}`);
      }
    }
  });

  test(`${name}: equal and opposite bases (doubling and cancelling pairs)`, async () => {
    const p = Point.BASE.multiply(42n);
    const bases = [p, p, p.negate(), p, Point.BASE];
    const table = await fixedBaseTable(group, bases.map(affine), 5);
    for (const scalars of [
      [9n, 9n, 0n, 9n, 1n], // equal points in every bucket: doublings
      [9n, 0n, 9n, 0n, 0n], // P + (-P): the point at infinity
      [9n, 9n, 9n, 0n, 0n],
      [R - 1n, 1n, 0n, 0n, 0n], // everything cancels
    ]) {
      assert.ok(msm(table, scalars).equals(naive(Point, bases, scalars)), `${scalars}`);
    }
  });
}
