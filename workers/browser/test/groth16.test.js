// groth16.js: the page's proofs verify (and tampered ones fail) under the committed vkey.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProofError } from "../src/errors.js";
import { prepareProvingKey, prove, verify } from "../src/groth16.js";
import { createWitnessCalculator } from "../src/witness.js";
import { parseZkey } from "../src/zkey.js";
import { INPUT, PUBLIC, vkey, wasmBytes, zkeyBytes } from "./fixtures.js";

const witness = (await createWitnessCalculator(wasmBytes())).calculate(INPUT);
const key = await prepareProvingKey(zkeyBytes());
const vk = vkey();
const first = await prove(key, witness);

test("a proof verifies and carries the inputs' public signals", () => {
  assert.deepEqual(first.publicSignals, PUBLIC);
  assert.equal(first.proof.protocol, "groth16");
  assert.equal(first.proof.curve, "bls12381");
  assert.equal(verify(vk, first.proof, first.publicSignals), true);
});

test("tampered public signals and proofs fail, side by side with the valid one", () => {
  const { proof, publicSignals } = first;
  assert.equal(verify(vk, proof, publicSignals), true);
  for (let i = 0; i < publicSignals.length; i++) {
    const changed = [...publicSignals];
    changed[i] = (BigInt(changed[i]) ^ 1n).toString();
    assert.equal(verify(vk, proof, changed), false, `signal ${i}`);
  }
  assert.equal(verify(vk, { ...proof, pi_a: proof.pi_c, pi_c: proof.pi_a }, publicSignals), false);
});

test("proofs are randomised; parts of two proofs do not mix", async () => {
  const second = await prove(key, witness);
  assert.deepEqual(second.publicSignals, first.publicSignals);
  assert.notDeepEqual(second.proof.pi_a, first.proof.pi_a);
  assert.equal(verify(vk, second.proof, second.publicSignals), true);
  assert.equal(verify(vk, { ...first.proof, pi_c: second.proof.pi_c }, first.publicSignals), false);
});

test("prove accepts a parsed zkey and decimal-string witnesses", async () => {
  const parsed = parseZkey(zkeyBytes());
  const prepared = await prepareProvingKey(parsed);
  assert.equal(await prepareProvingKey(parsed), prepared); // cached per key object
  const out = await prove(prepared, witness.map(String));
  assert.equal(verify(vk, out.proof, out.publicSignals), true);
});

test("a witness that does not fit the key raises ProofError", async () => {
  await assert.rejects(prove(key, witness.slice(1)), /wires, the key expects/);
  await assert.rejects(prove(key, [0n, ...witness.slice(1)]), /wire 0 must be the constant 1/);
  await assert.rejects(prove(key, [...witness.slice(0, -1), -1n]), ProofError);
  await assert.rejects(prove({ nonsense: true }, witness), ProofError);
});

test("malformed proofs and signals raise ProofError; wrong counts too", () => {
  const { proof, publicSignals } = first;
  assert.throws(() => verify(vk, proof, publicSignals.slice(1)), /expects 5 public signals/);
  const r = "52435875175126190479447740508185965837690552500527637822603658699938581184513";
  assert.throws(() => verify(vk, proof, [r, ...publicSignals.slice(1)]), /not below/);
  assert.throws(() => verify(vk, { ...proof, pi_a: ["1", "2", "1"] }, publicSignals), ProofError);
  assert.throws(() => verify(vk, { ...proof, curve: "bn128" }, publicSignals), /not bls12381/);
});
