// A streamed order arriving at the tab (shardy/session.py `Inbound`): the gateway sends an order
// whose payload exceeds one CHUNK as its header (the payload's sha256 and size, and `chunks`),
// then `order_chunk` messages. Each chunk's place and length are checked as it comes, the bytes
// are hashed as they pass (incremental sha256: WebCrypto's digest needs the whole buffer) and go
// to a sink (memory, or OPFS through the compute worker: spill.js); the sha256 is checked once
// the last is in, before a byte is used.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { PayloadError } from "./errors.js";
import { CHUNK } from "./frames.js";

/** How many `order_chunk` messages carry a payload of `size` bytes (0: it rides inline). */
export function chunkCount(size) {
  return size > CHUNK ? Math.ceil(size / CHUNK) : 0;
}

/** A payload assembled in memory: one buffer of its size, each chunk copied into place once. */
export class MemorySink {
  constructor(size) {
    this.bytes = new Uint8Array(size);
  }

  write(data, at) {
    this.bytes.set(data, at);
  }
}

/** A payload spilled to OPFS: its chunks go to the compute worker (transferred, not copied),
 * which writes them at their offsets (spill.js). */
export class SpillSink {
  constructor(client, size) {
    this.client = client;
    this.id = client.spoolBegin(size);
  }

  write(data, at) {
    this.client.spoolWrite(this.id, data, at);
  }

  drop() {
    this.client.spoolDrop(this.id);
  }
}

/** One streamed order's chunks, checked. */
export class Inbound {
  /**
   * @param order the parsed header (parseOrder: payloadSha256, payloadSize, chunks)
   * @param sink {write(Uint8Array, at)}: where the bytes go
   * @throws {PayloadError} the header's chunk count does not fit the payload's size
   */
  constructor(order, sink) {
    const want = chunkCount(order.payloadSize);
    if (order.chunks !== want) {
      throw new PayloadError(`the order names ${order.chunks} chunks for a payload of ${order.payloadSize} bytes; ${want} carry it`);
    }
    Object.assign(this, { order, sink, received: 0, hasher: sha256.create() });
    this.what = `replica ${order.replica} of task ${order.taskId.slice(0, 12)}`;
  }

  /**
   * Take the next `order_chunk` message; true once the payload is whole and checked.
   *
   * @throws {PayloadError} out of order, a wrong length, one too many, an abort, a wrong sha256
   */
  take({ meta, segments }) {
    const { order } = this;
    if (meta.abort !== undefined && meta.abort !== null) {
      throw new PayloadError(`the gateway aborted ${this.what}: ${String(meta.abort).slice(0, 500)}`);
    }
    if (meta.index !== this.received) {
      throw new PayloadError(`chunk ${String(meta.index).slice(0, 20)} of ${this.what} came out of order (expected chunk ${this.received} of ${order.chunks})`);
    }
    if (meta.index >= order.chunks) throw new PayloadError(`${this.what} sent more than the ${order.chunks} chunks its order named`);
    const at = CHUNK * meta.index;
    const want = meta.index === order.chunks - 1 ? order.payloadSize - at : CHUNK;
    const data = segments.length === 1 ? segments[0] : new Uint8Array(0);
    if (segments.length !== 1 || data.length !== want) {
      throw new PayloadError(`chunk ${meta.index} of ${this.what} has ${data.length} bytes; it needs ${want}`);
    }
    this.hasher.update(data);  // before the sink: it may take the buffer away (transfer)
    this.sink.write(data, at);
    this.received += 1;
    if (this.received < order.chunks) return false;
    if (bytesToHex(this.hasher.digest()) !== order.payloadSha256) {
      throw new PayloadError(`the streamed payload of ${this.what} does not hash to its order's sha256`);
    }
    return true;
  }
}
