// witness.js: circom's witness wasm run through WebAssembly, from its ABI.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProofError } from "../src/errors.js";
import { createWitnessCalculator, fnv1a64 } from "../src/witness.js";
import { INPUT, PUBLIC, wasmBytes } from "./fixtures.js";

const calculator = await createWitnessCalculator(wasmBytes());

test("fnv1a64 matches the reference values", () => {
  assert.equal(fnv1a64(""), 0xcbf29ce484222325n);
  assert.equal(fnv1a64("a"), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64("main.in"), fnv1a64("main.in"));
});

test("the witness starts with 1 and the public signals", () => {
  assert.equal(calculator.n32, 8);
  const w = calculator.calculate(INPUT);
  assert.equal(w.length, calculator.witnessSize);
  assert.equal(w[0], 1n);
  assert.deepEqual(w.slice(1, 6).map(String), PUBLIC);
  // repeatable on the same instance, and from BigInt or number inputs
  const again = calculator.calculate({ ...INPUT, seed: 7, outputLen: 4096n });
  assert.deepEqual(again, w);
});

test("bad inputs raise ProofError naming the problem", () => {
  const { workerSecret, ...missing } = INPUT;
  assert.throws(() => calculator.calculate(missing), /only 5 of the circuit's 6 inputs/);
  assert.throws(() => calculator.calculate({ ...INPUT, nope: "1" }), /no input signal "nope"/);
  assert.throws(() => calculator.calculate({ ...INPUT, seed: [1, 2] }), /takes 1 values, got 2/);
  assert.throws(() => calculator.calculate({ ...INPUT, seed: "-1" }), ProofError);
  const wrongSecret = { ...INPUT, workerSecret: "123456788" };
  assert.throws(() => calculator.calculate(wrongSecret), /assert failed/);
  // the instance still works after a failed run
  assert.equal(calculator.calculate(INPUT)[0], 1n);
});

test("a wasm that is not a circom witness calculator is refused", async () => {
  await assert.rejects(createWitnessCalculator(new Uint8Array([0, 97, 115, 109])), ProofError);
  // a valid empty module: no runtime imports, no exports
  const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  await assert.rejects(createWitnessCalculator(empty), /lacks the export/);
});
