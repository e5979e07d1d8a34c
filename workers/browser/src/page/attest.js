// What a remote worker signs and proves (shardy/enrollment.py, shardy/statement.py and
// shardy/zk/inputs.py): the attestation circuit's inputs for a replica, a batch or an enrollment
// under either statement version, the worker commitment, the enrollment statement, and the
// signed session and enrollment messages. Pure functions on strings and BigInts.
//
// A key's statement version follows from its verifying key's nPublic (shardy/statement.py):
// version 1 (5 public inputs) is [taskId, seed, outputLen, digest >> 8, commitment]; version 2
// (6) is [2, taskId, orderHash, digestHi, digestLo, commitment], where a batch puts its size in
// the order hash's place and an enrollment proof 0.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { AuthError, FrameError } from "./errors.js";
import { ProofError } from "../errors.js";
import { R } from "../field.js";
import { poseidon } from "../poseidon.js";
import { BATCH_OUTPUT_LEN, leaf, leafV2 } from "./merkle.js";

const SESSION_CONTEXT = "shardy-session-v1";
const ENROLL_CONTEXT = "shardy-enroll-v1";
const utf8 = new TextEncoder();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A task UUID as a field element (its 128-bit value). */
export function taskIdToField(taskId) {
  if (!UUID.test(taskId)) throw new ProofError(`task id ${taskId} is not a UUID`);
  return BigInt(`0x${taskId.replaceAll("-", "")}`);
}

/** Public signal counts by statement version (a verifying key's nPublic tells its version). */
export const N_PUBLIC = Object.freeze({ 1: 5, 2: 6 });

/**
 * The statement version a verifying key (snarkjs JSON) proves: 1 or 2.
 *
 * @throws {ProofError} its nPublic is no known version's
 */
export function statementVersion(vkey) {
  const n = vkey?.nPublic;
  for (const [version, count] of Object.entries(N_PUBLIC)) if (n === count) return Number(version);
  throw new ProofError(`a verifying key with nPublic=${n} proves no known attestation statement (version 1 has 5 public inputs, version 2 has 6)`);
}

function digestToInt(hex) {
  if (typeof hex !== "string" || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new ProofError(`result digest must be 64 hex characters, got ${hex}`);
  return BigInt(`0x${hex}`);
}

/** A sha256 hex digest as a version 1 field element: its top 248 bits. */
export function digestToField(hex) {
  return digestToInt(hex) >> 8n;
}

/** A sha256 hex digest as [its high 128 bits, its low 128 bits] (version 2). */
export function digestHalves(hex) {
  const value = digestToInt(hex);
  return [value >> 128n, value & ((1n << 128n) - 1n)];
}

/** The public commitment (decimal) to a worker secret: Poseidon(secret). */
export function commitment(secret) {
  return poseidon(secret).toString();
}

/** A fresh worker secret, uniform in [1, r) (WebCrypto's randomness, 128 bits of slack). */
export function newWorkerSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  return (BigInt(`0x${bytesToHex(bytes)}`) % (R - 1n)) + 1n;
}

function checkSecret(secret) {
  if (typeof secret !== "bigint" || secret <= 0n || secret >= R) throw new ProofError("worker secret must lie in [1, r)");
}

/**
 * The version 1 attestation circuit's full input for one replica result (BigInts by signal
 * name).
 *
 * @throws {ProofError} a value out of range
 */
export function attestationInputs(taskId, seed, outputLen, digestHex, secret) {
  const s = BigInt(seed);
  const n = BigInt(outputLen);
  if (s < 0n || s >= 1n << 64n) throw new ProofError(`seed must be in [0, 2**64), got ${seed}`);
  if (n < 0n || n >= 1n << 32n) throw new ProofError(`output_len must be in [0, 2**32), got ${outputLen}`);
  checkSecret(secret);
  return { taskId: taskIdToField(taskId), seed: s, outputLen: n, resultDigest: digestToField(digestHex),
           workerCommitment: poseidon(secret), workerSecret: secret };
}

/**
 * The version 2 circuit's full input: the statement [2, taskId, orderHash, digestHi, digestLo,
 * commitment] (orderHash: a replica's order hash, a batch's size, or 0 for an enrollment).
 *
 * @throws {ProofError} a value out of range
 */
