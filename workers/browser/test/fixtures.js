// Shared test data: the committed attestation circuit and one valid input set (the values of
// tests/zk/conftest.py: task 3f2a5c1e-…, seed 7, outputLen 4096, worker secret 123456789).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BUILD = fileURLToPath(new URL("../../../circuits/build/", import.meta.url));
export const wasmBytes = () => readFileSync(BUILD + "attestation.wasm");
export const zkeyBytes = () => readFileSync(BUILD + "attestation.zkey");
export const vkey = () => JSON.parse(readFileSync(BUILD + "vkey.json", "utf8"));

export const INPUT = Object.freeze({
  taskId: "83961308604206476630840302497824725611",
  seed: "7",
  outputLen: "4096",
  resultDigest: "281859138620495505897497538020572214776647639884563458684253739807061110794",
  workerCommitment:
    "49771379518533783451081444171936304251693849153677701053778138403868110038125",
  workerSecret: "123456789",
});
export const PUBLIC = ["taskId", "seed", "outputLen", "resultDigest", "workerCommitment"].map(
  (k) => INPUT[k],
);
