// Files the gateway serves to the page (shardy/orchestrator/gateway/page.py): its manifest
// names each file's sha256 and size, and every file fetched is checked against it before use.
// Nothing comes from anywhere but the gateway that served the page.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { AssetError } from "./errors.js";

/** Hex sha256 of bytes (noble's: WebCrypto's digest needs a secure context). */
export function sha256Hex(bytes) {
  return bytesToHex(sha256(bytes));
}

/**
 * Hex sha256 of bytes, by WebCrypto's native digest where the page has it (a secure context:
 * about a third of noble's time on a 64 KiB payload, off the JavaScript thread), else noble's.
 */
export async function sha256HexAsync(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256Hex(bytes);
  return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", bytes)));
}

/** The gateway's page files: `manifest.json`, then each file by name, hash-checked. */
export class Assets {
  /** @param {string} base the page's folder URL, e.g. "http://host:port/worker/" */
  constructor(base, manifest, fetchFn = globalThis.fetch.bind(globalThis)) {
    this.base = base;
    this.manifest = manifest;
    this.fetch = fetchFn;
    this.cache = new Map();
  }

  /** @throws {AssetError} the manifest cannot be fetched or parsed */
  static async load(base, fetchFn = globalThis.fetch.bind(globalThis)) {
    const url = new URL("manifest.json", base);
    let response;
    try {
      response = await fetchFn(url, { cache: "no-store" });
    } catch (err) {
      throw new AssetError(`cannot fetch ${url}: ${err.message}`, { cause: err });
    }
    if (!response.ok) throw new AssetError(`${url}: HTTP ${response.status}; is this a Shardy gateway?`);
    const manifest = await response.json();
    if (typeof manifest?.files !== "object") throw new AssetError(`${url} lists no files`);
    return new Assets(base, manifest, fetchFn);
  }

  /**
   * The bytes of `name`, checked against the manifest's sha256 (fetched once).
   *
   * @returns {Promise<Uint8Array>}
   * @throws {AssetError} not listed, not served, or a different sha256
   */
  async bytes(name) {
    let pending = this.cache.get(name);
    if (pending === undefined) {
      pending = this.#fetch(name);
      this.cache.set(name, pending);
      pending.catch(() => this.cache.delete(name));
    }
    return pending;
  }

  /** The text of `name` (UTF-8), checked as `bytes`. */
  async text(name) {
    return new TextDecoder().decode(await this.bytes(name));
  }

  async #fetch(name) {
    const entry = Object.hasOwn(this.manifest.files, name) ? this.manifest.files[name] : undefined;
    if (entry === undefined) throw new AssetError(`the gateway's manifest lists no ${name}`);
    const url = new URL(name, this.base);
    const response = await this.fetch(url, { cache: "no-store" });
    if (!response.ok) throw new AssetError(`${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const got = sha256Hex(bytes);
    if (got !== entry.sha256) {
      throw new AssetError(`${name} has sha256 ${got}, the gateway's manifest says ${entry.sha256}; reload the page, or the gateway is misconfigured`);
    }
    return bytes;
  }
}