export function attestationInputsV2(taskId, orderHash, digestHex, secret) {
  const h = BigInt(orderHash);
  if (h < 0n || h >= 1n << 248n) throw new ProofError(`an order hash must be in [0, 2**248), got ${orderHash}`);
  checkSecret(secret);
  const [digestHi, digestLo] = digestHalves(digestHex);
  return { statement: 2n, taskId: taskIdToField(taskId), orderHash: h, digestHi, digestLo,
           workerCommitment: poseidon(secret), workerSecret: secret };
}

/**
 * The circuit input of an honest attestation of one replica's digest under statement
 * `version` (shardy/statement.py replica_inputs). `order` is a parsed order (frames.js
 * parseOrder): {taskId, seed, outputLen, orderHash (BigInt, or null when the frame had none)}.
 *
 * @throws {ProofError} a value out of range
 * @throws {FrameError} version 2, and the order frame had no order_hash
 */
export function replicaInputs(version, order, digestHex, secret) {
  if (version === 1) return attestationInputs(order.taskId, order.seed, order.outputLen, digestHex, secret);
  if (version === 2) return attestationInputsV2(order.taskId, requireOrderHash(order), digestHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}

/** A batch proof's input over `size` leaves under `rootHex` (shardy/statement.py batch_inputs). */
export function batchInputs(version, batchId, size, rootHex, secret) {
  if (version === 1) return attestationInputs(batchId, BigInt(size), BATCH_OUTPUT_LEN, rootHex, secret);
  if (version === 2) return attestationInputsV2(batchId, BigInt(size), rootHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}

/** An enrollment proof's input (seed and output length 0; under version 2 the order hash 0). */
export function enrollmentInputs(version, taskId, digestHex, secret) {
  if (version === 1) return attestationInputs(taskId, 0n, 0n, digestHex, secret);
  if (version === 2) return attestationInputsV2(taskId, 0n, digestHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}

/** The batch leaf of one replica's claim under statement `version` (merkle.js). */
export function replicaLeaf(version, order, digestHex) {
  digestToInt(digestHex);
  taskIdToField(order.taskId);
  if (version === 1) return leaf(order.taskId, order.seed, order.outputLen, digestHex);
  if (version === 2) return leafV2(order.taskId, requireOrderHash(order), digestHex);
  throw new ProofError(`unknown statement version ${version}`);
}

function requireOrderHash(order) {
  if (typeof order.orderHash !== "bigint") {
    throw new FrameError("the order carries no order_hash: an attestation under a version 2 key needs it");
  }
  return order.orderHash;
}

const join = (...parts) => utf8.encode(parts.join("|"));

/** What a worker signs to open a session: the gateway, the connection's nonce, its key. */
export function sessionMessage(gatewayId, nonce, publicHex) {
  return join(SESSION_CONTEXT, gatewayId, nonce, publicHex);
}

/** What a worker signs to enroll: the operator, the server's nonce, its key, commitment. */
export function enrollMessage(operatorId, nonce, publicHex, commit) {
  return join(ENROLL_CONTEXT, operatorId, nonce, publicHex, commit);
}

function uuidFromBytes(b) {
  const h = bytesToHex(b.subarray(0, 16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** [task id, digest] of the attestation a worker proves at enrollment. */
export function enrollmentStatement(nonce, publicHex, commit) {
  const taskId = uuidFromBytes(sha256(join(ENROLL_CONTEXT, nonce, publicHex)));
  return [taskId, bytesToHex(sha256(join(ENROLL_CONTEXT, nonce, publicHex, commit)))];
}

/**
 * An enrollment token shy1.<operator uuid>.<secret>.
 *
 * @throws {AuthError} not a Shardy enrollment token
 */
export function parseToken(text) {
  const parts = String(text ?? "").trim().split(".");
  if (parts.length !== 3 || parts[0] !== "shy1" || !UUID.test(parts[1]) || parts[2].length < 20 || parts[2].length > 64) {
    throw new AuthError("not a Shardy enrollment token (shy1.<operator>.<secret>); ask the orchestrator's operator for a link");
  }
  return { operatorId: parts[1], text: parts.join(".") };
}
