// The attestation prover inside the compute worker: the key material of a key id from the
// gateway's /keys/<id>/<file> (its manifest must hash to the id, each file to its manifest
// entry, as shardy.keyring checks), the circuit's witness wasm and the Groth16 prover, and the
// statement version the key proves (its verifying key's nPublic: 5 → 1, 6 → 2).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ProofError } from "../errors.js";
import { prepareProvingKey, prove } from "../groth16.js";
import { connectHelper } from "../helper.js";
import { createWitnessCalculator } from "../witness.js";
import { parseZkey } from "../zkey.js";
import { statementVersion } from "./attest.js";

const utf8 = new TextEncoder();

/** JSON with sorted keys and no spaces, as shardy.keyring's `_canonical` (for ASCII JSON). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A key manifest's id: the first 16 hex digits of the sha256 of its canonical JSON. */
export function manifestId(manifest) {
  return bytesToHex(sha256(utf8.encode(canonical(manifest)))).slice(0, 16);
}

/** Circuits by key id, fetched from the gateway once each. */
export class Prover {
  /**
   * @param {string} origin the gateway's http(s) origin
   * @param {string | null} helperUrl the bundle's URL: with it, and two or more cores, a helper
   *   Web Worker (named "helper") computes π_A and π_B while this thread computes π_C
   */
  constructor(origin, helperUrl = null, fetchFn = globalThis.fetch.bind(globalThis)) {
    this.origin = origin;
    this.helperUrl = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1 ? helperUrl : null;
    this.fetch = fetchFn;
    this.circuits = new Map();
  }

  async #file(kid, field) {
    const url = `${this.origin}/keys/${encodeURIComponent(kid)}/${field}`;
    const response = await this.fetch(url, { cache: "no-store" });
    if (!response.ok) throw new ProofError(`${url}: HTTP ${response.status}; the key is not published`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async #load(kid) {
    if (!/^[0-9a-f]{1,32}$/.test(kid)) throw new ProofError(`key id ${kid} is malformed`);
    const manifest = JSON.parse(new TextDecoder().decode(await this.#file(kid, "manifest")));
    if (manifestId(manifest) !== kid) throw new ProofError(`the gateway's manifest of key ${kid} hashes to ${manifestId(manifest)}`);
    const [vkey, wasm, zkey] = await Promise.all(["vkey", "wasm", "zkey"].map((f) => this.#file(kid, f)));
    let vkeyJson;
    try {
      vkeyJson = JSON.parse(new TextDecoder().decode(vkey));
    } catch (err) {
      throw new ProofError(`key ${kid}: its verifying key is not JSON (${err.message})`);
    }
    // the manifest's vkey entry hashes the vkey's canonical JSON (shardy.keyring.vkey_sha256)
    const vkeyCanonical = utf8.encode(canonical(vkeyJson));
    for (const [field, bytes] of [["vkey", vkeyCanonical], ["wasm", wasm], ["zkey", zkey]]) {
      if (bytesToHex(sha256(bytes)) !== manifest[field]) throw new ProofError(`key ${kid}: the served ${field} does not match its manifest`);
    }
    const version = statementVersion(vkeyJson);
    const pk = parseZkey(zkey);
    if (pk.nPublic !== vkeyJson.nPublic) throw new ProofError(`key ${kid}: its zkey has ${pk.nPublic} public inputs, its verifying key ${vkeyJson.nPublic}`);
    const calculator = await createWitnessCalculator(wasm);
    if (this.helperUrl === null) return { version, calculator, key: await prepareProvingKey(pk), options: {} };
    const worker = new Worker(this.helperUrl, { type: "module", name: "helper" });
    const failed = new Promise((_, reject) => worker.addEventListener("error", (e) => reject(new ProofError(`the prover's helper failed: ${e.message}`)), { once: true }));
    try {
      const [helper, key] = await Promise.race([
        Promise.all([connectHelper(worker, zkey.slice()), prepareProvingKey(pk, { parts: ["C"] })]), failed]);
      return { version, calculator, key, options: { helper } };
    } catch (err) {  // no second thread after all: prove on this one
      worker.terminate();
      console.warn(`${err.message}; proving on one thread`);
      return { version, calculator, key: await prepareProvingKey(pk), options: {} };
    }
  }

  #circuit(kid) {
    let pending = this.circuits.get(kid);
    if (pending === undefined) {
      pending = this.#load(kid);
      this.circuits.set(kid, pending);
      pending.catch(() => this.circuits.delete(kid));
    }
    return pending;
  }

  /**
   * The statement version key `kid` proves (1 or 2), from its verifying key's nPublic; loads
   * the key (and builds its tables) on first use.
   *
   * @throws {ProofError} the key cannot be fetched or checked, or proves no known statement
   */
  async version(kid) {
    return (await this.#circuit(kid)).version;
  }

  /**
   * Prove the attestation inputs under key `kid`: {proof, publicSignals} (snarkjs JSON).
   *
   * @throws {ProofError} the key cannot be fetched or checked, or the inputs do not fit
   */
  async prove(kid, inputs) {
    const { calculator, key, options } = await this.#circuit(kid);
    return prove(key, calculator.calculate(inputs), options);
  }
}
