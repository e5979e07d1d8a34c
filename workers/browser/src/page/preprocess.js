// The repository's preprocessor module (workers/shardy_preprocess.wasm) through the browser's
// WebAssembly, with the call ABI of workers/wasm.py: alloc_bytes(128 + in + out) -> ptr; a
// 128-byte header (in_len, out_len, then up to 14 params, each a little-endian u64) and the
// payload at ptr; func(ptr) -> status writes out_len bytes after the payload. Every call gets
// a fresh instance. Only the preprocessors the page's kernels use are planned here (mirroring
// workers/preprocess/plans.py).
import { PreprocessError } from "./errors.js";
import { roundHalfEven } from "./kernels.js";

const FRAME_BYTES = 128;
const FRAME_PARAMS = 14;
const STATUS_REASONS = {
  1: "the module refused a parameter",
  2: "the payload length does not fit the params",
  3: "no memory left for scratch space",
};
const DTYPES = { u8: [0, 1], i8: [1, 1], u16: [2, 2], i16: [3, 2] };

/** The ema preprocessor's plan (workers/preprocess/plans.py `ema`): out_len and wasm args. */
function emaPlan(n, params) {
  const { alpha, dtype = "u8", channels = 1, frac_bits: fracBits = 8 } = params;
  const unknown = Object.keys(params).filter((k) => !["alpha", "dtype", "channels", "frac_bits"].includes(k));
  if (unknown.length) throw new PreprocessError(`preprocessor 'ema': unknown param(s) ${unknown}`);
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new PreprocessError(`preprocessor 'ema': param 'alpha'=${alpha} must lie in [0, 1]`);
  }
  if (!Object.hasOwn(DTYPES, dtype)) throw new PreprocessError(`preprocessor 'ema': param 'dtype'=${dtype} is not one of u8, i8, u16, i16`);
  const [code, isz] = DTYPES[dtype];
  if (!Number.isInteger(channels) || channels < 1) throw new PreprocessError("preprocessor 'ema': channels must be an int ≥ 1");
  if (!Number.isInteger(fracBits) || fracBits < 0 || fracBits > 31 - 8 * isz) {
    throw new PreprocessError(`preprocessor 'ema': frac_bits=${fracBits} is out of range`);
  }
  if (n % isz || (n / isz) % channels) {
    throw new PreprocessError(`preprocessor 'ema': payload of ${n} bytes is not a whole number of ${channels}-channel ${dtype} samples`);
  }
  return { outLen: (n / isz) * 4, args: [code, channels, roundHalfEven(alpha * 65536), fracBits] };
}

const PLANNERS = { ema: emaPlan };

/** Runs named preprocessors of one compiled module. */
export class Preprocessor {
  /** @param {WebAssembly.Module} module the compiled shardy_preprocess.wasm */
  constructor(module) {
    this.module = module;
  }

  /** Compile the module's bytes (checked against the gateway's sha256 by the caller). */
  static async fromBytes(bytes) {
    return new Preprocessor(await WebAssembly.compile(bytes));
  }

  /**
   * Run preprocessor `name` on `data`.
   *
   * @param {string} name e.g. "ema"
   * @param {Uint8Array | {length, read(target, at)}} data the payload (or a spilled one)
   * @param {object} params the preprocessor's params
   * @returns {Promise<Uint8Array>} the output bytes (a view of a fresh buffer)
   * @throws {PreprocessError} unknown name, bad params, nonzero status, a trap
   */
  async run(name, data, params) {
    const planner = Object.hasOwn(PLANNERS, name) ? PLANNERS[name] : undefined;
    if (planner === undefined) throw new PreprocessError(`unknown preprocessor ${JSON.stringify(name)} in the browser worker; it runs ${Object.keys(PLANNERS)}`);
    const { outLen, args } = planner(data.length, params);
    if (args.length > FRAME_PARAMS) throw new PreprocessError(`more than ${FRAME_PARAMS} params`);
    const instance = await WebAssembly.instantiate(this.module, {});
    const { memory, alloc_bytes: alloc } = instance.exports;
    const func = instance.exports[name];
    const frameLen = FRAME_BYTES + data.length + outLen;
    let status;
    let ptr;
    try {
      ptr = alloc(frameLen) >>> 0;
      if (ptr === 0) throw new PreprocessError(`wasm preprocessor '${name}' ran out of memory for a ${frameLen}-byte frame`);
      const header = new DataView(memory.buffer, ptr, FRAME_BYTES);
      header.setBigUint64(0, BigInt(data.length), true);
      header.setBigUint64(8, BigInt(outLen), true);
      for (let i = 0; i < FRAME_PARAMS; i++) {
        header.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(args[i] ?? 0)), true);
      }
      const into = new Uint8Array(memory.buffer, ptr + FRAME_BYTES, data.length);
      if (data instanceof Uint8Array) into.set(data);
      else data.read(into, 0);  // a spilled payload: read from OPFS straight into wasm memory
      status = func(ptr);
    } catch (err) {
      if (err instanceof PreprocessError) throw err;
      throw new PreprocessError(`wasm preprocessor '${name}' trapped (${err.message})`, { cause: err });
    }
    if (status) {
      const reason = STATUS_REASONS[status] ?? `unknown status ${status}`;
      throw new PreprocessError(`wasm preprocessor '${name}' refused the call: ${reason}`);
    }
    return new Uint8Array(memory.buffer.slice(ptr + FRAME_BYTES + data.length, ptr + frameLen));
  }
}
