// Circom witness calculator: runs the circuit's witness wasm through the host's WebAssembly.
//
// Written here from circom 2's wasm ABI (the same protocol as shardy/zk/witness.py), not from
// circom's generated witness_calculator.js (GPL). The wasm imports four `runtime` functions and
// exports `memory` plus the functions used below. Input signals are addressed by the FNV-1a-64
// hash of their names: a value is written into the shared read/write memory region (n32
// little-endian u32 words) and `setInputSignal(hashHi, hashLo, index)` takes it. After the last
// input, `getWitness(i)` puts wire i in the same region. Values are read straight from the
// exported memory (one typed-array view, no call per word).
import { ProofError } from "./errors.js";
import { R } from "./field.js";

const CIRCOM_ERRORS = {
  1: "signal not found",
  2: "too many signals set",
  3: "signal already set",
  4: "assert failed (the inputs do not satisfy the circuit's constraints)",
  5: "not enough memory",
  6: "input signal array access exceeds the size",
  7: "out of bounds array access",
};

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** FNV-1a 64-bit hash of a signal name, as circom keys its input signals. */
export function fnv1a64(name) {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(name)) h = ((h ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  return h;
}

/** Raised inside the exceptionHandler import to unwind out of the wasm. */
class CircomAbort extends Error {
  constructor(code) {
    super(`circom error ${code}`);
    this.code = code;
  }
}

function toValue(name, v) {
  let n;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^[0-9]{1,80}$/.test(v)) n = BigInt(v);
  else throw new ProofError(`input ${JSON.stringify(name)} must be an integer in [0, r)`);
  if (n < 0n || n >= R) throw new ProofError(`input ${JSON.stringify(name)} must lie in [0, r)`);
  return n;
}

/** One instantiated witness wasm. Not re-entrant: one calculate() at a time. */
export class WitnessCalculator {
  /** Use {@link createWitnessCalculator}. */
  constructor(instance, messages) {
    this._ex = instance.exports;
    this._messages = messages;
    for (const name of [
      "memory", "getSharedRWMemoryStart", "init", "setInputSignal", "getInputSignalSize",
      "getRawPrime", "getFieldNumLen32", "getWitnessSize", "getInputSize", "getWitness",
    ]) {
      if (!(name in this._ex)) throw new ProofError(`witness wasm lacks the export ${name}`);
    }
    /** u32 words per field element. */
    this.n32 = this._ex.getFieldNumLen32();
    this._shared = this._ex.getSharedRWMemoryStart();
    this._ex.getRawPrime();
    /** The field the circuit was compiled for (must be BLS12-381's Fr). */
    this.prime = this._readShared();
    /** Number of wires of the witness (wire 0 is the constant 1). */
    this.witnessSize = this._ex.getWitnessSize();
    /** Number of input field elements the circuit expects. */
    this.inputSize = this._ex.getInputSize();
    if (this.prime !== R) {
      throw new ProofError(
        `witness wasm was compiled for prime ${this.prime}, not BLS12-381's scalar field; ` +
          "recompile with circom --prime bls12381",
      );
    }
  }

  _words() {
    // re-viewed on every use: a memory.grow inside the wasm detaches the old buffer
    return new Uint32Array(this._ex.memory.buffer, this._shared, this.n32);
  }

  _readShared() {
    const words = this._words();
    let hex = "";
    for (let i = this.n32 - 1; i >= 0; i--) hex += words[i].toString(16).padStart(8, "0");
    return BigInt("0x" + hex);
  }

  /**
   * The full witness (wire 0 is the constant 1) for these input signals.
   *
   * @param {Record<string, bigint | number | string | Array<bigint | number | string>>} inputs
   * @returns {bigint[]} one value in [0, r) per wire
   * @throws {ProofError} an input is unknown, missing, of the wrong size or not a field element,
   *   or the inputs violate a constraint
   */
  calculate(inputs) {
    this._messages.length = 0;
    try {
      return this._calculate(inputs);
    } catch (err) {
      if (err instanceof ProofError) throw err;
      const what =
        err instanceof CircomAbort
          ? CIRCOM_ERRORS[err.code] ?? `circom error ${err.code}`
          : `wasm trap: ${err.message}`;
      const detail = this._messages.map((m) => m.trim()).filter(Boolean).join(" ");
      throw new ProofError(`witness computation failed: ${what}. ${detail}`.trim());
    }
  }

  _calculate(inputs) {
    const ex = this._ex;
    ex.init(0);
    let count = 0;
    for (const [name, value] of Object.entries(inputs)) {
      const values = Array.isArray(value) ? value : [value];
      const h = fnv1a64(name);
      const hi = Number(BigInt.asIntN(32, h >> 32n));
      const lo = Number(BigInt.asIntN(32, h));
      const size = ex.getInputSignalSize(hi, lo);
      const quoted = JSON.stringify(name);
      if (size <= 0) throw new ProofError(`the circuit has no input signal ${quoted}`);
      if (size !== values.length) {
        throw new ProofError(`input ${quoted} takes ${size} values, got ${values.length}`);
      }
      for (let i = 0; i < values.length; i++) {
        let v = toValue(name, values[i]);
        const words = this._words();
        for (let k = 0; k < this.n32; k++) {
          words[k] = Number(v & 0xffffffffn);
          v >>= 32n;
        }
        ex.setInputSignal(hi, lo, i);
        count++;
      }
    }
    if (count < this.inputSize) {
      throw new ProofError(`only ${count} of the circuit's ${this.inputSize} inputs were given`);
    }
    const out = new Array(this.witnessSize);
    for (let i = 0; i < this.witnessSize; i++) {
      ex.getWitness(i);
      out[i] = this._readShared();
    }
    return out;
  }
}

/**
 * Compile and instantiate a circom 2 witness wasm.
 *
 * @param {ArrayBuffer | Uint8Array | WebAssembly.Module} wasm the circuit's witness wasm
 * @returns {Promise<WitnessCalculator>}
 * @throws {ProofError} the bytes are not a circom 2 witness calculator for BLS12-381
 */
export async function createWitnessCalculator(wasm) {
  let module;
  try {
    module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
  } catch (err) {
    throw new ProofError(`witness wasm does not compile: ${err.message}`, { cause: err });
  }
  const messages = [];
  let exports = null;
  const readMessage = () => {
    let text = "";
    for (let c = exports.getMessageChar(); c; c = exports.getMessageChar()) {
      text += String.fromCharCode(c);
    }
    messages.push(text);
  };
  const runtime = {
    exceptionHandler: (code) => {
      throw new CircomAbort(code);
    },
    printErrorMessage: readMessage,
    writeBufferMessage: readMessage,
    showSharedRWMemory: () => {},
  };
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, { runtime });
  } catch (err) {
    throw new ProofError(`witness wasm is not a circom 2 witness calculator: ${err.message}`, {
      cause: err,
    });
  }
  exports = instance.exports;
  return new WitnessCalculator(instance, messages);
}
