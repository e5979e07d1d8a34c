// The page's attestation statements (src/page/attest.js, merkle.js, frames.js) under both
// statement versions, against values computed by the Python side (shardy/statement.py,
// shardy/merkle.py) for task 3f2a5c1e-…, digest sha256("shardy"), worker secret 123456789, and a
// version 2 proof of them that verifies under circuits/build-v2's key.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ProofError } from "../src/errors.js";
import { prepareProvingKey, prove, verify } from "../src/groth16.js";
import { batchInputs, enrollmentInputs, replicaInputs, replicaLeaf, statementVersion } from "../src/page/attest.js";
import { FrameError } from "../src/page/errors.js";
import { encodeFrame, decodeMessage, parseOrder, parseOrderHash } from "../src/page/frames.js";
import { leaf, leafV2, root } from "../src/page/merkle.js";
import { createWitnessCalculator } from "../src/witness.js";
import { BUILD, vkey } from "./fixtures.js";

const BUILD_V2 = fileURLToPath(new URL("../../../circuits/build-v2/", import.meta.url));
const TASK = "3f2a5c1e-9b7d-4c2a-8e1f-0a1b2c3d4e5f";
const DIGEST = "2bd9de1e18ec659c417ba06d7a2ae127dfa9bb3113928240a7dc99670b400b96";
const SECRET = 123456789n;
const SEED = 2n ** 63n + 5n;
// Subject(TASK, SEED, 4096, "histogram", {"bins": 256}, sha256("payload")).order_hash(2, 1)
const ORDER_HASH_HEX = "003db3587af74e3e5c084f8e0150b7d95370a64b63452f2bcc9801ac4d1ee0a2";
const ORDER_HASH = BigInt(`0x${ORDER_HASH_HEX}`);
const ORDER = { taskId: TASK, seed: SEED, outputLen: 4096, orderHash: ORDER_HASH };
const COMMITMENT = 49771379518533783451081444171936304251693849153677701053778138403868110038125n;
const TASK_FIELD = 83961308609158226069564435274428927583n;
const [HI, LO] = [58288037316543752799585786285743857959n, 297299137927961805044691845845425851286n];
const hex = (bytes) => Buffer.from(bytes).toString("hex");

test("a key's statement version is its verifying key's nPublic", () => {
  assert.equal(statementVersion(vkey()), 1);
  assert.equal(statementVersion(JSON.parse(readFileSync(`${BUILD_V2}vkey.json`, "utf8"))), 2);
  assert.throws(() => statementVersion({ nPublic: 7 }), ProofError);
  assert.throws(() => statementVersion(null), ProofError);
});

test("version 2 inputs are Python's: replica, batch (size in the order hash slot), enrollment", () => {
  const base = { statement: 2n, taskId: TASK_FIELD, digestHi: HI, digestLo: LO, workerCommitment: COMMITMENT,
                 workerSecret: SECRET };
  assert.deepEqual(replicaInputs(2, ORDER, DIGEST, SECRET), { ...base, orderHash: ORDER_HASH });
  assert.deepEqual(batchInputs(2, TASK, 3, DIGEST, SECRET), { ...base, orderHash: 3n });
  assert.deepEqual(enrollmentInputs(2, TASK, DIGEST, SECRET), { ...base, orderHash: 0n });
  assert.throws(() => replicaInputs(2, { ...ORDER, orderHash: null }, DIGEST, SECRET), FrameError);
  assert.throws(() => replicaInputs(3, ORDER, DIGEST, SECRET), ProofError);
});

test("version 1 inputs are unchanged", () => {
  const v1 = { taskId: TASK_FIELD, seed: 3n, outputLen: 2n ** 32n - 1n,
               resultDigest: 77478091020505838553733670946513557767387003285818892455840694766953775115n,
               workerCommitment: COMMITMENT, workerSecret: SECRET };
  assert.deepEqual(batchInputs(1, TASK, 3, DIGEST, SECRET), v1);
  assert.deepEqual(replicaInputs(1, { ...ORDER, orderHash: null }, DIGEST, SECRET).seed, SEED);
  assert.deepEqual(enrollmentInputs(1, TASK, DIGEST, SECRET).outputLen, 0n);
});

test("leaves of both versions and their root are shardy.merkle's", () => {
  const v2 = "40c4ec4e9ab29c2f9c8ad4ed9177a507f874578eca3a135dc2cb4290148c4ab4";
  assert.equal(hex(leafV2(TASK, ORDER_HASH, DIGEST)), v2);
  assert.equal(hex(replicaLeaf(2, ORDER, DIGEST)), v2);
  const v1 = "0253d1341f8731897a928451d6f3d222ea92bd4dafb5cc483d9767c34ffbbddc";
  assert.equal(hex(leaf(TASK, SEED, 4096, DIGEST)), v1);
  assert.equal(hex(replicaLeaf(1, ORDER, DIGEST)), v1);
  assert.equal(root([leafV2(TASK, ORDER_HASH, DIGEST), leaf(TASK, 1, 2, DIGEST), leafV2(TASK, 5n, DIGEST)]),
               "c07b470bedae094d1b8276e2fce76e3cce44bbfff5e5e393b83f55b6bb928967");
  assert.throws(() => replicaLeaf(2, { ...ORDER, orderHash: null }, DIGEST), FrameError);
});

function orderMessage(extra) {
  const meta = { kind: "shardy.order", task_id: TASK, replica: 1, round: 2, kernel: "histogram", seed: SEED,
                 output_len: 4096, params: {}, key_id: "ab", payload: { sha256: "00".repeat(32), size: 1 },
                 inline: ["payload"], ...extra };
  return decodeMessage(encodeFrame(meta, [new Uint8Array([7])]), "order");
}

test("an order's order_hash is read, and a malformed one is refused with FrameError", () => {
  assert.equal(parseOrder(orderMessage({ order_hash: ORDER_HASH_HEX })).orderHash, ORDER_HASH);
  assert.equal(parseOrder(orderMessage({})).orderHash, null);
  for (const bad of [null, 5, "", ORDER_HASH_HEX.slice(1), ORDER_HASH_HEX.toUpperCase().replace("0X", "0x"),
                     `ff${ORDER_HASH_HEX.slice(2)}`, `${ORDER_HASH_HEX}00`, ORDER_HASH_HEX.replace("a", "g")]) {
    assert.throws(() => parseOrder(orderMessage({ order_hash: bad })), FrameError, String(bad));
  }
  assert.equal(parseOrderHash("0".repeat(64)), 0n);
});

test("a version 2 proof of the page's inputs verifies under circuits/build-v2's key", async () => {
  const wasm = readFileSync(`${BUILD_V2}attestation.wasm`);
  const zkey = readFileSync(`${BUILD_V2}attestation.zkey`);
  const vk = JSON.parse(readFileSync(`${BUILD_V2}vkey.json`, "utf8"));
  const inputs = replicaInputs(2, ORDER, DIGEST, SECRET);
  const witness = (await createWitnessCalculator(wasm)).calculate(inputs);
  const { proof, publicSignals } = await prove(await prepareProvingKey(zkey), witness);
  assert.deepEqual(publicSignals, ["2", TASK_FIELD, ORDER_HASH, HI, LO, COMMITMENT].map(String));
  assert.equal(verify(vk, proof, publicSignals), true);
  assert.equal(verify(vk, proof, ["2", TASK_FIELD, 0n, HI, LO, COMMITMENT].map(String)), false);
  assert.notEqual(BUILD, BUILD_V2);
});
