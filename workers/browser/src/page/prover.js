// The attestation prover inside the compute worker: the key material of a key id from the
// gateway's /keys/<id>/<file> (its manifest must hash to the id, each file to its manifest
// entry, as shardy.keyring checks), the circuit's witness wasm and the Groth16 prover.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ProofError } from "../errors.js";
import { prepareProvingKey, prove } from "../groth16.js";
import { connectHelper } from "../helper.js";
import { createWitnessCalculator } from "../witness.js";

const utf8 = new TextEncoder();

function canonical(obj) {
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`).join(",")}}`;
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
    const [wasm, zkey] = await Promise.all([this.#file(kid, "wasm"), this.#file(kid, "zkey")]);
    for (const [field, bytes] of [["wasm", wasm], ["zkey", zkey]]) {
      if (bytesToHex(sha256(bytes)) !== manifest[field]) throw new ProofError(`key ${kid}: the served ${field} does not match its manifest`);
    }
    const calculator = await createWitnessCalculator(wasm);
    if (this.helperUrl === null) return { calculator, key: await prepareProvingKey(zkey), options: {} };
    const worker = new Worker(this.helperUrl, { type: "module", name: "helper" });
    const failed = new Promise((_, reject) => worker.addEventListener("error", (e) => reject(new ProofError(`the prover's helper failed: ${e.message}`)), { once: true }));
    try {
      const [helper, key] = await Promise.race([
        Promise.all([connectHelper(worker, zkey.slice()), prepareProvingKey(zkey, { parts: ["C"] })]), failed]);
      return { calculator, key, options: { helper } };
    } catch (err) {  // no second thread after all: prove on this one
      worker.terminate();
      console.warn(`${err.message}; proving on one thread`);
      return { calculator, key: await prepareProvingKey(zkey), options: {} };
    }
  }

  /**
   * Prove the attestation inputs under key `kid`: {proof, publicSignals} (snarkjs JSON).
   *
   * @throws {ProofError} the key cannot be fetched or checked, or the inputs do not fit
   */
  async prove(kid, inputs) {
    let pending = this.circuits.get(kid);
    if (pending === undefined) {
      pending = this.#load(kid);
      this.circuits.set(kid, pending);
      pending.catch(() => this.circuits.delete(kid));
    }
    const { calculator, key, options } = await pending;
    return prove(key, calculator.calculate(inputs), options);
  }
}
