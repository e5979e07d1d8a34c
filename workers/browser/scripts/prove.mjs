// Command-line front end of the page's prover, for tests and benches (Node only, not bundled).
//
// usage: node scripts/prove.mjs <build_dir> <input.json> [count]
// Reads <build_dir>/attestation.{wasm,zkey}, computes the witness of the inputs and proves it
// `count` times (default 1): even-numbered proofs on this thread alone, odd-numbered ones with
// π_A and π_B from the helper thread. Prints one JSON line {witness, proofs: [{proof,
// publicSignals, threads}]}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { prepareProvingKey, prove } from "../src/groth16.js";
import { createWitnessCalculator } from "../src/witness.js";
import { startNodeHelper } from "./node_helper.mjs";

const [buildDir, inputPath, countArg] = process.argv.slice(2);
if (!buildDir || !inputPath) {
  console.error("usage: node scripts/prove.mjs <build_dir> <input.json> [count]");
  process.exit(2);
}
const count = Number(countArg || 1);
const input = JSON.parse(readFileSync(inputPath, "utf8"));
const calculator = await createWitnessCalculator(readFileSync(join(buildDir, "attestation.wasm")));
const witness = calculator.calculate(input);
const zkey = readFileSync(join(buildDir, "attestation.zkey"));
const key = await prepareProvingKey(zkey);
const helper = count > 1 ? await startNodeHelper(zkey) : null;
const proofs = [];
try {
  for (let i = 0; i < count; i++) {
    const options = i % 2 ? { helper: helper.helper } : {};
    proofs.push({ ...(await prove(key, witness, options)), threads: i % 2 ? 2 : 1 });
  }
} finally {
  await helper?.close();
}
console.log(JSON.stringify({ witness: witness.map(String), proofs }));
