// zkey.js: the committed key parses, agrees with vkey.json, and malformed files are refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProofError } from "../src/errors.js";
import { parseZkey } from "../src/zkey.js";
import { vkey, zkeyBytes } from "./fixtures.js";

const g1 = (p) => [p.x.toString(), p.y.toString(), "1"];
const g2 = (p) => [
  [p.x.c0.toString(), p.x.c1.toString()],
  [p.y.c0.toString(), p.y.c1.toString()],
  ["1", "0"],
];

test("the committed zkey parses and matches vkey.json", () => {
  const pk = parseZkey(zkeyBytes());
  const vk = vkey();
  assert.equal(pk.nPublic, vk.nPublic);
  assert.equal(pk.domainSize, 1 << pk.logDomain);
  assert.deepEqual(g1(pk.alpha1), vk.vk_alpha_1);
  assert.deepEqual(g2(pk.beta2), vk.vk_beta_2);
  assert.deepEqual(g2(pk.gamma2), vk.vk_gamma_2);
  assert.deepEqual(g2(pk.delta2), vk.vk_delta_2);
  assert.deepEqual(pk.ic.map(g1), vk.IC);
  assert.equal(pk.aQuery.length, pk.nVars);
  assert.equal(pk.b2Query.length, pk.nVars);
  assert.equal(pk.cQuery.length, pk.nVars - pk.nPublic - 1);
  assert.equal(pk.hQuery.length, pk.domainSize);
});

test("an ArrayBuffer works as well as a Uint8Array", () => {
  const bytes = zkeyBytes();
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.equal(parseZkey(copy).nVars, parseZkey(bytes).nVars);
});

function sectionStart(bytes, wanted) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 12; pos < bytes.length; ) {
    const id = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    if (id === wanted) return pos + 12;
    pos += 12 + size;
  }
  throw new Error(`no section ${wanted}`);
}

test("malformed zkeys raise ProofError", () => {
  const bytes = zkeyBytes();
  assert.throws(() => parseZkey(new Uint8Array(8)), ProofError);
  const badMagic = Uint8Array.from(bytes);
  badMagic[0] = 0x41;
  assert.throws(() => parseZkey(badMagic), /bad magic/);
  assert.throws(() => parseZkey(bytes.subarray(0, bytes.length - 100)), ProofError);
  // a coordinate of the first A-query point changed: the point leaves the curve
  const offCurve = Uint8Array.from(bytes);
  offCurve[sectionStart(bytes, 5) + 10] ^= 1;
  assert.throws(() => parseZkey(offCurve), /A query\[0\] is not on G1/);
});
