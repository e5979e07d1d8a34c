// The page's streamed orders (src/page/inbound.js, frames.js parseOrder), as shardy/session.py
// `Inbound`: chunks checked for place, length and count, the payload's sha256 before use.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { CHUNK, decodeMessage, encodeFrame, encodeMessage, parseOrder } from "../src/page/frames.js";
import { Inbound, MemorySink, chunkCount } from "../src/page/inbound.js";

const SIZE = 3 * CHUNK + 99;
const payload = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) % 251);
const key = { task_id: "t".repeat(32), round: 0, replica: 1 };

function header(chunks = chunkCount(SIZE)) {
  const meta = { kind: "shardy.order", task_id: key.task_id, replica: 1, round: 0, kernel: "histogram", seed: 3,
                 output_len: 1024, params: {}, payload: { sha256: bytesToHex(sha256(payload)), size: SIZE },
                 key_id: "ab".repeat(8), exclude: [], assignee: null, inline: [], chunks };
  return parseOrder(decodeMessage(encodeFrame(meta), "order"));
}

function chunk(index, bytes = payload.subarray(index * CHUNK, (index + 1) * CHUNK), extra = {}) {
  return decodeMessage(encodeMessage("order_chunk", { ...key, index, ...extra }, [bytes]), "order_chunk");
}

test("a streamed payload comes back whole and checked", () => {
  const order = header();
  assert.equal(order.chunks, 4);
  assert.equal(order.payload, null);
  const sink = new MemorySink(SIZE);
  const inbound = new Inbound(order, sink);
  assert.deepEqual([0, 1, 2, 3].map((i) => inbound.take(chunk(i))), [false, false, false, true]);
  assert.deepEqual(sink.bytes, payload);
});

test("broken streams are refused with a PayloadError", () => {
  const refused = (steps, match) => {
    const inbound = new Inbound(header(), new MemorySink(SIZE));
    assert.throws(() => steps.forEach((m) => inbound.take(m)), (err) => err.name === "PayloadError" && match.test(err.message));
  };
  refused([chunk(1)], /came out of order \(expected chunk 0 of 4\)/);
  refused([chunk(0, payload.subarray(0, CHUNK - 1))], /has 1048575 bytes; it needs 1048576/);
  const bad = payload.slice(3 * CHUNK);
  bad[0] ^= 1;
  refused([chunk(0), chunk(1), chunk(2), chunk(3, bad)], /does not hash to its order's sha256/);
  refused([chunk(0), chunk(1), chunk(2), chunk(3), chunk(4, new Uint8Array(1))], /more than the 4 chunks/);
  refused([chunk(0), chunk(1, new Uint8Array(0), { abort: "BlobNotFound: expired" })], /aborted.*expired/);
  assert.throws(() => new Inbound(header(5), new MemorySink(SIZE)), /names 5 chunks for a payload of 3145827 bytes; 4 carry it/);
});

test("a streamed header carries no payload inline", () => {
  assert.throws(() => header(0), /positive chunk count/);
});
