// snarkjs side of bench/zk.py: times groth16.fullProve, groth16.prove and groth16.verify
// in-process (after warm-up) on the same circuit. snarkjs is GPL: it runs here, in its own node
// process, and is never imported into Python.
//
// usage: node bench/zk_snarkjs.mjs <build_dir> <input.json> <iterations>
import { createRequire } from "node:module";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

const [buildDir, inputPath, iterArg] = process.argv.slice(2);
const iterations = Number(iterArg || 10);
const require = createRequire(resolve("circuits/package.json"));
const snarkjs = await import(require.resolve("snarkjs"));

const zkey = join(buildDir, "attestation.zkey");
const wasm = join(buildDir, "attestation.wasm");
const vkey = JSON.parse(readFileSync(join(buildDir, "vkey.json"), "utf8"));
const input = JSON.parse(readFileSync(inputPath, "utf8"));
const work = mkdtempSync(join(tmpdir(), "shardy-bench-"));
const wtns = join(work, "w.wtns");

async function time(fn) {
  await fn(); // warm-up
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

await snarkjs.wtns.calculate(input, wasm, wtns);
let last;
const fullprove_ms = await time(async () => { last = await snarkjs.groth16.fullProve(input, wasm, zkey); });
const prove_ms = await time(async () => { await snarkjs.groth16.prove(zkey, wtns); });
let ok = true;
const verify_ms = await time(async () => {
  ok = ok && (await snarkjs.groth16.verify(vkey, last.publicSignals, last.proof));
});
rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({ fullprove_ms, prove_ms, verify_ms, ok, iterations }));
process.exit(0);
