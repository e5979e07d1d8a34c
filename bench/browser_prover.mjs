// The browser worker's Groth16 prover (workers/browser, plain JS on @noble/curves) against
// snarkjs (wasm field arithmetic, worker threads) on the same circuit, witness and key, in Node.
// snarkjs is GPL: it runs here as a yardstick only and is never imported by the page's code.
//
// usage: npm ci --prefix circuits && npm ci --prefix workers/browser
//        node bench/browser_prover.mjs [iterations=10] [input.json]
// snarkjs runs on its default thread pool (one per core); ours on one thread, and on two with
// the helper (workers/browser/src/helper.js) computing π_A and π_B. Both get the key and witness
// from memory (no file reads in the timed loop), one warm-up call each, then alternate call by
// call so that load from other processes hits both alike. Prints a ratio table: median, min and
// max per step, and ours/snarkjs on the medians.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { prepareProvingKey, prove, verify } from "../workers/browser/src/groth16.js";
import { createWitnessCalculator } from "../workers/browser/src/witness.js";
import { startNodeHelper } from "../workers/browser/scripts/node_helper.mjs";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const BUILD = join(ROOT, "circuits", "build");
const iterations = Number(process.argv[2] || 10);
// the inputs of tests/zk/conftest.py (task 3f2a5c1e-…, seed 7, outputLen 4096, secret 123456789)
const input = process.argv[3]
  ? JSON.parse(readFileSync(process.argv[3], "utf8"))
  : {
      taskId: "83961308604206476630840302497824725611",
      seed: "7",
      outputLen: "4096",
      resultDigest: "281859138620495505897497538020572214776647639884563458684253739807061110794",
      workerCommitment:
        "49771379518533783451081444171936304251693849153677701053778138403868110038125",
      workerSecret: "123456789",
    };

const require = createRequire(join(ROOT, "circuits", "package.json"));
const snarkjs = await import(require.resolve("snarkjs"));
const zkeyBytes = new Uint8Array(readFileSync(join(BUILD, "attestation.zkey")));
const wasmBytes = new Uint8Array(readFileSync(join(BUILD, "attestation.wasm")));
const vkey = JSON.parse(readFileSync(join(BUILD, "vkey.json"), "utf8"));

// ours: one-time set-up (compile the wasm, parse the key, precompute the fixed-base tables)
let t0 = performance.now();
const calculator = await createWitnessCalculator(wasmBytes);
const key = await prepareProvingKey(zkeyBytes);
const setupMs = performance.now() - t0;
const witness = calculator.calculate(input);
// ours on two threads: π_A and π_B (G2) on a helper thread, π_C here (snarkjs uses 2 threads)
t0 = performance.now();
const [helper, keyC] = await Promise.all([
  startNodeHelper(zkeyBytes),
  prepareProvingKey(zkeyBytes.slice(), { parts: ["C"] }),
]);
const setup2Ms = performance.now() - t0;

// snarkjs: key and witness as in-memory files
const zkey = { type: "mem", data: zkeyBytes };
const wasm = { type: "mem", data: wasmBytes };
const wtns = { type: "mem" };
await snarkjs.wtns.calculate(input, wasm, wtns);

const steps = {
  "prove (witness given)": {
    ours: () => prove(key, witness),
    snarkjs: () => snarkjs.groth16.prove(zkey, wtns),
  },
  "prove, ours on 2 threads": {
    ours: () => prove(keyC, witness, { helper: helper.helper }),
    snarkjs: () => snarkjs.groth16.prove(zkey, wtns),
  },
  "full prove (inputs → proof)": {
    ours: () => prove(key, calculator.calculate(input)),
    snarkjs: () => snarkjs.groth16.fullProve(input, wasm, zkey),
  },
};

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};
const fmt = (x) => x.toFixed(1).padStart(7);

console.log(
  `set-up of the page's prover (wasm compile, zkey parse, tables): ${setupMs.toFixed(0)} ms ` +
    `on 1 thread, ${setup2Ms.toFixed(0)} ms on 2 (once per key)`,
);
console.log(`${iterations} timed runs each, interleaved, after one warm-up\n`);
const head = ["ours", "snarkjs"].map((who) => `${who} med/min/max ms`.padStart(27)).join("");
console.log(`${"step".padEnd(30)}${head}   ratio`);
for (const [name, impl] of Object.entries(steps)) {
  const samples = { ours: [], snarkjs: [] };
  let last;
  for (const side of ["ours", "snarkjs"]) last = await impl[side]();
  for (let i = 0; i < iterations; i++) {
    for (const side of i % 2 ? ["snarkjs", "ours"] : ["ours", "snarkjs"]) {
      const t = performance.now();
      const out = await impl[side]();
      samples[side].push(performance.now() - t);
      if (side === "ours") last = out;
    }
  }
  const ok =
    verify(vkey, last.proof, last.publicSignals) &&
    (await snarkjs.groth16.verify(vkey, last.publicSignals, last.proof));
  if (!ok) throw new Error(`${name}: the page's proof does not verify`);
  const o = stats(samples.ours);
  const s = stats(samples.snarkjs);
  console.log(
    name.padEnd(30) +
      `${fmt(o.median)}${fmt(o.min)}${fmt(o.max)}   ${fmt(s.median)}${fmt(s.min)}${fmt(s.max)}` +
      `   ${(o.median / s.median).toFixed(2)}x`,
  );
}
await helper.close();
process.exit(0); // snarkjs keeps its worker threads alive
