// helper.js: π_A and π_B on a second thread (Node worker_threads here, a Web Worker in the page).
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareProvingKey, prove, verify } from "../src/groth16.js";
import { createWitnessCalculator } from "../src/witness.js";
import { startNodeHelper } from "../scripts/node_helper.mjs";
import { INPUT, PUBLIC, vkey, wasmBytes, zkeyBytes } from "./fixtures.js";

test("with π_A and π_B from the helper thread a proof verifies, a tampered one not", async () => {
  const witness = (await createWitnessCalculator(wasmBytes())).calculate(INPUT);
  const zkey = zkeyBytes();
  const helper = await startNodeHelper(zkey);
  try {
    const key = await prepareProvingKey(zkey, { parts: ["C"] });
    assert.equal(key.b2, null); // the G2 table lives on the helper only
    const { proof, publicSignals } = await prove(key, witness, { helper: helper.helper });
    assert.deepEqual(publicSignals, PUBLIC);
    assert.equal(verify(vkey(), proof, publicSignals), true);
    const changed = [...publicSignals];
    changed[2] = "4097";
    assert.equal(verify(vkey(), proof, changed), false);
    // a helper error comes back as a rejection, not a hang
    await assert.rejects(helper.helper([1n], 1n, 2n), /prover helper: witness has 1 wires/);
    await assert.rejects(prove(key, witness), /lacks part A/); // no helper, no tables for it
  } finally {
    await helper.close();
  }
});
