// Shardy frames (shardy/frames.py) and the session's messages (shardy/session.py): a prefix
// "SHF", version 1, the header's length (u32 LE), the JSON header {"m": meta, "s": [segment
// lengths]}, then the raw segments. Integers beyond 2**53 (seeds) are read as BigInt.
import { FrameError } from "./errors.js";

const MAGIC = [0x53, 0x48, 0x46];  // "SHF"
const VERSION = 1;
const PREFIX = 8;
const SESSION = "shardy.session.";
/** Output and payload bytes per message (larger ones follow in chunk / order_chunk messages), as
 * session.CHUNK. */
export const CHUNK = 1 << 20;

const utf8 = new TextEncoder();

/** JSON.parse keeping integers beyond 2**53 exact (as BigInt), from the number's source. */
export function parseJson(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined
        && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

/** JSON text with BigInts written as plain integers. */
export function toJson(value) {
  const marks = [];
  const text = JSON.stringify(value, (key, v) => {
    if (typeof v !== "bigint") return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}

/** A frame's bytes. `segments` are Uint8Arrays (or ArrayBuffers). */
export function encodeFrame(meta, segments = []) {
  const segs = segments.map((s) => (s instanceof Uint8Array ? s : new Uint8Array(s)));
  const header = utf8.encode(toJson({ m: meta, s: segs.map((s) => s.length) }));
  const out = new Uint8Array(PREFIX + header.length + segs.reduce((n, s) => n + s.length, 0));
  out.set(MAGIC, 0);
  out[3] = VERSION;
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, PREFIX);
  let at = PREFIX + header.length;
  for (const s of segs) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/**
 * Parse a frame strictly: {meta, segments (views into `data`)}.
 *
 * @throws {FrameError} anything malformed
 */
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < PREFIX || MAGIC.some((b, i) => bytes[i] !== b)) throw new FrameError("not a Shardy frame");
  if (bytes[3] !== VERSION) throw new FrameError(`frame version ${bytes[3]} is not supported`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, PREFIX).getUint32(4, true);
  if (PREFIX + headerLen > bytes.length) throw new FrameError("frame header exceeds the frame");
  let header;
  try {
    header = parseJson(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerLen)));
  } catch (err) {
    throw new FrameError(`frame header is not valid JSON: ${err.message}`);
  }
  const lengths = header?.s;
  if (!Array.isArray(lengths) || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new FrameError("frame segment table must be a list of non-negative integers");
  }
  let at = PREFIX + headerLen;
  if (at + lengths.reduce((a, b) => a + b, 0) !== bytes.length) throw new FrameError("frame segments do not add up");
  const segments = lengths.map((n) => bytes.subarray(at, (at += n)));
  return { meta: header.m, segments };
}

/** A session message's bytes. */
export function encodeMessage(kind, meta, segments = []) {
  return encodeFrame({ kind: SESSION + kind, ...meta }, segments);
}

/**
 * A session message of one of `expected` kinds ("order" takes a replica order frame):
 * {kind, meta, segments}.
 *
 * @throws {FrameError} malformed or unexpected; the peer's error message as {peer: true}
 */
export function decodeMessage(data, ...expected) {
  const { meta, segments } = decodeFrame(data);
  let kind = typeof meta?.kind === "string" ? meta.kind : "";
  if (kind === "shardy.order" && expected.includes("order")) return { kind: "order", meta, segments };
  if (!kind.startsWith(SESSION)) throw new FrameError(`not a session message (kind ${kind.slice(0, 40)})`);
  kind = kind.slice(SESSION.length);
  if (kind === "error") {
    const err = new FrameError(`the gateway refused: ${String(meta.message).slice(0, 500)}`);
    err.code = String(meta.code).slice(0, 40);
    throw err;
  }
  if (!expected.includes(kind)) throw new FrameError(`unexpected ${kind.slice(0, 40)} (expected ${expected.join(", ")})`);
  return { kind, meta, segments };
}

/**
 * A replica order (shardy/messages.py ReplicaOrder) from its message: the fields the page
 * uses, with the payload bytes (null for a streamed order: `chunks` says how many follow).
 *
 * @throws {FrameError} a field is missing or of the wrong type, or the segments do not fit
 */
export function parseOrder({ meta: m, segments }) {
  const types = { task_id: "string", replica: "number", round: "number", kernel: "string",
                  key_id: "string", params: "object", payload: "object" };
  for (const [k, t] of Object.entries(types)) {
    if (typeof m[k] !== t || m[k] === null) throw new FrameError(`replica order field ${k} is missing or not a ${t}`);
  }
  const seed = BigInt(m.seed);
  const orderHash = parseOrderHash(m.order_hash);
  const names = m.inline ?? (segments.length ? ["payload"] : []);
  if (names.length !== segments.length) throw new FrameError("replica order segments do not match its 'inline' list");
  const chunks = m.chunks ?? null;  // a streamed order: its payload follows in order_chunk messages
  if (chunks !== null && (!Number.isSafeInteger(chunks) || chunks < 1 || names.includes("payload"))) {
    throw new FrameError("a streamed order names a positive chunk count and carries no payload inline");
  }
  if (chunks === null && !names.includes("payload")) throw new FrameError("the browser worker needs the payload inline or in chunks");
  if (names.includes("kernel")) throw new FrameError("the browser worker runs built-in kernels only (this order ships a kernel)");
  const payloadSize = m.payload.size;
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 0) throw new FrameError("replica order payload size must be a non-negative integer");
  return {
    taskId: m.task_id, replica: m.replica, round: m.round, kernel: m.kernel, seed,
    outputLen: Number(m.output_len), params: m.params, keyId: m.key_id,
    payloadSha256: m.payload.sha256, payloadSize, chunks,
    payload: chunks === null ? segments[names.indexOf("payload")] : null, orderHash,
  };
}

/**
 * An order's `order_hash` (shardy/messages.py; the gateway adds it for remote workers): 64
 * lower-case hex digits of a field element below 2**248 (a sha256 shifted right by 8; the page
 * cannot recompute it, it hashes Python's canonical JSON). Absent: null.
 *
 * @throws {FrameError} present but not such a value
 */
export function parseOrderHash(value) {
  if (value === undefined) return null;
  if (typeof value !== "string" || !/^00[0-9a-f]{62}$/.test(value)) {
    throw new FrameError(`replica order field order_hash must be 64 lower-case hex digits below 2**248, got ${String(value).slice(0, 80)}`);
  }
  return BigInt(`0x${value}`);
}
