// The tab's identity, kept in the browser (IndexedDB of the gateway's origin): an Ed25519
// signing key made by WebCrypto with a non-extractable private half, the attestation secret,
// and the worker id once enrolled. Nothing of it leaves the browser but the public key,
// signatures, the commitment and proofs.
import { bytesToHex } from "@noble/hashes/utils.js";
import { AuthError } from "./errors.js";
import { newWorkerSecret } from "./attest.js";

const DB = "shardy-worker";
const STORE = "identity";
const KEY = "self";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function open() {
  const req = indexedDB.open(DB, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function store(db, mode, fn) {
  return request(fn(db.transaction(STORE, mode).objectStore(STORE)));
}

/** This tab's worker identity: {publicHex, secret (BigInt), workerId | null, sign(bytes)}. */
export class Identity {
  constructor(db, record) {
    this.db = db;
    this.record = record;
    this.publicHex = record.publicHex;
    this.secret = BigInt(record.secret);
  }

  /** The stored identity, or a new one (saved before it is used). */
  static async load() {
    if (!globalThis.crypto?.subtle) throw new AuthError("this page needs WebCrypto: open it over https or on localhost");
    const db = await open();
    let record = await store(db, "readonly", (s) => s.get(KEY));
    if (!record) {
      let keys;
      try {
        keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      } catch (err) {
        throw new AuthError(`this browser cannot make Ed25519 keys (${err.message}); use a current Chromium or Firefox`);
      }
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
      record = { privateKey: keys.privateKey, publicHex: bytesToHex(raw),
                 secret: newWorkerSecret().toString(), workerId: null };
      await store(db, "readwrite", (s) => s.put(record, KEY));
    }
    return new Identity(db, record);
  }

  get workerId() {
    return this.record.workerId;
  }

  /** Remember the id the gateway enrolled this worker as. */
  async enrolled(workerId) {
    this.record = { ...this.record, workerId };
    await store(this.db, "readwrite", (s) => s.put(this.record, KEY));
  }

  /** The Ed25519 signature of `bytes`, 128 hex characters. */
  async sign(bytes) {
    const sig = await crypto.subtle.sign({ name: "Ed25519" }, this.record.privateKey, bytes);
    return bytesToHex(new Uint8Array(sig));
  }
}
