// What a remote worker signs and proves (shardy/enrollment.py and shardy/zk/inputs.py): the
// attestation circuit's inputs for a replica, the worker commitment, the enrollment statement,
// and the signed session and enrollment messages. Pure functions on strings and BigInts.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { AuthError } from "./errors.js";
import { ProofError } from "../errors.js";
import { R } from "../field.js";
import { poseidon } from "../poseidon.js";

const SESSION_CONTEXT = "shardy-session-v1";
const ENROLL_CONTEXT = "shardy-enroll-v1";
const utf8 = new TextEncoder();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A task UUID as a field element (its 128-bit value). */
export function taskIdToField(taskId) {
  if (!UUID.test(taskId)) throw new ProofError(`task id ${taskId} is not a UUID`);
  return BigInt(`0x${taskId.replaceAll("-", "")}`);
}

/** A sha256 hex digest as a field element: its top 248 bits. */
export function digestToField(hex) {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ProofError(`result digest must be 64 hex characters, got ${hex}`);
  return BigInt(`0x${hex}`) >> 8n;
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

/**
 * The attestation circuit's full input for one replica result (BigInts by signal name).
 *
 * @throws {ProofError} a value out of range
 */
export function attestationInputs(taskId, seed, outputLen, digestHex, secret) {
  const s = BigInt(seed);
  const n = BigInt(outputLen);
  if (s < 0n || s >= 1n << 64n) throw new ProofError(`seed must be in [0, 2**64), got ${seed}`);
  if (n < 0n || n >= 1n << 32n) throw new ProofError(`output_len must be in [0, 2**32), got ${outputLen}`);
  if (secret <= 0n || secret >= R) throw new ProofError("worker secret must lie in [1, r)");
  return { taskId: taskIdToField(taskId), seed: s, outputLen: n, resultDigest: digestToField(digestHex),
           workerCommitment: poseidon(secret), workerSecret: secret };
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
