// Payloads spilled to the origin private file system (OPFS), in the compute worker: a dedicated
// Web Worker has synchronous access handles (`createSyncAccessHandle`), so chunks are written at
// their offsets as they arrive and read back in chunks straight into the GPU's upload buffer or
// the preprocessor's wasm memory; the tab never holds such a payload whole. Some headless or
// private-mode browsers have no OPFS: `Spill.open` says why, and the page keeps payloads in
// memory then.

/** Bytes read from a spilled payload per step (the GPU upload's and the wasm copy's chunk). */
export const STEP = 1 << 20;

/** A spilled payload as the compute path reads it: {length, read(target, at)}. */
class Source {
  constructor(handle, length) {
    this.handle = handle;
    this.length = length;
  }

  /** Fill `target` (a Uint8Array) with the payload's bytes from offset `at`. */
  read(target, at) {
    for (let done = 0; done < target.length;) {
      const n = this.handle.read(target.subarray(done, Math.min(target.length, done + STEP)), { at: at + done });
      if (n <= 0) throw new Error(`the spilled payload ends at ${at + done} of ${this.length} bytes`);
      done += n;
    }
  }
}

/** The compute worker's spilled payloads, by id. */
export class Spill {
  constructor(dir) {
    this.dir = dir;
    this.files = new Map();  // id -> Promise<{name, handle, size}> once opened
    this.chains = new Map();  // id -> the same, after its writes so far (in order)
  }

  /**
   * OPFS, if this browser offers it to a worker: {spill: Spill} or {reason} why not.
   */
  static async open() {
    try {
      const dir = await globalThis.navigator.storage.getDirectory();
      const probe = await dir.getFileHandle(`probe-${crypto.randomUUID()}`, { create: true });
      const handle = await probe.createSyncAccessHandle();
      handle.close();
      await dir.removeEntry(probe.name);
      return { spill: new Spill(dir) };
    } catch (err) {
      return { reason: `${err.name}: ${err.message}` };
    }
  }

  /** Start payload `id` of `size` bytes (a fresh file). */
  begin(id, size) {
    const name = `payload-${crypto.randomUUID()}`;
    const opened = (async () => {
      const file = await this.dir.getFileHandle(name, { create: true });
      const handle = await file.createSyncAccessHandle();
      handle.truncate(0);
      return { name, handle, size };
    })();
    this.files.set(id, opened);
    this.chains.set(id, opened);
    opened.catch(() => null);
  }

  /** Write `bytes` at `at` of payload `id` (after the writes before it). */
  write(id, bytes, at) {
    const next = this.#get(id).then((f) => {
      f.handle.write(bytes, { at });
      return f;
    });
    this.chains.set(id, next);
    next.catch(() => null);
  }

  /** Payload `id`, once every write is in, as a source the compute path reads in chunks. */
  async source(id) {
    const f = await this.#get(id);
    f.handle.flush();
    if (f.handle.getSize() !== f.size) throw new Error(`the spilled payload has ${f.handle.getSize()} bytes, not ${f.size}`);
    return new Source(f.handle, f.size);
  }

  /** Close and delete payload `id`. */
  async drop(id) {
    const opened = this.files.get(id);
    this.files.delete(id);
    this.chains.delete(id);
    if (opened === undefined) return;
    const f = await opened.catch(() => null);
    if (f === null) return;
    f.handle.close();
    await this.dir.removeEntry(f.name).catch(() => null);
  }

  #get(id) {
    const f = this.chains.get(id);
    if (f === undefined) throw new Error(`no spilled payload ${id}`);
    return f;
  }
}
