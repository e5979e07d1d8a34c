// Shardy's worker page, built by workers/browser/scripts/build.mjs from workers/browser/src
// (Apache-2.0) and @noble/curves, @noble/hashes (MIT). Do not edit: run `npm run build`.

// src/errors.js
var ProofError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "ProofError";
  }
};

// node_modules/@noble/hashes/_u64.js
var fromNumH = (n) => n / 2 ** 32 | 0;
var fromNumL = (n) => n >>> 0;
function setU64FromNum(view, byteOffset, n, isLE) {
  const h = fromNumH(n);
  const l = fromNumL(n);
  view.setUint32(byteOffset, isLE ? l : h, isLE);
  view.setUint32(byteOffset + 4, isLE ? h : l, isLE);
}

// node_modules/@noble/hashes/utils.js
function isBytes(a) {
  return a instanceof Uint8Array || ArrayBuffer.isView(a) && a.constructor.name === "Uint8Array" && "BYTES_PER_ELEMENT" in a && a.BYTES_PER_ELEMENT === 1;
}
var atitle = (title) => title ? `"${title}" ` : "";
function anumber(n, title = "") {
  if (typeof n !== "number")
    throw new TypeError(atitle(title) + "expected number, got " + typeof n);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(atitle(title) + "expected integer >= 0, got " + n);
  return n;
}
function abytes(value, length, title = "") {
  if (isBytes(value) && (length === void 0 || value.length === length))
    return value;
  if (length !== void 0)
    anumber(length, "length");
  const bytes = isBytes(value);
  const ofLen = length !== void 0 ? ` of length ${length}` : "";
  const got = bytes ? `length=${value.length}` : `type=${typeof value}`;
  const message = atitle(title) + "expected Uint8Array" + ofLen + ", got " + got;
  if (!bytes)
    throw new TypeError(message);
  throw new RangeError(message);
}
var aobject = (value, label) => {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TypeError((label === "object" ? "" : `"${label}" `) + "expected object, got type=" + typeof value);
};
var aopts = (value, label) => {
  aobject(value, label);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    throw new TypeError(`"${label}" expected plain object`);
  if (Object.hasOwn(value, "__proto__"))
    throw new TypeError(`"${label}.__proto__" is not allowed`);
};
function aexists(instance, checkFinished = true) {
  if (instance.destroyed)
    throw new Error("hash was destroyed");
  if (checkFinished && instance.finished)
    throw new Error("digest() was already called");
}
function aoutput(out, instance) {
  abytes(out, void 0, "output");
  const min = instance.outputLen;
  if (!(out.length >= min)) {
    throw new RangeError('"output" expected length >= ' + min);
  }
}
function clean(...arrays) {
  for (let i = 0; i < arrays.length; i++) {
    arrays[i].fill(0);
  }
}
function createView(arr) {
  return new DataView(arr.buffer, arr.byteOffset, arr.byteLength);
}
function rotr(word, shift) {
  return word << 32 - shift | word >>> shift;
}
var hasHexBuiltin = /* @__PURE__ */ (() => (
  // @ts-ignore
  typeof Uint8Array.from([]).toHex === "function" && typeof Uint8Array.fromHex === "function"
))();
var hexes = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function bytesToHex(bytes) {
  abytes(bytes);
  if (hasHexBuiltin)
    return bytes.toHex();
  let hex = "";
  for (let i = 0; i < bytes.length; i++) {
    hex += hexes[bytes[i]];
  }
  return hex;
}
function asciiToBase16(ch) {
  return ch >= 48 && ch <= 57 ? ch - 48 : ch >= 65 && ch <= 70 ? ch - (65 - 10) : ch >= 97 && ch <= 102 ? ch - (97 - 10) : void 0;
}
function hexToBytes(hex) {
  if (typeof hex !== "string")
    throw new TypeError("hex string expected, got " + typeof hex);
  if (hasHexBuiltin) {
    try {
      return Uint8Array.fromHex(hex);
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new RangeError(error.message);
      throw error;
    }
  }
  const hl = hex.length;
  const al = hl / 2;
  if (hl % 2)
    throw new RangeError("hex string expected, got unpadded hex of length " + hl);
  const array = new Uint8Array(al);
  for (let ai = 0, hi = 0; ai < al; ai++, hi += 2) {
    const n1 = asciiToBase16(hex.charCodeAt(hi));
    const n2 = asciiToBase16(hex.charCodeAt(hi + 1));
    if (n1 === void 0 || n2 === void 0) {
      const char = hex[hi] + hex[hi + 1];
      throw new RangeError('hex string expected, got non-hex character "' + char + '" at index ' + hi);
    }
    array[ai] = n1 * 16 + n2;
  }
  return array;
}
function concatBytes(...arrays) {
  let sum = 0;
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i];
    abytes(a);
    sum += a.length;
  }
  const res = new Uint8Array(sum);
  for (let i = 0, pad = 0; i < arrays.length; i++) {
    const a = arrays[i];
    res.set(a, pad);
    pad += a.length;
  }
  return res;
}
function checkOpts(defaults, opts, title = "opts") {
  aopts(defaults, "defaults");
  if (opts !== void 0)
    aopts(opts, title);
  const merged = Object.assign(/* @__PURE__ */ Object.create(null), defaults, opts);
  return merged;
}
function createHasher(hashCons, info = {}) {
  if (typeof hashCons !== "function")
    throw new TypeError('"hashCons" expected function, got type=' + typeof hashCons);
  info = checkOpts({}, info, "info");
  const hashC = (msg, opts) => hashCons(opts).update(msg).digest();
  const tmp = hashCons(void 0);
  hashC.outputLen = tmp.outputLen;
  hashC.blockLen = tmp.blockLen;
  hashC.canXOF = tmp.canXOF;
  hashC.create = (opts) => hashCons(opts);
  Object.assign(hashC, info);
  return Object.freeze(hashC);
}
function randomBytes(bytesLength = 32) {
  anumber(bytesLength, "bytesLength");
  const cr = typeof globalThis === "object" ? globalThis.crypto : null;
  if (typeof cr?.getRandomValues !== "function")
    throw new Error("crypto.getRandomValues must be defined");
  if (bytesLength > 65536)
    throw new RangeError(`"bytesLength" expected <= 65536, got ${bytesLength}`);
  return cr.getRandomValues(new Uint8Array(bytesLength));
}
var oidNist = (suffix) => ({
  // Current NIST hashAlgs suffixes used here fit in one DER subidentifier octet.
  // Larger suffix values would need base-128 OID encoding and a different length byte.
  oid: Uint8Array.from([6, 9, 96, 134, 72, 1, 101, 3, 4, 2, suffix])
});

// node_modules/@noble/hashes/_md.js
function Chi(a, b, c) {
  return a & b ^ ~a & c;
}
function Maj(a, b, c) {
  return a & b ^ a & c ^ b & c;
}
var HashMD = class {
  blockLen;
  outputLen;
  canXOF = false;
  padOffset;
  isLE;
  // For partial updates less than block size
  buffer;
  view;
  finished = false;
  length = 0;
  pos = 0;
  destroyed = false;
  constructor(blockLen, outputLen, padOffset, isLE) {
    this.blockLen = blockLen;
    this.outputLen = outputLen;
    this.padOffset = padOffset;
    this.isLE = isLE;
    this.buffer = new Uint8Array(blockLen);
    this.view = createView(this.buffer);
  }
  update(data) {
    aexists(this);
    abytes(data);
    const { view, buffer, blockLen } = this;
    const len = data.length;
    let processed = false;
    for (let pos = 0; pos < len; ) {
      const take = Math.min(blockLen - this.pos, len - pos);
      if (take === blockLen) {
        const dataView = createView(data);
        for (; blockLen <= len - pos; pos += blockLen)
          this.process(dataView, pos);
        processed = true;
        continue;
      }
      buffer.set(pos === 0 && take === len ? data : data.subarray(pos, pos + take), this.pos);
      this.pos += take;
      pos += take;
      if (this.pos === blockLen) {
        this.process(view, 0);
        this.pos = 0;
        processed = true;
      }
    }
    this.length += data.length;
    if (processed)
      this.roundClean();
    return this;
  }
  digestInto(out) {
    aexists(this);
    aoutput(out, this);
    this.finished = true;
    const { buffer, view, blockLen, isLE } = this;
    let { pos } = this;
    buffer[pos++] = 128;
    buffer.fill(0, pos);
    if (this.padOffset > blockLen - pos) {
      this.process(view, 0);
      buffer.fill(0);
    }
    setU64FromNum(view, blockLen - 8, this.length * 8, isLE);
    this.process(view, 0);
    this.roundClean();
    const oview = out === buffer ? view : createView(out);
    const len = this.outputLen;
    const outLen = len / 4;
    const state = this.get();
    if (len % 4 || outLen > state.length)
      throw new Error("invalid outputLen");
    for (let i = 0; i < outLen; i++)
      oview.setUint32(4 * i, state[i], isLE);
  }
  digest() {
    const { buffer, outputLen } = this;
    this.digestInto(buffer);
    const res = buffer.slice(0, outputLen);
    this.destroy();
    return res;
  }
  _cloneIntoMeta(to) {
    const { buffer, length, finished, destroyed, pos } = this;
    to.destroyed = destroyed;
    to.finished = finished;
    to.length = length;
    to.pos = pos;
    if (pos)
      to.buffer.set(buffer);
    return to;
  }
  clone() {
    return this._cloneInto();
  }
};
var SHA256_IV = /* @__PURE__ */ Uint32Array.from([
  1779033703,
  3144134277,
  1013904242,
  2773480762,
  1359893119,
  2600822924,
  528734635,
  1541459225
]);

// node_modules/@noble/hashes/sha2.js
var SHA256_K = /* @__PURE__ */ Uint32Array.from([
  1116352408,
  1899447441,
  3049323471,
  3921009573,
  961987163,
  1508970993,
  2453635748,
  2870763221,
  3624381080,
  310598401,
  607225278,
  1426881987,
  1925078388,
  2162078206,
  2614888103,
  3248222580,
  3835390401,
  4022224774,
  264347078,
  604807628,
  770255983,
  1249150122,
  1555081692,
  1996064986,
  2554220882,
  2821834349,
  2952996808,
  3210313671,
  3336571891,
  3584528711,
  113926993,
  338241895,
  666307205,
  773529912,
  1294757372,
  1396182291,
  1695183700,
  1986661051,
  2177026350,
  2456956037,
  2730485921,
  2820302411,
  3259730800,
  3345764771,
  3516065817,
  3600352804,
  4094571909,
  275423344,
  430227734,
  506948616,
  659060556,
  883997877,
  958139571,
  1322822218,
  1537002063,
  1747873779,
  1955562222,
  2024104815,
  2227730452,
  2361852424,
  2428436474,
  2756734187,
  3204031479,
  3329325298
]);
var SHA256_W = /* @__PURE__ */ new Uint32Array(64);
var SHA2_32B = class extends HashMD {
  // We cannot use array here since array allows indexing by variable
  // which means optimizer/compiler cannot use registers.
  // Numeric initializers matter: starting the fields as `undefined` changes
  // V8's field representation and makes sha256 3x slower (measured).
  A = 0;
  B = 0;
  C = 0;
  D = 0;
  E = 0;
  F = 0;
  G = 0;
  H = 0;
  constructor(outputLen, IV) {
    super(64, outputLen, 8, false);
    this.A = IV[0] | 0;
    this.B = IV[1] | 0;
    this.C = IV[2] | 0;
    this.D = IV[3] | 0;
    this.E = IV[4] | 0;
    this.F = IV[5] | 0;
    this.G = IV[6] | 0;
    this.H = IV[7] | 0;
  }
  get() {
    const { A, B, C, D, E, F, G, H } = this;
    return [A, B, C, D, E, F, G, H];
  }
  // prettier-ignore
  set(A, B, C, D, E, F, G, H) {
    this.A = A | 0;
    this.B = B | 0;
    this.C = C | 0;
    this.D = D | 0;
    this.E = E | 0;
    this.F = F | 0;
    this.G = G | 0;
    this.H = H | 0;
  }
  _cloneInto(to) {
    (to ||= new this.constructor()).set(...this.get());
    return this._cloneIntoMeta(to);
  }
  process(view, offset) {
    for (let i = 0; i < 16; i++, offset += 4)
      SHA256_W[i] = view.getUint32(offset, false);
    for (let i = 16; i < 64; i++) {
      const W15 = SHA256_W[i - 15];
      const W2 = SHA256_W[i - 2];
      const s0 = rotr(W15, 7) ^ rotr(W15, 18) ^ W15 >>> 3;
      const s1 = rotr(W2, 17) ^ rotr(W2, 19) ^ W2 >>> 10;
      SHA256_W[i] = s1 + SHA256_W[i - 7] + s0 + SHA256_W[i - 16] | 0;
    }
    let { A, B, C, D, E, F, G, H } = this;
    for (let i = 0; i < 64; i++) {
      const sigma1 = rotr(E, 6) ^ rotr(E, 11) ^ rotr(E, 25);
      const T1 = H + sigma1 + Chi(E, F, G) + SHA256_K[i] + SHA256_W[i] | 0;
      const sigma0 = rotr(A, 2) ^ rotr(A, 13) ^ rotr(A, 22);
      const T2 = sigma0 + Maj(A, B, C) | 0;
      H = G;
      G = F;
      F = E;
      E = D + T1 | 0;
      D = C;
      C = B;
      B = A;
      A = T1 + T2 | 0;
    }
    A = A + this.A | 0;
    B = B + this.B | 0;
    C = C + this.C | 0;
    D = D + this.D | 0;
    E = E + this.E | 0;
    F = F + this.F | 0;
    G = G + this.G | 0;
    H = H + this.H | 0;
    this.set(A, B, C, D, E, F, G, H);
  }
  roundClean() {
    clean(SHA256_W);
  }
  destroy() {
    this.destroyed = true;
    this.set(0, 0, 0, 0, 0, 0, 0, 0);
    clean(this.buffer);
  }
};
var _SHA256 = class extends SHA2_32B {
  constructor() {
    super(32, SHA256_IV);
  }
};
var sha256 = /* @__PURE__ */ createHasher(
  () => new _SHA256(),
  /* @__PURE__ */ oidNist(1)
);

// node_modules/@noble/curves/utils.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
function aarray(item, title, inner = () => {
}) {
  if (!Array.isArray(item))
    throw new TypeError(`"${title}" expected array, got type=${typeof item}`);
  for (let i = 0; i < item.length; i++)
    inner(item[i], `${title}[${i}]`);
  return item;
}
var abytes2 = (value, length, title) => abytes(value, length, title);
var anumber2 = anumber;
function aobject2(value, title = "object") {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new TypeError(title === "object" ? "expected valid options object" : `"${title}" expected object, got type=${typeof value}`);
  return value;
}
function afunction(value, title) {
  if (typeof value !== "function")
    throw new TypeError(`"${title}" is invalid: expected function, got ${typeof value}`);
  return value;
}
var bytesToHex2 = bytesToHex;
var concatBytes2 = (...arrays) => concatBytes(...arrays);
var hexToBytes2 = (hex) => hexToBytes(hex);
var isBytes2 = isBytes;
var randomBytes2 = (bytesLength) => randomBytes(bytesLength);
var _0n = /* @__PURE__ */ BigInt(0);
var _1n = /* @__PURE__ */ BigInt(1);
var atitle2 = (title) => title ? `"${title}" ` : "";
function abool(value, title = "") {
  if (typeof value !== "boolean")
    throw new TypeError(atitle2(title) + "expected boolean, got type=" + typeof value);
  return value;
}
function abignumber(n) {
  if (typeof n === "bigint") {
    if (!isPosBig(n))
      throw new RangeError("positive bigint expected, got " + n);
  } else
    anumber2(n);
  return n;
}
function asafenumber(value, title = "") {
  if (typeof value !== "number") {
    const prefix = title && `"${title}" `;
    throw new TypeError(prefix + "expected number, got type=" + typeof value);
  }
  if (!Number.isSafeInteger(value)) {
    const prefix = title && `"${title}" `;
    throw new RangeError(prefix + "expected safe integer, got " + value);
  }
}
function hexToNumber(hex) {
  if (typeof hex !== "string")
    throw new TypeError("hex string expected, got " + typeof hex);
  return hex === "" ? _0n : BigInt("0x" + hex);
}
function bytesToNumberBE(bytes) {
  return hexToNumber(bytesToHex(bytes));
}
function bytesToNumberLE(bytes) {
  return hexToNumber(bytesToHex(copyBytes(abytes(bytes)).reverse()));
}
function numberToBytesBE(n, len) {
  anumber(len);
  if (len === 0)
    throw new Error("zero output length is invalid");
  n = abignumber(n);
  const expectedLen = len * 2;
  const hex = n.toString(16);
  if (hex.length > expectedLen)
    throw new RangeError("number is too large");
  return hexToBytes(hex.padStart(expectedLen, "0"));
}
function numberToBytesLE(n, len) {
  return numberToBytesBE(n, len).reverse();
}
function copyBytes(bytes) {
  return Uint8Array.from(abytes2(bytes));
}
function asciiToBytes(ascii) {
  if (typeof ascii !== "string")
    throw new TypeError("ascii string expected, got " + typeof ascii);
  return Uint8Array.from(ascii, (c, i) => {
    const charCode = c.charCodeAt(0);
    if (c.length !== 1 || charCode > 127) {
      throw new RangeError(`string contains non-ASCII character "${ascii[i]}" with code ${charCode} at position ${i}`);
    }
    return charCode;
  });
}
function isPosBig(n) {
  return typeof n === "bigint" && _0n <= n;
}
function inRange(n, min, max) {
  return isPosBig(n) && isPosBig(min) && isPosBig(max) && min <= n && n < max;
}
function aInRange(title, n, min, max) {
  if (!inRange(n, min, max))
    throw new RangeError("expected valid " + title + ": " + min + " <= n < " + max + ", got " + n);
}
function bitLen(n) {
  if (n < _0n)
    throw new Error("expected non-negative bigint, got " + n);
  return n === _0n ? 0 : n.toString(2).length;
}
function bitGet(n, pos) {
  if (typeof n !== "bigint")
    throw new TypeError('"n" expected bigint, got type=' + typeof n);
  asafenumber(pos, "pos");
  return n >> BigInt(pos) & _1n;
}
var bitMask = (n) => {
  asafenumber(n, "n");
  return (_1n << BigInt(n)) - _1n;
};
function validateObject(object, fields2 = {}, optFields = {}, title = "object") {
  aobject2(object, title);
  aobject2(fields2, "fields");
  aobject2(optFields, "optFields");
  function checkField(fieldName, expectedType, isOpt) {
    const label = title === "object" ? `param "${String(fieldName)}"` : `"${title}.${String(fieldName)}"`;
    const val = object[fieldName];
    if (!Object.hasOwn(object, fieldName) && (isOpt ? val !== void 0 : expectedType !== "function")) {
      throw new TypeError(`${label} is invalid: expected own property`);
    }
    if (isOpt && val === void 0)
      return;
    const current = typeof val;
    if (current !== expectedType || val === null)
      throw new TypeError(`${label} is invalid: expected ${expectedType}, got ${current}`);
  }
  const iter = (f, isOpt) => Object.entries(f).forEach(([k, v]) => checkField(k, v, isOpt));
  iter(fields2, false);
  iter(optFields, true);
}
var notImplemented = () => {
  throw new Error("not implemented");
};

// node_modules/@noble/curves/abstract/modular.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var _0n2 = /* @__PURE__ */ BigInt(0);
var _1n2 = /* @__PURE__ */ BigInt(1);
var _2n = /* @__PURE__ */ BigInt(2);
var _3n = /* @__PURE__ */ BigInt(3);
var _4n = /* @__PURE__ */ BigInt(4);
var _5n = /* @__PURE__ */ BigInt(5);
var _7n = /* @__PURE__ */ BigInt(7);
var _8n = /* @__PURE__ */ BigInt(8);
var _9n = /* @__PURE__ */ BigInt(9);
var _15n = /* @__PURE__ */ BigInt(15);
var _16n = /* @__PURE__ */ BigInt(16);
var POW_WINDOWED_MIN = /* @__PURE__ */ BigInt("0x10000000000000000");
function mod(a, b) {
  if (b <= _0n2)
    throw new Error("mod: expected positive modulus, got " + b);
  const result = a % b;
  return result >= _0n2 ? result : b + result;
}
function pow(num, power, modulo) {
  if (modulo <= _1n2)
    throw new Error("pow: expected modulus > 1, got " + modulo);
  if (typeof power !== "bigint")
    throw new TypeError("invalid exponent: expected bigint, got " + typeof power);
  if (power < _0n2)
    throw new Error("invalid exponent, negatives unsupported");
  if (power === _0n2)
    return _1n2;
  if (power === _1n2)
    return num;
  let d = num % modulo;
  if (d < _0n2)
    d += modulo;
  if (power < POW_WINDOWED_MIN) {
    let p2 = _1n2;
    while (power > _0n2) {
      if (power & _1n2)
        p2 = p2 * d % modulo;
      d = d * d % modulo;
      power >>= _1n2;
    }
    return p2;
  }
  const digits = [];
  while (power > _0n2) {
    digits.push(Number(power & _15n));
    power >>= _4n;
  }
  const table2 = new Array(16);
  table2[0] = _1n2;
  table2[1] = d;
  for (let i = 2; i < 16; i++)
    table2[i] = table2[i - 1] * d % modulo;
  let p = table2[digits[digits.length - 1]];
  for (let w = digits.length - 2; w >= 0; w--) {
    p = p * p % modulo;
    p = p * p % modulo;
    p = p * p % modulo;
    p = p * p % modulo;
    const digit = digits[w];
    if (digit !== 0)
      p = p * table2[digit] % modulo;
  }
  return p;
}
function invert(number, modulo) {
  if (number === _0n2)
    throw new Error("invert: expected non-zero number");
  if (modulo <= _1n2)
    throw new Error("invert: expected modulus > 1, got " + modulo);
  let a = mod(number, modulo);
  let b = modulo;
  let x = _0n2, u = _1n2;
  while (a !== _0n2) {
    const q = b / a;
    const r = b - a * q;
    const m = x - u * q;
    b = a, a = r, x = u, u = m;
  }
  const gcd = b;
  if (gcd !== _1n2)
    throw new Error("invert: does not exist");
  return mod(x, modulo);
}
function assertIsSquare(Fp4, root2, n) {
  const F = Fp4;
  if (!F.eql(F.sqr(root2), n))
    throw new Error("Cannot find square root");
}
function aoddModulus(order, fnName) {
  if ((order & _1n2) === _0n2)
    throw new Error(fnName + ": expected odd modulus, got " + order);
}
function sqrt3mod4(Fp4, n) {
  const F = Fp4;
  const p1div4 = (F.ORDER + _1n2) / _4n;
  const root2 = F.pow(n, p1div4);
  assertIsSquare(F, root2, n);
  return root2;
}
function sqrt5mod8(Fp4, n) {
  const F = Fp4;
  const p5div8 = (F.ORDER - _5n) / _8n;
  const n2 = F.mul(n, _2n);
  const v = F.pow(n2, p5div8);
  const nv = F.mul(n, v);
  const i = F.mul(F.mul(nv, _2n), v);
  const root2 = F.mul(nv, F.sub(i, F.ONE));
  assertIsSquare(F, root2, n);
  return root2;
}
function sqrt9mod16(P2) {
  const Fp_ = Field(P2);
  const tn = tonelliShanks(P2);
  const c1 = tn(Fp_, Fp_.neg(Fp_.ONE));
  const c2 = tn(Fp_, c1);
  const c3 = tn(Fp_, Fp_.neg(c1));
  const c4 = (P2 + _7n) / _16n;
  return ((Fp4, n) => {
    const F = Fp4;
    let tv1 = F.pow(n, c4);
    let tv2 = F.mul(tv1, c1);
    const tv3 = F.mul(tv1, c2);
    const tv4 = F.mul(tv1, c3);
    const e1 = F.eql(F.sqr(tv2), n);
    const e2 = F.eql(F.sqr(tv3), n);
    tv1 = F.cmov(tv1, tv2, e1);
    tv2 = F.cmov(tv4, tv3, e2);
    const e3 = F.eql(F.sqr(tv2), n);
    const root2 = F.cmov(tv1, tv2, e3);
    assertIsSquare(F, root2, n);
    return root2;
  });
}
function tonelliShanks(P2) {
  if (P2 < _3n)
    throw new Error("sqrt is not defined for small field");
  aoddModulus(P2, "tonelliShanks");
  let Q = P2 - _1n2;
  let S = 0;
  while (Q % _2n === _0n2) {
    Q /= _2n;
    S++;
  }
  let Z = _2n;
  const _Fp = Field(P2);
  while (FpLegendre(_Fp, Z) === 1) {
    if (Z++ > 1e3)
      throw new Error("Cannot find square root: probably non-prime P");
  }
  if (S === 1)
    return sqrt3mod4;
  let cc = _Fp.pow(Z, Q);
  const Q1div2 = (Q + _1n2) / _2n;
  return function tonelliSlow(Fp4, n) {
    const F = Fp4;
    if (F.is0(n))
      return n;
    if (FpLegendre(F, n) !== 1)
      throw new Error("Cannot find square root");
    let M = S;
    let c = F.mul(F.ONE, cc);
    let t = F.pow(n, Q);
    let R2 = F.pow(n, Q1div2);
    while (!F.eql(t, F.ONE)) {
      if (F.is0(t))
        throw new Error("Cannot find square root: probably non-prime P");
      let i = 1;
      let t_tmp = F.sqr(t);
      while (!F.eql(t_tmp, F.ONE)) {
        i++;
        t_tmp = F.sqr(t_tmp);
        if (i === M)
          throw new Error("Cannot find square root");
      }
      const exponent = _1n2 << BigInt(M - i - 1);
      const b = F.pow(c, exponent);
      M = i;
      c = F.sqr(b);
      t = F.mul(t, c);
      R2 = F.mul(R2, b);
    }
    return R2;
  };
}
function FpSqrt(P2) {
  aoddModulus(P2, "Fp.sqrt");
  if (P2 % _4n === _3n)
    return sqrt3mod4;
  if (P2 % _8n === _5n)
    return sqrt5mod8;
  if (P2 % _16n === _9n)
    return sqrt9mod16(P2);
  return tonelliShanks(P2);
}
var FIELD_FIELDS = [
  "create",
  "isValid",
  "is0",
  "neg",
  "inv",
  "sqrt",
  "sqr",
  "eql",
  "add",
  "sub",
  "mul",
  "pow",
  "div",
  "addN",
  "subN",
  "mulN",
  "sqrN"
];
function validateField(field) {
  aobject2(field, "field");
  if (typeof field.ORDER !== "bigint")
    throw new TypeError('param "ORDER" is invalid: expected bigint, got ' + typeof field.ORDER);
  asafenumber(field.BYTES, "BYTES");
  asafenumber(field.BITS, "BITS");
  for (const name of FIELD_FIELDS)
    afunction(field[name], "field." + name);
  if (field.BYTES < 1 || field.BITS < 1)
    throw new Error("invalid field: expected BYTES/BITS > 0");
  if (field.ORDER <= _1n2)
    throw new Error("invalid field: expected ORDER > 1, got " + field.ORDER);
  return field;
}
function FpPow(Fp4, num, power) {
  validateField(Fp4);
  const F = Fp4;
  if (typeof power !== "bigint")
    throw new TypeError("invalid exponent: expected bigint, got " + typeof power);
  if (power < _0n2)
    throw new Error("invalid exponent, negatives unsupported");
  if (power === _0n2)
    return F.ONE;
  if (power === _1n2)
    return num;
  if (power < POW_WINDOWED_MIN) {
    let p2 = F.ONE;
    let d = num;
    while (power > _0n2) {
      if (power & _1n2)
        p2 = F.mul(p2, d);
      d = F.sqr(d);
      power >>= _1n2;
    }
    return p2;
  }
  const digits = [];
  while (power > _0n2) {
    digits.push(Number(power & _15n));
    power >>= _4n;
  }
  const table2 = new Array(16);
  table2[0] = F.ONE;
  table2[1] = num;
  for (let i = 2; i < 16; i++)
    table2[i] = F.mul(table2[i - 1], num);
  let p = table2[digits[digits.length - 1]];
  for (let w = digits.length - 2; w >= 0; w--) {
    p = F.sqr(F.sqr(F.sqr(F.sqr(p))));
    const digit = digits[w];
    if (digit !== 0)
      p = F.mul(p, table2[digit]);
  }
  return p;
}
function FpInvertBatch(Fp4, nums, passZero = false) {
  validateField(Fp4);
  aarray(nums, "nums");
  abool(passZero, "passZero");
  const F = Fp4;
  const inverted = new Array(nums.length).fill(passZero ? F.ZERO : void 0);
  const multipliedAcc = nums.reduce((acc, num, i) => {
    if (F.is0(num))
      return acc;
    inverted[i] = acc;
    return F.mul(acc, num);
  }, F.ONE);
  const invertedAcc = F.inv(multipliedAcc);
  nums.reduceRight((acc, num, i) => {
    if (F.is0(num))
      return acc;
    inverted[i] = F.mul(acc, inverted[i]);
    return F.mul(acc, num);
  }, invertedAcc);
  return inverted;
}
function FpLegendre(Fp4, n) {
  validateField(Fp4);
  const F = Fp4;
  aoddModulus(F.ORDER, "FpLegendre");
  const p1mod2 = (F.ORDER - _1n2) / _2n;
  const powered = F.pow(n, p1mod2);
  const yes = F.eql(powered, F.ONE);
  const zero = F.eql(powered, F.ZERO);
  const no = F.eql(powered, F.neg(F.ONE));
  if (!yes && !zero && !no)
    throw new Error("invalid Legendre symbol result");
  return yes ? 1 : zero ? 0 : -1;
}
function FpIsSquare(Fp4, n) {
  const l = FpLegendre(Fp4, n);
  return l !== -1;
}
function nLength(n, nBitLength) {
  if (nBitLength !== void 0)
    anumber2(nBitLength);
  if (n <= _0n2)
    throw new Error("invalid n length: expected positive n, got " + n);
  if (nBitLength !== void 0 && nBitLength < 1)
    throw new Error("invalid n length: expected positive bit length, got " + nBitLength);
  const bits = bitLen(n);
  if (nBitLength !== void 0 && nBitLength < bits)
    throw new Error(`invalid n length: expected nBitLength (${nBitLength}) >= bitLen(n) (${bits})`);
  const _nBitLength = nBitLength !== void 0 ? nBitLength : bits;
  const nByteLength = Math.ceil(_nBitLength / 8);
  return { nBitLength: _nBitLength, nByteLength };
}
var FIELD_SQRT = /* @__PURE__ */ new WeakMap();
var _Field = class {
  ORDER;
  BITS;
  BYTES;
  isLE;
  ZERO = _0n2;
  ONE = _1n2;
  _lengths;
  _mod;
  constructor(ORDER, opts = {}) {
    if (ORDER <= _1n2)
      throw new Error("invalid field: expected ORDER > 1, got " + ORDER);
    let _nbitLength = void 0;
    this.isLE = false;
    if (opts != null && typeof opts === "object") {
      if (typeof opts.BITS === "number")
        _nbitLength = opts.BITS;
      if (typeof opts.sqrt === "function")
        Object.defineProperty(this, "sqrt", { value: opts.sqrt, enumerable: true });
      if (typeof opts.isLE === "boolean")
        this.isLE = opts.isLE;
      if (opts.allowedLengths)
        this._lengths = Object.freeze(opts.allowedLengths.slice());
      if (typeof opts.modFromBytes === "boolean")
        this._mod = opts.modFromBytes;
    }
    const { nBitLength, nByteLength } = nLength(ORDER, _nbitLength);
    if (nByteLength > 2048)
      throw new Error("invalid field: expected ORDER of <= 2048 bytes");
    this.ORDER = ORDER;
    this.BITS = nBitLength;
    this.BYTES = nByteLength;
    Object.freeze(this);
  }
  create(num) {
    return mod(num, this.ORDER);
  }
  isValid(num) {
    if (typeof num !== "bigint")
      throw new TypeError("invalid field element: expected bigint, got " + typeof num);
    return _0n2 <= num && num < this.ORDER;
  }
  is0(num) {
    return num === _0n2;
  }
  // is valid and invertible
  isValidNot0(num) {
    return !this.is0(num) && this.isValid(num);
  }
  isOdd(num) {
    return (num & _1n2) === _1n2;
  }
  neg(num) {
    return mod(-num, this.ORDER);
  }
  eql(lhs, rhs) {
    return lhs === rhs;
  }
  sqr(num) {
    return mod(num * num, this.ORDER);
  }
  add(lhs, rhs) {
    return mod(lhs + rhs, this.ORDER);
  }
  sub(lhs, rhs) {
    return mod(lhs - rhs, this.ORDER);
  }
  mul(lhs, rhs) {
    return mod(lhs * rhs, this.ORDER);
  }
  pow(num, power) {
    return pow(num, power, this.ORDER);
  }
  div(lhs, rhs) {
    return mod(lhs * invert(rhs, this.ORDER), this.ORDER);
  }
  // Same as above, but doesn't normalize
  sqrN(num) {
    return num * num;
  }
  addN(lhs, rhs) {
    return lhs + rhs;
  }
  subN(lhs, rhs) {
    return lhs - rhs;
  }
  mulN(lhs, rhs) {
    return lhs * rhs;
  }
  inv(num) {
    return invert(num, this.ORDER);
  }
  sqrt(num) {
    let sqrt = FIELD_SQRT.get(this);
    if (!sqrt)
      FIELD_SQRT.set(this, sqrt = FpSqrt(this.ORDER));
    return sqrt(this, num);
  }
  toBytes(num) {
    return this.isLE ? numberToBytesLE(num, this.BYTES) : numberToBytesBE(num, this.BYTES);
  }
  fromBytes(bytes, skipValidation = false) {
    abytes2(bytes);
    const { _lengths: allowedLengths, BYTES, isLE, ORDER, _mod: modFromBytes } = this;
    if (allowedLengths) {
      if (bytes.length < 1 || !allowedLengths.includes(bytes.length) || bytes.length > BYTES) {
        throw new Error("Field.fromBytes: expected " + allowedLengths + " bytes, got " + bytes.length);
      }
      const padded = new Uint8Array(BYTES);
      padded.set(bytes, isLE ? 0 : padded.length - bytes.length);
      bytes = padded;
    }
    if (bytes.length !== BYTES)
      throw new Error("Field.fromBytes: expected " + BYTES + " bytes, got " + bytes.length);
    let scalar = isLE ? bytesToNumberLE(bytes) : bytesToNumberBE(bytes);
    if (modFromBytes)
      scalar = mod(scalar, ORDER);
    if (!skipValidation) {
      if (!this.isValid(scalar))
        throw new Error("invalid field element: outside of range 0..ORDER");
    }
    return scalar;
  }
  // TODO: we don't need it here, move out to separate fn
  invertBatch(lst) {
    return FpInvertBatch(this, lst, true);
  }
  // We can't move this out because Fp6, Fp12 implement it
  // and it's unclear what to return in there.
  cmov(a, b, condition) {
    abool(condition, "condition");
    return condition ? b : a;
  }
};
function Field(ORDER, opts = {}) {
  Object.freeze(_Field.prototype);
  return new _Field(ORDER, opts);
}
function getFieldBytesLength(fieldOrder) {
  if (typeof fieldOrder !== "bigint")
    throw new Error("field order must be bigint");
  if (fieldOrder <= _1n2)
    throw new Error("field order must be greater than 1");
  const bitLength = bitLen(fieldOrder - _1n2);
  return Math.ceil(bitLength / 8);
}
function getMinHashLength(fieldOrder) {
  const length = getFieldBytesLength(fieldOrder);
  return length + Math.ceil(length / 2);
}
function mapHashToField(key, fieldOrder, isLE = false) {
  abytes2(key);
  const len = key.length;
  const fieldLen = getFieldBytesLength(fieldOrder);
  const minLen = Math.max(getMinHashLength(fieldOrder), 16);
  if (len < minLen || len > 1024)
    throw new Error("expected " + minLen + "-1024 bytes of input, got " + len);
  const num = isLE ? bytesToNumberLE(key) : bytesToNumberBE(key);
  const reduced = mod(num, fieldOrder - _1n2) + _1n2;
  return isLE ? numberToBytesLE(reduced, fieldLen) : numberToBytesBE(reduced, fieldLen);
}

// node_modules/@noble/curves/abstract/curve.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var _0n3 = /* @__PURE__ */ BigInt(0);
var _1n3 = /* @__PURE__ */ BigInt(1);
var _4n2 = /* @__PURE__ */ BigInt(4);
var BLIND_BYTES = 16;
var BLIND_BITS = 128;
var FW_WINDOW = 5;
var TABLE_BYTES_MAX = /* @__PURE__ */ (() => 2 ** 31)();
function validatePointCons(Point) {
  const pc = Point;
  if (typeof pc !== "function")
    throw new TypeError('"Point" expected constructor, got type=' + typeof Point);
  afunction(pc.fromAffine, "Point.fromAffine");
  afunction(pc.fromBytes, "Point.fromBytes");
  afunction(pc.fromHex, "Point.fromHex");
  aobject2(pc.BASE, "Point.BASE");
  aobject2(pc.ZERO, "Point.ZERO");
  validateField(pc.Fp);
  validateField(pc.Fn);
}
function normalizeZ(c, points2) {
  validatePointCons(c);
  validateMSMPoints(points2, c);
  const invertedZs = FpInvertBatch(c.Fp, points2.map((p) => p.Z));
  return points2.map((p, i) => c.fromAffine(p.toAffine(invertedZs[i])));
}
function validateW(W, bits, min = 1) {
  if (!Number.isSafeInteger(W) || W < min || W > bits)
    throw new Error("invalid window size, expected [" + min + ".." + bits + "], got W=" + W);
}
function validateTableBytes(numPoints, fpBytes) {
  const bytes = numPoints * (4 * fpBytes + 128);
  if (bytes > TABLE_BYTES_MAX)
    throw new Error("invalid window size: table would need ~" + Math.ceil(bytes / 2 ** 20) + " MiB, max " + TABLE_BYTES_MAX / 2 ** 20 + " MiB");
}
function probeRandomBytes(randomBytes3, length) {
  if (randomBytes3 === void 0)
    return void 0;
  afunction(randomBytes3, "randomBytes");
  try {
    const probe = randomBytes3(length);
    if (!isBytes2(probe) || probe.length !== length)
      return void 0;
  } catch {
    return void 0;
  }
  return randomBytes3;
}
function validateMSMPoints(points2, c) {
  aarray(points2, "points");
  points2.forEach((p, i) => {
    if (!(p instanceof c))
      throw new Error("invalid point at index " + i);
  });
}
function validateMSMScalars(scalars, field, maxScalar) {
  if (!Array.isArray(scalars))
    throw new Error("array of scalars expected");
  scalars.forEach((s, i) => {
    const ok = maxScalar === void 0 ? field.isValid(s) : isPosBig(s) && s < maxScalar;
    if (!ok)
      throw new Error("invalid scalar at index " + i);
  });
}
var pointWindowSizes = /* @__PURE__ */ new WeakMap();
function getWindowSize(P2) {
  return pointWindowSizes.get(P2) || 1;
}
function oddMultiples(p, size) {
  const dbl = p.double();
  const t = [p];
  for (let j = 1; j < size; j++)
    t.push(t[j - 1].add(dbl));
  return t;
}
function wnafDigits(n, W) {
  const size = 2 ** W;
  const half = size / 2;
  const mask = BigInt(size - 1);
  const d = [];
  while (n > _0n3) {
    let w = 0;
    if (n & _1n3) {
      w = Number(n & mask);
      if (w >= half)
        w -= size;
      n -= BigInt(w);
    }
    d.push(w);
    n >>= _1n3;
  }
  return d;
}
function signedWindowDigits(n, W, windows) {
  const size = 2 ** W;
  const half = size / 2;
  const mask = BigInt(size - 1);
  const shiftBy = BigInt(W);
  const d = [];
  for (let w = 0; w < windows; w++) {
    let v = Number(n & mask);
    n >>= shiftBy;
    if (v > half) {
      v -= size;
      n += _1n3;
    }
    d.push(v);
  }
  if (n !== _0n3)
    throw new Error("invalid wnaf");
  return d;
}
function wnafWalk(zero, tables2, digits) {
  let max = 0;
  for (const d of digits)
    max = Math.max(max, d.length);
  let acc = zero;
  for (let bit = max - 1; bit >= 0; bit--) {
    if (bit !== max - 1)
      acc = acc.double();
    for (let i = 0; i < digits.length; i++) {
      const w = digits[i][bit];
      if (w) {
        const item = tables2[i][Math.abs(w) - 1 >> 1];
        acc = acc.add(w < 0 ? item.negate() : item);
      }
    }
  }
  return acc;
}
var ScalarMultiplier = class {
  Point;
  BASE;
  ZERO;
  randomBytes;
  wnafPrecomputes = /* @__PURE__ */ new WeakMap();
  baseCanBeBlinded;
  bits;
  // Parametrized with a given Point class (not individual point)
  constructor(Point, randomBytes3) {
    validatePointCons(Point);
    this.randomBytes = probeRandomBytes(randomBytes3, BLIND_BYTES);
    this.Point = Point;
    this.BASE = Point.BASE;
    this.ZERO = Point.ZERO;
    this.bits = Point.Fn.BITS;
  }
  /**
   * Creates a signed fixed-window wNAF precomputation table: for every window w, the
   * multiples `[1..2^(W−1)]⋅2^(w⋅W)⋅P`, flattened. All doublings are baked into the table,
   * so cached multiplication is additions-only. `windows = ceil(bits/W) + 1`: the extra
   * window absorbs the final carry of signed-digit recoding.
   * For a 256-bit curve and W=6, the table is 44⋅32 = 1408 points.
   * @param point - Point instance
   * @param W - window size
   * @param bits - scalar bitlength the table must cover
   */
  buildWnafTable(point, W, bits) {
    const windows = Math.ceil(bits / W) + 1;
    const half = 2 ** (W - 1);
    const comp = [];
    let base = point;
    for (let w = 0; w < windows; w++) {
      let acc = base;
      for (let i = 0; i < half; i++) {
        comp.push(acc);
        acc = acc.add(base);
      }
      base = comp[comp.length - 1].double();
    }
    return { W, bits, windows, comp };
  }
  /**
   * Implements ec multiplication using precomputed signed fixed-window wNAF tables.
   * Constant-time: fixed window count with one table addition per window — zero digits feed
   * the fake accumulator — and no doublings; the lookup scans the whole window slice.
   * Scalar bounds are validated by the public entry points ({@link ScalarMultiplier.mulCT},
   * {@link ScalarMultiplier.mulCTBlinded}, {@link ScalarMultiplier.mulUnsafe});
   * signedWindowDigits throws if `n` exceeds the table.
   * @returns real and fake (for const-time) points
   */
  wnafCachedCT(precomputes, n) {
    const { W, windows, comp } = precomputes;
    const half = 2 ** (W - 1);
    const digits = signedWindowDigits(n, W, windows);
    let p = this.ZERO;
    let f = this.BASE;
    for (let w = 0; w < windows; w++) {
      const digit = digits[w];
      const start = w * half;
      const idx = Math.abs(digit) - 1;
      let sel = comp[start];
      for (let i = 1; i < half; i++)
        sel = i === idx ? comp[start + i] : sel;
      const neg = sel.negate();
      if (digit === 0)
        f = f.add(comp[start]);
      else
        p = p.add(digit < 0 ? neg : sel);
    }
    return { p, f };
  }
  // Cache key is point identity plus (W, bits); at most two entries exist per point (public-width
  // `Fn.BITS` and blinded `Fn.BITS + BLIND_BITS`). Callers must not reuse the same point with
  // incompatible `transform(...)` layouts and expect a separate cache entry.
  getWnafPrecomputes(W, point, bits, transform) {
    let entries = this.wnafPrecomputes.get(point);
    let comp = entries?.find((entry) => entry.W === W && entry.bits === bits);
    if (!comp) {
      comp = this.buildWnafTable(point, W, bits);
      if (typeof transform === "function")
        comp = { ...comp, comp: transform(comp.comp) };
      if (!entries) {
        entries = [];
        this.wnafPrecomputes.set(point, entries);
      }
      entries.push(comp);
    }
    return comp;
  }
  assertPoint(point) {
    if (!(point instanceof this.Point))
      throw new TypeError('"point" expected Point instance, got type=' + typeof point);
  }
  // Shared prologue of the constant-time entry points. Rejects scalar 0: in key/signature-style
  // callers a zero scalar means broken upstream plumbing, and concrete Points already reject it.
  // Uses inRange instead of Fn.isValidNot0: validateField() only certifies the arithmetic subset.
  validateMulInput(point, scalar) {
    this.assertPoint(point);
    if (!inRange(scalar, _1n3, this.Point.Fn.ORDER))
      throw new Error("invalid scalar");
  }
  // Constant-time dispatch shared by mulCT / mulCTBlinded. Un-precomputed points (W===1, e.g.
  // ECDH peer keys) skip building a throwaway cached table in favor of a small fixed-window
  // multiply. `n` must be < 2^bits.
  runCT(point, n, bits, transform) {
    const W = getWindowSize(point);
    if (W === 1)
      return this.fixedWindowCT(point, n, bits);
    return this.wnafCachedCT(this.getWnafPrecomputes(W, point, bits, transform), n);
  }
  mulCT(point, scalar, transform) {
    this.validateMulInput(point, scalar);
    return this.runCT(point, scalar, this.bits, transform);
  }
  mulCTBlinded(point, scalar, transform) {
    this.validateMulInput(point, scalar);
    if (this.randomBytes === void 0)
      throw new Error("randomBytes is required for scalar blinding");
    const bits = this.Point.Fn.BITS + BLIND_BITS;
    const blind = this.randomBytes(BLIND_BYTES);
    if (!isBytes2(blind) || blind.length !== BLIND_BYTES)
      throw new Error("randomBytes returned invalid byte array");
    blind[0] = blind[0] & 63 | 128;
    const n = scalar + bytesToNumberBE(blind) * this.Point.Fn.ORDER;
    return this.runCT(point, n, bits, transform);
  }
  /**
   * Constant-time multiplication `n*point` for an un-precomputed point, via a small fixed window.
   * A cached wNAF table only pays off when reused; a flat 2^FW_WINDOW table (`size-1` adds) is
   * far cheaper to build for a single use. The point-operation sequence is independent of `n`:
   * build the table, then per window exactly FW_WINDOW doublings, a data-oblivious scan over
   * every table entry, and one addition (adds the identity when the window digit is 0 — never
   * skipped).
   *
   * `n` must be `< 2^bits`. Assumes complete addition (adding the identity costs the same as any
   * add), which holds for the Weierstrass/Edwards point types used here. The table is left in
   * projective form (no normalizeZ): normalizing this small a table costs more than the
   * mixed-add savings it would buy for a single multiply.
   * @returns real point `p`; `f` duplicates it only to match {@link wnafCachedCT}'s return shape
   * (this path needs no fake accumulator — its op-count is already scalar-independent).
   */
  fixedWindowCT(point, n, bits) {
    const W = FW_WINDOW;
    const size = 1 << W;
    const mask = bitMask(W);
    const table2 = new Array(size);
    table2[0] = this.ZERO;
    for (let i = 1; i < size; i++)
      table2[i] = table2[i - 1].add(point);
    const windows = Math.ceil(bits / W);
    let acc = this.ZERO;
    for (let window = windows - 1; window >= 0; window--) {
      if (window !== windows - 1)
        for (let d = 0; d < W; d++)
          acc = acc.double();
      const digit = Number(n >> BigInt(window * W) & mask);
      let sel = table2[0];
      for (let i = 1; i < size; i++)
        sel = i === digit ? table2[i] : sel;
      acc = acc.add(sel);
    }
    return { p: acc, f: acc };
  }
  shouldBlind(point, cofactor) {
    if (this.randomBytes === void 0)
      return false;
    if (cofactor === _1n3)
      return true;
    if (point !== this.BASE)
      return false;
    if (this.baseCanBeBlinded === void 0)
      this.baseCanBeBlinded = this.mulUnsafe(this.BASE, this.Point.Fn.ORDER).is0();
    return this.baseCanBeBlinded;
  }
  mulSecret(point, scalar, cofactor, transform) {
    return this.shouldBlind(point, cofactor) ? this.mulCTBlinded(point, scalar, transform) : this.mulCT(point, scalar, transform);
  }
  mulUnsafe(point, scalar, transform) {
    this.assertPoint(point);
    if (!isPosBig(scalar))
      throw new Error("invalid scalar");
    const W = getWindowSize(point);
    if (W === 1 || scalar >= this.Point.Fn.ORDER)
      return mulAddUnsafe(this.Point, [point], [scalar], true);
    const precomputes = this.getWnafPrecomputes(W, point, this.bits, transform);
    return this.wnafCachedCT(precomputes, scalar).p;
  }
  // Remembers the window size used for precomputed wNAF multiplication of the given point
  // and drops any previously built tables. Usually only the base point is precomputed.
  // W=1 resets the point to the un-precomputed (table-less) paths.
  // W is additionally capped so tables stay under ~2 GiB ({@link TABLE_BYTES_MAX}).
  setWindowSize(point, W) {
    this.assertPoint(point);
    validateW(W, this.bits);
    const windows = Math.ceil((this.bits + BLIND_BITS) / W) + 1;
    validateTableBytes(windows * 2 ** (W - 1), this.Point.Fp.BYTES);
    pointWindowSizes.set(point, W);
    this.wnafPrecomputes.delete(point);
  }
  // True when a window size is set: tables themselves are built lazily on first multiply.
  hasWindowSize(point) {
    return getWindowSize(point) !== 1;
  }
};
function mulAddUnsafe(c, points2, scalars, allowOversized = false) {
  validatePointCons(c);
  validateMSMPoints(points2, c);
  abool(allowOversized, "allowOversized");
  validateMSMScalars(scalars, c.Fn, allowOversized ? c.Fn.ORDER ** _4n2 : void 0);
  if (points2.length !== scalars.length)
    throw new Error("arrays of points and scalars must have equal length");
  const tables2 = points2.map((p) => oddMultiples(p, 4));
  const digits = scalars.map((n) => wnafDigits(n, 4));
  return wnafWalk(c.ZERO, tables2, digits);
}
function createField(order, field, isLE) {
  if (field) {
    if (field.ORDER !== order)
      throw new Error("Field.ORDER must match order: Fp == p, Fn == n");
    validateField(field);
    return field;
  } else {
    return Field(order, { isLE });
  }
}
function createCurveFields(type, CURVE, curveOpts = {}, FpFnLE) {
  if (type !== "weierstrass" && type !== "edwards")
    throw new Error('expected curve type "weierstrass" or "edwards"');
  if (FpFnLE === void 0)
    FpFnLE = type === "edwards";
  if (!CURVE || typeof CURVE !== "object")
    throw new Error(`expected valid ${type} CURVE object`);
  validateObject(curveOpts);
  for (const p of ["p", "n", "h"]) {
    const val = CURVE[p];
    if (!(isPosBig(val) && val !== _0n3))
      throw new Error(`CURVE.${p} must be positive bigint`);
  }
  const Fp4 = createField(CURVE.p, curveOpts.Fp, FpFnLE);
  const Fn = createField(CURVE.n, curveOpts.Fn, FpFnLE);
  const _b = type === "weierstrass" ? "b" : "d";
  const params = ["Gx", "Gy", "a", _b];
  for (const p of params) {
    if (!Fp4.isValid(CURVE[p]))
      throw new Error(`CURVE.${p} must be valid field element of CURVE.Fp`);
  }
  CURVE = Object.freeze(Object.assign({}, CURVE));
  return { CURVE, Fp: Fp4, Fn };
}

// node_modules/@noble/curves/abstract/hash-to-curve.js
var _0n4 = /* @__PURE__ */ BigInt(0);
var _1n4 = /* @__PURE__ */ BigInt(1);
var _2n2 = /* @__PURE__ */ BigInt(2);
var _3n2 = /* @__PURE__ */ BigInt(3);
var _4n3 = /* @__PURE__ */ BigInt(4);
var os2ip = bytesToNumberBE;
function i2osp(value, length) {
  asafenumber(value);
  asafenumber(length);
  if (length < 0 || length > 4)
    throw new Error("invalid I2OSP length: " + length);
  if (value < 0 || value > 2 ** (8 * length) - 1)
    throw new Error("invalid I2OSP input: " + value);
  const res = Array.from({ length }).fill(0);
  for (let i = length - 1; i >= 0; i--) {
    res[i] = value & 255;
    value >>>= 8;
  }
  return new Uint8Array(res);
}
function strxor(a, b) {
  const arr = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    arr[i] = a[i] ^ b[i];
  }
  return arr;
}
function normDST(DST) {
  if (!isBytes2(DST) && typeof DST !== "string")
    throw new Error("DST must be Uint8Array or ascii string");
  const dst = typeof DST === "string" ? asciiToBytes(DST) : DST;
  if (dst.length === 0)
    throw new Error("DST must be non-empty");
  return dst;
}
function expand_message_xmd(msg, DST, lenInBytes, H) {
  abytes2(msg);
  asafenumber(lenInBytes);
  if (typeof H !== "function")
    throw new Error("expand_message_xmd: expected hash function");
  asafenumber(H.outputLen, "hash.outputLen");
  asafenumber(H.blockLen, "hash.blockLen");
  DST = normDST(DST);
  if (DST.length > 255)
    DST = H(concatBytes2(asciiToBytes("H2C-OVERSIZE-DST-"), DST));
  const { outputLen: b_in_bytes, blockLen: r_in_bytes } = H;
  const ell = Math.ceil(lenInBytes / b_in_bytes);
  if (lenInBytes > 65535 || ell > 255)
    throw new Error("expand_message_xmd: invalid lenInBytes");
  const DST_prime = concatBytes2(DST, i2osp(DST.length, 1));
  const Z_pad = new Uint8Array(r_in_bytes);
  const l_i_b_str = i2osp(lenInBytes, 2);
  const b = new Array(ell);
  const b_0 = H(concatBytes2(Z_pad, msg, l_i_b_str, i2osp(0, 1), DST_prime));
  b[0] = H(concatBytes2(b_0, i2osp(1, 1), DST_prime));
  for (let i = 1; i < ell; i++) {
    const args = [strxor(b_0, b[i - 1]), i2osp(i + 1, 1), DST_prime];
    b[i] = H(concatBytes2(...args));
  }
  const pseudo_random_bytes = concatBytes2(...b);
  return pseudo_random_bytes.slice(0, lenInBytes);
}
function expand_message_xof(msg, DST, lenInBytes, k, H) {
  abytes2(msg);
  asafenumber(lenInBytes);
  asafenumber(k, "k");
  if (k < 0)
    throw new Error("expand_message_xof: invalid k");
  if (typeof H !== "function")
    throw new Error("expand_message_xof: expected XOF function");
  if (typeof H.create !== "function")
    throw new Error("expand_message_xof: expected XOF create");
  DST = normDST(DST);
  if (lenInBytes < 0 || lenInBytes > 65535)
    throw new Error("expand_message_xof: invalid lenInBytes");
  if (DST.length > 255) {
    const dkLen = Math.ceil(2 * k / 8);
    DST = H.create({ dkLen }).update(asciiToBytes("H2C-OVERSIZE-DST-")).update(DST).digest();
  }
  if (DST.length > 255)
    throw new Error("expand_message_xof: invalid DST");
  return H.create({ dkLen: lenInBytes }).update(msg).update(i2osp(lenInBytes, 2)).update(DST).update(i2osp(DST.length, 1)).digest();
}
function hash_to_field(msg, count, options) {
  validateObject(options, {
    p: "bigint",
    m: "number",
    k: "number",
    hash: "function"
  });
  const { p, k, m, hash, expand, DST } = options;
  asafenumber(hash.outputLen, "valid hash");
  abytes2(msg);
  asafenumber(count);
  asafenumber(m, "m");
  asafenumber(k, "k");
  if (p <= BigInt(1))
    throw new Error("hash_to_field: expected valid field characteristic");
  if (count < 1)
    throw new Error("hash_to_field: expected count >= 1");
  if (m < 1)
    throw new Error("hash_to_field: expected m >= 1");
  if (k < 0)
    throw new Error("hash_to_field: invalid k");
  const log2p = p.toString(2).length;
  const L = Math.ceil((log2p + k) / 8);
  const len_in_bytes = count * m * L;
  let prb;
  if (expand === "xmd") {
    prb = expand_message_xmd(msg, DST, len_in_bytes, hash);
  } else if (expand === "xof") {
    prb = expand_message_xof(msg, DST, len_in_bytes, k, hash);
  } else if (expand === "_internal_pass") {
    prb = msg;
  } else {
    throw new Error('expand must be "xmd" or "xof"');
  }
  const u = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = new Array(m);
    for (let j = 0; j < m; j++) {
      const elm_offset = L * (j + i * m);
      const tv = prb.subarray(elm_offset, elm_offset + L);
      e[j] = mod(os2ip(tv), p);
    }
    u[i] = e;
  }
  return u;
}
function isogenyMap(field, map) {
  validateField(field);
  aarray(map, "map");
  const coeff = map.map((i, row) => {
    aarray(i, "map[" + row + "]");
    if (i.length < 1)
      throw new Error("isogenyMap: expected non-empty coefficients");
    return Array.from(i).reverse();
  });
  return (x, y) => {
    const [xn, xd, yn, yd] = coeff.map((val) => val.reduce((acc, i) => field.add(field.mul(acc, x), i)));
    const isZero = field.is0(xd) || field.is0(yd);
    const [xd_inv, yd_inv] = FpInvertBatch(field, [xd, yd], true);
    x = field.mul(xn, xd_inv);
    y = field.mul(y, field.mul(yn, yd_inv));
    return isZero ? { x: field.ZERO, y: field.ZERO } : { x, y };
  };
}
var _DST_scalar = "HashToScalar-";
function createHasher2(Point, mapToCurve, defaults) {
  if (typeof mapToCurve !== "function")
    throw new Error("mapToCurve() must be defined");
  validateObject(defaults);
  const snapshot = (src) => Object.freeze({
    ...src,
    DST: isBytes2(src.DST) ? copyBytes(src.DST) : src.DST,
    ...src.encodeDST === void 0 ? {} : { encodeDST: isBytes2(src.encodeDST) ? copyBytes(src.encodeDST) : src.encodeDST }
  });
  const safeDefaults = snapshot(defaults);
  const dstOverride = (options) => options && options.DST !== void 0 ? { DST: options.DST } : void 0;
  function map(num) {
    return Point.fromAffine(mapToCurve(num));
  }
  function clear(initial) {
    const P2 = initial.clearCofactor();
    if (P2.equals(Point.ZERO))
      return Point.ZERO;
    P2.assertValidity();
    return P2;
  }
  return Object.freeze({
    get defaults() {
      return snapshot(safeDefaults);
    },
    Point,
    hashToCurve(msg, options) {
      const opts = Object.assign({}, safeDefaults, dstOverride(options));
      const u = hash_to_field(msg, 2, opts);
      const u0 = map(u[0]);
      const u1 = map(u[1]);
      return clear(u0.add(u1));
    },
    encodeToCurve(msg, options) {
      const optsDst = safeDefaults.encodeDST === void 0 ? {} : { DST: safeDefaults.encodeDST };
      const opts = Object.assign({}, safeDefaults, optsDst, dstOverride(options));
      const u = hash_to_field(msg, 1, opts);
      const u0 = map(u[0]);
      return clear(u0);
    },
    /** See {@link H2CHasher} */
    mapToCurve(scalars) {
      if (safeDefaults.m === 1) {
        if (typeof scalars !== "bigint")
          throw new Error("expected bigint (m=1)");
        return clear(map([scalars]));
      }
      if (!Array.isArray(scalars))
        throw new Error("expected array of bigints");
      if (scalars.length !== safeDefaults.m)
        throw new Error(`expected array of ${safeDefaults.m} bigints`);
      for (const i of scalars)
        if (typeof i !== "bigint")
          throw new Error("expected array of bigints");
      return clear(map(scalars));
    },
    // hash_to_scalar can produce 0: https://www.rfc-editor.org/errata/eid8393
    // RFC 9380, draft-irtf-cfrg-bbs-signatures-08. Default scalar DST is the shared generic
    // `HashToScalar-` prefix above unless the caller overrides it per invocation.
    hashToScalar(msg, options) {
      const N = Point.Fn.ORDER;
      const opts = Object.assign({}, safeDefaults, { DST: _DST_scalar }, dstOverride(options), {
        p: N,
        m: 1
      });
      return hash_to_field(msg, 1, opts)[0][0];
    }
  });
}
function SWUFpSqrtRatio(Fp4, Z) {
  const F = validateField(Fp4);
  const q = F.ORDER;
  let l = _0n4;
  for (let o = q - _1n4; o % _2n2 === _0n4; o /= _2n2)
    l += _1n4;
  const c1 = l;
  const _2n_pow_c1_1 = _2n2 << c1 - _1n4 - _1n4;
  const _2n_pow_c1 = _2n_pow_c1_1 * _2n2;
  const c2 = (q - _1n4) / _2n_pow_c1;
  const c3 = (c2 - _1n4) / _2n2;
  const c4 = _2n_pow_c1 - _1n4;
  const c5 = _2n_pow_c1_1;
  const c6 = F.pow(Z, c2);
  const c7 = F.pow(Z, (c2 + _1n4) / _2n2);
  let sqrtRatio = (u, v) => {
    let tv1 = c6;
    let tv2 = F.pow(v, c4);
    let tv3 = F.sqr(tv2);
    tv3 = F.mul(tv3, v);
    let tv5 = F.mul(u, tv3);
    tv5 = F.pow(tv5, c3);
    tv5 = F.mul(tv5, tv2);
    tv2 = F.mul(tv5, v);
    tv3 = F.mul(tv5, u);
    let tv4 = F.mul(tv3, tv2);
    tv5 = F.pow(tv4, c5);
    let isQR = F.eql(tv5, F.ONE);
    tv2 = F.mul(tv3, c7);
    tv5 = F.mul(tv4, tv1);
    tv3 = F.cmov(tv2, tv3, isQR);
    tv4 = F.cmov(tv5, tv4, isQR);
    for (let i = c1; i > _1n4; i--) {
      let tv52 = i - _2n2;
      tv52 = _2n2 << tv52 - _1n4;
      let tvv5 = F.pow(tv4, tv52);
      const e1 = F.eql(tvv5, F.ONE);
      tv2 = F.mul(tv3, tv1);
      tv1 = F.mul(tv1, tv1);
      tvv5 = F.mul(tv4, tv1);
      tv3 = F.cmov(tv2, tv3, e1);
      tv4 = F.cmov(tvv5, tv4, e1);
    }
    return { isValid: !F.is0(v) && (isQR || F.is0(u)), value: tv3 };
  };
  if (F.ORDER % _4n3 === _3n2) {
    const c12 = (F.ORDER - _3n2) / _4n3;
    const c22 = F.sqrt(F.neg(Z));
    sqrtRatio = (u, v) => {
      let tv1 = F.sqr(v);
      const tv2 = F.mul(u, v);
      tv1 = F.mul(tv1, tv2);
      let y1 = F.pow(tv1, c12);
      y1 = F.mul(y1, tv2);
      const y2 = F.mul(y1, c22);
      const tv3 = F.mul(F.sqr(y1), v);
      const isQR = F.eql(tv3, u);
      let y = F.cmov(y2, y1, isQR);
      return { isValid: !F.is0(v) && isQR, value: y };
    };
  }
  return sqrtRatio;
}
function mapToCurveSimpleSWU(Fp4, opts) {
  const F = validateField(Fp4);
  validateObject(opts, {}, {}, "opts");
  const { A, B, Z } = opts;
  if (!F.isValidNot0(A) || !F.isValidNot0(B) || !F.isValid(Z))
    throw new Error("mapToCurveSimpleSWU: invalid opts");
  if (F.eql(Z, F.neg(F.ONE)) || FpIsSquare(F, Z))
    throw new Error("mapToCurveSimpleSWU: invalid opts");
  const x = F.mul(B, F.inv(F.mul(Z, A)));
  const gx = F.add(F.add(F.mul(F.sqr(x), x), F.mul(A, x)), B);
  if (!FpIsSquare(F, gx))
    throw new Error("mapToCurveSimpleSWU: invalid opts");
  const sqrtRatio = SWUFpSqrtRatio(F, Z);
  if (!F.isOdd)
    throw new Error("Field does not have .isOdd()");
  return (u) => {
    let tv1, tv2, tv3, tv4, tv5, tv6, x2, y;
    tv1 = F.sqr(u);
    tv1 = F.mul(tv1, Z);
    tv2 = F.sqr(tv1);
    tv2 = F.add(tv2, tv1);
    tv3 = F.add(tv2, F.ONE);
    tv3 = F.mul(tv3, B);
    tv4 = F.cmov(Z, F.neg(tv2), !F.eql(tv2, F.ZERO));
    tv4 = F.mul(tv4, A);
    tv2 = F.sqr(tv3);
    tv6 = F.sqr(tv4);
    tv5 = F.mul(tv6, A);
    tv2 = F.add(tv2, tv5);
    tv2 = F.mul(tv2, tv3);
    tv6 = F.mul(tv6, tv4);
    tv5 = F.mul(tv6, B);
    tv2 = F.add(tv2, tv5);
    x2 = F.mul(tv1, tv3);
    const { isValid, value } = sqrtRatio(tv2, tv6);
    y = F.mul(tv1, u);
    y = F.mul(y, value);
    x2 = F.cmov(x2, tv3, isValid);
    y = F.cmov(y, value, isValid);
    const e1 = F.isOdd(u) === F.isOdd(y);
    y = F.cmov(F.neg(y), y, e1);
    const tv4_inv = FpInvertBatch(F, [tv4], true)[0];
    x2 = F.mul(x2, tv4_inv);
    return { x: x2, y };
  };
}

// node_modules/@noble/curves/abstract/weierstrass.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var divNearest = (num, den) => (num + (num >= 0 ? den : -den) / _2n3) / den;
function _splitEndoScalar(k, basis, n) {
  aInRange("scalar", k, _0n5, n);
  const [[a1, b1], [a2, b2]] = basis;
  const c1 = divNearest(b2 * k, n);
  const c2 = divNearest(-b1 * k, n);
  let k1 = k - c1 * a1 - c2 * a2;
  let k2 = -c1 * b1 - c2 * b2;
  const k1neg = k1 < _0n5;
  const k2neg = k2 < _0n5;
  if (k1neg)
    k1 = -k1;
  if (k2neg)
    k2 = -k2;
  const MAX_NUM = bitMask(Math.ceil(bitLen(n) / 2)) + _1n5;
  if (k1 < _0n5 || k1 >= MAX_NUM || k2 < _0n5 || k2 >= MAX_NUM) {
    throw new Error("splitScalar (endomorphism): failed for k");
  }
  return { k1neg, k1, k2neg, k2 };
}
var _0n5 = /* @__PURE__ */ BigInt(0);
var _1n5 = /* @__PURE__ */ BigInt(1);
var _2n3 = /* @__PURE__ */ BigInt(2);
var _3n3 = /* @__PURE__ */ BigInt(3);
var _4n4 = /* @__PURE__ */ BigInt(4);
function weierstrass(params, extraOpts = {}) {
  const validated = createCurveFields("weierstrass", params, extraOpts);
  const Fp4 = validated.Fp;
  const Fn = validated.Fn;
  let CURVE = validated.CURVE;
  const { h: cofactor, n: CURVE_ORDER } = CURVE;
  validateObject(extraOpts, {}, {
    allowInfinityPoint: "boolean",
    clearCofactor: "function",
    isTorsionFree: "function",
    fromBytes: "function",
    toBytes: "function",
    endo: "object",
    randomBytes: "function"
  });
  const { endo: endoOpts, allowInfinityPoint, clearCofactor, isTorsionFree, fromBytes, toBytes } = extraOpts;
  const randomBytes3 = extraOpts.randomBytes === void 0 ? randomBytes2 : extraOpts.randomBytes;
  if (endoOpts) {
    if (!Fp4.is0(CURVE.a) || typeof endoOpts.beta !== "bigint" || !Array.isArray(endoOpts.basises)) {
      throw new Error('invalid endo: expected "beta": bigint and "basises": array');
    }
  }
  const endo = endoOpts ? {
    beta: endoOpts.beta,
    basises: endoOpts.basises.map((basis) => [...basis])
  } : void 0;
  const lengths = getWLengths(Fp4, Fn);
  function assertCompressionIsSupported() {
    if (!Fp4.isOdd)
      throw new Error("compression is not supported: Field does not have .isOdd()");
  }
  function pointToBytes(_c, point, isCompressed) {
    if (point.is0()) {
      if (!allowInfinityPoint)
        throw new Error("bad point: ZERO");
      return Uint8Array.of(0);
    }
    const { x, y } = point.toAffine();
    const bx = Fp4.toBytes(x);
    abool(isCompressed, "isCompressed");
    if (isCompressed) {
      assertCompressionIsSupported();
      const hasEvenY = !Fp4.isOdd(y);
      return concatBytes2(pprefix(hasEvenY), bx);
    } else {
      return concatBytes2(Uint8Array.of(4), bx, Fp4.toBytes(y));
    }
  }
  function pointFromBytes(bytes) {
    abytes2(bytes, void 0, "Point");
    const { publicKey: comp, publicKeyUncompressed: uncomp } = lengths;
    const length = bytes.length;
    const head = bytes[0];
    const tail = bytes.subarray(1);
    if (allowInfinityPoint && length === 1 && head === 0)
      return { x: Fp4.ZERO, y: Fp4.ZERO };
    if (length === comp && (head === 2 || head === 3)) {
      const x = Fp4.fromBytes(tail);
      if (!Fp4.isValid(x))
        throw new Error("bad point: is not on curve, wrong x");
      const y2 = weierstrassEquation(x);
      let y;
      try {
        y = Fp4.sqrt(y2);
      } catch (sqrtError) {
        const err = sqrtError instanceof Error ? ": " + sqrtError.message : "";
        throw new Error("bad point: is not on curve, sqrt error" + err);
      }
      assertCompressionIsSupported();
      const evenY = Fp4.isOdd(y);
      const evenH = (head & 1) === 1;
      if (evenH !== evenY)
        y = Fp4.neg(y);
      return { x, y };
    } else if (length === uncomp && head === 4) {
      const L = Fp4.BYTES;
      const x = Fp4.fromBytes(tail.subarray(0, L));
      const y = Fp4.fromBytes(tail.subarray(L, L * 2));
      if (!isValidXY(x, y))
        throw new Error("bad point: is not on curve");
      return { x, y };
    } else {
      throw new Error(`bad point: got length ${length}, expected compressed=${comp} or uncompressed=${uncomp}`);
    }
  }
  const encodePoint = toBytes === void 0 ? pointToBytes : toBytes;
  const decodePoint = fromBytes === void 0 ? pointFromBytes : fromBytes;
  const b3 = Fp4.mul(CURVE.b, _3n3);
  const mulA = Fp4.is0(CURVE.a) ? (_) => Fp4.ZERO : (x) => Fp4.mul(CURVE.a, x);
  function weierstrassEquation(x) {
    const x2 = Fp4.sqr(x);
    const x3 = Fp4.mul(x2, x);
    return Fp4.add(Fp4.add(x3, Fp4.mul(x, CURVE.a)), CURVE.b);
  }
  function isValidXY(x, y) {
    const left = Fp4.sqr(y);
    const right = weierstrassEquation(x);
    return Fp4.eql(left, right);
  }
  if (!isValidXY(CURVE.Gx, CURVE.Gy))
    throw new Error("bad curve params: generator point");
  const _4a3 = Fp4.mul(Fp4.pow(CURVE.a, _3n3), _4n4);
  const _27b2 = Fp4.mul(Fp4.sqr(CURVE.b), BigInt(27));
  if (Fp4.is0(Fp4.add(_4a3, _27b2)))
    throw new Error("bad curve params: a or b");
  function acoord(title, n, banZero = false) {
    if (!Fp4.isValid(n) || banZero && Fp4.is0(n))
      throw new Error(`bad point coordinate ${title}`);
    return typeof n === "object" && n !== null ? Fp4.create(n) : n;
  }
  function aprjpoint(other) {
    if (!(other instanceof Point))
      throw new Error("Weierstrass Point expected");
  }
  function splitEndoScalarN(k) {
    if (!endo || !endo.basises)
      throw new Error("no endo");
    return _splitEndoScalar(k, endo.basises, Fn.ORDER);
  }
  function pushWnafPair(points2, scalars, p, k) {
    if (!Fn.isValid(k))
      throw new RangeError("invalid scalar: out of range");
    if (endo) {
      const { k1neg, k1, k2neg, k2 } = splitEndoScalarN(k);
      const psi = new Point(Fp4.mul(p.X, endo.beta), p.Y, p.Z);
      points2.push(k1neg ? p.negate() : p, k2neg ? psi.negate() : psi);
      scalars.push(k1, k2);
    } else {
      points2.push(p);
      scalars.push(k);
    }
  }
  const validityCache = /* @__PURE__ */ new WeakSet();
  class Point {
    static BASE = new Point(CURVE.Gx, CURVE.Gy, Fp4.ONE);
    static ZERO = new Point(Fp4.ZERO, Fp4.ONE, Fp4.ZERO);
    static Fp = Fp4;
    static Fn = Fn;
    X;
    Y;
    Z;
    /** Does NOT validate if the point is valid. Use `.assertValidity()`. */
    constructor(X, Y, Z) {
      this.X = acoord("x", X);
      this.Y = acoord("y", Y, true);
      this.Z = acoord("z", Z);
      Object.freeze(this);
    }
    static CURVE() {
      return CURVE;
    }
    /** Does NOT validate if the point is valid. Use `.assertValidity()`. */
    static fromAffine(p) {
      const { x, y } = p || {};
      if (!p || !Fp4.isValid(x) || !Fp4.isValid(y))
        throw new Error("invalid affine point");
      if (p instanceof Point)
        throw new Error("projective point not allowed");
      if (Fp4.is0(x) && Fp4.is0(y))
        return Point.ZERO;
      return new Point(x, y, Fp4.ONE);
    }
    static fromBytes(bytes) {
      const P2 = Point.fromAffine(decodePoint(abytes2(bytes, void 0, "point")));
      P2.assertValidity();
      return P2;
    }
    static fromHex(hex) {
      return Point.fromBytes(hexToBytes2(hex));
    }
    get x() {
      return this.toAffine().x;
    }
    get y() {
      return this.toAffine().y;
    }
    /**
     * @param isLazy - true will defer table computation until the first multiplication
     */
    precompute(windowSize = 6, isLazy = true) {
      wnaf.setWindowSize(this, windowSize);
      if (!isLazy)
        this.multiply(_3n3);
      return this;
    }
    // TODO: return `this`
    /** A point on curve is valid if it conforms to equation. */
    assertValidity() {
      const p = this;
      if (p.is0()) {
        if (allowInfinityPoint && Fp4.is0(p.X) && Fp4.eql(p.Y, Fp4.ONE) && Fp4.is0(p.Z))
          return;
        throw new Error("bad point: ZERO");
      }
      if (validityCache.has(p))
        return;
      const { x, y } = p.toAffine();
      if (!Fp4.isValid(x) || !Fp4.isValid(y))
        throw new Error("bad point: x or y not field elements");
      if (!isValidXY(x, y))
        throw new Error("bad point: equation left != right");
      if (!p.isTorsionFree())
        throw new Error("bad point: not in prime-order subgroup");
      validityCache.add(p);
    }
    hasEvenY() {
      const { y } = this.toAffine();
      if (!Fp4.isOdd)
        throw new Error("Field doesn't support isOdd");
      return !Fp4.isOdd(y);
    }
    /** Compare one point to another. */
    equals(other) {
      aprjpoint(other);
      const { X: X1, Y: Y1, Z: Z1 } = this;
      const { X: X2, Y: Y2, Z: Z2 } = other;
      const U1 = Fp4.eql(Fp4.mul(X1, Z2), Fp4.mul(X2, Z1));
      const U2 = Fp4.eql(Fp4.mul(Y1, Z2), Fp4.mul(Y2, Z1));
      return U1 && U2;
    }
    /** Flips point to one corresponding to (x, -y) in Affine coordinates. */
    negate() {
      return new Point(this.X, Fp4.neg(this.Y), this.Z);
    }
    // Renes-Costello-Batina exception-free doubling formula.
    // There is 30% faster Jacobian formula, but it is not complete.
    // https://eprint.iacr.org/2015/1060, algorithm 3
    // Cost: 8M + 3S + 3*a + 2*b3 + 15add.
    double() {
      const { X: X1, Y: Y1, Z: Z1 } = this;
      let X3 = Fp4.ZERO, Y3 = Fp4.ZERO, Z3 = Fp4.ZERO;
      let t0 = Fp4.mul(X1, X1);
      let t1 = Fp4.mul(Y1, Y1);
      let t2 = Fp4.mul(Z1, Z1);
      let t3 = Fp4.mul(X1, Y1);
      t3 = Fp4.add(t3, t3);
      Z3 = Fp4.mul(X1, Z1);
      Z3 = Fp4.add(Z3, Z3);
      X3 = mulA(Z3);
      Y3 = Fp4.mul(b3, t2);
      Y3 = Fp4.add(X3, Y3);
      X3 = Fp4.sub(t1, Y3);
      Y3 = Fp4.add(t1, Y3);
      Y3 = Fp4.mul(X3, Y3);
      X3 = Fp4.mul(t3, X3);
      Z3 = Fp4.mul(b3, Z3);
      t2 = mulA(t2);
      t3 = Fp4.sub(t0, t2);
      t3 = mulA(t3);
      t3 = Fp4.add(t3, Z3);
      Z3 = Fp4.add(t0, t0);
      t0 = Fp4.add(Z3, t0);
      t0 = Fp4.add(t0, t2);
      t0 = Fp4.mul(t0, t3);
      Y3 = Fp4.add(Y3, t0);
      t2 = Fp4.mul(Y1, Z1);
      t2 = Fp4.add(t2, t2);
      t0 = Fp4.mul(t2, t3);
      X3 = Fp4.sub(X3, t0);
      Z3 = Fp4.mul(t2, t1);
      Z3 = Fp4.add(Z3, Z3);
      Z3 = Fp4.add(Z3, Z3);
      return new Point(X3, Y3, Z3);
    }
    // Renes-Costello-Batina exception-free addition formula.
    // There is 30% faster Jacobian formula, but it is not complete.
    // https://eprint.iacr.org/2015/1060, algorithm 1
    // Cost: 12M + 0S + 3*a + 3*b3 + 23add.
    add(other) {
      aprjpoint(other);
      const { X: X1, Y: Y1, Z: Z1 } = this;
      const { X: X2, Y: Y2, Z: Z2 } = other;
      let X3 = Fp4.ZERO, Y3 = Fp4.ZERO, Z3 = Fp4.ZERO;
      let t0 = Fp4.mul(X1, X2);
      let t1 = Fp4.mul(Y1, Y2);
      let t2 = Fp4.mul(Z1, Z2);
      let t3 = Fp4.add(X1, Y1);
      let t4 = Fp4.add(X2, Y2);
      t3 = Fp4.mul(t3, t4);
      t4 = Fp4.add(t0, t1);
      t3 = Fp4.sub(t3, t4);
      t4 = Fp4.add(X1, Z1);
      let t5 = Fp4.add(X2, Z2);
      t4 = Fp4.mul(t4, t5);
      t5 = Fp4.add(t0, t2);
      t4 = Fp4.sub(t4, t5);
      t5 = Fp4.add(Y1, Z1);
      X3 = Fp4.add(Y2, Z2);
      t5 = Fp4.mul(t5, X3);
      X3 = Fp4.add(t1, t2);
      t5 = Fp4.sub(t5, X3);
      Z3 = mulA(t4);
      X3 = Fp4.mul(b3, t2);
      Z3 = Fp4.add(X3, Z3);
      X3 = Fp4.sub(t1, Z3);
      Z3 = Fp4.add(t1, Z3);
      Y3 = Fp4.mul(X3, Z3);
      t1 = Fp4.add(t0, t0);
      t1 = Fp4.add(t1, t0);
      t2 = mulA(t2);
      t4 = Fp4.mul(b3, t4);
      t1 = Fp4.add(t1, t2);
      t2 = Fp4.sub(t0, t2);
      t2 = mulA(t2);
      t4 = Fp4.add(t4, t2);
      t0 = Fp4.mul(t1, t4);
      Y3 = Fp4.add(Y3, t0);
      t0 = Fp4.mul(t5, t4);
      X3 = Fp4.mul(t3, X3);
      X3 = Fp4.sub(X3, t0);
      t0 = Fp4.mul(t3, t1);
      Z3 = Fp4.mul(t5, Z3);
      Z3 = Fp4.add(Z3, t0);
      return new Point(X3, Y3, Z3);
    }
    subtract(other) {
      aprjpoint(other);
      return this.add(other.negate());
    }
    is0() {
      return this.equals(Point.ZERO);
    }
    /**
     * Constant time multiplication.
     * Uses precomputed tables (signed fixed-window wNAF) when available.
     * Uses scalar blinding and avoids endomorphism splitting in the secret-scalar path.
     * @param scalar - by which the point would be multiplied
     * @returns New point
     */
    multiply(scalar) {
      if (!Fn.isValidNot0(scalar))
        throw new RangeError("invalid scalar: out of range");
      const { p, f } = wnaf.mulSecret(this, scalar, cofactor, normalize);
      return normalize([p, f])[0];
    }
    /**
     * Non-constant-time multiplication. Uses width-4 wNAF with GLV endomorphism splitting
     * when available (two half-width scalars sharing one halved doubling chain).
     * It's faster, but should only be used when you don't care about
     * an exposed secret key e.g. sig verification, which works over *public* keys.
     */
    multiplyUnsafe(scalar) {
      const p = this;
      const sc = scalar;
      if (!Fn.isValid(sc))
        throw new RangeError("invalid scalar: out of range");
      if (sc === _0n5 || p.is0())
        return Point.ZERO;
      if (sc === _1n5)
        return p;
      if (wnaf.hasWindowSize(this))
        return wnaf.mulUnsafe(p, sc, normalize);
      const points2 = [];
      const scalars = [];
      pushWnafPair(points2, scalars, p, sc);
      return mulAddUnsafe(Point, points2, scalars);
    }
    /**
     * Non-constant-time double-scalar multiplication `a⋅this + b⋅other` (Strauss–Shamir).
     * Both walks share one doubling chain via {@link mulAddUnsafe}, and GLV endomorphism
     * (when available) halves the chain again by splitting each scalar into two half-width
     * parts. Used by ECDSA verification and public-key recovery for `R = u1⋅G + u2⋅P`.
     * Only for public scalars.
     */
    mulAddUnsafe(a, other, b) {
      aprjpoint(other);
      const points2 = [];
      const scalars = [];
      pushWnafPair(points2, scalars, this, a);
      pushWnafPair(points2, scalars, other, b);
      return mulAddUnsafe(Point, points2, scalars);
    }
    /**
     * Converts Projective point to affine (x, y) coordinates.
     * (X, Y, Z) ∋ (x=X/Z, y=Y/Z).
     * @param invertedZ - Z^-1 (inverted zero) - optional, precomputation is useful for invertBatch
     */
    toAffine(invertedZ) {
      const p = this;
      let iz = invertedZ;
      if (iz != null && !Fp4.isValid(iz))
        throw new RangeError('"invertedZ" expected valid field element');
      const { X, Y, Z } = p;
      if (Fp4.eql(Z, Fp4.ONE))
        return { x: X, y: Y };
      const is0 = p.is0();
      if (iz == null)
        iz = is0 ? Fp4.ONE : Fp4.inv(Z);
      const x = Fp4.mul(X, iz);
      const y = Fp4.mul(Y, iz);
      const zz = Fp4.mul(Z, iz);
      if (is0)
        return { x: Fp4.ZERO, y: Fp4.ZERO };
      if (!Fp4.eql(zz, Fp4.ONE))
        throw new Error("invZ was invalid");
      return { x, y };
    }
    /**
     * Checks whether Point is free of torsion elements (is in prime subgroup).
     * Always torsion-free for cofactor=1 curves.
     */
    isTorsionFree() {
      if (cofactor === _1n5)
        return true;
      if (isTorsionFree)
        return isTorsionFree(Point, this);
      return wnaf.mulUnsafe(this, CURVE_ORDER).is0();
    }
    clearCofactor() {
      if (cofactor === _1n5)
        return this;
      if (clearCofactor)
        return clearCofactor(Point, this);
      return this.multiplyUnsafe(cofactor);
    }
    isSmallOrder() {
      if (cofactor === _1n5)
        return this.is0();
      return this.clearCofactor().is0();
    }
    toBytes(isCompressed = true) {
      abool(isCompressed, "isCompressed");
      this.assertValidity();
      return encodePoint(Point, this, isCompressed);
    }
    toHex(isCompressed = true) {
      return bytesToHex2(this.toBytes(isCompressed));
    }
    toString() {
      return `<Point ${this.is0() ? "ZERO" : this.toHex()}>`;
    }
  }
  const normalize = (points2) => normalizeZ(Point, points2);
  const wnaf = new ScalarMultiplier(Point, randomBytes3);
  if (wnaf.bits >= 6)
    Point.BASE.precompute(6);
  Object.freeze(Point.prototype);
  Object.freeze(Point);
  return Point;
}
function pprefix(hasEvenY) {
  return Uint8Array.of(hasEvenY ? 2 : 3);
}
function getWLengths(Fp4, Fn) {
  return {
    secretKey: Fn.BYTES,
    publicKey: 1 + Fp4.BYTES,
    publicKeyUncompressed: 1 + 2 * Fp4.BYTES,
    publicKeyHasPrefix: true,
    // Raw compact `(r || s)` signature width; DER and recovered signatures use
    // different lengths outside this helper.
    signature: 2 * Fn.BYTES
  };
}

// node_modules/@noble/curves/abstract/bls.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var _0n6 = BigInt(0);
var _1n6 = BigInt(1);
var _2n4 = BigInt(2);
var _3n4 = BigInt(3);
function NAfDecomposition(a) {
  const res = [];
  for (; a > _1n6; a >>= _1n6) {
    if ((a & _1n6) === _0n6)
      res.unshift(0);
    else if ((a & _3n4) === _3n4) {
      res.unshift(-1);
      a += _1n6;
    } else
      res.unshift(1);
  }
  return res;
}
function aNonEmpty(arr) {
  if (!Array.isArray(arr) || arr.length === 0)
    throw new Error("expected non-empty array");
}
function createBlsPairing(fields2, G12, G22, params) {
  validateObject(fields2, { Fp: "object", Fr: "object", Fp2: "object", Fp12: "object" }, { Fp6: "object" }, "fields");
  if (typeof G12 !== "function")
    throw new TypeError('"G1_Point" expected point constructor, got type=' + typeof G12);
  if (typeof G22 !== "function")
    throw new TypeError('"G2_Point" expected point constructor, got type=' + typeof G22);
  validateObject(params, { ateLoopSize: "bigint", xNegative: "boolean", twistType: "string" }, { randomBytes: "function", postPrecompute: "function" }, "params");
  const { Fp: Fp4, Fr: Fr2, Fp2: Fp22, Fp12: Fp123 } = fields2;
  const { twistType, ateLoopSize, xNegative, postPrecompute } = params;
  const fp22 = (c0, c1) => ({ c0, c1 });
  const fp2f = ({ c0, c1 }) => Object.freeze({ c0, c1 });
  const add2 = (a, b) => fp22(Fp4.add(a.c0, b.c0), Fp4.add(a.c1, b.c1));
  const sub2 = (a, b) => fp22(Fp4.sub(a.c0, b.c0), Fp4.sub(a.c1, b.c1));
  const mul2 = (a, b) => {
    const t0 = Fp4.mul(a.c0, b.c0);
    const t1 = Fp4.mul(a.c1, b.c1);
    return fp22(Fp4.sub(t0, t1), Fp4.sub(Fp4.mul(Fp4.add(a.c0, a.c1), Fp4.add(b.c0, b.c1)), Fp4.add(t0, t1)));
  };
  const mul2ByFp = (a, rhs) => fp22(Fp4.mul(a.c0, rhs), Fp4.mul(a.c1, rhs));
  const mul2ByNonresidue = (a) => Fp22.mulByNonresidue(a);
  const mul014ByLine = ({ c0: f0, c1: f1 }, o0, l1, l4, Px, Py) => {
    const o1 = mul2ByFp(l1, Px);
    const o4 = mul2ByFp(l4, Py);
    const { c0: a0, c1: a1, c2: a2 } = f0;
    const { c0: b0, c1: b1, c2: b2 } = f1;
    const t0_0 = mul2(a0, o0);
    const t0_1 = mul2(a1, o1);
    const t0_c0 = add2(mul2ByNonresidue(sub2(mul2(add2(a1, a2), o1), t0_1)), t0_0);
    const t0_c1 = sub2(sub2(mul2(add2(o0, o1), add2(a0, a1)), t0_0), t0_1);
    const t0_c2 = add2(sub2(mul2(add2(a0, a2), o0), t0_0), t0_1);
    const t1_c0 = mul2ByNonresidue(mul2(b2, o4));
    const t1_c1 = mul2(b0, o4);
    const t1_c2 = mul2(b1, o4);
    const s0 = add2(a0, b0);
    const s1 = add2(a1, b1);
    const s2 = add2(a2, b2);
    const o14 = add2(o1, o4);
    const t2_0 = mul2(s0, o0);
    const t2_1 = mul2(s1, o14);
    const t2_c0 = add2(mul2ByNonresidue(sub2(mul2(add2(s1, s2), o14), t2_1)), t2_0);
    const t2_c1 = sub2(sub2(mul2(add2(o0, o14), add2(s0, s1)), t2_0), t2_1);
    const t2_c2 = add2(sub2(mul2(add2(s0, s2), o0), t2_0), t2_1);
    return Object.freeze({
      c0: Object.freeze({
        c0: fp2f(add2(mul2ByNonresidue(t1_c2), t0_c0)),
        c1: fp2f(add2(t1_c0, t0_c1)),
        c2: fp2f(add2(t1_c1, t0_c2))
      }),
      c1: Object.freeze({
        c0: fp2f(sub2(sub2(t2_c0, t0_c0), t1_c0)),
        c1: fp2f(sub2(sub2(t2_c1, t0_c1), t1_c1)),
        c2: fp2f(sub2(sub2(t2_c2, t0_c2), t1_c2))
      })
    });
  };
  const mul034ByLine = ({ c0: f0, c1: f1 }, l0, l3, o4, Px, Py) => {
    const o0 = mul2ByFp(l0, Py);
    const o3 = mul2ByFp(l3, Px);
    const { c0: a0, c1: a1, c2: a2 } = f0;
    const { c0: b0, c1: b1, c2: b2 } = f1;
    const a_c0 = mul2(a0, o0);
    const a_c1 = mul2(a1, o0);
    const a_c2 = mul2(a2, o0);
    const b0m = mul2(b0, o3);
    const b1m = mul2(b1, o4);
    const b_c0 = add2(mul2ByNonresidue(sub2(mul2(add2(b1, b2), o4), b1m)), b0m);
    const b_c1 = sub2(sub2(mul2(add2(o3, o4), add2(b0, b1)), b0m), b1m);
    const b_c2 = add2(sub2(mul2(add2(b0, b2), o3), b0m), b1m);
    const s0 = add2(a0, b0);
    const s1 = add2(a1, b1);
    const s2 = add2(a2, b2);
    const o03 = add2(o0, o3);
    const e0m = mul2(s0, o03);
    const e1m = mul2(s1, o4);
    const e_c0 = add2(mul2ByNonresidue(sub2(mul2(add2(s1, s2), o4), e1m)), e0m);
    const e_c1 = sub2(sub2(mul2(add2(o03, o4), add2(s0, s1)), e0m), e1m);
    const e_c2 = add2(sub2(mul2(add2(s0, s2), o03), e0m), e1m);
    return Object.freeze({
      c0: Object.freeze({
        c0: fp2f(add2(mul2ByNonresidue(b_c2), a_c0)),
        c1: fp2f(add2(b_c0, a_c1)),
        c2: fp2f(add2(b_c1, a_c2))
      }),
      c1: Object.freeze({
        c0: fp2f(sub2(sub2(e_c0, a_c0), b_c0)),
        c1: fp2f(sub2(sub2(e_c1, a_c1), b_c1)),
        c2: fp2f(sub2(sub2(e_c2, a_c2), b_c2))
      })
    });
  };
  let lineFunction;
  if (twistType === "multiplicative") {
    lineFunction = (c0, c1, c2, f, Px, Py) => mul014ByLine(f, c0, c1, c2, Px, Py);
  } else if (twistType === "divisive") {
    lineFunction = (c0, c1, c2, f, Px, Py) => mul034ByLine(f, c2, c1, c0, Px, Py);
  } else
    throw new Error("bls: unknown twist type");
  const Fp2div2 = Fp22.div(Fp22.ONE, Fp22.mul(Fp22.ONE, _2n4));
  function pointDouble(ell, Rx, Ry, Rz) {
    const t0 = Fp22.sqr(Ry);
    const t1 = Fp22.sqr(Rz);
    const t2 = Fp22.mulByB(Fp22.mul(t1, _3n4));
    const t3 = Fp22.mul(t2, _3n4);
    const t4 = Fp22.sub(Fp22.sub(Fp22.sqr(Fp22.add(Ry, Rz)), t1), t0);
    const c0 = Fp22.sub(t2, t0);
    const c1 = Fp22.mul(Fp22.sqr(Rx), _3n4);
    const c2 = Fp22.neg(t4);
    ell.push([c0, c1, c2]);
    Rx = Fp22.mul(Fp22.mul(Fp22.mul(Fp22.sub(t0, t3), Rx), Ry), Fp2div2);
    Ry = Fp22.sub(Fp22.sqr(Fp22.mul(Fp22.add(t0, t3), Fp2div2)), Fp22.mul(Fp22.sqr(t2), _3n4));
    Rz = Fp22.mul(t0, t4);
    return { Rx, Ry, Rz };
  }
  function pointAdd(ell, Rx, Ry, Rz, Qx, Qy) {
    const t0 = Fp22.sub(Ry, Fp22.mul(Qy, Rz));
    const t1 = Fp22.sub(Rx, Fp22.mul(Qx, Rz));
    const c0 = Fp22.sub(Fp22.mul(t0, Qx), Fp22.mul(t1, Qy));
    const c1 = Fp22.neg(t0);
    const c2 = t1;
    ell.push([c0, c1, c2]);
    const t2 = Fp22.sqr(t1);
    const t3 = Fp22.mul(t2, t1);
    const t4 = Fp22.mul(t2, Rx);
    const t5 = Fp22.add(Fp22.sub(t3, Fp22.mul(t4, _2n4)), Fp22.mul(Fp22.sqr(t0), Rz));
    Rx = Fp22.mul(t1, t5);
    Ry = Fp22.sub(Fp22.mul(Fp22.sub(t4, t5), t0), Fp22.mul(t3, Ry));
    Rz = Fp22.mul(Rz, t3);
    return { Rx, Ry, Rz };
  }
  const ATE_NAF = NAfDecomposition(ateLoopSize);
  const calcPairingPrecomputes = (point) => {
    if (!(point instanceof G22))
      throw new TypeError('"point" expected G2 point, got type=' + typeof point);
    const p = point;
    const { x, y } = p.toAffine();
    const Qx = x, Qy = y, negQy = Fp22.neg(y);
    let Rx = Qx, Ry = Qy, Rz = Fp22.ONE;
    const ell = [];
    for (const bit of ATE_NAF) {
      const cur = [];
      ({ Rx, Ry, Rz } = pointDouble(cur, Rx, Ry, Rz));
      if (bit)
        ({ Rx, Ry, Rz } = pointAdd(cur, Rx, Ry, Rz, Qx, bit === -1 ? negQy : Qy));
      ell.push(cur);
    }
    if (postPrecompute) {
      const last = ell[ell.length - 1];
      postPrecompute(Rx, Ry, Rz, Qx, Qy, pointAdd.bind(null, last));
    }
    return ell;
  };
  function millerLoopBatch(pairs, withFinalExponent = false) {
    aarray(pairs, "pairs", (pair, title) => {
      aarray(pair, title);
      if (pair.length !== 3)
        throw new TypeError(`"${title}" expected precompute tuple`);
      aarray(pair[0], title + "[0]");
    });
    let f12 = Fp123.ONE;
    if (pairs.length) {
      const ellLen = pairs[0][0].length;
      for (let i = 0; i < ellLen; i++) {
        if (i !== 0)
          f12 = Fp123.sqr(f12);
        for (const [ell, Px, Py] of pairs) {
          for (const [c0, c1, c2] of ell[i])
            f12 = lineFunction(c0, c1, c2, f12, Px, Py);
        }
      }
    }
    if (xNegative)
      f12 = Fp123.conjugate(f12);
    return withFinalExponent ? Fp123.finalExponentiate(f12) : f12;
  }
  function pairingBatch(pairs, withFinalExponent = true) {
    aarray(pairs, "pairs");
    const res = [];
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      validateObject(pair, { g1: "object", g2: "object" }, {}, "pairs[" + i + "]");
      const { g1: g13, g2: g23 } = pair;
      if (!(g13 instanceof G12))
        throw new TypeError('"pairs[' + i + '].g1" expected G1 point, got type=' + typeof g13);
      if (!(g23 instanceof G22))
        throw new TypeError('"pairs[' + i + '].g2" expected G2 point, got type=' + typeof g23);
      if (g13.is0() || g23.is0())
        throw new Error("pairing is not available for ZERO point");
      g13.assertValidity();
      g23.assertValidity();
      const Qa = g13.toAffine();
      res.push([calcPairingPrecomputes(g23), Qa.x, Qa.y]);
    }
    return millerLoopBatch(res, withFinalExponent);
  }
  function pairing(Q, P2, withFinalExponent = true) {
    if (!(Q instanceof G12))
      throw new TypeError('"Q" expected G1 point, got type=' + typeof Q);
    if (!(P2 instanceof G22))
      throw new TypeError('"P" expected G2 point, got type=' + typeof P2);
    return pairingBatch([{ g1: Q, g2: P2 }], withFinalExponent);
  }
  const lengths = {
    seed: getMinHashLength(Fr2.ORDER)
  };
  const rand = params.randomBytes === void 0 ? randomBytes2 : params.randomBytes;
  const randomSecretKey = (seed) => {
    seed = seed === void 0 ? rand(lengths.seed) : seed;
    abytes2(seed, lengths.seed, "seed");
    return mapHashToField(seed, Fr2.ORDER);
  };
  Object.freeze(lengths);
  return {
    lengths,
    Fr: Fr2,
    Fp12: Fp123,
    // NOTE: we re-export Fp12 here because pairing results are Fp12!
    millerLoopBatch,
    pairing,
    pairingBatch,
    calcPairingPrecomputes,
    randomSecretKey
  };
}
function createBlsSig(blsPairing, PubPoint, SigPoint, isSigG1, hashToSigCurve, SignatureCoder) {
  const { Fr: Fr2, Fp12: Fp123, pairingBatch, randomSecretKey, lengths } = blsPairing;
  if (!SignatureCoder) {
    SignatureCoder = {
      fromBytes: notImplemented,
      fromHex: notImplemented,
      toBytes: notImplemented,
      toHex: notImplemented
    };
  }
  const sigCoder = Object.freeze({ ...SignatureCoder });
  function normPub(point) {
    return point instanceof PubPoint ? point : PubPoint.fromBytes(point);
  }
  function normSig(point) {
    return point instanceof SigPoint ? point : sigCoder.fromBytes(point);
  }
  function amsg(m) {
    if (!(m instanceof SigPoint))
      throw new Error(`expected valid message hashed to ${!isSigG1 ? "G2" : "G1"} curve`);
    return m;
  }
  const pair = !isSigG1 ? (a, b) => ({ g1: a, g2: b }) : (a, b) => ({ g1: b, g2: a });
  return Object.freeze({
    lengths: Object.freeze({ ...lengths, secretKey: Fr2.BYTES }),
    keygen(seed) {
      const secretKey = randomSecretKey(seed);
      const publicKey = this.getPublicKey(secretKey);
      return { secretKey, publicKey };
    },
    // P = pk x G
    getPublicKey(secretKey) {
      let sec;
      try {
        sec = PubPoint.Fn.fromBytes(secretKey);
      } catch (error) {
        throw new Error("invalid private key: " + typeof secretKey, { cause: error });
      }
      return PubPoint.BASE.multiply(sec);
    },
    // S = pk x H(m)
    sign(message, secretKey, unusedArg) {
      if (unusedArg != null)
        throw new Error("sign() expects 2 arguments");
      const sec = PubPoint.Fn.fromBytes(secretKey);
      amsg(message).assertValidity();
      return message.multiply(sec);
    },
    // Checks if pairing of public key & hash is equal to pairing of generator & signature.
    // e(P, H(m)) == e(G, S)
    // e(S, G) == e(H(m), P)
    verify(signature, message, publicKey, unusedArg) {
      if (unusedArg != null)
        throw new Error("verify() expects 3 arguments");
      signature = normSig(signature);
      publicKey = normPub(publicKey);
      const P2 = publicKey.negate();
      const G = PubPoint.BASE;
      const Hm = amsg(message);
      const S = signature;
      try {
        const exp = pairingBatch([pair(P2, Hm), pair(G, S)]);
        return Fp123.eql(exp, Fp123.ONE);
      } catch {
        return false;
      }
    },
    // https://ethresear.ch/t/fast-verification-of-multiple-bls-signatures/5407
    // e(G, S) = e(G, SUM(n)(Si)) = MUL(n)(e(G, Si))
    // TODO: maybe `{message: G2Hex, publicKey: G1Hex}[]` instead?
    verifyBatch(signature, items) {
      aNonEmpty(items);
      const sig = normSig(signature);
      const nMessages = items.map((i) => amsg(i.message));
      const nPublicKeys = items.map((i) => normPub(i.publicKey));
      const messagePubKeyMap = /* @__PURE__ */ new Map();
      for (let i = 0; i < nPublicKeys.length; i++) {
        const pub = nPublicKeys[i];
        const msg = nMessages[i];
        let keys = messagePubKeyMap.get(msg);
        if (keys === void 0) {
          keys = [];
          messagePubKeyMap.set(msg, keys);
        }
        keys.push(pub);
      }
      const paired = [];
      const G = PubPoint.BASE;
      try {
        for (const [msg, keys] of messagePubKeyMap) {
          const groupPublicKey = keys.reduce((acc, msg2) => acc.add(msg2));
          paired.push(pair(groupPublicKey, msg));
        }
        paired.push(pair(G.negate(), sig));
        return Fp123.eql(pairingBatch(paired), Fp123.ONE);
      } catch {
        return false;
      }
    },
    // Adds a bunch of public key points together.
    // pk1 + pk2 + pk3 = pkA
    aggregatePublicKeys(publicKeys) {
      aNonEmpty(publicKeys);
      publicKeys = publicKeys.map((pub) => normPub(pub));
      const agg = publicKeys.reduce((sum, p) => sum.add(p), PubPoint.ZERO);
      agg.assertValidity();
      return agg;
    },
    // Adds a bunch of signature points together.
    // pk1 + pk2 + pk3 = pkA
    aggregateSignatures(signatures) {
      aNonEmpty(signatures);
      signatures = signatures.map((sig) => normSig(sig));
      const agg = signatures.reduce((sum, s) => sum.add(s), SigPoint.ZERO);
      agg.assertValidity();
      return agg;
    },
    hash(messageBytes, DST) {
      abytes2(messageBytes);
      const opts = DST === void 0 ? void 0 : { DST };
      return hashToSigCurve(messageBytes, opts);
    },
    Signature: Object.freeze({ ...sigCoder })
  });
}
function blsBasic(fields2, G1_Point2, G2_Point2, params) {
  const { Fp: Fp4, Fr: Fr2, Fp2: Fp22, Fp6: Fp62, Fp12: Fp123 } = fields2;
  const G12 = { Point: G1_Point2 };
  const G22 = { Point: G2_Point2 };
  const pairingRes = createBlsPairing(fields2, G1_Point2, G2_Point2, params);
  const { millerLoopBatch, pairing, pairingBatch, calcPairingPrecomputes, randomSecretKey, lengths } = pairingRes;
  G12.Point.BASE.precompute(4);
  Object.freeze(G12);
  Object.freeze(G22);
  return Object.freeze({
    lengths: Object.freeze(lengths),
    millerLoopBatch,
    pairing,
    pairingBatch,
    G1: G12,
    G2: G22,
    fields: Object.freeze({ Fr: Fr2, Fp: Fp4, Fp2: Fp22, Fp6: Fp62, Fp12: Fp123 }),
    params: Object.freeze({
      ateLoopSize: params.ateLoopSize,
      xNegative: params.xNegative,
      twistType: params.twistType,
      postPrecompute: params.postPrecompute
    }),
    utils: Object.freeze({
      randomSecretKey,
      calcPairingPrecomputes
    })
  });
}
function blsHashers(fields2, G1_Point2, G2_Point2, params, hasherParams) {
  const base = blsBasic(fields2, G1_Point2, G2_Point2, params);
  validateObject(hasherParams, { hasherOpts: "object", hasherOptsG1: "object", hasherOptsG2: "object" }, { mapToG1: "function", mapToG2: "function" }, "hasherParams");
  const G1Hasher = createHasher2(G1_Point2, hasherParams.mapToG1 === void 0 ? notImplemented : hasherParams.mapToG1, {
    ...hasherParams.hasherOpts,
    ...hasherParams.hasherOptsG1
  });
  const G2Hasher = createHasher2(G2_Point2, hasherParams.mapToG2 === void 0 ? notImplemented : hasherParams.mapToG2, {
    ...hasherParams.hasherOpts,
    ...hasherParams.hasherOptsG2
  });
  return Object.freeze({ ...base, G1: G1Hasher, G2: G2Hasher });
}
function bls(fields2, G1_Point2, G2_Point2, params, hasherParams, signatureCoders2) {
  const base = blsHashers(fields2, G1_Point2, G2_Point2, params, hasherParams);
  const pairingRes = {
    ...base,
    Fr: base.fields.Fr,
    Fp12: base.fields.Fp12,
    calcPairingPrecomputes: base.utils.calcPairingPrecomputes,
    randomSecretKey: base.utils.randomSecretKey
  };
  const longSignatures = createBlsSig(pairingRes, G1_Point2, G2_Point2, false, base.G2.hashToCurve, signatureCoders2?.LongSignature);
  const shortSignatures = createBlsSig(pairingRes, G2_Point2, G1_Point2, true, base.G1.hashToCurve, signatureCoders2?.ShortSignature);
  return Object.freeze({ ...base, longSignatures, shortSignatures });
}

// node_modules/@noble/curves/abstract/tower.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var _0n7 = /* @__PURE__ */ BigInt(0);
var _1n7 = /* @__PURE__ */ BigInt(1);
var _2n5 = /* @__PURE__ */ BigInt(2);
var _3n5 = /* @__PURE__ */ BigInt(3);
var _6n = /* @__PURE__ */ BigInt(6);
var _12n = /* @__PURE__ */ BigInt(12);
var isObj = (value) => !!value && typeof value === "object";
function calcFrobeniusCoefficients(Fp4, nonResidue, modulus, degree, num = 1, divisor) {
  asafenumber(num, "num");
  asafenumber(degree, "degree");
  const divisorN = divisor === void 0 ? degree : divisor;
  asafenumber(divisorN, "divisor");
  const F = Fp4;
  if (typeof modulus !== "bigint" || modulus <= _1n7)
    throw new Error("calcFrobeniusCoefficients: expected valid modulus, got " + modulus);
  if (degree <= 0)
    throw new Error("calcFrobeniusCoefficients: expected positive degree, got " + degree);
  if (num <= 0)
    throw new Error("calcFrobeniusCoefficients: expected positive row count, got " + num);
  if (divisorN <= 0)
    throw new Error("calcFrobeniusCoefficients: expected positive divisor, got " + divisorN);
  const _divisor = BigInt(divisorN);
  const towerModulus = modulus ** BigInt(degree);
  const res = [];
  for (let i = 0; i < num; i++) {
    const a = BigInt(i + 1);
    const powers = [];
    for (let j = 0, qPower = _1n7; j < degree; j++) {
      const numer = a * qPower - a;
      if (numer % _divisor)
        throw new Error("calcFrobeniusCoefficients: inexact tower exponent");
      const power = numer / _divisor % towerModulus;
      powers.push(F.pow(nonResidue, power));
      qPower *= modulus;
    }
    res.push(powers);
  }
  return res;
}
function psiFrobenius(Fp4, Fp22, base) {
  validateField(Fp4);
  validateField(Fp22);
  validateObject(Fp22, {
    Fp: "object",
    frobeniusMap: "function",
    fromBigTuple: "function",
    mulByB: "function",
    mulByNonresidue: "function",
    reim: "function",
    Fp4Square: "function",
    NONRESIDUE: "object"
  }, {});
  if (!isObj(base) || Array.isArray(base))
    throw new TypeError('"base" expected Fp2 element, got type=' + typeof base);
  if (!Fp22.isValid(base))
    throw new RangeError('"base" expected valid Fp2 element');
  const PSI_X = Fp22.pow(base, (Fp4.ORDER - _1n7) / _3n5);
  const PSI_Y = Fp22.pow(base, (Fp4.ORDER - _1n7) / _2n5);
  function psi(x, y) {
    const x2 = Fp22.mul(Fp22.frobeniusMap(x, 1), PSI_X);
    const y2 = Fp22.mul(Fp22.frobeniusMap(y, 1), PSI_Y);
    return [x2, y2];
  }
  const PSI2_X = Fp22.pow(base, (Fp4.ORDER ** _2n5 - _1n7) / _3n5);
  const PSI2_Y = Fp22.pow(base, (Fp4.ORDER ** _2n5 - _1n7) / _2n5);
  if (!Fp22.eql(PSI2_Y, Fp22.neg(Fp22.ONE)))
    throw new Error("psiFrobenius: PSI2_Y!==-1");
  function psi2(x, y) {
    return [Fp22.mul(x, PSI2_X), Fp22.neg(y)];
  }
  const mapAffine = (fn) => (c, P2) => {
    if (typeof c !== "function")
      throw new TypeError('"c" expected point constructor, got type=' + typeof c);
    validatePointCons(c);
    if (!(P2 instanceof c))
      throw new TypeError('"P" expected Point instance, got type=' + typeof P2);
    const affine = P2.toAffine();
    const p = fn(affine.x, affine.y);
    return c.fromAffine({ x: p[0], y: p[1] });
  };
  const G2psi3 = mapAffine(psi);
  const G2psi22 = mapAffine(psi2);
  return { psi, psi2, G2psi: G2psi3, G2psi2: G2psi22, PSI_X, PSI_Y, PSI2_X, PSI2_Y };
}
var _Field2 = class {
  ORDER;
  BITS;
  BYTES;
  isLE;
  ZERO;
  ONE;
  Fp;
  NONRESIDUE;
  mulByB;
  Fp_NONRESIDUE;
  Fp_div2;
  constructor(Fp4, opts = {}) {
    const { NONRESIDUE = BigInt(-1), FP2_NONRESIDUE, Fp2mulByB } = opts;
    const ORDER = Fp4.ORDER;
    const FP2_ORDER = ORDER * ORDER;
    this.Fp = Fp4;
    this.ORDER = FP2_ORDER;
    this.BITS = bitLen(FP2_ORDER);
    this.BYTES = Math.ceil(bitLen(FP2_ORDER) / 8);
    this.isLE = Fp4.isLE;
    this.ZERO = this.create({ c0: Fp4.ZERO, c1: Fp4.ZERO });
    this.ONE = this.create({ c0: Fp4.ONE, c1: Fp4.ZERO });
    this.Fp_NONRESIDUE = Fp4.create(NONRESIDUE);
    this.Fp_div2 = Fp4.div(Fp4.ONE, _2n5);
    this.NONRESIDUE = this.create({ c0: FP2_NONRESIDUE[0], c1: FP2_NONRESIDUE[1] });
    this.mulByB = (num) => {
      const { c0, c1 } = Fp2mulByB(num);
      return Object.freeze({ c0, c1 });
    };
    Object.freeze(this);
  }
  fromBigTuple(tuple) {
    if (!Array.isArray(tuple) || tuple.length !== 2)
      throw new Error("invalid Fp2.fromBigTuple");
    const [c0, c1] = tuple;
    if (typeof c0 !== "bigint" || typeof c1 !== "bigint")
      throw new Error("invalid Fp2.fromBigTuple");
    return this.create({ c0, c1 });
  }
  create(num) {
    const { Fp: Fp4 } = this;
    const c0 = Fp4.create(num.c0);
    const c1 = Fp4.create(num.c1);
    return Object.freeze({ c0, c1 });
  }
  isValid(num) {
    if (!isObj(num))
      throw new TypeError("invalid field element: expected object, got " + typeof num);
    const { c0, c1 } = num;
    const { Fp: Fp4 } = this;
    return Fp4.isValid(c0) && Fp4.isValid(c1);
  }
  is0(num) {
    if (!isObj(num))
      return false;
    const { c0, c1 } = num;
    const { Fp: Fp4 } = this;
    return Fp4.is0(c0) && Fp4.is0(c1);
  }
  isValidNot0(num) {
    return !this.is0(num) && this.isValid(num);
  }
  eql({ c0, c1 }, { c0: r0, c1: r1 }) {
    const { Fp: Fp4 } = this;
    return Fp4.eql(c0, r0) && Fp4.eql(c1, r1);
  }
  neg({ c0, c1 }) {
    const { Fp: Fp4 } = this;
    return Object.freeze({ c0: Fp4.neg(c0), c1: Fp4.neg(c1) });
  }
  pow(num, power) {
    return FpPow(this, num, power);
  }
  invertBatch(nums) {
    return FpInvertBatch(this, nums, true);
  }
  // Normalized
  add(f1, f2) {
    const { Fp: Fp4 } = this;
    const { c0, c1 } = f1;
    const { c0: r0, c1: r1 } = f2;
    return Object.freeze({
      c0: Fp4.add(c0, r0),
      c1: Fp4.add(c1, r1)
    });
  }
  sub({ c0, c1 }, { c0: r0, c1: r1 }) {
    const { Fp: Fp4 } = this;
    return Object.freeze({
      c0: Fp4.sub(c0, r0),
      c1: Fp4.sub(c1, r1)
    });
  }
  mul({ c0, c1 }, rhs) {
    const { Fp: Fp4 } = this;
    if (typeof rhs === "bigint")
      return Object.freeze({ c0: Fp4.mul(c0, rhs), c1: Fp4.mul(c1, rhs) });
    const { c0: r0, c1: r1 } = rhs;
    let t1 = Fp4.mul(c0, r0);
    let t2 = Fp4.mul(c1, r1);
    const o0 = Fp4.sub(t1, t2);
    const o1 = Fp4.sub(Fp4.mul(Fp4.add(c0, c1), Fp4.add(r0, r1)), Fp4.add(t1, t2));
    return Object.freeze({ c0: o0, c1: o1 });
  }
  sqr({ c0, c1 }) {
    const { Fp: Fp4 } = this;
    const a = Fp4.add(c0, c1);
    const b = Fp4.sub(c0, c1);
    const c = Fp4.add(c0, c0);
    return Object.freeze({ c0: Fp4.mul(a, b), c1: Fp4.mul(c, c1) });
  }
  // NonNormalized stuff
  addN(a, b) {
    return this.add(a, b);
  }
  subN(a, b) {
    return this.sub(a, b);
  }
  mulN(a, b) {
    return this.mul(a, b);
  }
  sqrN(a) {
    return this.sqr(a);
  }
  // Why inversion for bigint inside Fp instead of Fp2? it is even used in that context?
  div(lhs, rhs) {
    const { Fp: Fp4 } = this;
    return this.mul(lhs, typeof rhs === "bigint" ? Fp4.inv(Fp4.create(rhs)) : this.inv(rhs));
  }
  inv({ c0: a, c1: b }) {
    const { Fp: Fp4 } = this;
    const factor = Fp4.inv(Fp4.create(a * a + b * b));
    return Object.freeze({ c0: Fp4.mul(factor, Fp4.create(a)), c1: Fp4.mul(factor, Fp4.create(-b)) });
  }
  sqrt(num) {
    const { Fp: Fp4 } = this;
    const Fp22 = this;
    const { c0, c1 } = num;
    if (Fp4.is0(c1)) {
      if (FpLegendre(Fp4, c0) === 1)
        return Fp22.create({ c0: Fp4.sqrt(c0), c1: Fp4.ZERO });
      else
        return Fp22.create({ c0: Fp4.ZERO, c1: Fp4.sqrt(Fp4.div(c0, this.Fp_NONRESIDUE)) });
    }
    const a = Fp4.sqrt(Fp4.sub(Fp4.sqr(c0), Fp4.mul(Fp4.sqr(c1), this.Fp_NONRESIDUE)));
    let d = Fp4.mul(Fp4.add(a, c0), this.Fp_div2);
    const legendre = FpLegendre(Fp4, d);
    if (legendre === -1)
      d = Fp4.sub(d, a);
    const a0 = Fp4.sqrt(d);
    const candidateSqrt = Fp22.create({ c0: a0, c1: Fp4.div(Fp4.mul(c1, this.Fp_div2), a0) });
    if (!Fp22.eql(Fp22.sqr(candidateSqrt), num))
      throw new Error("Cannot find square root");
    const x1 = candidateSqrt;
    const x2 = Fp22.neg(x1);
    const { re: re1, im: im1 } = Fp22.reim(x1);
    const { re: re2, im: im2 } = Fp22.reim(x2);
    if (im1 > im2 || im1 === im2 && re1 > re2)
      return x1;
    return x2;
  }
  // Same as sgn0_m_eq_2 in RFC 9380
  isOdd(x) {
    const { re: x0, im: x1 } = this.reim(x);
    const sign_0 = x0 % _2n5;
    const zero_0 = x0 === _0n7;
    const sign_1 = x1 % _2n5;
    return BigInt(sign_0 || zero_0 && sign_1) == _1n7;
  }
  // Bytes util
  fromBytes(b) {
    const { Fp: Fp4 } = this;
    abytes2(b);
    if (b.length !== this.BYTES)
      throw new Error("fromBytes invalid length=" + b.length);
    return this.create({
      c0: Fp4.fromBytes(b.subarray(0, Fp4.BYTES)),
      c1: Fp4.fromBytes(b.subarray(Fp4.BYTES))
    });
  }
  toBytes({ c0, c1 }) {
    return concatBytes2(this.Fp.toBytes(c0), this.Fp.toBytes(c1));
  }
  cmov({ c0, c1 }, { c0: r0, c1: r1 }, c) {
    const { Fp: Fp4 } = this;
    return this.create({
      c0: Fp4.cmov(c0, r0, c),
      c1: Fp4.cmov(c1, r1, c)
    });
  }
  reim({ c0, c1 }) {
    return { re: c0, im: c1 };
  }
  Fp4Square(a, b) {
    const Fp22 = this;
    const a2 = Fp22.sqr(a);
    const b2 = Fp22.sqr(b);
    return {
      first: Fp22.add(Fp22.mulByNonresidue(b2), a2),
      // b² * Nonresidue + a²
      second: Fp22.sub(Fp22.sub(Fp22.sqr(Fp22.add(a, b)), a2), b2)
      // (a + b)² - a² - b²
    };
  }
  // multiply by u + 1
  mulByNonresidue({ c0, c1 }) {
    const { Fp: Fp4, NONRESIDUE: nr } = this;
    if (nr.c0 === Fp4.ONE && nr.c1 === Fp4.ONE) {
      return Object.freeze({ c0: Fp4.sub(c0, c1), c1: Fp4.add(c0, c1) });
    }
    if (nr.c1 === Fp4.ONE) {
      return Object.freeze({
        c0: Fp4.sub(Fp4.mul(c0, nr.c0), c1),
        c1: Fp4.add(c0, Fp4.mul(c1, nr.c0))
      });
    }
    return this.mul({ c0, c1 }, nr);
  }
  frobeniusMap(num, power) {
    const { c0, c1 } = num;
    const { Fp: Fp4 } = this;
    return Object.freeze({ c0, c1: power % 2 === 0 ? c1 : Fp4.neg(c1) });
  }
};
var _Field6 = class {
  ORDER;
  BITS;
  BYTES;
  isLE;
  ZERO;
  ONE;
  Fp2;
  constructor(Fp22) {
    this.Fp2 = Fp22;
    this.ORDER = Fp22.Fp.ORDER ** _6n;
    this.BITS = 3 * Fp22.BITS;
    this.BYTES = 3 * Fp22.BYTES;
    this.isLE = Fp22.isLE;
    this.ZERO = this.create({ c0: Fp22.ZERO, c1: Fp22.ZERO, c2: Fp22.ZERO });
    this.ONE = this.create({ c0: Fp22.ONE, c1: Fp22.ZERO, c2: Fp22.ZERO });
    Object.freeze(this);
  }
  // Most callers never touch Frobenius maps, so keep the sextic tables lazy:
  // eagerly deriving them dominates `bls12-381.js` / `bn254.js` import time.
  get FROBENIUS_COEFFICIENTS_1() {
    const frob2 = _FROBENIUS_COEFFICIENTS_6.get(this);
    if (frob2)
      return frob2[0];
    const { Fp2: Fp22 } = this;
    const { Fp: Fp4 } = Fp22;
    const rows = calcFrobeniusCoefficients(Fp22, Fp22.NONRESIDUE, Fp4.ORDER, 6, 2, 3);
    const cache = [Object.freeze(rows[0]), Object.freeze(rows[1])];
    _FROBENIUS_COEFFICIENTS_6.set(this, cache);
    return cache[0];
  }
  get FROBENIUS_COEFFICIENTS_2() {
    const frob2 = _FROBENIUS_COEFFICIENTS_6.get(this);
    if (frob2)
      return frob2[1];
    void this.FROBENIUS_COEFFICIENTS_1;
    return _FROBENIUS_COEFFICIENTS_6.get(this)[1];
  }
  add({ c0, c1, c2 }, { c0: r0, c1: r1, c2: r2 }) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({
      c0: Fp22.add(c0, r0),
      c1: Fp22.add(c1, r1),
      c2: Fp22.add(c2, r2)
    });
  }
  sub({ c0, c1, c2 }, { c0: r0, c1: r1, c2: r2 }) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({
      c0: Fp22.sub(c0, r0),
      c1: Fp22.sub(c1, r1),
      c2: Fp22.sub(c2, r2)
    });
  }
  mul({ c0, c1, c2 }, rhs) {
    const { Fp2: Fp22 } = this;
    if (typeof rhs === "bigint") {
      return Object.freeze({
        c0: Fp22.mul(c0, rhs),
        c1: Fp22.mul(c1, rhs),
        c2: Fp22.mul(c2, rhs)
      });
    }
    const { c0: r0, c1: r1, c2: r2 } = rhs;
    const t0 = Fp22.mul(c0, r0);
    const t1 = Fp22.mul(c1, r1);
    const t2 = Fp22.mul(c2, r2);
    return Object.freeze({
      // t0 + (c1 + c2) * (r1 * r2) - (T1 + T2) * (u + 1)
      c0: Fp22.add(t0, Fp22.mulByNonresidue(Fp22.sub(Fp22.mul(Fp22.add(c1, c2), Fp22.add(r1, r2)), Fp22.add(t1, t2)))),
      // (c0 + c1) * (r0 + r1) - (T0 + T1) + T2 * (u + 1)
      c1: Fp22.add(Fp22.sub(Fp22.mul(Fp22.add(c0, c1), Fp22.add(r0, r1)), Fp22.add(t0, t1)), Fp22.mulByNonresidue(t2)),
      // T1 + (c0 + c2) * (r0 + r2) - T0 + T2
      c2: Fp22.sub(Fp22.add(t1, Fp22.mul(Fp22.add(c0, c2), Fp22.add(r0, r2))), Fp22.add(t0, t2))
    });
  }
  sqr({ c0, c1, c2 }) {
    const { Fp2: Fp22 } = this;
    let t0 = Fp22.sqr(c0);
    let t1 = Fp22.mul(Fp22.mul(c0, c1), _2n5);
    let t3 = Fp22.mul(Fp22.mul(c1, c2), _2n5);
    let t4 = Fp22.sqr(c2);
    return Object.freeze({
      c0: Fp22.add(Fp22.mulByNonresidue(t3), t0),
      // T3 * (u + 1) + T0
      c1: Fp22.add(Fp22.mulByNonresidue(t4), t1),
      // T4 * (u + 1) + T1
      // T1 + (c0 - c1 + c2)² + T3 - T0 - T4
      c2: Fp22.sub(Fp22.sub(Fp22.add(Fp22.add(t1, Fp22.sqr(Fp22.add(Fp22.sub(c0, c1), c2))), t3), t0), t4)
    });
  }
  addN(a, b) {
    return this.add(a, b);
  }
  subN(a, b) {
    return this.sub(a, b);
  }
  mulN(a, b) {
    return this.mul(a, b);
  }
  sqrN(a) {
    return this.sqr(a);
  }
  create(num) {
    const { Fp2: Fp22 } = this;
    const c0 = Fp22.create(num.c0);
    const c1 = Fp22.create(num.c1);
    const c2 = Fp22.create(num.c2);
    return Object.freeze({ c0, c1, c2 });
  }
  isValid(num) {
    if (!isObj(num))
      throw new TypeError("invalid field element: expected object, got " + typeof num);
    const { c0, c1, c2 } = num;
    const { Fp2: Fp22 } = this;
    return Fp22.isValid(c0) && Fp22.isValid(c1) && Fp22.isValid(c2);
  }
  is0(num) {
    if (!isObj(num))
      return false;
    const { c0, c1, c2 } = num;
    const { Fp2: Fp22 } = this;
    return Fp22.is0(c0) && Fp22.is0(c1) && Fp22.is0(c2);
  }
  isValidNot0(num) {
    return !this.is0(num) && this.isValid(num);
  }
  neg({ c0, c1, c2 }) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({ c0: Fp22.neg(c0), c1: Fp22.neg(c1), c2: Fp22.neg(c2) });
  }
  eql({ c0, c1, c2 }, { c0: r0, c1: r1, c2: r2 }) {
    const { Fp2: Fp22 } = this;
    return Fp22.eql(c0, r0) && Fp22.eql(c1, r1) && Fp22.eql(c2, r2);
  }
  sqrt(_) {
    return notImplemented();
  }
  // Do we need division by bigint at all? Should be done via order:
  div(lhs, rhs) {
    const { Fp2: Fp22 } = this;
    const { Fp: Fp4 } = Fp22;
    return this.mul(lhs, typeof rhs === "bigint" ? Fp4.inv(Fp4.create(rhs)) : this.inv(rhs));
  }
  pow(num, power) {
    return FpPow(this, num, power);
  }
  invertBatch(nums) {
    return FpInvertBatch(this, nums, true);
  }
  inv({ c0, c1, c2 }) {
    const { Fp2: Fp22 } = this;
    let t0 = Fp22.sub(Fp22.sqr(c0), Fp22.mulByNonresidue(Fp22.mul(c2, c1)));
    let t1 = Fp22.sub(Fp22.mulByNonresidue(Fp22.sqr(c2)), Fp22.mul(c0, c1));
    let t2 = Fp22.sub(Fp22.sqr(c1), Fp22.mul(c0, c2));
    let t4 = Fp22.inv(Fp22.add(Fp22.mulByNonresidue(Fp22.add(Fp22.mul(c2, t1), Fp22.mul(c1, t2))), Fp22.mul(c0, t0)));
    return Object.freeze({ c0: Fp22.mul(t4, t0), c1: Fp22.mul(t4, t1), c2: Fp22.mul(t4, t2) });
  }
  // Bytes utils
  fromBytes(b) {
    const { Fp2: Fp22 } = this;
    abytes2(b);
    if (b.length !== this.BYTES)
      throw new Error("fromBytes invalid length=" + b.length);
    const B2 = Fp22.BYTES;
    return this.create({
      c0: Fp22.fromBytes(b.subarray(0, B2)),
      c1: Fp22.fromBytes(b.subarray(B2, B2 * 2)),
      c2: Fp22.fromBytes(b.subarray(2 * B2))
    });
  }
  toBytes({ c0, c1, c2 }) {
    const { Fp2: Fp22 } = this;
    return concatBytes2(Fp22.toBytes(c0), Fp22.toBytes(c1), Fp22.toBytes(c2));
  }
  cmov({ c0, c1, c2 }, { c0: r0, c1: r1, c2: r2 }, c) {
    const { Fp2: Fp22 } = this;
    return this.create({
      c0: Fp22.cmov(c0, r0, c),
      c1: Fp22.cmov(c1, r1, c),
      c2: Fp22.cmov(c2, r2, c)
    });
  }
  fromBigSix(tuple) {
    const { Fp2: Fp22 } = this;
    if (!Array.isArray(tuple) || tuple.length !== 6)
      throw new Error("invalid Fp6.fromBigSix");
    for (let i = 0; i < 6; i++)
      if (typeof tuple[i] !== "bigint")
        throw new Error("invalid Fp6.fromBigSix");
    const t = tuple;
    return this.create({
      c0: Fp22.fromBigTuple(t.slice(0, 2)),
      c1: Fp22.fromBigTuple(t.slice(2, 4)),
      c2: Fp22.fromBigTuple(t.slice(4, 6))
    });
  }
  frobeniusMap(num, power) {
    const { c0, c1, c2 } = num;
    if (power % 6 === 0)
      return Object.freeze({ c0, c1, c2 });
    const { Fp2: Fp22 } = this;
    return Object.freeze({
      c0: Fp22.frobeniusMap(c0, power),
      c1: Fp22.mul(Fp22.frobeniusMap(c1, power), this.FROBENIUS_COEFFICIENTS_1[power % 6]),
      c2: Fp22.mul(Fp22.frobeniusMap(c2, power), this.FROBENIUS_COEFFICIENTS_2[power % 6])
    });
  }
  mulByFp2({ c0, c1, c2 }, rhs) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({
      c0: Fp22.mul(c0, rhs),
      c1: Fp22.mul(c1, rhs),
      c2: Fp22.mul(c2, rhs)
    });
  }
  mulByNonresidue({ c0, c1, c2 }) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({ c0: Fp22.mulByNonresidue(c2), c1: c0, c2: c1 });
  }
  // Sparse multiplication
  mul1({ c0, c1, c2 }, b1) {
    const { Fp2: Fp22 } = this;
    return Object.freeze({
      c0: Fp22.mulByNonresidue(Fp22.mul(c2, b1)),
      c1: Fp22.mul(c0, b1),
      c2: Fp22.mul(c1, b1)
    });
  }
  // Sparse multiplication
  mul01({ c0, c1, c2 }, b0, b1) {
    const { Fp2: Fp22 } = this;
    let t0 = Fp22.mul(c0, b0);
    let t1 = Fp22.mul(c1, b1);
    return Object.freeze({
      // ((c1 + c2) * b1 - T1) * (u + 1) + T0
      c0: Fp22.add(Fp22.mulByNonresidue(Fp22.sub(Fp22.mul(Fp22.add(c1, c2), b1), t1)), t0),
      // (b0 + b1) * (c0 + c1) - T0 - T1
      c1: Fp22.sub(Fp22.sub(Fp22.mul(Fp22.add(b0, b1), Fp22.add(c0, c1)), t0), t1),
      // (c0 + c2) * b0 - T0 + T1
      c2: Fp22.add(Fp22.sub(Fp22.mul(Fp22.add(c0, c2), b0), t0), t1)
    });
  }
};
var _FROBENIUS_COEFFICIENTS_6 = /* @__PURE__ */ new WeakMap();
var _Field12 = class {
  ORDER;
  BITS;
  BYTES;
  isLE;
  ZERO;
  ONE;
  Fp6;
  X_LEN;
  finalExponentiate;
  constructor(Fp62, opts) {
    const { X_LEN, Fp12finalExponentiate } = opts;
    const { Fp2: Fp22 } = Fp62;
    const { Fp: Fp4 } = Fp22;
    this.Fp6 = Fp62;
    this.ORDER = Fp4.ORDER ** _12n;
    this.BITS = 2 * Fp62.BITS;
    this.BYTES = 2 * Fp62.BYTES;
    this.isLE = Fp62.isLE;
    this.ZERO = this.create({ c0: Fp62.ZERO, c1: Fp62.ZERO });
    this.ONE = this.create({ c0: Fp62.ONE, c1: Fp62.ZERO });
    this.X_LEN = X_LEN;
    this.finalExponentiate = (num) => {
      const copy2 = ({ c0, c1 }) => Object.freeze({ c0, c1 });
      const copy6 = ({ c0, c1, c2 }) => Object.freeze({ c0: copy2(c0), c1: copy2(c1), c2: copy2(c2) });
      const res = Fp12finalExponentiate(num);
      return Object.freeze({ c0: copy6(res.c0), c1: copy6(res.c1) });
    };
    Object.freeze(this);
  }
  // Keep the degree-12 Frobenius row lazy too; after the first lookup the cached
  // array is reused exactly like the old eager table.
  get FROBENIUS_COEFFICIENTS() {
    const frob2 = _FROBENIUS_COEFFICIENTS_12.get(this);
    if (frob2)
      return frob2;
    const { Fp2: Fp22 } = this.Fp6;
    const { Fp: Fp4 } = Fp22;
    const cache = Object.freeze(calcFrobeniusCoefficients(Fp22, Fp22.NONRESIDUE, Fp4.ORDER, 12, 1, 6)[0]);
    _FROBENIUS_COEFFICIENTS_12.set(this, cache);
    return cache;
  }
  create(num) {
    const { Fp6: Fp62 } = this;
    const c0 = Fp62.create(num.c0);
    const c1 = Fp62.create(num.c1);
    return Object.freeze({ c0, c1 });
  }
  isValid(num) {
    if (!isObj(num))
      throw new TypeError("invalid field element: expected object, got " + typeof num);
    const { c0, c1 } = num;
    const { Fp6: Fp62 } = this;
    return Fp62.isValid(c0) && Fp62.isValid(c1);
  }
  is0(num) {
    if (!isObj(num))
      return false;
    const { c0, c1 } = num;
    const { Fp6: Fp62 } = this;
    return Fp62.is0(c0) && Fp62.is0(c1);
  }
  isValidNot0(num) {
    return !this.is0(num) && this.isValid(num);
  }
  neg({ c0, c1 }) {
    const { Fp6: Fp62 } = this;
    return Object.freeze({ c0: Fp62.neg(c0), c1: Fp62.neg(c1) });
  }
  eql({ c0, c1 }, { c0: r0, c1: r1 }) {
    const { Fp6: Fp62 } = this;
    return Fp62.eql(c0, r0) && Fp62.eql(c1, r1);
  }
  sqrt(_) {
    return notImplemented();
  }
  inv({ c0, c1 }) {
    const { Fp6: Fp62 } = this;
    let t = Fp62.inv(Fp62.sub(Fp62.sqr(c0), Fp62.mulByNonresidue(Fp62.sqr(c1))));
    return Object.freeze({ c0: Fp62.mul(c0, t), c1: Fp62.neg(Fp62.mul(c1, t)) });
  }
  div(lhs, rhs) {
    const { Fp6: Fp62 } = this;
    const { Fp2: Fp22 } = Fp62;
    const { Fp: Fp4 } = Fp22;
    return this.mul(lhs, typeof rhs === "bigint" ? Fp4.inv(Fp4.create(rhs)) : this.inv(rhs));
  }
  pow(num, power) {
    return FpPow(this, num, power);
  }
  invertBatch(nums) {
    return FpInvertBatch(this, nums, true);
  }
  // Normalized
  add({ c0, c1 }, { c0: r0, c1: r1 }) {
    const { Fp6: Fp62 } = this;
    return Object.freeze({
      c0: Fp62.add(c0, r0),
      c1: Fp62.add(c1, r1)
    });
  }
  sub({ c0, c1 }, { c0: r0, c1: r1 }) {
    const { Fp6: Fp62 } = this;
    return Object.freeze({
      c0: Fp62.sub(c0, r0),
      c1: Fp62.sub(c1, r1)
    });
  }
  mul({ c0, c1 }, rhs) {
    const { Fp6: Fp62 } = this;
    if (typeof rhs === "bigint")
      return Object.freeze({ c0: Fp62.mul(c0, rhs), c1: Fp62.mul(c1, rhs) });
    let { c0: r0, c1: r1 } = rhs;
    let t1 = Fp62.mul(c0, r0);
    let t2 = Fp62.mul(c1, r1);
    return Object.freeze({
      c0: Fp62.add(t1, Fp62.mulByNonresidue(t2)),
      // T1 + T2 * v
      // (c0 + c1) * (r0 + r1) - (T1 + T2)
      c1: Fp62.sub(Fp62.mul(Fp62.add(c0, c1), Fp62.add(r0, r1)), Fp62.add(t1, t2))
    });
  }
  sqr({ c0, c1 }) {
    const { Fp6: Fp62 } = this;
    let ab = Fp62.mul(c0, c1);
    return Object.freeze({
      // (c1 * v + c0) * (c0 + c1) - AB - AB * v
      c0: Fp62.sub(Fp62.sub(Fp62.mul(Fp62.add(Fp62.mulByNonresidue(c1), c0), Fp62.add(c0, c1)), ab), Fp62.mulByNonresidue(ab)),
      c1: Fp62.add(ab, ab)
    });
  }
  // NonNormalized stuff
  addN(a, b) {
    return this.add(a, b);
  }
  subN(a, b) {
    return this.sub(a, b);
  }
  mulN(a, b) {
    return this.mul(a, b);
  }
  sqrN(a) {
    return this.sqr(a);
  }
  // Bytes utils
  fromBytes(b) {
    const { Fp6: Fp62 } = this;
    abytes2(b);
    if (b.length !== this.BYTES)
      throw new Error("fromBytes invalid length=" + b.length);
    return this.create({
      c0: Fp62.fromBytes(b.subarray(0, Fp62.BYTES)),
      c1: Fp62.fromBytes(b.subarray(Fp62.BYTES))
    });
  }
  toBytes({ c0, c1 }) {
    const { Fp6: Fp62 } = this;
    return concatBytes2(Fp62.toBytes(c0), Fp62.toBytes(c1));
  }
  cmov({ c0, c1 }, { c0: r0, c1: r1 }, c) {
    const { Fp6: Fp62 } = this;
    return this.create({
      c0: Fp62.cmov(c0, r0, c),
      c1: Fp62.cmov(c1, r1, c)
    });
  }
  // Utils
  // toString() {
  //   return '' + 'Fp12(' + this.c0 + this.c1 + '* w');
  // },
  // fromTuple(c: [Fp6, Fp6]) {
  //   return new Fp12(...c);
  // }
  fromBigTwelve(tuple) {
    const { Fp6: Fp62 } = this;
    if (!Array.isArray(tuple) || tuple.length !== 12)
      throw new Error("invalid Fp12.fromBigTwelve");
    for (let i = 0; i < 12; i++)
      if (typeof tuple[i] !== "bigint")
        throw new Error("invalid Fp12.fromBigTwelve");
    const t = tuple;
    return this.create({
      c0: Fp62.fromBigSix(t.slice(0, 6)),
      c1: Fp62.fromBigSix(t.slice(6, 12))
    });
  }
  // Raises to q**i -th power
  frobeniusMap(lhs, power) {
    const p = power % 12;
    if (p === 0)
      return Object.freeze({ c0: lhs.c0, c1: lhs.c1 });
    if (p === 6)
      return this.conjugate(lhs);
    const { Fp6: Fp62 } = this;
    const { Fp2: Fp22 } = Fp62;
    const { c0, c1, c2 } = Fp62.frobeniusMap(lhs.c1, power);
    const coeff = this.FROBENIUS_COEFFICIENTS[p];
    return Object.freeze({
      c0: Fp62.frobeniusMap(lhs.c0, power),
      c1: Object.freeze({
        c0: Fp22.mul(c0, coeff),
        c1: Fp22.mul(c1, coeff),
        c2: Fp22.mul(c2, coeff)
      })
    });
  }
  mulByFp2({ c0, c1 }, rhs) {
    const { Fp6: Fp62 } = this;
    return Object.freeze({
      c0: Fp62.mulByFp2(c0, rhs),
      c1: Fp62.mulByFp2(c1, rhs)
    });
  }
  conjugate({ c0, c1 }) {
    return Object.freeze({ c0, c1: this.Fp6.neg(c1) });
  }
  // A cyclotomic group is a subgroup of Fp^n defined by
  //   GΦₙ(p) = {α ∈ Fpⁿ : α^Φₙ(p) = 1}
  // The result of any pairing is in a cyclotomic subgroup
  // https://eprint.iacr.org/2009/565.pdf
  // https://eprint.iacr.org/2010/354.pdf
  _cyclotomicSquare({ c0, c1 }) {
    const { Fp6: Fp62 } = this;
    const { Fp2: Fp22 } = Fp62;
    const { c0: c0c0, c1: c0c1, c2: c0c2 } = c0;
    const { c0: c1c0, c1: c1c1, c2: c1c2 } = c1;
    const { first: t3, second: t4 } = Fp22.Fp4Square(c0c0, c1c1);
    const { first: t5, second: t6 } = Fp22.Fp4Square(c1c0, c0c2);
    const { first: t7, second: t8 } = Fp22.Fp4Square(c0c1, c1c2);
    const t9 = Fp22.mulByNonresidue(t8);
    return Object.freeze({
      c0: Object.freeze({
        c0: Fp22.add(Fp22.mul(Fp22.sub(t3, c0c0), _2n5), t3),
        // 2 * (T3 - c0c0)  + T3
        c1: Fp22.add(Fp22.mul(Fp22.sub(t5, c0c1), _2n5), t5),
        // 2 * (T5 - c0c1)  + T5
        c2: Fp22.add(Fp22.mul(Fp22.sub(t7, c0c2), _2n5), t7)
      }),
      // 2 * (T7 - c0c2)  + T7
      c1: Object.freeze({
        c0: Fp22.add(Fp22.mul(Fp22.add(t9, c1c0), _2n5), t9),
        // 2 * (T9 + c1c0) + T9
        c1: Fp22.add(Fp22.mul(Fp22.add(t4, c1c1), _2n5), t4),
        // 2 * (T4 + c1c1) + T4
        c2: Fp22.add(Fp22.mul(Fp22.add(t6, c1c2), _2n5), t6)
      })
    });
  }
  // https://eprint.iacr.org/2009/565.pdf
  _cyclotomicExp(num, n) {
    aInRange("cyclotomic exponent", n, _0n7, _1n7 << BigInt(this.X_LEN));
    if (n === _0n7)
      return this.ONE;
    let z = num;
    for (let i = bitLen(n) - 2; i >= 0; i--) {
      z = this._cyclotomicSquare(z);
      if (bitGet(n, i))
        z = this.mul(z, num);
    }
    return z;
  }
};
var _FROBENIUS_COEFFICIENTS_12 = /* @__PURE__ */ new WeakMap();
function tower12(opts) {
  validateObject(opts, {
    ORDER: "bigint",
    X_LEN: "number",
    FP2_NONRESIDUE: "object",
    Fp2mulByB: "function",
    Fp12finalExponentiate: "function"
  }, { NONRESIDUE: "bigint" });
  asafenumber(opts.X_LEN, "X_LEN");
  if (opts.X_LEN < 1)
    throw new Error("invalid X_LEN");
  const nonresidue = opts.FP2_NONRESIDUE;
  if (!Array.isArray(nonresidue) || nonresidue.length !== 2)
    throw new Error("invalid FP2_NONRESIDUE");
  if (typeof nonresidue[0] !== "bigint" || typeof nonresidue[1] !== "bigint")
    throw new Error("invalid FP2_NONRESIDUE");
  const Fp4 = Field(opts.ORDER);
  const Fp22 = new _Field2(Fp4, opts);
  const Fp62 = new _Field6(Fp22);
  const Fp123 = new _Field12(Fp62, opts);
  return { Fp: Fp4, Fp2: Fp22, Fp6: Fp62, Fp12: Fp123 };
}

// node_modules/@noble/curves/bls12-381.js
/*! noble-curves - MIT License (c) 2022 Paul Miller (paulmillr.com) */
var _0n8 = BigInt(0);
var _1n8 = BigInt(1);
var _2n6 = BigInt(2);
var _3n6 = BigInt(3);
var _4n5 = BigInt(4);
var BLS_X = BigInt("0xd201000000010000");
var BLS_X_LEN = bitLen(BLS_X);
var bls12_381_CURVE_G1 = {
  p: BigInt("0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"),
  n: BigInt("0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"),
  h: BigInt("0x396c8c005555e1568c00aaab0000aaab"),
  a: _0n8,
  b: _4n5,
  Gx: BigInt("0x17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"),
  Gy: BigInt("0x08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1")
};
var bls12_381_Fr = Field(bls12_381_CURVE_G1.n, {
  modFromBytes: true
});
function bls12FromCompressed(g0, g13, { g2: g23, g3, g4, g5 }) {
  return { c0: { c0: g0, c1: g4, c2: g3 }, c1: { c0: g23, c1: g13, c2: g5 } };
}
function bls12Compress({ c0, c1 }) {
  return { g2: c1.c0, g3: c0.c2, g4: c0.c1, g5: c1.c2 };
}
function bls12CyclotomicSquareCompressed({ g2: g23, g3, g4, g5 }) {
  const { first: h23c0, second: h23c1 } = Fp2.Fp4Square(g4, g5);
  const { first: h45c0, second: h45c1 } = Fp2.Fp4Square(g23, g3);
  const d2 = Fp2.add(g23, g23);
  const d3 = Fp2.add(g3, g3);
  const d4 = Fp2.add(g4, g4);
  const d5 = Fp2.add(g5, g5);
  return {
    g2: Fp2.add(Fp2.mul(Fp2.mulByNonresidue(h23c1), _3n6), d2),
    g3: Fp2.sub(Fp2.mul(h23c0, _3n6), d3),
    g4: Fp2.sub(Fp2.mul(h45c0, _3n6), d4),
    g5: Fp2.add(Fp2.mul(h45c1, _3n6), d5)
  };
}
function bls12RecoverG1Ratio({ g2: g23, g3, g4, g5 }) {
  if (Fp2.is0(g23))
    return { num: Fp2.mul(Fp2.mul(g4, g5), _2n6), den: g3 };
  return {
    num: Fp2.add(Fp2.sub(Fp2.mul(Fp2.sqr(g4), _3n6), Fp2.mul(g3, _2n6)), Fp2.mulByNonresidue(Fp2.sqr(g5))),
    den: Fp2.mul(g23, _4n5)
  };
}
function bls12RecoverG0(g13, { g2: g23, g3, g4, g5 }) {
  const g3g4 = Fp2.mul(g3, g4);
  const t = Fp2.add(Fp2.sub(Fp2.mul(Fp2.sub(Fp2.sqr(g13), g3g4), _2n6), g3g4), Fp2.mul(g23, g5));
  return Fp2.add(Fp2.mulByNonresidue(t), Fp2.ONE);
}
function bls12CyclotomicExpCompressed(num, squarings) {
  const gs = [];
  let g = bls12Compress(num);
  for (const count of squarings) {
    for (let i = 0; i < count; i++)
      g = bls12CyclotomicSquareCompressed(g);
    gs.push(g);
  }
  const isOne = gs.map(({ g2: g23, g3 }) => Fp2.is0(g23) && Fp2.is0(g3));
  const ratios = gs.map(bls12RecoverG1Ratio);
  const invDens = Fp2.invertBatch(ratios.map(({ den }) => den));
  const elems = gs.map((compressed, i) => {
    if (isOne[i])
      return Fp12.ONE;
    const g13 = Fp2.mul(ratios[i].num, invDens[i]);
    return bls12FromCompressed(bls12RecoverG0(g13, compressed), g13, compressed);
  });
  return { result: Fp12.mul(Fp12.mul(elems[0], elems[1]), elems[2]), last: elems[2] };
}
function bls12CyclotomicExpX(num) {
  const { result, last } = bls12CyclotomicExpCompressed(num, [16, 32, 9]);
  let r = result;
  let s = last;
  for (let i = 0; i < 3; i++)
    s = Fp12._cyclotomicSquare(s);
  r = Fp12.mul(r, s);
  for (let i = 0; i < 2; i++)
    s = Fp12._cyclotomicSquare(s);
  r = Fp12.mul(r, s);
  s = Fp12._cyclotomicSquare(s);
  return Fp12.mul(r, s);
}
var { Fp, Fp2, Fp6, Fp12 } = tower12({
  ORDER: bls12_381_CURVE_G1.p,
  X_LEN: BLS_X_LEN,
  // Finite extension field over irreducible polynominal.
  // Fp(u) / (u² - β) where β = -1
  // Public `Fp2.NONRESIDUE` below is the sextic-tower value `(1, 1) = u + 1`;
  // the quadratic non-residue for the base Fp2 construction is still `-1`.
  FP2_NONRESIDUE: [_1n8, _1n8],
  Fp2mulByB: ({ c0, c1 }) => {
    const t0 = Fp.mul(c0, _4n5);
    const t1 = Fp.mul(c1, _4n5);
    return { c0: Fp.sub(t0, t1), c1: Fp.add(t0, t1) };
  },
  Fp12finalExponentiate: (num) => {
    const powMinusX = (num2) => Fp12.conjugate(bls12CyclotomicExpX(num2));
    const t0 = Fp12.div(Fp12.frobeniusMap(num, 6), num);
    const t1 = Fp12.mul(Fp12.frobeniusMap(t0, 2), t0);
    const t2 = powMinusX(t1);
    const t3 = Fp12.mul(Fp12.conjugate(Fp12._cyclotomicSquare(t1)), t2);
    const t4 = powMinusX(t3);
    const t5 = powMinusX(t4);
    const t6 = Fp12.mul(powMinusX(t5), Fp12._cyclotomicSquare(t2));
    const t7 = powMinusX(t6);
    const t2_t5_pow_q2 = Fp12.frobeniusMap(Fp12.mul(t2, t5), 2);
    const t4_t1_pow_q3 = Fp12.frobeniusMap(Fp12.mul(t4, t1), 3);
    const t6_t1c_pow_q1 = Fp12.frobeniusMap(Fp12.mul(t6, Fp12.conjugate(t1)), 1);
    const t7_t3c_t1 = Fp12.mul(Fp12.mul(t7, Fp12.conjugate(t3)), t1);
    return Fp12.mul(Fp12.mul(Fp12.mul(t2_t5_pow_q2, t4_t1_pow_q3), t6_t1c_pow_q1), t7_t3c_t1);
  }
});
var frob;
var getFrob = () => frob || (frob = psiFrobenius(Fp, Fp2, Fp2.div(Fp2.ONE, Fp2.NONRESIDUE)));
var G2psi = (c, P2) => {
  const fn = getFrob().G2psi;
  G2psi = fn;
  return fn(c, P2);
};
var G2psi2 = (c, P2) => {
  const fn = getFrob().G2psi2;
  G2psi2 = fn;
  return fn(c, P2);
};
var hasher_opts = Object.freeze({
  DST: "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
  encodeDST: "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
  p: Fp.ORDER,
  m: 2,
  k: 128,
  expand: "xmd",
  hash: sha256
});
var bls12_381_CURVE_G2 = {
  p: Fp2.ORDER,
  n: bls12_381_CURVE_G1.n,
  h: BigInt("0x5d543a95414e7f1091d50792876a202cd91de4547085abaa68a205b2e5a7ddfa628f1cb4d9e82ef21537e293a6691ae1616ec6e786f0c70cf1c38e31c7238e5"),
  a: Fp2.ZERO,
  b: Fp2.fromBigTuple([_4n5, _4n5]),
  Gx: Fp2.fromBigTuple([
    BigInt("0x024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"),
    BigInt("0x13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e")
  ]),
  Gy: Fp2.fromBigTuple([
    BigInt("0x0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801"),
    BigInt("0x0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be")
  ])
};
var sortBit = (parts, p) => {
  for (const part of parts) {
    if (part !== _0n8)
      return Boolean(part * _2n6 / p);
  }
  return false;
};
var fp2 = {
  // Generic tower bytes use `c0 || c1`, but the BLS12-381 G2 point/signature wire encoding uses
  // `c1 || c0`, so keep this local wrapper instead of changing generic field serialization.
  encode({ c0, c1 }) {
    const { BYTES: L } = Fp;
    return concatBytes2(numberToBytesBE(c1, L), numberToBytesBE(c0, L));
  },
  decode(bytes) {
    const { BYTES: L } = Fp;
    return Fp2.create({
      c0: decodeFp(bytes.subarray(L)),
      c1: decodeFp(bytes.subarray(0, L))
    });
  }
};
var BaseFp = Fp;
function decodeFp(bytes) {
  return Fp.fromBytes(bytes);
}
var coder = (name, Fp4, b, encode, decode, yparts) => {
  const F = Fp4;
  const enc = encode;
  const dec = decode;
  const W = F.BYTES;
  return (allowUncompressed) => ({
    encode(point, compressed = true) {
      if (!compressed && !allowUncompressed)
        throw new Error("invalid signature: expected compressed encoding");
      const infinity = point.is0();
      const { x, y } = point.toAffine();
      const bytes = compressed ? enc(x) : concatBytes2(enc(x), enc(y));
      let sort;
      if (compressed && !infinity)
        sort = sortBit(yparts(y), BaseFp.ORDER);
      return setMask(bytes, { compressed, infinity, sort });
    },
    decode(bytes) {
      const raw = allowUncompressed ? abytes2(bytes, void 0, "point") : abytes2(bytes, W, "signature");
      const { compressed, infinity, sort, value } = parseMask(raw);
      if (!allowUncompressed && !compressed)
        throw new Error("invalid signature: expected compressed encoding");
      const len = compressed ? W : 2 * W;
      if (value.length !== len)
        throw new Error(`invalid ${name} point: expected ${len} bytes`);
      if (infinity) {
        for (const b2 of value) {
          if (b2)
            throw new Error(`invalid ${name} point: non-canonical zero`);
        }
        return { x: F.ZERO, y: F.ZERO };
      }
      const x = dec(compressed ? value : value.subarray(0, W));
      let y;
      if (compressed) {
        y = F.sqrt(F.add(F.pow(x, _3n6), b));
        if (!y)
          throw new Error(`invalid ${name} point: compressed`);
        if (sortBit(yparts(y), BaseFp.ORDER) !== sort)
          y = F.neg(y);
      } else {
        y = dec(value.subarray(W));
      }
      if (!compressed && F.is0(x) && F.is0(y))
        throw new Error(`invalid ${name} point: uncompressed`);
      return { x, y };
    }
  });
};
function validateMask({ compressed, infinity, sort }) {
  if (!compressed && !infinity && sort || // 0010_0000 = 0x20
  !compressed && infinity && sort || // 0110_0000 = 0x60
  compressed && infinity && sort)
    throw new Error("invalid encoding flag");
}
function parseMask(bytes) {
  bytes = copyBytes(bytes);
  const mask = bytes[0] & 224;
  const compressed = !!(mask >> 7 & 1);
  const infinity = !!(mask >> 6 & 1);
  const sort = !!(mask >> 5 & 1);
  validateMask({ compressed, infinity, sort });
  bytes[0] &= 31;
  return { compressed, infinity, sort, value: bytes };
}
function setMask(bytes, mask) {
  if (bytes[0] & 224)
    throw new Error("setMask: non-empty mask");
  validateMask({ compressed: !!mask.compressed, infinity: !!mask.infinity, sort: !!mask.sort });
  if (mask.compressed)
    bytes[0] |= 128;
  if (mask.infinity)
    bytes[0] |= 64;
  if (mask.sort)
    bytes[0] |= 32;
  return bytes;
}
var g1coder = coder("G1", Fp, Fp.create(bls12_381_CURVE_G1.b), (x) => numberToBytesBE(x, Fp.BYTES), decodeFp, (y) => [y]);
var g1 = { point: g1coder(true), sig: g1coder(false) };
var signatureG1ToBytes = (point) => {
  point.assertValidity();
  return g1.sig.encode(point);
};
function signatureG1FromBytes(bytes) {
  const Point = bls12_381.G1.Point;
  const point = Point.fromAffine(g1.sig.decode(bytes));
  point.assertValidity();
  return point;
}
var g2coder = coder("G2", Fp2, bls12_381_CURVE_G2.b, fp2.encode, fp2.decode, (y) => [
  y.c1,
  y.c0
]);
var g2 = { point: g2coder(true), sig: g2coder(false) };
var signatureG2ToBytes = (point) => {
  point.assertValidity();
  return g2.sig.encode(point);
};
function signatureG2FromBytes(bytes) {
  const Point = bls12_381.G2.Point;
  const point = Point.fromAffine(g2.sig.decode(bytes));
  point.assertValidity();
  return point;
}
var signatureCoders = {
  ShortSignature: {
    fromBytes(bytes) {
      return signatureG1FromBytes(abytes2(bytes));
    },
    fromHex(hex) {
      return signatureG1FromBytes(hexToBytes2(hex));
    },
    toBytes(point) {
      return signatureG1ToBytes(point);
    },
    // Historical alias: BLS signatures have a single compressed byte format here.
    toRawBytes(point) {
      return signatureG1ToBytes(point);
    },
    toHex(point) {
      return bytesToHex2(signatureG1ToBytes(point));
    }
  },
  LongSignature: {
    fromBytes(bytes) {
      return signatureG2FromBytes(abytes2(bytes));
    },
    fromHex(hex) {
      return signatureG2FromBytes(hexToBytes2(hex));
    },
    toBytes(point) {
      return signatureG2ToBytes(point);
    },
    // Historical alias: BLS signatures have a single compressed byte format here.
    toRawBytes(point) {
      return signatureG2ToBytes(point);
    },
    toHex(point) {
      return bytesToHex2(signatureG2ToBytes(point));
    }
  }
};
var fields = {
  Fp,
  Fp2,
  Fp6,
  Fp12,
  Fr: bls12_381_Fr
};
var G1_Point = weierstrass(bls12_381_CURVE_G1, {
  // Public point APIs still accept infinity, even though the Zcash proof
  // encoding rules cited above only define nonzero point encodings.
  allowInfinityPoint: true,
  Fn: bls12_381_Fr,
  fromBytes: g1.point.decode,
  toBytes: (_c, point, isComp) => g1.point.encode(point, isComp),
  // Checks is the point resides in prime-order subgroup.
  // point.isTorsionFree() should return true for valid points
  // It returns false for shitty points.
  // https://eprint.iacr.org/2021/1130.pdf
  isTorsionFree: (c, point) => {
    const beta = BigInt("0x5f19672fdf76ce51ba69c6076a0f77eaddb3a93be6f89688de17d813620a00022e01fffffffefffe");
    const phi = new c(Fp.mul(point.X, beta), point.Y, point.Z);
    const xP = point.multiplyUnsafe(BLS_X).negate();
    const u2P = xP.multiplyUnsafe(BLS_X);
    return u2P.equals(phi);
  },
  // Clear cofactor of G1
  // https://eprint.iacr.org/2019/403
  clearCofactor: (_c, point) => {
    return point.multiplyUnsafe(BLS_X).add(point);
  }
});
var G2_Point = weierstrass(bls12_381_CURVE_G2, {
  Fp: Fp2,
  // Public point APIs still accept infinity, even though the Zcash proof
  // encoding rules cited above only define nonzero point encodings.
  allowInfinityPoint: true,
  Fn: bls12_381_Fr,
  fromBytes: g2.point.decode,
  toBytes: (_c, point, isComp) => g2.point.encode(point, isComp),
  // https://eprint.iacr.org/2021/1130.pdf
  // Older version: https://eprint.iacr.org/2019/814.pdf
  isTorsionFree: (c, P2) => {
    return P2.multiplyUnsafe(BLS_X).negate().equals(G2psi(c, P2));
  },
  // clear_cofactor_bls12381_g2 from RFC 9380.
  // https://eprint.iacr.org/2017/419.pdf
  // prettier-ignore
  clearCofactor: (c, P2) => {
    const x = BLS_X;
    let t1 = P2.multiplyUnsafe(x).negate();
    let t2 = G2psi(c, P2);
    let t3 = P2.double();
    t3 = G2psi2(c, t3);
    t3 = t3.subtract(t2);
    t2 = t1.add(t2);
    t2 = t2.multiplyUnsafe(x).negate();
    t3 = t3.add(t2);
    t3 = t3.subtract(t1);
    const Q = t3.subtract(P2);
    return Q;
  }
});
var bls12_hasher_opts = {
  mapToG1,
  mapToG2,
  hasherOpts: hasher_opts,
  // RFC 9380 Appendix J defines distinct G1/G2 RO and NU suite IDs, and
  // draft-irtf-cfrg-bls-signature-06 §4.2.1 gives separate G1/G2 `_NUL_` DSTs.
  // Keep G1 encode-to-curve on the G1 domain instead of inheriting G2's `encodeDST`.
  hasherOptsG1: {
    ...hasher_opts,
    m: 1,
    DST: "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_",
    encodeDST: "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
  },
  hasherOptsG2: { ...hasher_opts }
};
var bls12_params = {
  ateLoopSize: BLS_X,
  // The BLS parameter x for BLS12-381
  xNegative: true,
  twistType: "multiplicative",
  randomBytes: randomBytes2
};
var bls12_381 = bls(fields, G1_Point, G2_Point, bls12_params, bls12_hasher_opts, signatureCoders);
var isogenyMapG2 = isogenyMap(Fp2, [
  // xNum
  [
    [
      "0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97d6",
      "0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97d6"
    ],
    [
      "0x0",
      "0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71a"
    ],
    [
      "0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71e",
      "0x8ab05f8bdd54cde190937e76bc3e447cc27c3d6fbd7063fcd104635a790520c0a395554e5c6aaaa9354ffffffffe38d"
    ],
    [
      "0x171d6541fa38ccfaed6dea691f5fb614cb14b4e7f4e810aa22d6108f142b85757098e38d0f671c7188e2aaaaaaaa5ed1",
      "0x0"
    ]
  ],
  // xDen
  [
    [
      "0x0",
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa63"
    ],
    [
      "0xc",
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa9f"
    ],
    ["0x1", "0x0"]
    // LAST 1
  ],
  // yNum
  [
    [
      "0x1530477c7ab4113b59a4c18b076d11930f7da5d4a07f649bf54439d87d27e500fc8c25ebf8c92f6812cfc71c71c6d706",
      "0x1530477c7ab4113b59a4c18b076d11930f7da5d4a07f649bf54439d87d27e500fc8c25ebf8c92f6812cfc71c71c6d706"
    ],
    [
      "0x0",
      "0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97be"
    ],
    [
      "0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71c",
      "0x8ab05f8bdd54cde190937e76bc3e447cc27c3d6fbd7063fcd104635a790520c0a395554e5c6aaaa9354ffffffffe38f"
    ],
    [
      "0x124c9ad43b6cf79bfbf7043de3811ad0761b0f37a1e26286b0e977c69aa274524e79097a56dc4bd9e1b371c71c718b10",
      "0x0"
    ]
  ],
  // yDen
  [
    [
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa8fb",
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa8fb"
    ],
    [
      "0x0",
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa9d3"
    ],
    [
      "0x12",
      "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa99"
    ],
    ["0x1", "0x0"]
    // LAST 1
  ]
].map((i) => i.map((pair) => Fp2.fromBigTuple(pair.map(BigInt)))));
var isogenyMapG1 = isogenyMap(Fp, [
  // xNum
  [
    "0x11a05f2b1e833340b809101dd99815856b303e88a2d7005ff2627b56cdb4e2c85610c2d5f2e62d6eaeac1662734649b7",
    "0x17294ed3e943ab2f0588bab22147a81c7c17e75b2f6a8417f565e33c70d1e86b4838f2a6f318c356e834eef1b3cb83bb",
    "0xd54005db97678ec1d1048c5d10a9a1bce032473295983e56878e501ec68e25c958c3e3d2a09729fe0179f9dac9edcb0",
    "0x1778e7166fcc6db74e0609d307e55412d7f5e4656a8dbf25f1b33289f1b330835336e25ce3107193c5b388641d9b6861",
    "0xe99726a3199f4436642b4b3e4118e5499db995a1257fb3f086eeb65982fac18985a286f301e77c451154ce9ac8895d9",
    "0x1630c3250d7313ff01d1201bf7a74ab5db3cb17dd952799b9ed3ab9097e68f90a0870d2dcae73d19cd13c1c66f652983",
    "0xd6ed6553fe44d296a3726c38ae652bfb11586264f0f8ce19008e218f9c86b2a8da25128c1052ecaddd7f225a139ed84",
    "0x17b81e7701abdbe2e8743884d1117e53356de5ab275b4db1a682c62ef0f2753339b7c8f8c8f475af9ccb5618e3f0c88e",
    "0x80d3cf1f9a78fc47b90b33563be990dc43b756ce79f5574a2c596c928c5d1de4fa295f296b74e956d71986a8497e317",
    "0x169b1f8e1bcfa7c42e0c37515d138f22dd2ecb803a0c5c99676314baf4bb1b7fa3190b2edc0327797f241067be390c9e",
    "0x10321da079ce07e272d8ec09d2565b0dfa7dccdde6787f96d50af36003b14866f69b771f8c285decca67df3f1605fb7b",
    "0x6e08c248e260e70bd1e962381edee3d31d79d7e22c837bc23c0bf1bc24c6b68c24b1b80b64d391fa9c8ba2e8ba2d229"
  ],
  // xDen
  [
    "0x8ca8d548cff19ae18b2e62f4bd3fa6f01d5ef4ba35b48ba9c9588617fc8ac62b558d681be343df8993cf9fa40d21b1c",
    "0x12561a5deb559c4348b4711298e536367041e8ca0cf0800c0126c2588c48bf5713daa8846cb026e9e5c8276ec82b3bff",
    "0xb2962fe57a3225e8137e629bff2991f6f89416f5a718cd1fca64e00b11aceacd6a3d0967c94fedcfcc239ba5cb83e19",
    "0x3425581a58ae2fec83aafef7c40eb545b08243f16b1655154cca8abc28d6fd04976d5243eecf5c4130de8938dc62cd8",
    "0x13a8e162022914a80a6f1d5f43e7a07dffdfc759a12062bb8d6b44e833b306da9bd29ba81f35781d539d395b3532a21e",
    "0xe7355f8e4e667b955390f7f0506c6e9395735e9ce9cad4d0a43bcef24b8982f7400d24bc4228f11c02df9a29f6304a5",
    "0x772caacf16936190f3e0c63e0596721570f5799af53a1894e2e073062aede9cea73b3538f0de06cec2574496ee84a3a",
    "0x14a7ac2a9d64a8b230b3f5b074cf01996e7f63c21bca68a81996e1cdf9822c580fa5b9489d11e2d311f7d99bbdcc5a5e",
    "0xa10ecf6ada54f825e920b3dafc7a3cce07f8d1d7161366b74100da67f39883503826692abba43704776ec3a79a1d641",
    "0x95fc13ab9e92ad4476d6e3eb3a56680f682b4ee96f7d03776df533978f31c1593174e4b4b7865002d6384d168ecdd0a",
    "0x000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"
    // LAST 1
  ],
  // yNum
  [
    "0x90d97c81ba24ee0259d1f094980dcfa11ad138e48a869522b52af6c956543d3cd0c7aee9b3ba3c2be9845719707bb33",
    "0x134996a104ee5811d51036d776fb46831223e96c254f383d0f906343eb67ad34d6c56711962fa8bfe097e75a2e41c696",
    "0xcc786baa966e66f4a384c86a3b49942552e2d658a31ce2c344be4b91400da7d26d521628b00523b8dfe240c72de1f6",
    "0x1f86376e8981c217898751ad8746757d42aa7b90eeb791c09e4a3ec03251cf9de405aba9ec61deca6355c77b0e5f4cb",
    "0x8cc03fdefe0ff135caf4fe2a21529c4195536fbe3ce50b879833fd221351adc2ee7f8dc099040a841b6daecf2e8fedb",
    "0x16603fca40634b6a2211e11db8f0a6a074a7d0d4afadb7bd76505c3d3ad5544e203f6326c95a807299b23ab13633a5f0",
    "0x4ab0b9bcfac1bbcb2c977d027796b3ce75bb8ca2be184cb5231413c4d634f3747a87ac2460f415ec961f8855fe9d6f2",
    "0x987c8d5333ab86fde9926bd2ca6c674170a05bfe3bdd81ffd038da6c26c842642f64550fedfe935a15e4ca31870fb29",
    "0x9fc4018bd96684be88c9e221e4da1bb8f3abd16679dc26c1e8b6e6a1f20cabe69d65201c78607a360370e577bdba587",
    "0xe1bba7a1186bdb5223abde7ada14a23c42a0ca7915af6fe06985e7ed1e4d43b9b3f7055dd4eba6f2bafaaebca731c30",
    "0x19713e47937cd1be0dfd0b8f1d43fb93cd2fcbcb6caf493fd1183e416389e61031bf3a5cce3fbafce813711ad011c132",
    "0x18b46a908f36f6deb918c143fed2edcc523559b8aaf0c2462e6bfe7f911f643249d9cdf41b44d606ce07c8a4d0074d8e",
    "0xb182cac101b9399d155096004f53f447aa7b12a3426b08ec02710e807b4633f06c851c1919211f20d4c04f00b971ef8",
    "0x245a394ad1eca9b72fc00ae7be315dc757b3b080d4c158013e6632d3c40659cc6cf90ad1c232a6442d9d3f5db980133",
    "0x5c129645e44cf1102a159f748c4a3fc5e673d81d7e86568d9ab0f5d396a7ce46ba1049b6579afb7866b1e715475224b",
    "0x15e6be4e990f03ce4ea50b3b42df2eb5cb181d8f84965a3957add4fa95af01b2b665027efec01c7704b456be69c8b604"
  ],
  // yDen
  [
    "0x16112c4c3a9c98b252181140fad0eae9601a6de578980be6eec3232b5be72e7a07f3688ef60c206d01479253b03663c1",
    "0x1962d75c2381201e1a0cbd6c43c348b885c84ff731c4d59ca4a10356f453e01f78a4260763529e3532f6102c2e49a03d",
    "0x58df3306640da276faaae7d6e8eb15778c4855551ae7f310c35a5dd279cd2eca6757cd636f96f891e2538b53dbf67f2",
    "0x16b7d288798e5395f20d23bf89edb4d1d115c5dbddbcd30e123da489e726af41727364f2c28297ada8d26d98445f5416",
    "0xbe0e079545f43e4b00cc912f8228ddcc6d19c9f0f69bbb0542eda0fc9dec916a20b15dc0fd2ededda39142311a5001d",
    "0x8d9e5297186db2d9fb266eaac783182b70152c65550d881c5ecd87b6f0f5a6449f38db9dfa9cce202c6477faaf9b7ac",
    "0x166007c08a99db2fc3ba8734ace9824b5eecfdfa8d0cf8ef5dd365bc400a0051d5fa9c01a58b1fb93d1a1399126a775c",
    "0x16a3ef08be3ea7ea03bcddfabba6ff6ee5a4375efa1f4fd7feb34fd206357132b920f5b00801dee460ee415a15812ed9",
    "0x1866c8ed336c61231a1be54fd1d74cc4f9fb0ce4c6af5920abc5750c4bf39b4852cfe2f7bb9248836b233d9d55535d4a",
    "0x167a55cda70a6e1cea820597d94a84903216f763e13d87bb5308592e7ea7d4fbc7385ea3d529b35e346ef48bb8913f55",
    "0x4d2f259eea405bd48f010a01ad2911d9c6dd039bb61a6290e591b36e636a5c871a5c29f4f83060400f8b49cba8f6aa8",
    "0xaccbb67481d033ff5852c1e48c50c477f94ff8aefce42d28c0f9a88cea7913516f968986f7ebbea9684b529e2561092",
    "0xad6b9514c767fe3c3613144b45f1496543346d98adf02267d5ceef9a00d9b8693000763e3b90ac11e99b138573345cc",
    "0x2660400eb2e4f3b628bdd0d53cd76f2bf565b94e72927c1cb748df27942480e420517bd8714cc80d1fadc1326ed06f7",
    "0xe0fa1d816ddc03e6b24255e0d7819c171c40f65e273b853324efcd6356caa205ca2f570f13497804415473a1d634b8f",
    "0x000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"
    // LAST 1
  ]
].map((i) => i.map((j) => BigInt(j))));
var G1_SWU;
var G2_SWU;
var getG1_SWU = () => G1_SWU || (G1_SWU = mapToCurveSimpleSWU(Fp, {
  A: Fp.create(BigInt("0x144698a3b8e9433d693a02c96d4982b0ea985383ee66a8d8e8981aefd881ac98936f8da0e0f97f5cf428082d584c1d")),
  B: Fp.create(BigInt("0x12e2908d11688030018b12e8753eee3b2016c1f0f24f4070a0b9c14fcef35ef55a23215a316ceaa5d1cc48e98e172be0")),
  Z: Fp.create(BigInt(11))
}));
var getG2_SWU = () => G2_SWU || (G2_SWU = mapToCurveSimpleSWU(Fp2, {
  // SWU map for the RFC 9380 §8.8.2 pre-isogeny G2 curve E':
  // y² = x³ + 240i * x + 1012 + 1012i
  A: Fp2.create({ c0: Fp.create(_0n8), c1: Fp.create(BigInt(240)) }),
  // A' = 240 * I
  B: Fp2.create({ c0: Fp.create(BigInt(1012)), c1: Fp.create(BigInt(1012)) }),
  // B' = 1012 * (1 + I)
  Z: Fp2.create({ c0: Fp.create(BigInt(-2)), c1: Fp.create(BigInt(-1)) })
  // Z: -(2 + I)
}));
function mapToG1(scalars) {
  const { x, y } = getG1_SWU()(Fp.create(scalars[0]));
  return isogenyMapG1(x, y);
}
function mapToG2(scalars) {
  const { x, y } = getG2_SWU()(Fp2.fromBigTuple(scalars));
  return isogenyMapG2(x, y);
}

// src/field.js
var { Fp: Fp3, Fr } = bls12_381.fields;
var P = Fp3.ORDER;
var R = Fr.ORDER;
var N8Q = 48;
var N8R = 32;
var frInv = (a) => Fr.inv(a);
function powMod(a, e, m) {
  let result = 1n;
  a %= m;
  while (e > 0n) {
    if (e & 1n) result = result * a % m;
    a = a * a % m;
    e >>= 1n;
  }
  return result;
}
function bytesToBigInt(bytes, offset, length) {
  let hex = "";
  for (let i = offset + length - 1; i >= offset; i--) hex += HEX[bytes[i]];
  return BigInt("0x" + hex);
}
var HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function batchInvert(values, count, modulus = P) {
  if (count === 0) return;
  const prefix = new Array(count);
  let acc = values[0];
  prefix[0] = 1n;
  for (let i = 1; i < count; i++) {
    prefix[i] = acc;
    acc = acc * values[i] % modulus;
  }
  let inv = modulus === P ? Fp3.inv(acc) : Fr.inv(acc);
  for (let i = count - 1; i > 0; i--) {
    const v = values[i];
    values[i] = inv * prefix[i] % modulus;
    inv = inv * v % modulus;
  }
  values[0] = inv;
}
function twoAdicity(r) {
  let s = 0;
  let t = r - 1n;
  while ((t & 1n) === 0n) {
    s++;
    t >>= 1n;
  }
  return [s, t];
}
var [TWO_ADICITY, ODD] = twoAdicity(R);
var NQR = (() => {
  let n = 2n;
  while (powMod(n, (R - 1n) / 2n, R) !== R - 1n) n++;
  return n;
})();
var SHIFT = NQR * NQR % R;
function rootOfUnity(logN) {
  if (logN < 0 || logN > TWO_ADICITY) throw new RangeError(`no 2^${logN}-th root of unity in Fr`);
  return powMod(NQR, ODD << BigInt(TWO_ADICITY - logN), R);
}
var nttTables = /* @__PURE__ */ new Map();
function tables(logN, inverse) {
  const key = `${logN}:${inverse}`;
  let t = nttTables.get(key);
  if (t) return t;
  const n = 1 << logN;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < logN; b++) r |= (i >> b & 1) << logN - 1 - b;
    perm[i] = r;
  }
  let root2 = rootOfUnity(logN);
  if (inverse) root2 = frInv(root2);
  const stages = [];
  for (let size = 2; size <= n; size *= 2) {
    const step = powMod(root2, BigInt(n / size), R);
    const tw = new Array(size / 2);
    tw[0] = 1n;
    for (let k = 1; k < size / 2; k++) tw[k] = tw[k - 1] * step % R;
    stages.push(tw);
  }
  const inc = logN === TWO_ADICITY ? SHIFT : rootOfUnity(logN + 1);
  const scale = new Array(n);
  scale[0] = frInv(BigInt(n));
  for (let i = 1; i < n; i++) scale[i] = scale[i - 1] * inc % R;
  t = { perm, stages, scale };
  nttTables.set(key, t);
  return t;
}
function ntt(values, logN, inverse) {
  const { perm, stages } = tables(logN, inverse);
  const n = values.length;
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = values[perm[i]];
  let half = 1;
  for (const tw of stages) {
    const size = 2 * half;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const i = start + k;
        const j = i + half;
        const u = a[i];
        const v = a[j] * tw[k] % R;
        let x = u + v;
        if (x >= R) x -= R;
        let y = u - v;
        if (y < 0n) y += R;
        a[i] = x;
        a[j] = y;
      }
    }
    half = size;
  }
  return a;
}
function cosetEvaluations(evals, logN) {
  const coeffs = ntt(evals, logN, true);
  const { scale } = tables(logN, true);
  for (let i = 0; i < coeffs.length; i++) coeffs[i] = coeffs[i] * scale[i] % R;
  return ntt(coeffs, logN, false);
}

// src/codec.js
var G1Point = bls12_381.G1.Point;
var G2Point = bls12_381.G2.Point;
function g1ToJson(point) {
  if (point.is0()) return ["0", "1", "0"];
  const { x, y } = point.toAffine();
  return [x.toString(), y.toString(), "1"];
}
function g2ToJson(point) {
  if (point.is0()) return [["0", "0"], ["1", "0"], ["0", "0"]];
  const { x, y } = point.toAffine();
  return [[x.c0.toString(), x.c1.toString()], [y.c0.toString(), y.c1.toString()], ["1", "0"]];
}

// src/affine.js
var ADD = 1;
var DOUBLE = 2;
var CANCEL = 3;
function reduceG1(X, Y, starts, counts) {
  const groups = starts.length;
  const cap = X.length >> 1;
  const kind = new Uint8Array(cap);
  const den = new Array(cap);
  for (; ; ) {
    let np = 0;
    let nd = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      for (let i = starts[g], end = i + c - 1; i < end; i += 2) {
        const x1 = X[i];
        const x2 = X[i + 1];
        if (x1 === null || x2 === null) kind[np++] = 0;
        else if (x1 !== x2) {
          kind[np++] = ADD;
          den[nd++] = x2 > x1 ? x2 - x1 : x2 - x1 + P;
        } else if (Y[i] === Y[i + 1]) {
          kind[np++] = DOUBLE;
          den[nd++] = 2n * Y[i] % P;
        } else kind[np++] = CANCEL;
      }
    }
    if (np === 0) return;
    batchInvert(den, nd);
    let p = 0;
    let d = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      const s = starts[g];
      let out = s;
      for (let i = s, end = s + c - 1; i < end; i += 2, out++) {
        const k = kind[p++];
        const x1 = X[i];
        const y1 = Y[i];
        if (k === ADD || k === DOUBLE) {
          const x2 = X[i + 1];
          const lam = k === ADD ? (Y[i + 1] - y1) * den[d++] % P : 3n * x1 * x1 % P * den[d++] % P;
          let x3 = (lam * lam - x1 - x2) % P;
          if (x3 < 0n) x3 += P;
          let y3 = (lam * (x1 - x3) - y1) % P;
          if (y3 < 0n) y3 += P;
          X[out] = x3;
          Y[out] = y3;
        } else if (k === CANCEL) {
          X[out] = null;
        } else if (x1 === null) {
          X[out] = X[i + 1];
          Y[out] = Y[i + 1];
        } else {
          X[out] = x1;
          Y[out] = y1;
        }
      }
      if (c & 1) {
        X[out] = X[s + c - 1];
        Y[out] = Y[s + c - 1];
      }
      counts[g] = c + 1 >> 1;
    }
  }
}
function reduceG2(X0, X1, Y0, Y1, starts, counts) {
  const groups = starts.length;
  const cap = X0.length >> 1;
  const kind = new Uint8Array(cap);
  const den0 = new Array(cap);
  const den1 = new Array(cap);
  const norm = new Array(cap);
  for (; ; ) {
    let np = 0;
    let nd = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      for (let i = starts[g], end = i + c - 1; i < end; i += 2) {
        const a0 = X0[i];
        const b0 = X0[i + 1];
        if (a0 === null || b0 === null) {
          kind[np++] = 0;
          continue;
        }
        let d0;
        let d1;
        if (a0 !== b0 || X1[i] !== X1[i + 1]) {
          kind[np++] = ADD;
          d0 = b0 - a0;
          d1 = X1[i + 1] - X1[i];
        } else if (Y0[i] === Y0[i + 1] && Y1[i] === Y1[i + 1]) {
          kind[np++] = DOUBLE;
          d0 = 2n * Y0[i];
          d1 = 2n * Y1[i];
        } else {
          kind[np++] = CANCEL;
          continue;
        }
        den0[nd] = d0;
        den1[nd] = d1;
        norm[nd++] = (d0 * d0 + d1 * d1) % P;
      }
    }
    if (np === 0) return;
    batchInvert(norm, nd);
    let p = 0;
    let d = 0;
    for (let g = 0; g < groups; g++) {
      const c = counts[g];
      if (c < 2) continue;
      const s = starts[g];
      let out = s;
      for (let i = s, end = s + c - 1; i < end; i += 2, out++) {
        const k = kind[p++];
        if (k === ADD || k === DOUBLE) {
          const x0 = X0[i];
          const x1 = X1[i];
          const y0 = Y0[i];
          const y1 = Y1[i];
          const n = norm[d];
          const i0 = den0[d] * n % P;
          const i1 = -den1[d] * n % P;
          d++;
          let u0;
          let u1;
          if (k === ADD) {
            u0 = Y0[i + 1] - y0;
            u1 = Y1[i + 1] - y1;
          } else {
            const t0 = (x0 + x1) * (x0 - x1);
            const t1 = 2n * x0 * x1;
            u0 = 3n * t0 % P;
            u1 = 3n * t1 % P;
          }
          const m0 = u0 * i0;
          const m1 = u1 * i1;
          const l0 = (m0 - m1) % P;
          const l1 = ((u0 + u1) * (i0 + i1) - m0 - m1) % P;
          const q0 = (l0 + l1) * (l0 - l1);
          const q1 = 2n * l0 * l1;
          let x30 = (q0 - x0 - X0[i + 1]) % P;
          if (x30 < 0n) x30 += P;
          let x31 = (q1 - x1 - X1[i + 1]) % P;
          if (x31 < 0n) x31 += P;
          const e0 = x0 - x30;
          const e1 = x1 - x31;
          const n0 = l0 * e0;
          const n1 = l1 * e1;
          let y30 = (n0 - n1 - y0) % P;
          if (y30 < 0n) y30 += P;
          let y31 = ((l0 + l1) * (e0 + e1) - n0 - n1 - y1) % P;
          if (y31 < 0n) y31 += P;
          X0[out] = x30;
          X1[out] = x31;
          Y0[out] = y30;
          Y1[out] = y31;
        } else if (k === CANCEL) {
          X0[out] = null;
        } else {
          const j = X0[i] === null ? i + 1 : i;
          X0[out] = X0[j];
          X1[out] = X1[j];
          Y0[out] = Y0[j];
          Y1[out] = Y1[j];
        }
      }
      if (c & 1) {
        const j = s + c - 1;
        X0[out] = X0[j];
        X1[out] = X1[j];
        Y0[out] = Y0[j];
        Y1[out] = Y1[j];
      }
      counts[g] = c + 1 >> 1;
    }
  }
}

// src/msm.js
var G1Point2 = bls12_381.G1.Point;
var G2Point2 = bls12_381.G2.Point;
var G1 = {
  name: "G1",
  coords: 2,
  reduce: (cols, starts, counts) => reduceG1(cols[0], cols[1], starts, counts),
  split: (p) => [p.x, p.y],
  negateCols: [1],
  toPoint: (cols, i) => G1Point2.fromAffine({ x: cols[0][i], y: cols[1][i] }),
  ZERO: G1Point2.ZERO
};
var G2 = {
  name: "G2",
  coords: 4,
  reduce: (cols, starts, counts) => reduceG2(cols[0], cols[1], cols[2], cols[3], starts, counts),
  split: (p) => [p.x.c0, p.x.c1, p.y.c0, p.y.c1],
  negateCols: [2, 3],
  toPoint: (cols, i) => G2Point2.fromAffine({
    x: { c0: cols[0][i], c1: cols[1][i] },
    y: { c0: cols[2][i], c1: cols[3][i] }
  }),
  ZERO: G2Point2.ZERO
};
var GROUPS = { G1, G2 };
function doubleAll(group, cols) {
  const n = cols[0].length;
  const starts = new Int32Array(n);
  const counts = new Int32Array(n).fill(2);
  const work = cols.map(() => new Array(2 * n));
  for (let i = 0; i < n; i++) {
    starts[i] = 2 * i;
    for (let c = 0; c < cols.length; c++) work[c][2 * i] = work[c][2 * i + 1] = cols[c][i];
  }
  group.reduce(work, starts, counts);
  for (let i = 0; i < n; i++) {
    if (work[0][2 * i] === null) {
      throw new ProofError(`zkey holds a ${group.name} point of order 2`);
    }
    for (let c = 0; c < cols.length; c++) cols[c][i] = work[c][2 * i];
  }
}
async function fixedBaseTable(group, bases, window, pause2) {
  const m = Math.ceil(256 / window);
  const index = [];
  for (let i = 0; i < bases.length; i++) if (bases[i] !== null) index.push(i);
  const live = index.length;
  const cur = Array.from({ length: group.coords }, () => new Array(live));
  for (let k = 0; k < live; k++) {
    const coords = group.split(bases[index[k]]);
    for (let c = 0; c < group.coords; c++) cur[c][k] = coords[c];
  }
  const cols = Array.from({ length: group.coords }, () => new Array(live * m));
  for (let j = 0; j < m; j++) {
    if (j > 0) {
      for (let t = 0; t < window; t++) doubleAll(group, cur);
      if (pause2) await pause2();
    }
    for (let c = 0; c < group.coords; c++) {
      const dst = cols[c];
      const src = cur[c];
      for (let k = 0; k < live; k++) dst[k * m + j] = src[k];
    }
  }
  const slot = new Int32Array(bases.length).fill(-1);
  index.forEach((i, k) => slot[i] = k);
  return { group, window, m, size: bases.length, slot, cols };
}
function msm(table2, scalars) {
  const { group, window: w, m, slot, cols } = table2;
  const half = 1 << w - 1;
  const full = 1 << w;
  const mask = full - 1;
  const n = Math.min(scalars.length, table2.size);
  const words = new Uint32Array(9);
  const digits = new Int32Array(n * m);
  const perBucket = new Int32Array(half + 1);
  const terms = [];
  for (let i = 0; i < n; i++) {
    let s = scalars[i];
    const k = slot[i];
    if (s === 0n || k < 0) continue;
    for (let t = 0; t < 8; t++) {
      words[t] = Number(BigInt.asUintN(32, s));
      s >>= 32n;
    }
    let carry = 0;
    for (let j = 0; j < m; j++) {
      const bit = j * w;
      const at = bit >>> 5;
      const shift = bit & 31;
      let v = words[at] >>> shift;
      if (shift + w > 32) v |= words[at + 1] << 32 - shift;
      v = (v & mask) + carry;
      if (v > half) {
        v -= full;
        carry = 1;
      } else carry = 0;
      if (v !== 0) {
        digits[terms.length] = v;
        terms.push(k * m + j);
        perBucket[v < 0 ? -v : v]++;
      }
    }
  }
  if (terms.length === 0) return group.ZERO;
  const starts = new Int32Array(half);
  const counts = new Int32Array(half);
  for (let b = 1, at = 0; b <= half; b++) {
    starts[b - 1] = at;
    at += perBucket[b];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(terms.length));
  for (let t = 0; t < terms.length; t++) {
    const v = digits[t];
    const b = (v < 0 ? -v : v) - 1;
    const at = fill[b]++;
    const e = terms[t];
    for (let c = 0; c < cols.length; c++) work[c][at] = cols[c][e];
    if (v < 0) {
      for (const c of group.negateCols) work[c][at] = work[c][at] === 0n ? 0n : P - work[c][at];
    }
  }
  for (let b = 0; b < half; b++) counts[b] = perBucket[b + 1];
  group.reduce(work, starts, counts);
  const sums = [];
  for (let b = 0; b < half; b++) {
    if (counts[b] && work[0][starts[b]] !== null) sums.push({ weight: b + 1, at: starts[b] });
  }
  return weightedSum(group, work, sums);
}
function weightedSum(group, cols, items) {
  if (items.length === 0) return group.ZERO;
  const maxWeight = items.reduce((a, it) => Math.max(a, it.weight), 0);
  const bits = 32 - Math.clz32(maxWeight);
  const h = bits >> 1;
  const loMask = (1 << h) - 1;
  const rows = loMask;
  const colsCount = maxWeight >> h;
  const groups = rows + colsCount;
  const counts = new Int32Array(groups);
  for (const { weight } of items) {
    if (weight & loMask) counts[(weight & loMask) - 1]++;
    if (weight >> h) counts[rows + (weight >> h) - 1]++;
  }
  const starts = new Int32Array(groups);
  let total = 0;
  for (let g = 0; g < groups; g++) {
    starts[g] = total;
    total += counts[g];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(total));
  const put = (g, at) => {
    const to = fill[g]++;
    for (let c = 0; c < cols.length; c++) work[c][to] = cols[c][at];
  };
  for (const { weight, at } of items) {
    if (weight & loMask) put((weight & loMask) - 1, at);
    if (weight >> h) put(rows + (weight >> h) - 1, at);
  }
  group.reduce(work, starts, counts);
  const next = [];
  for (let g = 0; g < groups; g++) {
    if (counts[g] && work[0][starts[g]] !== null) {
      next.push({ weight: g < rows ? g + 1 : g - rows + 1 << h, at: starts[g] });
    }
  }
  return bitSum(group, work, next);
}
function bitSum(group, cols, items) {
  if (items.length === 0) return group.ZERO;
  const maxWeight = items.reduce((a, it) => Math.max(a, it.weight), 0);
  const bits = 32 - Math.clz32(maxWeight);
  const counts = new Int32Array(bits);
  for (const { weight } of items) for (let k = 0; k < bits; k++) if (weight >> k & 1) counts[k]++;
  const starts = new Int32Array(bits);
  let total = 0;
  for (let k = 0; k < bits; k++) {
    starts[k] = total;
    total += counts[k];
  }
  const fill = Int32Array.from(starts);
  const work = cols.map(() => new Array(total));
  for (const { weight, at } of items) {
    for (let k = 0; k < bits; k++) {
      if (weight >> k & 1) {
        const to = fill[k]++;
        for (let c = 0; c < cols.length; c++) work[c][to] = cols[c][at];
      }
    }
  }
  group.reduce(work, starts, counts);
  let acc = group.ZERO;
  for (let k = bits - 1; k >= 0; k--) {
    acc = acc.double();
    if (counts[k] && work[0][starts[k]] !== null) acc = acc.add(group.toPoint(work, starts[k]));
  }
  return acc;
}

// src/zkey.js
var MONT_Q_INV = powMod(powMod(2n, BigInt(8 * N8Q), P), P - 2n, P);
var COEF_R2_INV = powMod(powMod(2n, BigInt(16 * N8R), R), R - 2n, R);
var G1_BYTES = 2 * N8Q;
var G2_BYTES = 4 * N8Q;
function sections(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 4)) !== "zkey") {
    throw new ProofError("not a zkey file (bad magic)");
  }
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== 2) throw new ProofError(`unsupported zkey version ${version}`);
  const count = view.getUint32(8, true);
  const out = /* @__PURE__ */ new Map();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    if (pos + 12 > bytes.length) throw new ProofError("zkey section table runs past the end");
    const id = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    pos += 12;
    if (pos + size > bytes.length) {
      throw new ProofError(`zkey section ${id} runs past the end of the file`);
    }
    if (out.has(id)) throw new ProofError(`zkey section ${id} appears twice`);
    out.set(id, bytes.subarray(pos, pos + size));
    pos += size;
  }
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    if (!out.has(id)) throw new ProofError(`zkey lacks section ${id}`);
  }
  return out;
}
function fq(buf, offset) {
  return bytesToBigInt(buf, offset, N8Q) * MONT_Q_INV % P;
}
function g12(buf, offset, what) {
  const x = fq(buf, offset);
  const y = fq(buf, offset + N8Q);
  if (x === 0n && y === 0n) return null;
  if ((y * y - x * x * x - 4n) % P !== 0n) throw new ProofError(`zkey ${what} is not on G1`);
  return { x, y };
}
function g22(buf, offset, what) {
  const x0 = fq(buf, offset);
  const x1 = fq(buf, offset + N8Q);
  const y0 = fq(buf, offset + 2 * N8Q);
  const y1 = fq(buf, offset + 3 * N8Q);
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return null;
  const xx0 = (x0 * x0 - x1 * x1) % P;
  const xx1 = 2n * x0 * x1 % P;
  const xxx0 = xx0 * x0 - xx1 * x1;
  const xxx1 = xx0 * x1 + xx1 * x0;
  const ok = (y0 * y0 - y1 * y1 - xxx0 - 4n) % P === 0n && (2n * y0 * y1 - xxx1 - 4n) % P === 0n;
  if (!ok) throw new ProofError(`zkey ${what} is not on G2`);
  return { x: { c0: x0, c1: x1 }, y: { c0: y0, c1: y1 } };
}
function points(buf, count, size, parse2, what) {
  if (buf.length !== count * size) {
    throw new ProofError(`zkey ${what} has ${buf.length} bytes, expected ${count} points`);
  }
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = parse2(buf, i * size, `${what}[${i}]`);
  return out;
}
function required(point, what) {
  if (point === null) throw new ProofError(`zkey ${what} is the identity`);
  return point;
}
function parseZkey(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  try {
    return parse(bytes);
  } catch (err) {
    if (err instanceof ProofError) throw err;
    throw new ProofError(`zkey is truncated or corrupt: ${err.message}`, { cause: err });
  }
}
function parse(bytes) {
  const sec = sections(bytes);
  const u322 = (buf, offset) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(offset, true);
  const protocol = u322(sec.get(1), 0);
  if (protocol !== 1) throw new ProofError(`zkey protocol ${protocol} is not groth16 (1)`);
  const h = sec.get(2);
  const n8q = u322(h, 0);
  const q = bytesToBigInt(h, 4, n8q);
  let pos = 4 + n8q;
  const n8r = u322(h, pos);
  const r = bytesToBigInt(h, pos + 4, n8r);
  if (n8q !== N8Q || q !== P || n8r !== N8R || r !== R) {
    throw new ProofError("zkey is not for BLS12-381 (compile with --prime bls12381)");
  }
  pos += 4 + n8r;
  const nVars = u322(h, pos);
  const nPublic = u322(h, pos + 4);
  const domainSize = u322(h, pos + 8);
  pos += 12;
  if (domainSize === 0 || domainSize & domainSize - 1 || !(0 < nPublic && nPublic < nVars)) {
    throw new ProofError("zkey header is inconsistent");
  }
  const alpha1 = required(g12(h, pos, "alpha_1"), "alpha_1");
  const beta1 = required(g12(h, pos + G1_BYTES, "beta_1"), "beta_1");
  const beta2 = required(g22(h, pos + 2 * G1_BYTES, "beta_2"), "beta_2");
  const gamma2 = required(g22(h, pos + 2 * G1_BYTES + G2_BYTES, "gamma_2"), "gamma_2");
  const delta1 = required(g12(h, pos + 2 * G1_BYTES + 2 * G2_BYTES, "delta_1"), "delta_1");
  const delta2 = required(g22(h, pos + 3 * G1_BYTES + 2 * G2_BYTES, "delta_2"), "delta_2");
  const c = sec.get(4);
  const nCoef = u322(c, 0);
  const step = 12 + N8R;
  if (c.length !== 4 + nCoef * step) {
    throw new ProofError("zkey coefficient section has the wrong size");
  }
  const coeffs = {
    matrix: new Uint8Array(nCoef),
    constraint: new Uint32Array(nCoef),
    signal: new Uint32Array(nCoef),
    value: new Array(nCoef)
  };
  for (let i = 0; i < nCoef; i++) {
    const off = 4 + i * step;
    const m = u322(c, off);
    const row = u322(c, off + 4);
    const s = u322(c, off + 8);
    if (m > 1 || row >= domainSize || s >= nVars) {
      throw new ProofError(`zkey coefficient ${i} is out of range`);
    }
    coeffs.matrix[i] = m;
    coeffs.constraint[i] = row;
    coeffs.signal[i] = s;
    coeffs.value[i] = bytesToBigInt(c, off + 12, N8R) * COEF_R2_INV % R;
  }
  return {
    nVars,
    nPublic,
    domainSize,
    logDomain: Math.log2(domainSize),
    alpha1,
    beta1,
    beta2,
    gamma2,
    delta1,
    delta2,
    ic: points(sec.get(3), nPublic + 1, G1_BYTES, g12, "IC"),
    coeffs,
    aQuery: points(sec.get(5), nVars, G1_BYTES, g12, "A query"),
    b1Query: points(sec.get(6), nVars, G1_BYTES, g12, "B1 query"),
    b2Query: points(sec.get(7), nVars, G2_BYTES, g22, "B2 query"),
    cQuery: points(sec.get(8), nVars - nPublic - 1, G1_BYTES, g12, "C query"),
    hQuery: points(sec.get(9), domainSize, G1_BYTES, g12, "H query")
  };
}

// src/groth16.js
var G1Point3 = bls12_381.G1.Point;
var G2Point3 = bls12_381.G2.Point;
var Fp122 = bls12_381.fields.Fp12;
function pause() {
  if (typeof setImmediate === "function") return new Promise((resolve2) => setImmediate(resolve2));
  if (typeof MessageChannel === "function") {
    return new Promise((resolve2) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve2();
      };
      channel.port2.postMessage(0);
    });
  }
  return new Promise((resolve2) => setTimeout(resolve2, 0));
}
function bestWindow(live) {
  let best = 4;
  let bestCost = Infinity;
  for (let w = 4; w <= 14; w++) {
    const cost = live * Math.ceil(256 / w) + (1 << w);
    if (cost < bestCost) {
      best = w;
      bestCost = cost;
    }
  }
  return best;
}
function affineG1(p) {
  return { x: p.x, y: p.y };
}
async function table(group, bases, pauseFn) {
  const live = bases.reduce((n, p) => n + (p !== null), 0);
  return fixedBaseTable(group, bases, bestWindow(live), pauseFn);
}
var prepared = /* @__PURE__ */ new WeakMap();
var PARTS = Object.freeze(["A", "B", "C"]);
async function prepareProvingKey(zkey, options = {}) {
  const parts = [...new Set(options.parts ?? PARTS)].sort();
  if (parts.some((p) => !PARTS.includes(p))) {
    throw new ProofError(`parts must be among ${PARTS.join(", ")}, got ${parts.join(", ")}`);
  }
  if (zkey && zkey.prepared === true) return zkey;
  const cacheKey = parts.join(",");
  const cache = typeof zkey === "object" && zkey !== null ? prepared.get(zkey) : void 0;
  if (cache?.has(cacheKey)) return cache.get(cacheKey);
  const pk = zkey instanceof ArrayBuffer || ArrayBuffer.isView(zkey) ? parseZkey(zkey) : zkey;
  if (!pk || !Array.isArray(pk.aQuery)) {
    throw new ProofError("prove needs a zkey's bytes, a parsed zkey or a prepared key");
  }
  const pauseFn = options.pause ?? pause;
  const out = { prepared: true, pk, a: null, b2: null, c: null };
  if (parts.includes("B")) out.b2 = await table(GROUPS.G2, [...pk.b2Query, pk.delta2], pauseFn);
  if (parts.includes("A")) out.a = await table(GROUPS.G1, [...pk.aQuery, pk.delta1], pauseFn);
  if (parts.includes("C")) {
    const bases = [...pk.cQuery, ...pk.hQuery, ...pk.b1Query, pk.beta1];
    out.c = await table(GROUPS.G1, bases, pauseFn);
  }
  if (typeof zkey === "object" && zkey !== null) {
    if (!prepared.has(zkey)) prepared.set(zkey, /* @__PURE__ */ new Map());
    prepared.get(zkey).set(cacheKey, out);
  }
  return out;
}
function quotientEvaluations(pk, witness) {
  const n = pk.domainSize;
  const aT = new Array(n).fill(0n);
  const bT = new Array(n).fill(0n);
  const { matrix, constraint, signal, value } = pk.coeffs;
  for (let i = 0; i < value.length; i++) {
    const w = witness[signal[i]];
    if (w === 0n) continue;
    const row = matrix[i] === 0 ? aT : bT;
    row[constraint[i]] += value[i] * w;
  }
  const cT = new Array(n);
  for (let i = 0; i < n; i++) {
    aT[i] %= R;
    bT[i] %= R;
    cT[i] = aT[i] * bT[i] % R;
  }
  const a = cosetEvaluations(aT, pk.logDomain);
  const b = cosetEvaluations(bT, pk.logDomain);
  const c = cosetEvaluations(cT, pk.logDomain);
  const h = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = (a[i] * b[i] - c[i]) % R;
    h[i] = v < 0n ? v + R : v;
  }
  return h;
}
function randomScalar() {
  const bytes = new Uint8Array(48);
  crypto.getRandomValues(bytes);
  return bytesToBigInt(bytes, 0, 48) % R;
}
function checkWitness(pk, witness) {
  if (!Array.isArray(witness) || witness.length !== pk.nVars) {
    throw new ProofError(`witness has ${witness?.length} wires, the key expects ${pk.nVars}`);
  }
  const values = new Array(witness.length);
  for (let i = 0; i < witness.length; i++) {
    const w = witness[i];
    const v = typeof w === "bigint" ? w : typeof w === "string" && /^[0-9]+$/.test(w) ? BigInt(w) : -1n;
    if (v < 0n || v >= R) throw new ProofError(`witness wire ${i} is not a value in [0, r)`);
    values[i] = v;
  }
  if (values[0] !== 1n) throw new ProofError("witness wire 0 must be the constant 1");
  return values;
}
function needs(key, part) {
  const table2 = { A: key.a, B: key.b2, C: key.c }[part];
  if (!table2) throw new ProofError(`this prepared key lacks part ${part}: prepare it with it`);
  return table2;
}
function provePointsAB(key, w, r, s) {
  const a = msm(needs(key, "A"), [...w, r]).add(G1Point3.fromAffine(affineG1(key.pk.alpha1)));
  const b = msm(needs(key, "B"), [...w, s]).add(G2Point3.fromAffine(key.pk.beta2));
  return { a, b, sa: a.multiplyUnsafe(s) };
}
function proveAB(key, witness, r, s) {
  const w = checkWitness(key.pk, witness);
  for (const v of [r, s]) {
    if (typeof v !== "bigint" || v < 0n || v >= R) {
      throw new ProofError("r and s must lie in [0, r)");
    }
  }
  const { a, b, sa } = provePointsAB(key, w, r, s);
  return { pi_a: g1ToJson(a), pi_b: g2ToJson(b), s_pi_a: g1ToJson(sa) };
}
var g1FromTrustedJson = ([x, y, z]) => z === "0" ? G1Point3.ZERO : G1Point3.fromAffine({ x: BigInt(x), y: BigInt(y) });
async function prove(zkey, witness, options = {}) {
  const key = await prepareProvingKey(zkey, { ...options, parts: options.helper ? ["C"] : PARTS });
  const pauseFn = options.pause ?? pause;
  const { pk } = key;
  const w = checkWitness(pk, witness);
  const r = randomScalar();
  const s = randomScalar();
  let ab;
  if (options.helper) ab = options.helper(w, r, s);
  else {
    const { a, b, sa } = provePointsAB(key, w, r, s);
    ab = { pi_a: g1ToJson(a), pi_b: g2ToJson(b), sa };
    await pauseFn();
  }
  const h = quotientEvaluations(pk, w);
  const rw = w.map((v) => v * r % R);
  let c = msm(needs(key, "C"), [...w.slice(pk.nPublic + 1), ...h, ...rw, r]);
  ab = await ab;
  c = c.add(ab.sa ?? g1FromTrustedJson(ab.s_pi_a));
  const proof = {
    pi_a: ab.pi_a,
    pi_b: ab.pi_b,
    pi_c: g1ToJson(c),
    protocol: "groth16",
    curve: "bls12381"
  };
  return { proof, publicSignals: w.slice(1, pk.nPublic + 1).map((v) => v.toString()) };
}

// src/helper.js
function serveHelper(port) {
  let key = null;
  port.addEventListener("message", async (event) => {
    const msg = event.data;
    try {
      if (msg.type === "init") {
        key = await prepareProvingKey(msg.zkey, { parts: ["A", "B"] });
        port.postMessage({ type: "ready" });
      } else if (msg.type === "prove") {
        if (!key) throw new ProofError("the helper has no key yet: send init first");
        const share = proveAB(key, msg.witness, msg.r, msg.s);
        port.postMessage({ type: "prove", id: msg.id, share });
      }
    } catch (err) {
      port.postMessage({ type: "error", id: msg.id, message: err.message });
    }
  });
  port.start?.();
}
async function connectHelper(endpoint, zkey) {
  const pending = /* @__PURE__ */ new Map();
  let nextId = 1;
  let ready;
  const readyPromise = new Promise((resolve2, reject) => ready = { resolve: resolve2, reject });
  endpoint.addEventListener("message", (event) => {
    const msg = event.data;
    const waiter = msg.id === void 0 ? ready : pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.type === "error") waiter.reject(new ProofError(`prover helper: ${msg.message}`));
    else waiter.resolve(msg.share);
  });
  endpoint.postMessage({ type: "init", zkey });
  await readyPromise;
  return (witness, r, s) => new Promise((resolve2, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolve2, reject });
    endpoint.postMessage({ type: "prove", id, witness, r, s });
  });
}

// src/page/errors.js
var PageError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
};
var KernelError = class extends PageError {
};
var PreprocessError = class extends PageError {
};
var GPUError = class extends PageError {
};
var AssetError = class extends PageError {
};
var FrameError = class extends PageError {
};
var AuthError = class extends PageError {
};
var PayloadError = class extends PageError {
};

// src/poseidon_constants.js
var ALPHA = 5n;
var FULL_ROUNDS = 8;
var PARTIAL_ROUNDS = 56;
var ROUND_CONSTANTS = [
  0x6267f5556c88257324c1c8b00d5871b2eba13cc39d72aa10dde6b69bc44c41c7n,
  0x30347723511438a085118166c68bf0c4f4ab5c10a2c55adb5cf87cc9e030f60fn,
  0x10db856965e40038eb6427303181e7b7439f1a051aa4630c26cf86d0a0451a4bn,
  0x5a3d2dcd541e4faaae7eb143eec847a0f652b6dc1b92e3f39ec23c808b3a5d63n,
  0x3b07f0ff7edcf93b1dd0487bc9fab1c6905f9ceee38dcce83efeb3a320398526n,
  0x40c73c524b9fd0fab63128175befe07b5c63ccdde9ca10e1a37205c9607fdf8an,
  0x3a933861cf23752376d94dbb24b0f3c61630787928875c07672b68abfb9191e0n,
  0x71cc165e208570b2d5ef81db84e3c5e714ea4edfb36fc7fb11ef65a64b2d9755n,
  0x6c0dc9eb332b5d968bec8ad68fe24ce34087ea54093f153618434475bce402f8n,
  0x0af5bafd335dae5c86967b11d5dcefb986a54c9d60d35eb06dc7a3fd779b3906n,
  0x6e12847918f030f2626c150ab69e4be0f13d202ae1f8bc87ea74323e93372e3bn,
  0x5565d40e21d059a26db241ca125d9316283eadf144b1318e604e253eeae1fe9an,
  0x608e01b42d3dca09fed9b54eadaaba3e4ce6aefe92b0dc954a0fa4683a9678f2n,
  0x16bbe434b24f94e2c40ed1f4f9bd7d17e5be96c3aec15579b35fd80f0f80de9en,
  0x0d1be811a8e73220cab01ce981d475522c3d7dd9e2716c3a2cf4ddd541546890n,
  0x5997a3affb18f942868b86f8ee10a68966e90bac7bbd8c65ede7e6e5ef1f6320n,
  0x4d92e86d270041061eec80278079fca771499dea5ccdc99682a953bb3a038b8en,
  0x616c8c5ce232b9314f694fc6a968446ea9daf7a4079ce1a75fcc950741d680bbn,
  0x677e31e7846d9131bdc350eaf11a8ff918dd258ddd800444424afab34dfdfe3dn,
  0x4e7d7f85aefc110b233525ee3e53851aee7d3241e2a132585e0e25005eee0b0en,
  0x06a8b4539488b7dddc48c3a226dbda313f906e106f844196d55013d321244f13n,
  0x5091517b6a85783108999f8e6bda3c793bef3f2e9589641d260bdfde8bdef00dn,
  0x0d2703e5b30f54d7f414e901802d54f8c14cd6355415df6e0f063d16bef9c43an,
  0x56f69096811148eb38eec143d32565c077b3d1a4a4351f2b458f43b1659d4495n,
  0x622d94d38d1ded428afd062008c5709b43a678f6ba518ec56383e8ffba473504n,
  0x2730c607bba7333723a4a44577819b7db82a24574f6d13eee4c856c1ca3de9c7n,
  0x01ac5f59256c5004dc1043c53b23800a3fbab53eb1a83f551056f227b514b9f6n,
  0x0790b92523c973f1c95b94937afbb5796d89481e7a56328b44bab5ba81ae42f3n,
  0x1d63b59d97bc269d13964fb3e8771d0acc749bc83eb2f0372484e266142bb8c0n,
  0x1a52d04e5f14a3a05f7a01262df9e68c77fdf7e2bfb56c8b252d2140efdf0914n,
  0x5aa9b3b808812b284857e8622843a8717fa5cb49b217017f31d79e8d0f963fc0n,
  0x6a3d18fdbeb1d77ec1304539b00e6188786dbbc4435269b4c6281367f42656e3n,
  0x4743e860df269a85dd76fb99dbe9d840eb669dc859754b3f74805e57ba288b00n,
  0x6c32cac3946825f80a434c5ab397fc1a1c6a9bdfaab53175d4cf3d29ddb6cbc6n,
  0x333b0eea5da7ed1e3959d16280a361aa77dd24ecbfb28e1b2583ac4e9894305cn,
  0x3b503fc333b795ccc0c5bb3ae26b077dc3742cb745ec8821648c5ce7ebd9df18n,
  0x4fa5853188d9f728a17532d94bee6fb28fee510380a5d50927c6c5b1ce283444n,
  0x5d2ed8a6603a905bac490ebfb9e6c18f0bc9da1bbc2173291b18de6b6186118fn,
  0x2d830a53584c5556264852f075c78f7f9eb068016ae88af9cda933d6ae52eca7n,
  0x0250f4d6780ad29ae60e55f135b9ac80ccc7c81e3add37db276c26f1a2b1b86en,
  0x6e3e9595f59220599e23e830728d4a0c4d62515ec1ed10b72446cf4df5b4c308n,
  0x2cd3314555d6faf23ee90cdb884f1c4697ebe98e3a450a624c4d896233b93cd5n,
  0x584a408d0f370543b8413fee70a060a394e561f504d8679f7bece4bf222e4108n,
  0x499cd53437b9fcbf7479c00fcc21295759074ce9bd1bb1fbd3460237aef4759en,
  0x56a9b567bd0646effd0608d74d537991136098d9a06af6cb3ff8f010efb57578n,
  0x6a5fae2b00d968b931441b374e27ba4d03b306bd602d48731677169e75a67e8cn,
  0x2e1cc28e390e64aa1d60edb99c0aeda7c8c32bdb01ba11abbad5026b46eccb27n,
  0x2d4820000675df7c276beac408fe2e851e734a7008ae09bbcb3c96c70024f71bn,
  0x0c2fe101a2b52b538b902c6b2dc992cb266f7636e05b0c068385b5fa19e97142n,
  0x209b790b78c0e7927c6a178ef2f00b8687fc7bd4f21a9e02578551535002bc95n,
  0x2dd0926cf56bbaaec6491513d08a9983f94a910852a7b4ea4bd4222b93e14c10n,
  0x4316b39dd7d65b1bb575198104d409b169236a7ade371f7ab176fcbae75a5f0dn,
  0x540276d61041b91f6ea3068ec260a9338b6e3da15d934e648c24f35aee04e535n,
  0x37af612900b839977b146324c84772c58a4ccc0f6494cc054571827e74bfd2d3n,
  0x2af00c93d59ed14c9911e5cb3781d772371e83228e4267bbce11d065c1955338n,
  0x62b48779b0cf7ff2c10fd9b91a6ff7b7a99f935e961a5a94aa38f9d4f71c8b4cn,
  0x540bf5bbe01f28563bcbe11a2ce346d8231a2cdd0fe07641f9fa89e5c21978e3n,
  0x232b6c847a6d23912cb10ecbe50b53491f67f71e9b87a4a30446f2218017874bn,
  0x0ab34adbe77b8f1e57a370e4fd626071eea74b3f0b66644a629efaa0e96456c0n,
  0x1a83e43ef118c90046b1bdbeab8dd5cdcab632807c2cd0dc9147cbc5b7084be8n,
  0x1ec6fa41b41b672d9005468720918130b642567462a3d557a595d4dc6c56f2f9n,
  0x01f81a153199a751a111b8f5212cfc5bf82aacf0287d03e1864f8e5713fe4a17n,
  0x2617307587a675f4ecd73a54a7b206162d751cabf3d9fd007bcca4de2c6f0649n,
  0x1647be94c515178c7974a245624b642bb1ae6e2d4e1682087e362d7f98bc953fn,
  0x6e690b956e00b9e339dec49d675586f661f9b081ee3fa7696d73977658aa6fean,
  0x660b85bc22de06d476c47bf084ad436f59874f1d630c0f5c91fbef51d5e738c5n,
  0x32bf3d451b69dde075fc370eaa8c1b77b5c0bc2aab1c7b46da7ef9d1840b0419n,
  0x73924b40beaa9c1ce4074c2154d1af4d658c09395a568b99b2fbcc3b5685e810n,
  0x17cbb3ee0adcb9d977e96e9152b36042925244fdd0aa184c7a89a58a2dc40097n,
  0x29d76a821e3220775c552f6b5977ab94956e52b8dac36ef88ace050d553766a3n,
  0x62b1a6c06ab26881a1fe57eceac56b5aec0b96da7211557f4e27ec24296d7db6n,
  0x0dfc474151e5c605a693a51ae8227cc0a99fdc4524fc2810c6eda9035d04334dn,
  0x3e287088506bb38d2ed465cdab37a7b2eedafb47557446a9aec9d366a91b1d98n,
  0x2641d2919d0bed24673c9effc24578798c56f3cd39940030aff2c913cf58974an,
  0x286c1f841a05bb667c84d93ba9359da901a545ecb1c6a37403c5e74d0a663cf9n,
  0x68159ff06a0aff28d53ecaae5654db9f3017f564378fccb68af2a47f10788d17n,
  0x432ff6c037e9ce6e61172862cc076d925d00f4414fa4f4d8722c4b1460c2f04bn,
  0x5e1a35f47c87b33cd37544c51d7dda1d7e262af52b11133df163d2c94e9f0674n,
  0x0b8d4686183872494b4416fc82317a4deae10e7c312aeb8a44697b49b1025df5n,
  0x6291c6d458499cffd8915196bde5fdcdb7eb5ef6b1e6d15aab7d8e95cda2c564n,
  0x0e2f4df2de6504553f057c1046bb04decf779baff7457cce028c4f55d4f4f0edn,
  0x1694268ccf0cf400d1c77259d9766437e5a35810b854022829ead0b3e70aeba4n,
  0x3c96c51a30dc76af38c9c08c36ee90b626c28910a0994e0854b5375e7f46698bn,
  0x5a99402864789e9d2bd2930a70a54adb66865923b4a17ef36a107020e44a73dcn,
  0x5a22c7703f1ab4a55031fc34aab0732018e931ba48c8c38c65bfaf5e610ab7afn,
  0x686fea106123473955c3e9365afa2238a5e35390360884ed7555a8c5f8d66a20n,
  0x6a68607546ff48f9d154b924ccf0fd85b608ad351e4bcffd6097d4d175ea53bcn,
  0x21077e81fe5a0bde7f6f2631f93cb33d07d1928befec6a434bc0616ef5b3dddbn,
  0x11aeb10c549bc49d3ea21f84ea42ba3374a80c7504186d3c9c9476e7a380fb90n,
  0x4dfbc6f6a54a316d331770308f53534a01f4b9a50210cb081fdee076e3fd6871n,
  0x0e9ba2efbd177a7c3e3ba0716b5de50a24937f94bd97491941e064704a024904n,
  0x1dda541f2f744aaee3c50c2d9abc405d8fbd01e3e5c22f4192d893f45788e9d6n,
  0x2ec1165caf7fd1589fbd8cf29049439a0c266d9c002c5d77b656a2e28db097b3n,
  0x1f8cc6e561bde673e0bbbfb882419c31575e4b7ae66cde549443f95dc23566ecn,
  0x57d97d4b02423d7738690fbea9e0b7ba8eb1ad651986f869ff96a932fedbe6d3n,
  0x1205704bf8e95ba26bca37a88295daeba494546ea8efe7189efb000e0bcfbdd0n,
  0x016cdeebdb6f8b37fbbd4ef80645d2473d21df81eee935ec540836f06eb49d38n,
  0x19b8a2f4a6403c98add6f220ff4938fe7b5ca43c78095f14184923bdfa0cae33n,
  0x19358aab5822facc694ee0a27a4ec9fb6bf931d5efb8ce59c25d67bb017e26d5n,
  0x0c7a80ba8f7372a2bee14572b6967720c9853f811188cd44fe24e764a2e7affen,
  0x3894fe113139129d6f42058e3f871ac109b87f7fcffc317321cc1e428f9b48c4n,
  0x1aefc0785946d65ef0e62be601da8cad8e94f5e3f96a177c235740d5fb406ab9n,
  0x0af1c4fc0b49030fe545ef543ac1b16640288c36554ee106e7d1e06a4e1626b3n,
  0x5848a8b1f2645e1c36b603a083689b50b760744f96bdf07a2df821e584023884n,
  0x1318aac0f0ef72e5e0233ca168ea6c21a4e162e00d3ba70d79087df4660154f4n,
  0x4179cc529ed5ddd4aa1acf77e50d12bb9a754df8bfcb0ff6c6e1073e8cbfe8ean,
  0x005983d5e4d5d48c2c80a4dd83083db023217247ece5e0514e49b90cd73e3d05n,
  0x5c198603562a2e473d5486f461f4fc776051ab0bfc00526df55541b87e47c11bn,
  0x39c93d11962620d7c5396532137173d6746356c6821ff03734d59af52a6ad067n,
  0x2475bc5acc012b8083fcc7d2ccb15127a2bc7bec09dbce1319e5f680bed75fa7n,
  0x66729d8d26c113573bcb9dcd84bdbca5fb0aede246e1f5659762ce88a38abc7an,
  0x0bb442eba5baf8e728df8eb9c2cb17ed8ac2909427f0a608ddbede534265c995n,
  0x4a432bd0cf7b12c3f31ff6ef7033982cfb702a89df14ad1457e9e108e0093e0fn,
  0x3d120149595e0c7fa884fe33f287ea54841a94be027702ea9881ad9227204ecdn,
  0x35e47349a427ba8b1df4bf4f5f1da532f25c44be406a90def22e870301d051e0n,
  0x19caf5fbbc0a1424525971b573841109f36dc3e07eb1df7fd69d4e1fd34abcecn,
  0x4d94360247806752a4c1e622c2964069456601b666c900aa8686ae74c00d33ben,
  0x515cce538dcf5280c18d4d2973a2fd4eda2304d6f0bb0b45d01bf9a2b1fcae38n,
  0x5d157e3dbf20d63c3e0783a96c763b96f28ad0548a44fabba29463d5fb759390n,
  0x50c6439188ea7d8153949b6f5f64c10df7bf884d31b9680323781406fc84d4c8n,
  0x06ab7adf0f997badc0b95360e3d992b0d5dafe9fce2c807f5de11ea819123651n,
  0x6212d6f6db15bcc7f3b1637efbfa8d08c5faebeab89d265bb7a0585b96306900n,
  0x5f674e12cce1d53f2d01b06ea1874335f8c7634443b29b300ff011a4e4822783n,
  0x01865aba8ec3d89aca45cc1da7d8ca5e2b31a8a44178a0d6e665fbe83d63cdd2n,
  0x221d9df33836d262a34e9566471db96efbe80c8e0602d8ea7af1c2560afc4ed9n,
  0x0f12e59c448a18bae09585d74c637be4ef24ec3d5ba000964cf76c6032d159afn,
  0x10376fa0adb3a50540dfd9aa95fa8b5c120f4e6843590ed156b5fcb93ecb7a27n,
  0x031597a49ea890a50ed8381799fa51e27e540902ada5f8d8a7529a980458eac8n
];
var MDS = [
  [0x1e6d0cd936714f2124fc4c78321266174fe2855e689c6511a36ecadc3cccc268n, 0x1240406fed29618b5515b2170437e1cbe9dbf814d630e4c71109f74a157a9bcdn],
  [0x70720066b0150aa415f3fff26ea0b231e657f63112a36a97f0833f3c18dfa4c5n, 0x6b07f55f01bb144fece2d7068241cef3eda1aba1730dab73367f3d06e994a23en]
];

// src/poseidon.js
function pow5(x) {
  const x2 = x * x % R;
  return x2 * x2 % R * x % R;
}
function permute([s0, s1]) {
  const [[m00, m01], [m10, m11]] = MDS;
  const half = FULL_ROUNDS / 2;
  if (ALPHA !== 5n) throw new ProofError("poseidon: only x^5 is implemented");
  for (let rnd = 0; rnd < FULL_ROUNDS + PARTIAL_ROUNDS; rnd++) {
    s0 = pow5((s0 + ROUND_CONSTANTS[2 * rnd]) % R);
    s1 = (s1 + ROUND_CONSTANTS[2 * rnd + 1]) % R;
    if (rnd < half || rnd >= half + PARTIAL_ROUNDS) s1 = pow5(s1);
    [s0, s1] = [(m00 * s0 + m01 * s1) % R, (m10 * s0 + m11 * s1) % R];
  }
  return [s0, s1];
}
function poseidon(x) {
  const v = BigInt(x);
  if (v < 0n || v >= R) throw new ProofError(`Poseidon input must be in [0, r), got ${x}`);
  return permute([0n, v])[0];
}

// src/page/merkle.js
var BATCH_OUTPUT_LEN = 2 ** 32 - 1;
function leaf(taskId, seed, outputLen, digestHex) {
  const body = new Uint8Array(1 + 16 + 8 + 4 + 32);
  body.set(hexToBytes(taskId.replaceAll("-", "")), 1);
  const view = new DataView(body.buffer);
  view.setBigUint64(17, BigInt(seed), false);
  view.setUint32(25, Number(outputLen), false);
  body.set(hexToBytes(digestHex), 29);
  return sha256(body);
}
function leafV2(taskId, orderHash, digestHex) {
  const body = new Uint8Array(1 + 16 + 32 + 32);
  body[0] = 2;
  body.set(hexToBytes(taskId.replaceAll("-", "")), 1);
  body.set(hexToBytes(BigInt(orderHash).toString(16).padStart(64, "0")), 17);
  body.set(hexToBytes(digestHex), 49);
  return sha256(body);
}
function node(left, right) {
  const body = new Uint8Array(65);
  body[0] = 1;
  body.set(left, 1);
  body.set(right, 33);
  return sha256(body);
}
function levels(leaves) {
  if (!leaves.length) throw new Error("a Merkle tree needs at least one leaf");
  const out = [leaves];
  while (out.at(-1).length > 1) {
    const cur = out.at(-1);
    const next = [];
    for (let i = 0; i + 1 < cur.length; i += 2) next.push(node(cur[i], cur[i + 1]));
    if (cur.length % 2) next.push(cur.at(-1));
    out.push(next);
  }
  return out;
}
function root(leaves) {
  return bytesToHex(levels(leaves).at(-1)[0]);
}
function path(leaves, index) {
  const steps = [];
  for (const level of levels(leaves).slice(0, -1)) {
    const sibling = index ^ 1;
    if (sibling < level.length) steps.push([sibling < index, bytesToHex(level[sibling])]);
    index = Math.floor(index / 2);
  }
  return steps;
}

// src/page/attest.js
var SESSION_CONTEXT = "shardy-session-v1";
var ENROLL_CONTEXT = "shardy-enroll-v1";
var utf8 = new TextEncoder();
var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function taskIdToField(taskId) {
  if (!UUID.test(taskId)) throw new ProofError(`task id ${taskId} is not a UUID`);
  return BigInt(`0x${taskId.replaceAll("-", "")}`);
}
var N_PUBLIC = Object.freeze({ 1: 5, 2: 6 });
function statementVersion(vkey) {
  const n = vkey?.nPublic;
  for (const [version, count] of Object.entries(N_PUBLIC)) if (n === count) return Number(version);
  throw new ProofError(`a verifying key with nPublic=${n} proves no known attestation statement (version 1 has 5 public inputs, version 2 has 6)`);
}
function digestToInt(hex) {
  if (typeof hex !== "string" || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new ProofError(`result digest must be 64 hex characters, got ${hex}`);
  return BigInt(`0x${hex}`);
}
function digestToField(hex) {
  return digestToInt(hex) >> 8n;
}
function digestHalves(hex) {
  const value = digestToInt(hex);
  return [value >> 128n, value & (1n << 128n) - 1n];
}
function commitment(secret) {
  return poseidon(secret).toString();
}
function newWorkerSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  return BigInt(`0x${bytesToHex(bytes)}`) % (R - 1n) + 1n;
}
function checkSecret(secret) {
  if (typeof secret !== "bigint" || secret <= 0n || secret >= R) throw new ProofError("worker secret must lie in [1, r)");
}
function attestationInputs(taskId, seed, outputLen, digestHex, secret) {
  const s = BigInt(seed);
  const n = BigInt(outputLen);
  if (s < 0n || s >= 1n << 64n) throw new ProofError(`seed must be in [0, 2**64), got ${seed}`);
  if (n < 0n || n >= 1n << 32n) throw new ProofError(`output_len must be in [0, 2**32), got ${outputLen}`);
  checkSecret(secret);
  return {
    taskId: taskIdToField(taskId),
    seed: s,
    outputLen: n,
    resultDigest: digestToField(digestHex),
    workerCommitment: poseidon(secret),
    workerSecret: secret
  };
}
function attestationInputsV2(taskId, orderHash, digestHex, secret) {
  const h = BigInt(orderHash);
  if (h < 0n || h >= 1n << 248n) throw new ProofError(`an order hash must be in [0, 2**248), got ${orderHash}`);
  checkSecret(secret);
  const [digestHi, digestLo] = digestHalves(digestHex);
  return {
    statement: 2n,
    taskId: taskIdToField(taskId),
    orderHash: h,
    digestHi,
    digestLo,
    workerCommitment: poseidon(secret),
    workerSecret: secret
  };
}
function replicaInputs(version, order, digestHex, secret) {
  if (version === 1) return attestationInputs(order.taskId, order.seed, order.outputLen, digestHex, secret);
  if (version === 2) return attestationInputsV2(order.taskId, requireOrderHash(order), digestHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}
function batchInputs(version, batchId, size, rootHex, secret) {
  if (version === 1) return attestationInputs(batchId, BigInt(size), BATCH_OUTPUT_LEN, rootHex, secret);
  if (version === 2) return attestationInputsV2(batchId, BigInt(size), rootHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}
function enrollmentInputs(version, taskId, digestHex, secret) {
  if (version === 1) return attestationInputs(taskId, 0n, 0n, digestHex, secret);
  if (version === 2) return attestationInputsV2(taskId, 0n, digestHex, secret);
  throw new ProofError(`unknown statement version ${version}`);
}
function replicaLeaf(version, order, digestHex) {
  digestToInt(digestHex);
  taskIdToField(order.taskId);
  if (version === 1) return leaf(order.taskId, order.seed, order.outputLen, digestHex);
  if (version === 2) return leafV2(order.taskId, requireOrderHash(order), digestHex);
  throw new ProofError(`unknown statement version ${version}`);
}
function requireOrderHash(order) {
  if (typeof order.orderHash !== "bigint") {
    throw new FrameError("the order carries no order_hash: an attestation under a version 2 key needs it");
  }
  return order.orderHash;
}
var join = (...parts) => utf8.encode(parts.join("|"));
function sessionMessage(gatewayId, nonce, publicHex) {
  return join(SESSION_CONTEXT, gatewayId, nonce, publicHex);
}
function enrollMessage(operatorId, nonce, publicHex, commit) {
  return join(ENROLL_CONTEXT, operatorId, nonce, publicHex, commit);
}
function uuidFromBytes(b) {
  const h = bytesToHex(b.subarray(0, 16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function enrollmentStatement(nonce, publicHex, commit) {
  const taskId = uuidFromBytes(sha256(join(ENROLL_CONTEXT, nonce, publicHex)));
  return [taskId, bytesToHex(sha256(join(ENROLL_CONTEXT, nonce, publicHex, commit)))];
}
function parseToken(text) {
  const parts = String(text ?? "").trim().split(".");
  if (parts.length !== 3 || parts[0] !== "shy1" || !UUID.test(parts[1]) || parts[2].length < 20 || parts[2].length > 64) {
    throw new AuthError("not a Shardy enrollment token (shy1.<operator>.<secret>); ask the orchestrator's operator for a link");
  }
  return { operatorId: parts[1], text: parts.join(".") };
}

// src/page/identity.js
var DB = "shardy-worker";
var STORE = "identity";
var KEY = "self";
function request(req) {
  return new Promise((resolve2, reject) => {
    req.onsuccess = () => resolve2(req.result);
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
var Identity = class _Identity {
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
      record = {
        privateKey: keys.privateKey,
        publicHex: bytesToHex(raw),
        secret: newWorkerSecret().toString(),
        workerId: null
      };
      await store(db, "readwrite", (s) => s.put(record, KEY));
    }
    return new _Identity(db, record);
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
};

// src/page/assets.js
function sha256Hex(bytes) {
  return bytesToHex(sha256(bytes));
}
async function sha256HexAsync(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256Hex(bytes);
  return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", bytes)));
}
var Assets = class _Assets {
  /** @param {string} base the page's folder URL, e.g. "http://host:port/worker/" */
  constructor(base, manifest, fetchFn = globalThis.fetch.bind(globalThis)) {
    this.base = base;
    this.manifest = manifest;
    this.fetch = fetchFn;
    this.cache = /* @__PURE__ */ new Map();
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
    return new _Assets(base, manifest, fetchFn);
  }
  /**
   * The bytes of `name`, checked against the manifest's sha256 (fetched once).
   *
   * @returns {Promise<Uint8Array>}
   * @throws {AssetError} not listed, not served, or a different sha256
   */
  async bytes(name) {
    let pending = this.cache.get(name);
    if (pending === void 0) {
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
    const entry = Object.hasOwn(this.manifest.files, name) ? this.manifest.files[name] : void 0;
    if (entry === void 0) throw new AssetError(`the gateway's manifest lists no ${name}`);
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
};

// src/page/batcher.js
var COMING_WAIT_S = 0.1;
var now = () => performance.now() / 1e3;
var Batcher = class {
  /**
   * @param {number} size K, the most replicas per proof
   * @param proveBatch (keyId, leaves) → Promise<{receipt (of leaf 0, JSON form), proofBytes}>
   * @param {number} wait T in seconds: the longest a leaf waits for its batch to fill
   */
  constructor(size, proveBatch, wait = 0) {
    this.size = size;
    this.wait = wait;
    this.proveBatch = proveBatch;
    this.pending = [];
    this.coming = 0;
    this.busy = false;
    this.expected = 0;
    this.freedAt = 0;
    this.wake = null;
  }
  #notify() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
  /** Around a replica's computation: call the returned function once it attests or fails. */
  computing() {
    this.coming += 1;
    let done = false;
    return () => {
      if (!done) {
        this.coming -= 1;
        this.#notify();
      }
      done = true;
    };
  }
  /** Add a leaf; resolves to {receipt (this leaf's index and path), proofBytes}. */
  attest(keyId2, leaf2) {
    return new Promise((resolve2, reject) => {
      this.pending.push({ keyId: keyId2, leaf: leaf2, added: now(), resolve: resolve2, reject });
      this.expected = Math.max(0, this.expected - 1);
      if (this.busy) this.#notify();
      else this.#loop();
    });
  }
  /** Seconds until the oldest leaf's batch is due (0: now), as workers/batcher.py `_take`. */
  #due(oldest) {
    const t = now();
    const waited = oldest.added + this.wait - t;
    let coming = this.coming ? oldest.added + COMING_WAIT_S - t : 0;
    if (this.expected) coming = Math.max(coming, this.freedAt + COMING_WAIT_S - t);
    return Math.max(waited, coming, 0);
  }
  async #loop() {
    this.busy = true;
    try {
      while (this.pending.length) {
        const oldest = this.pending[0];
        const same = () => this.pending.filter((p) => p.keyId === oldest.keyId);
        for (let left; same().length < this.size && (left = this.#due(oldest)) > 0; ) {
          await new Promise((resolve2) => {
            const timer = setTimeout(() => {
              this.wake = null;
              resolve2();
            }, Math.max(1, left * 1e3));
            this.wake = () => {
              clearTimeout(timer);
              resolve2();
            };
          });
        }
        const batch = same().slice(0, this.size);
        this.pending = this.pending.filter((p) => !batch.includes(p));
        const leaves = batch.map((p) => p.leaf);
        try {
          const { receipt, proofBytes } = await this.proveBatch(oldest.keyId, leaves);
          batch.forEach((p, i) => p.resolve({ receipt: { ...receipt, index: i, path: path(leaves, i) }, proofBytes }));
        } catch (err) {
          for (const p of batch) p.reject(err);
        } finally {
          this.expected = batch.length;
          this.freedAt = now();
        }
      }
    } finally {
      this.busy = false;
    }
  }
};

// src/page/frames.js
var MAGIC = [83, 72, 70];
var VERSION = 1;
var PREFIX = 8;
var SESSION = "shardy.session.";
var CHUNK = 1 << 20;
var utf82 = new TextEncoder();
function parseJson(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== void 0 && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}
function toJson(value) {
  const marks = [];
  const text = JSON.stringify(value, (key, v) => {
    if (typeof v !== "bigint") return v;
    marks.push(v.toString());
    return `\0big${marks.length - 1}\0`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}
function encodeFrame(meta, segments = []) {
  const segs = segments.map((s) => s instanceof Uint8Array ? s : new Uint8Array(s));
  const header = utf82.encode(toJson({ m: meta, s: segs.map((s) => s.length) }));
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
function decodeFrame(data) {
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
  const segments = lengths.map((n) => bytes.subarray(at, at += n));
  return { meta: header.m, segments };
}
function encodeMessage(kind, meta, segments = []) {
  return encodeFrame({ kind: SESSION + kind, ...meta }, segments);
}
function decodeMessage(data, ...expected) {
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
function parseOrder({ meta: m, segments }) {
  const types = {
    task_id: "string",
    replica: "number",
    round: "number",
    kernel: "string",
    key_id: "string",
    params: "object",
    payload: "object"
  };
  for (const [k, t] of Object.entries(types)) {
    if (typeof m[k] !== t || m[k] === null) throw new FrameError(`replica order field ${k} is missing or not a ${t}`);
  }
  const seed = BigInt(m.seed);
  const orderHash = parseOrderHash(m.order_hash);
  const names = m.inline ?? (segments.length ? ["payload"] : []);
  if (names.length !== segments.length) throw new FrameError("replica order segments do not match its 'inline' list");
  const chunks = m.chunks ?? null;
  if (chunks !== null && (!Number.isSafeInteger(chunks) || chunks < 1 || names.includes("payload"))) {
    throw new FrameError("a streamed order names a positive chunk count and carries no payload inline");
  }
  if (chunks === null && !names.includes("payload")) throw new FrameError("the browser worker needs the payload inline or in chunks");
  if (names.includes("kernel")) throw new FrameError("the browser worker runs built-in kernels only (this order ships a kernel)");
  const payloadSize = m.payload.size;
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 0) throw new FrameError("replica order payload size must be a non-negative integer");
  return {
    taskId: m.task_id,
    replica: m.replica,
    round: m.round,
    kernel: m.kernel,
    seed,
    outputLen: Number(m.output_len),
    params: m.params,
    keyId: m.key_id,
    payloadSha256: m.payload.sha256,
    payloadSize,
    chunks,
    payload: chunks === null ? segments[names.indexOf("payload")] : null,
    orderHash
  };
}
function parseOrderHash(value) {
  if (value === void 0) return null;
  if (typeof value !== "string" || !/^00[0-9a-f]{62}$/.test(value)) {
    throw new FrameError(`replica order field order_hash must be 64 lower-case hex digits below 2**248, got ${String(value).slice(0, 80)}`);
  }
  return BigInt(`0x${value}`);
}

// src/page/inbound.js
function chunkCount(size) {
  return size > CHUNK ? Math.ceil(size / CHUNK) : 0;
}
var MemorySink = class {
  constructor(size) {
    this.bytes = new Uint8Array(size);
  }
  write(data, at) {
    this.bytes.set(data, at);
  }
};
var SpillSink = class {
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
};
var Inbound = class {
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
    if (meta.abort !== void 0 && meta.abort !== null) {
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
    this.hasher.update(data);
    this.sink.write(data, at);
    this.received += 1;
    if (this.received < order.chunks) return false;
    if (bytesToHex(this.hasher.digest()) !== order.payloadSha256) {
      throw new PayloadError(`the streamed payload of ${this.what} does not hash to its order's sha256`);
    }
    return true;
  }
};

// src/page/session.js
var PROTOCOL = 2;
var PERMANENT = /* @__PURE__ */ new Set(["KernelError", "PreprocessError", "ProofError", "FrameError", "PayloadError", "AssetError"]);
var Inbox = class {
  constructor(ws) {
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    ws.addEventListener("message", (e) => this.#push({ data: e.data }));
    ws.addEventListener("close", (e) => {
      this.closed = new FrameError(`the gateway closed the session (${e.code}${e.reason ? `: ${e.reason}` : ""})`);
      this.closed.code = "closed";
      for (const w of this.waiters.splice(0)) w.reject(this.closed);
    });
  }
  #push(item) {
    const w = this.waiters.shift();
    if (w) w.resolve(item.data);
    else this.queue.push(item);
  }
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift().data);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve2, reject) => this.waiters.push({ resolve: resolve2, reject }));
  }
};
var Session = class {
  /**
   * @param opts {url (ws://host/session), token (or null once enrolled), client
   *   (ComputeClient), identity (Identity), adapter, batch (K: replicas per proof, default 1;
   *   the session then takes K orders at once), wait (ms a replica may wait for its batch to
   *   fill, default 0), spill (streamed payloads of at least this many bytes go to OPFS;
   *   Infinity: none, e.g. without OPFS), onchange (state → void)}
   */
  constructor({ url, token, client, identity, adapter, batch = 1, wait = 0, spill = Infinity, onchange = () => {
  } }) {
    Object.assign(this, { url, token, client, identity, adapter, spill, onchange });
    this.slots = Math.max(1, Math.min(64, Math.floor(batch) || 1));
    this.batcher = this.slots > 1 ? new Batcher(
      this.slots,
      (kid, leaves) => this.#proveBatch(kid, leaves),
      Math.max(0, Number(wait) || 0) / 1e3
    ) : null;
    this.state = {
      connected: false,
      workerId: identity.workerId,
      done: 0,
      failed: 0,
      task: null,
      stage: "connecting",
      lastProof: null,
      error: null,
      spilled: 0,
      proofs: 0,
      proving: 0
    };
    this.arriving = /* @__PURE__ */ new Map();
    this.dropped = /* @__PURE__ */ new Set();
    this.stopped = false;
    this.running = false;
  }
  #set(patch) {
    Object.assign(this.state, patch);
    this.onchange(this.state);
  }
  /** Leave: close the session (the gateway gives the replicas in flight to other workers). */
  stop() {
    this.stopped = true;
    this.ws?.close(1e3, "the tab is closing");
  }
  /** Serve until stopped; throws AuthError when the gateway refuses this worker. */
  async run() {
    if (this.running) return;
    this.running = true;
    try {
      await this.#serve();
    } finally {
      this.running = false;
    }
  }
  async #serve() {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.#connectAndServe();
        failures = 0;
      } catch (err) {
        if (err instanceof AuthError || ["auth", "revoked"].includes(err.code)) {
          this.#set({ connected: false, stage: "refused", error: err.message });
          throw err instanceof AuthError ? err : new AuthError(err.message);
        }
        this.#set({ connected: false, stage: "reconnecting", error: err.message });
      }
      failures += 1;
      const delay = Math.random() * Math.min(30, 0.5 * 2 ** Math.min(failures, 6));
      await new Promise((r) => setTimeout(r, delay * 1e3));
    }
  }
  async #connectAndServe() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    const inbox = new Inbox(ws);
    await new Promise((resolve2, reject) => {
      ws.addEventListener("open", resolve2, { once: true });
      ws.addEventListener("close", () => reject(new FrameError(`cannot connect to ${this.url}`)), { once: true });
    });
    this.ws = ws;
    if (this.stopped) ws.close();
    try {
      await this.#handshake(ws, inbox);
      this.#set({ connected: true, stage: "waiting for orders", error: null });
      for (; ; ) {
        const msg = decodeMessage(await inbox.next(), "order", "order_chunk");
        if (msg.kind === "order_chunk") this.#chunk(ws, msg);
        else if (msg.meta.chunks !== void 0 && msg.meta.chunks !== null) this.#begin(ws, msg);
        else this.#answer(ws, msg);
      }
    } finally {
      ws.close();
      this.ws = null;
      for (const a of this.arriving.values()) a.sink.drop?.();
      this.arriving.clear();
    }
  }
  async #handshake(ws, inbox) {
    let challenge = decodeMessage(await inbox.next(), "challenge").meta;
    if (!this.identity.workerId) {
      if (!this.token) throw new AuthError("this tab is not enrolled: open the page with an operator's enrollment link (…/worker/#token=shy1…)");
      this.#set({ stage: "enrolling" });
      ws.send(await this.#enrollMessage(challenge));
      const enrolled = decodeMessage(await inbox.next(), "enrolled").meta;
      await this.identity.enrolled(String(enrolled.worker_id));
      this.#set({ workerId: this.identity.workerId });
      challenge = decodeMessage(await inbox.next(), "challenge").meta;
    }
    const { publicHex } = this.identity;
    const signature = await this.identity.sign(sessionMessage(challenge.gateway, challenge.nonce, publicHex));
    ws.send(encodeMessage("hello", {
      public_key: publicHex,
      signature,
      slots: this.slots,
      adapter: this.adapter.slice(0, 200),
      protocol: PROTOCOL
    }));
    const welcome = decodeMessage(await inbox.next(), "welcome").meta;
    this.#set({ workerId: String(welcome.worker_id) });
  }
  async #enrollMessage(challenge) {
    const token = parseToken(this.token);
    const { publicHex, secret } = this.identity;
    const commit = commitment(secret);
    const [taskId, digest] = enrollmentStatement(challenge.nonce, publicHex, commit);
    const version = await this.client.version(challenge.key_id);
    const inputs = enrollmentInputs(version, taskId, digest, secret);
    const { proof, publicSignals } = await this.client.prove(challenge.key_id, inputs);
    const signature = await this.identity.sign(enrollMessage(token.operatorId, challenge.nonce, publicHex, commit));
    return encodeMessage("enroll", {
      token: token.text,
      public_key: publicHex,
      commitment: commit,
      signature,
      key_id: challenge.key_id,
      proof,
      public_signals: publicSignals
    });
  }
  #parse(ws, msg) {
    try {
      return parseOrder(msg);
    } catch (err) {
      ws.send(encodeMessage("error", { code: "malformed", message: `unreadable order: ${err.message}` }));
      ws.close();
      return null;
    }
  }
  /** A streamed order's header: its payload follows, into memory or (from `spill` up) OPFS. */
  #begin(ws, msg) {
    const order = this.#parse(ws, msg);
    if (order === null) return;
    const key = { task_id: order.taskId, round: order.round, replica: order.replica };
    const id = keyId(key);
    let sink = null;
    try {
      if (this.arriving.has(id)) {
        this.arriving.get(id).sink.drop?.();
        this.arriving.delete(id);
        throw new PayloadError(`replica ${id} was ordered again while its payload came`);
      }
      if (this.arriving.size >= 2 * this.slots) throw new PayloadError(`more than ${2 * this.slots} payloads arriving at once`);
      const spilled = order.payloadSize >= this.spill;
      sink = spilled ? new SpillSink(this.client, order.payloadSize) : new MemorySink(order.payloadSize);
      const inbound = new Inbound(order, sink);
      this.arriving.set(id, { order, inbound, sink, spilled, since: performance.now(), writing: 0 });
    } catch (err) {
      sink?.drop?.();
      this.#refuse(ws, key, err);
    }
  }
  /** One chunk of a streamed order's payload; the order runs once it is whole and checked. */
  #chunk(ws, { meta, segments }) {
    const key = { task_id: meta.task_id, round: meta.round, replica: meta.replica };
    if (typeof key.task_id !== "string" || !Number.isSafeInteger(key.round) || !Number.isSafeInteger(key.replica)) {
      this.#set({ error: "a payload chunk naming no replica was dropped" });
      return;
    }
    const id = keyId(key);
    const a = this.arriving.get(id);
    if (a === void 0) {
      if (!this.dropped.has(id)) {
        this.#refuse(ws, key, new PayloadError(`a payload chunk came for replica ${id}, which this worker does not hold (its order never came)`));
      }
      return;
    }
    const t0 = performance.now();
    let whole;
    try {
      whole = a.inbound.take({ meta, segments });
    } catch (err) {
      this.arriving.delete(id);
      a.sink.drop?.();
      if (meta.abort === void 0 || meta.abort === null) return this.#refuse(ws, key, err);
      this.#forget(id);
      return this.#set({ error: err.message });
    } finally {
      a.writing += (performance.now() - t0) / 1e3;
    }
    if (!whole) return;
    this.arriving.delete(id);
    const timings = { fetch: (performance.now() - a.since) / 1e3 };
    if (a.spilled) {
      timings.spool = a.writing;
      this.#set({ spilled: this.state.spilled + 1 });
    }
    this.#run(ws, a.order, a.spilled ? { spool: a.sink.id } : { payload: a.sink.bytes }, timings);
  }
  /** Fail replica `key` at once (its order broke the protocol: permanent). */
  #refuse(ws, key, err) {
    this.#forget(keyId(key));
    this.#set({ failed: this.state.failed + 1, error: `${err.name}: ${err.message}` });
    ws.send(encodeMessage("failure", { ...key, error: `${err.name}: ${err.message}`.slice(0, 2e3), permanent: true }));
  }
  #forget(id) {
    this.dropped.add(id);
    if (this.dropped.size > 1024) this.dropped.delete(this.dropped.values().next().value);
  }
  /** Compute, attest and answer one order with its payload inline. */
  #answer(ws, msg) {
    const order = this.#parse(ws, msg);
    if (order !== null) this.#run(ws, order, null, {});
  }
  /**
   * Compute, attest and answer one order (a failure message when it cannot).
   *
   * @param input null (the payload inline, checked here), or a streamed payload, checked:
   *   {payload: Uint8Array} or {spool: id} (in OPFS)
   */
  async #run(ws, order, input, timings) {
    const key = { task_id: order.taskId, round: order.round, replica: order.replica };
    this.#set({ task: `${order.kernel} ${order.taskId.slice(0, 8)} (replica ${order.replica})`, stage: "payload" });
    let messages;
    const joined = this.batcher?.computing() ?? (() => {
    });
    try {
      if (input === null && await sha256HexAsync(order.payload) !== order.payloadSha256) {
        throw new PayloadError("the order's payload does not hash to its reference");
      }
      const payload = input === null ? { payload: order.payload.slice() } : input;
      const done = await this.client.run({
        kernel: order.kernel,
        ...payload,
        params: order.params,
        seed: order.seed,
        outputLen: order.outputLen
      });
      this.#set({ stage: "attest" });
      const t0 = performance.now();
      const version = await this.client.version(order.keyId);
      let attestation;
      if (this.batcher) {
        const claim = replicaLeaf(version, order, done.digest);
        const attested = this.batcher.attest(order.keyId, claim);
        joined();
        const { receipt, proofBytes } = await attested;
        attestation = { batch: receipt, batchProof: proofBytes };
      } else {
        const inputs = replicaInputs(version, order, done.digest, this.identity.secret);
        attestation = await this.client.prove(order.keyId, inputs);
      }
      const seconds = (performance.now() - t0) / 1e3;
      messages = resultMessages(key, order.keyId, done.output, attestation, { ...timings, ...done.timings, attest: seconds });
      this.#set({ done: this.state.done + 1, lastProof: seconds });
    } catch (err) {
      messages = [encodeMessage("failure", {
        ...key,
        error: `${err.name}: ${err.message}`.slice(0, 2e3),
        permanent: PERMANENT.has(err.name)
      })];
      this.#set({ failed: this.state.failed + 1, error: `${err.name}: ${err.message}` });
    } finally {
      joined();
      this.#set({ task: null, stage: "waiting for orders" });
    }
    for (const m of messages) ws.send(m);
  }
  /** One batch's proof, as workers/engine.py `_prove_batch`: {receipt of leaf 0, proofBytes}. */
  async #proveBatch(keyId2, leaves) {
    const id = crypto.randomUUID();
    const rootHex = root(leaves);
    const version = await this.client.version(keyId2);
    const inputs = batchInputs(version, id, leaves.length, rootHex, this.identity.secret);
    const t0 = performance.now();
    const { proof, publicSignals } = await this.client.prove(keyId2, inputs);
    this.state.proofs += 1;
    this.state.proving += (performance.now() - t0) / 1e3;
    const stored = { id, root: rootHex, size: leaves.length, key_id: keyId2, proof, public_signals: publicSignals };
    const proofBytes = new TextEncoder().encode(JSON.stringify(stored));
    const receipt = {
      id,
      index: 0,
      size: leaves.length,
      root: rootHex,
      path: [],
      key_id: keyId2,
      proof_sha256: sha256Hex(proofBytes),
      proof_size: proofBytes.length
    };
    return { receipt, proofBytes };
  }
};
function keyId(key) {
  return `${key.task_id}/${key.round}/${key.replica}`;
}
function resultMessages(key, keyId2, output, attestation, timings) {
  const n = output.length;
  const chunked = n > CHUNK;
  const meta = { ...key, key_id: keyId2, timings, size: n, chunks: chunked ? Math.ceil(n / CHUNK) : 0 };
  const segments = chunked ? [] : [output];
  if (attestation.batch) {
    meta.batch = attestation.batch;
    segments.push(attestation.batchProof);
  } else {
    Object.assign(meta, { proof: attestation.proof, public_signals: attestation.publicSignals });
  }
  const head = encodeMessage("result", meta, segments);
  if (!chunked) return [head];
  const out = [head];
  for (let i = 0, at = 0; at < n; i++, at += CHUNK) {
    out.push(encodeMessage("chunk", { ...key, index: i }, [output.subarray(at, at + CHUNK)]));
  }
  return out;
}

// src/page/ui.js
var byId = (id) => document.getElementById(id);
function show(id, text) {
  const el = byId(id);
  if (el && el.textContent !== text) el.textContent = text;
}
var RENDER_MS = 100;
var ComputeClient = class {
  constructor(worker, proverWorker = worker) {
    this.worker = worker;
    this.proverWorker = proverWorker;
    this.pending = /* @__PURE__ */ new Map();
    this.nextId = 1;
    this.nextSpool = 1;
    this.versions = /* @__PURE__ */ new Map();
    this.onstage = () => {
    };
    for (const [w, what] of /* @__PURE__ */ new Map([[proverWorker, "prover"], [worker, "compute"]])) {
      w.addEventListener("message", (event) => this.#receive(event.data));
      w.addEventListener("error", (event) => {
        const err = new Error(`the ${what} worker failed: ${event.message}`);
        for (const waiter of this.pending.values()) waiter.reject(err);
        this.pending.clear();
      });
    }
  }
  #receive(msg) {
    if (msg.type === "stage") return this.onstage(msg.id, msg.stage);
    const waiter = this.pending.get(msg.id ?? 0);
    if (!waiter) return;
    this.pending.delete(msg.id ?? 0);
    if (msg.type === "error") {
      const err = new Error(msg.message);
      err.name = msg.name;
      waiter.reject(err);
    } else {
      waiter.resolve(msg);
    }
  }
  #call(msg, transfer = [], worker = this.worker) {
    const id = this.nextId++;
    return new Promise((resolve2, reject) => {
      this.pending.set(id, { resolve: resolve2, reject });
      worker.postMessage({ ...msg, id }, transfer);
    });
  }
  /**
   * Load the gateway's files and open the GPU (and give the prover the gateway); resolves to
   * the compute worker's {adapter, maxBinding, spill, spillReason}.
   */
  async init(base) {
    const msg = { type: "init", base: String(base) };
    const [ready] = await Promise.all([
      this.#call(msg),
      this.proverWorker === this.worker ? null : this.#call(msg, [], this.proverWorker)
    ]);
    return ready;
  }
  /**
   * Run an order in the worker (its payload's buffer is transferred, not copied).
   *
   * @returns {Promise<{output: Uint8Array, digest: string, timings: object}>}
   */
  async run(order) {
    if (order.spool !== void 0) {
      const msg2 = await this.#call({ type: "run", order });
      return { output: new Uint8Array(msg2.output), digest: msg2.digest, timings: msg2.timings };
    }
    let payload = order.payload;
    if (payload instanceof Uint8Array) {
      payload = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload.buffer : payload.slice().buffer;
    }
    const msg = await this.#call({ type: "run", order: { ...order, payload } }, [payload]);
    return { output: new Uint8Array(msg.output), digest: msg.digest, timings: msg.timings };
  }
  /** Start a payload spilled to OPFS in the worker; its id. */
  spoolBegin(size) {
    const spool = this.nextSpool++;
    this.worker.postMessage({ type: "spool-begin", spool, size });
    return spool;
  }
  /** Write `data` (a Uint8Array; its buffer is transferred) at `at` of spilled payload `spool`. */
  spoolWrite(spool, data, at) {
    this.worker.postMessage({
      type: "spool-write",
      spool,
      at,
      data: data.buffer,
      offset: data.byteOffset,
      length: data.byteLength
    }, [data.buffer]);
  }
  /** Delete spilled payload `spool`. */
  spoolDrop(spool) {
    this.worker.postMessage({ type: "spool-drop", spool });
  }
  /**
   * The statement version (1 or 2) key `keyId` proves, from its verifying key's nPublic; asked
   * of the prover once per key (a busy prover would answer each replica late).
   */
  version(keyId2) {
    let known = this.versions.get(keyId2);
    if (known === void 0) {
      known = this.#call({ type: "version", keyId: keyId2 }, [], this.proverWorker).then((msg) => msg.version);
      this.versions.set(keyId2, known);
      known.catch(() => this.versions.delete(keyId2));
    }
    return known;
  }
  /** Prove attestation inputs under key `keyId`: {proof, publicSignals, seconds}. */
  prove(keyId2, inputs) {
    return this.#call({ type: "prove", keyId: keyId2, inputs }, [], this.proverWorker);
  }
};
function startPage(bundleUrl) {
  const base = new URL(".", bundleUrl);
  const worker = new Worker(bundleUrl, { type: "module", name: "compute" });
  const prover = new Worker(bundleUrl, { type: "module", name: "prover" });
  const client = new ComputeClient(worker, prover);
  const state = {
    adapter: null,
    done: 0,
    task: null,
    stage: "starting",
    errors: [],
    workerId: null,
    spill: "…",
    spilled: 0
  };
  let drawing = null;
  const render = () => {
    drawing ??= setTimeout(draw, RENDER_MS);
  };
  const draw = () => {
    drawing = null;
    show("adapter", state.adapter ?? "…");
    show("done", String(state.done));
    show("task", state.task ?? "idle");
    show("stage", state.stage);
    show("worker", state.workerId ?? "not joined");
    show("proofs", state.proof ?? "–");
    show("spill", `${state.spill}; ${state.spilled} spilled`);
    show("errors", state.errors.slice(-5).join("\n"));
  };
  const fail = (err) => {
    state.errors.push(`${(/* @__PURE__ */ new Date()).toISOString()} ${err.name}: ${err.message}`);
    render();
  };
  client.onstage = (id, stage) => {
    state.stage = stage;
    render();
  };
  const ready = client.init(base).then(
    (msg) => {
      state.adapter = msg.adapter;
      state.stage = "ready";
      render();
      join2(msg).catch(fail);
      return msg;
    },
    (err) => {
      state.stage = "failed";
      fail(err);
      throw err;
    }
  );
  async function join2({ adapter, spill: opfs, spillReason }) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    const query = new URLSearchParams(location.search);
    const option = (name, fallback) => Number(fragment.get(name) ?? query.get(name) ?? fallback);
    const [batch, wait] = [option("batch", 1), option("wait", 0)];
    const threshold = option("spill", 64 * 2 ** 20);
    state.spill = opfs ? `OPFS from ${threshold} bytes` : `memory (no OPFS here: ${spillReason})`;
    if (token) history.replaceState(null, "", location.pathname + location.search);
    const identity = await Identity.load();
    if (!token && !identity.workerId) {
      state.stage = "not enrolled: open this page with an operator's enrollment link";
      render();
      return;
    }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/session`;
    const browser = navigator.userAgentData?.brands?.find((b) => !/Not/.test(b.brand))?.brand ?? "browser";
    const session = new Session({
      url,
      token,
      client,
      identity,
      batch,
      wait,
      adapter: `${adapter} (WebGPU; ${browser})`,
      spill: opfs ? threshold : Infinity,
      onchange: (s) => {
        Object.assign(state, {
          done: s.done,
          task: s.task,
          stage: s.stage,
          workerId: s.workerId,
          connected: s.connected,
          failed: s.failed,
          spilled: s.spilled
        });
        if (s.lastProof !== null) state.proof = `${(s.lastProof * 1e3).toFixed(0)} ms`;
        if (s.error && state.errors.at(-1)?.endsWith(s.error) !== true) fail({ name: "session", message: s.error });
        render();
      }
    });
    api.session = session;
    addEventListener("pagehide", () => session.stop());
    addEventListener("pageshow", (event) => {
      if (event.persisted && session.stopped) {
        session.stopped = false;
        session.run().catch(fail);
      }
    });
    await session.run();
  }
  const api = {
    ready,
    state,
    client,
    /** Run one order {kernel, payload, params, seed}; see ComputeClient.run. */
    async run(order) {
      await ready;
      state.task = `${order.kernel} (${order.payload.byteLength} bytes)`;
      render();
      try {
        return await client.run(order);
      } catch (err) {
        fail(err);
        throw err;
      } finally {
        state.task = null;
        render();
      }
    }
  };
  globalThis.shardy = api;
  render();
  return api;
}

// src/page/gpu.js
var UNIFORM_BYTES = 64;
var UPLOAD_STEP = 1 << 20;
function upload(device, buffer, source, padded) {
  const step = new Uint8Array(Math.min(UPLOAD_STEP, padded));
  for (let at = 0; at < padded; at += step.length) {
    const piece = step.subarray(0, Math.min(step.length, padded - at));
    const have = Math.max(0, Math.min(piece.length, source.length - at));
    piece.fill(0, have);
    source.read(piece.subarray(0, have), at);
    device.queue.writeBuffer(buffer, at, piece);
  }
}
var GPU = class _GPU {
  constructor(adapter, device) {
    this.adapter = adapter;
    this.device = device;
    const info = adapter.info ?? {};
    this.name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
    this.maxBinding = Math.floor(device.limits.maxStorageBufferBindingSize / 16) * 16;
    this.layout = device.createBindGroupLayout({
      entries: ["read-only-storage", "storage", "uniform"].map((type, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type }
      }))
    });
    this.pipelines = /* @__PURE__ */ new Map();
    this.compiling = Promise.resolve();
    this.lost = false;
    device.lost.then(() => this.lost = true);
  }
  /**
   * The default adapter's device, with its largest storage binding and buffer sizes.
   *
   * @throws {GPUError} no WebGPU, or no adapter
   */
  static async open(gpu = globalThis.navigator?.gpu) {
    if (!gpu) throw new GPUError("this browser has no WebGPU (navigator.gpu); use Chromium 113+ or start it with --enable-unsafe-webgpu");
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new GPUError("WebGPU gave no adapter; check the browser's GPU settings");
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize
      }
    });
    return new _GPU(adapter, device);
  }
  /**
   * The compute pipeline of `name`'s WGSL `source` on the ABI layout (compiled once; replicas
   * that ask meanwhile wait for the same compilation, and compilations run one at a time, so
   * each one's error scope holds its own errors).
   */
  pipeline(name, source, entry = "main") {
    const key = `${name}\0${entry}`;
    let pipe = this.pipelines.get(key);
    if (pipe === void 0) {
      pipe = this.compiling.then(() => this.#compile(name, source, entry));
      this.compiling = pipe.catch(() => null);
      this.pipelines.set(key, pipe);
      pipe.catch(() => this.pipelines.delete(key));
    }
    return pipe;
  }
  async #compile(name, source, entry) {
    const module = this.device.createShaderModule({ code: source, label: name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length) {
      const m = errors[0];
      throw new KernelError(`kernel ${name}: WGSL does not compile: ${m.lineNum}:${m.linePos}: ${m.message}`);
    }
    this.device.pushErrorScope("validation");
    const created = this.device.createComputePipelineAsync({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout] }),
      compute: { module, entryPoint: entry }
    });
    const scope = this.device.popErrorScope();
    const [pipe, error] = await Promise.all([created.catch((err) => {
      throw new KernelError(`kernel ${name}: pipeline: ${err.message}`);
    }), scope]);
    if (error) throw new KernelError(`kernel ${name}: pipeline: ${error.message}`);
    return pipe;
  }
  /**
   * One dispatch: upload `data`, run `pipe` over the plan's workgroups, read back the output.
   *
   * @param pipe from `pipeline`
   * @param {Uint8Array | {length, read(target, at)}} data the (preprocessed) payload, or a
   *   spilled one (spill.js), uploaded in chunks
   * @param plan {outputLen, groups, uniforms: Uint32Array(16)}
   * @param {number} align 4 or 16: the bindings are zero-padded to it
   * @returns {Promise<Uint8Array>} exactly plan.outputLen bytes
   * @throws {KernelError} buffers above the binding limit; {GPUError} the device failed
   */
  async dispatch(pipe, data, plan, align) {
    if (this.lost) throw new GPUError("the WebGPU device was lost; reload the page");
    const n = data.length;
    if (n > this.maxBinding || plan.outputLen > this.maxBinding) {
      throw new KernelError(`buffers of ${Math.max(n, plan.outputLen)} bytes exceed this adapter's binding limit of ${this.maxBinding}; split the payload`);
    }
    const { device } = this;
    const padded = Math.ceil(n / align) * align || align;
    const outSize = Math.ceil(plan.outputLen / align) * align || align;
    const U = GPUBufferUsage;
    const buffers = [];
    const make = (size, usage, label) => {
      const b = device.createBuffer({ size, usage, label });
      buffers.push(b);
      return b;
    };
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    let scopes = 2;
    try {
      const inp = make(padded, U.STORAGE | U.COPY_DST, "payload");
      const res = make(outSize, U.STORAGE | U.COPY_SRC | U.COPY_DST, "output");
      const uni = make(UNIFORM_BYTES, U.UNIFORM | U.COPY_DST, "uniforms");
      const staging = make(outSize, U.MAP_READ | U.COPY_DST, "staging");
      if (data instanceof Uint8Array) {
        const whole = n - n % 4;
        if (whole) device.queue.writeBuffer(inp, 0, data, 0, whole);
        if (padded > whole) {
          const tail = new Uint8Array(padded - whole);
          tail.set(data.subarray(whole));
          device.queue.writeBuffer(inp, whole, tail);
        }
      } else {
        upload(device, inp, data, padded);
      }
      device.queue.writeBuffer(uni, 0, plan.uniforms);
      const bind = device.createBindGroup({
        layout: this.layout,
        entries: [
          { binding: 0, resource: { buffer: inp, offset: 0, size: padded } },
          { binding: 1, resource: { buffer: res, offset: 0, size: outSize } },
          { binding: 2, resource: { buffer: uni, offset: 0, size: UNIFORM_BYTES } }
        ]
      });
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(res, 0, outSize);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(...plan.groups);
      pass.end();
      encoder.copyBufferToBuffer(res, 0, staging, 0, outSize);
      device.queue.submit([encoder.finish()]);
      scopes = 0;
      const popped = [device.popErrorScope(), device.popErrorScope()];
      const mapped = staging.mapAsync(GPUMapMode.READ, 0, outSize);
      const [validation, oom] = await Promise.all(popped);
      if (validation || oom) {
        mapped.catch(() => null);
        throw new GPUError(`kernel dispatch failed on ${this.name}: ${(validation ?? oom).message}`);
      }
      await mapped;
      const out = new Uint8Array(plan.outputLen);
      out.set(new Uint8Array(staging.getMappedRange(0, outSize), 0, plan.outputLen));
      staging.unmap();
      return out;
    } catch (err) {
      if (err instanceof GPUError || err instanceof KernelError) throw err;
      throw new GPUError(`kernel dispatch failed on ${this.name}: ${err.message}; retry the task`, { cause: err });
    } finally {
      for (; scopes > 0; scopes--) device.popErrorScope().catch(() => null);
      for (const b of buffers) b.destroy();
    }
  }
};

// src/page/kernels.js
var MAX_GROUPS = 65535;
var UNIFORM_WORDS = 16;
var U32 = 2 ** 32;
function groupsFor(items, perGroup) {
  return [Math.max(1, Math.min(MAX_GROUPS, Math.ceil(items / perGroup))), 1, 1];
}
function uniforms(n, seed, ...extra) {
  const s = BigInt(seed);
  const words = [n, Number(s & 0xffffffffn), Number(s >> 32n), ...extra];
  if (words.length > UNIFORM_WORDS || words.some((w) => !Number.isInteger(w) || w < 0 || w >= U32)) {
    throw new KernelError("kernel uniforms must be at most 16 values in 0..2**32-1");
  }
  return Uint32Array.from([...words, ...new Array(UNIFORM_WORDS - words.length).fill(0)]);
}
function intParam(kernel, params, name, lo, hi) {
  const v = params[name];
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new KernelError(`${kernel}: ${name} must be an integer in ${lo}..${hi}, got ${v}`);
  }
  return v;
}
var WORDS_PER_INVOCATION = 256;
function histogramPlan(n, params, seed) {
  return {
    outputLen: 1024,
    groups: groupsFor(Math.ceil(n / 4), 256 * WORDS_PER_INVOCATION),
    uniforms: uniforms(n, seed)
  };
}
function sha256Plan(n, params, seed) {
  const block = intParam("sha256", params, "block", 1, 1 << 24);
  const blocks = Math.max(1, Math.ceil(n / block));
  return {
    outputLen: 32 * blocks,
    groups: groupsFor(blocks, 64),
    uniforms: uniforms(n, seed, block, blocks)
  };
}
var EMA_ITEMSIZE = { u8: 1, i8: 1, u16: 2, i16: 2 };
var EMA_FRAC_BITS = 8;
function emaChecked(n, params) {
  const { alpha, dtype } = params;
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new KernelError(`ema_sha256: alpha must be a number in [0, 1], got ${alpha}`);
  }
  const itemsize = EMA_ITEMSIZE[dtype];
  if (itemsize === void 0) {
    throw new KernelError(`ema_sha256: dtype must be one of i16, i8, u16, u8, got ${dtype}`);
  }
  if (n % itemsize) {
    throw new KernelError(`ema_sha256: a ${dtype} series needs a length divisible by ${itemsize}, got ${n} bytes`);
  }
  return n / itemsize * 4;
}
function emaSha256Plan(n, params, seed) {
  return sha256Plan(emaChecked(n, params), params, seed);
}
var Q28 = 2 ** 28;
function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d > 0.5 ? f + 1 : f;
  return f % 2 === 0 ? f : f + 1;
}
var u32 = (v) => (v % U32 + U32) % U32;
function mandelbrotPlan(n, params, seed) {
  const w = intParam("mandelbrot", params, "width", 1, 1 << 14);
  const h = intParam("mandelbrot", params, "height", 1, 1 << 14);
  const it = intParam("mandelbrot", params, "max_iter", 1, 1 << 20);
  const vals = ["x0", "y0", "step"].map((k) => params[k]);
  if (vals.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
    throw new KernelError(`mandelbrot: x0, y0 and step must be finite numbers, got ${vals}`);
  }
  const [x0, y0, step] = vals.map((v) => roundHalfEven(v * Q28));
  if (step < 1) throw new KernelError(`mandelbrot: step must be at least 2**-28, got ${params.step}`);
  if ([x0, y0, x0 + (w - 1) * step, y0 + (h - 1) * step].some((c) => Math.abs(c) > 2 * Q28)) {
    throw new KernelError("mandelbrot: the tile must lie within [-2, 2] x [-2, 2]");
  }
  return {
    outputLen: 4 * w * h,
    groups: groupsFor(w * h, 256),
    uniforms: uniforms(n, seed, w, h, u32(x0), u32(y0), step, it)
  };
}
function montecarloPlan(n, params, seed) {
  const samples = intParam("montecarlo_pi", params, "samples", 1, U32 - 1);
  const offset = intParam("montecarlo_pi", params, "offset", 0, U32 - samples);
  return { outputLen: 4, groups: groupsFor(samples, 256 * 64), uniforms: uniforms(n, seed, samples, offset) };
}
var FILTERS = {
  identity: [[0, 0, 0, 0, 1, 0, 0, 0, 0], 1, 0, false],
  box: [[1, 1, 1, 1, 1, 1, 1, 1, 1], 7282, 16, false],
  gaussian: [[1, 2, 1, 2, 4, 2, 1, 2, 1], 1, 4, false],
  sharpen: [[0, -1, 0, -1, 5, -1, 0, -1, 0], 1, 0, false],
  sobel_x: [[-1, 0, 1, -2, 0, 2, -1, 0, 1], 1, 0, true],
  sobel_y: [[-1, -2, -1, 0, 0, 0, 1, 2, 1], 1, 0, true],
  laplacian: [[0, 1, 0, 1, -4, 1, 0, 1, 0], 1, 0, true]
};
function convFilter(params) {
  if (params.weights === null) {
    if (!Object.hasOwn(FILTERS, params.filter)) {
      throw new KernelError(`conv2d_u8: filter must be one of ${Object.keys(FILTERS).sort()}, got ${params.filter}`);
    }
    return FILTERS[params.filter];
  }
  const { weights } = params;
  if (!Array.isArray(weights) || weights.length !== 9 || weights.some((x) => !Number.isInteger(x) || x < -128 || x > 127)) {
    throw new KernelError(`conv2d_u8: weights must be 9 integers in -128..127, got ${weights}`);
  }
  const mul = intParam("conv2d_u8", params, "mul", 1, 1 << 16);
  const shift = intParam("conv2d_u8", params, "shift", 0, 24);
  const abs = intParam("conv2d_u8", params, "abs", 0, 1);
  if (255 * weights.reduce((a, x) => a + Math.abs(x), 0) * mul + 2 ** shift >= 2 ** 31) {
    throw new KernelError("conv2d_u8: 255 * sum(|weights|) * mul must stay below 2**31");
  }
  return [weights, mul, shift, Boolean(abs)];
}
function convItems(w, h) {
  if (w % 16 === 0) return w / 16 * Math.ceil(h / 2);
  if (w % 4 === 0) return Math.ceil(w / 8) * Math.ceil(h / 2);
  return Math.ceil(w * h / 4);
}
function conv2dPlan(n, params, seed) {
  const w = intParam("conv2d_u8", params, "width", 1, 1 << 16);
  const h = intParam("conv2d_u8", params, "height", 1, 1 << 16);
  if (n !== w * h) throw new KernelError(`conv2d_u8: a ${w}x${h} image needs a payload of ${w * h} bytes, got ${n}`);
  const [weights, mul, shift, abs] = convFilter(params);
  const words = [w, h, ...weights.map(u32), mul, shift | Number(abs) << 8];
  return { outputLen: n, groups: groupsFor(convItems(w, h), 256), uniforms: uniforms(n, seed, ...words) };
}
var TILE = 128;
function matmulPlan(n, params, seed) {
  const m = intParam("matmul_f32", params, "m", 1, MAX_GROUPS * TILE);
  const cols = intParam("matmul_f32", params, "n", 1, MAX_GROUPS * TILE);
  const k = intParam("matmul_f32", params, "k", 1, 2 ** 28);
  const need = 4 * (m * k + k * cols);
  if (n !== need) throw new KernelError(`matmul_f32: A (${m}x${k}) then B (${k}x${cols}) as f32 need ${need} bytes, got ${n}`);
  return {
    outputLen: 4 * m * cols,
    groups: [Math.ceil(cols / TILE), Math.ceil(m / TILE), 1],
    uniforms: uniforms(n, seed, m, cols, k)
  };
}
var KERNELS = {
  histogram: { shader: "histogram.wgsl", align: 16, params: {}, plan: histogramPlan },
  sha256: { shader: "sha256.wgsl", align: 16, params: { block: 4096 }, plan: sha256Plan },
  ema_sha256: {
    shader: "sha256.wgsl",
    align: 16,
    params: { alpha: 0.25, dtype: "u8", block: 4096 },
    plan: emaSha256Plan,
    preprocess: { name: "ema", params: (p) => ({ alpha: p.alpha, dtype: p.dtype, frac_bits: EMA_FRAC_BITS }) }
  },
  mandelbrot: {
    shader: "mandelbrot.wgsl",
    align: 4,
    plan: mandelbrotPlan,
    params: { width: 256, height: 256, x0: -2, y0: -1.5, step: 3 / 256, max_iter: 256 }
  },
  montecarlo_pi: {
    shader: "montecarlo_pi.wgsl",
    align: 4,
    plan: montecarloPlan,
    params: { samples: 1 << 20, offset: 0 }
  },
  conv2d_u8: {
    shader: "conv2d_u8.wgsl",
    align: 16,
    plan: conv2dPlan,
    params: { width: null, height: null, filter: "gaussian", weights: null, mul: 1, shift: 0, abs: 0 }
  },
  matmul_f32: {
    shader: "matmul_f32.wgsl",
    align: 4,
    plan: matmulPlan,
    params: { m: null, n: null, k: null },
    tolerance: { atol: 1e-3, rtol: 1e-3 }
  }
};
function resolve(name, params = {}) {
  const kernel = Object.hasOwn(KERNELS, name) ? KERNELS[name] : void 0;
  if (kernel === void 0) {
    throw new KernelError(`kernel ${JSON.stringify(name)} does not run in the browser worker; it runs ${Object.keys(KERNELS).join(", ")}`);
  }
  const unknown = Object.keys(params).filter((k) => !Object.hasOwn(kernel.params, k)).sort();
  if (unknown.length) {
    const known = Object.keys(kernel.params).sort().join(", ") || "none";
    throw new KernelError(`kernel ${JSON.stringify(name)} has no parameter(s) ${unknown.join(", ")}; accepted: ${known}`);
  }
  return { kernel, params: { ...kernel.params, ...params } };
}
function makePlan(kernel, n, params, seed) {
  const s = BigInt(seed);
  if (s < 0n || s >= 2n ** 64n) throw new KernelError(`seed ${seed} is outside 0..2**64-1`);
  if (n >= U32) throw new KernelError(`payload of ${n} bytes exceeds the 4 GiB kernel limit`);
  const plan = kernel.plan(n, params, s);
  if (plan.groups.some((g) => g < 1 || g > MAX_GROUPS)) {
    throw new KernelError(`workgroups ${plan.groups} out of range`);
  }
  return plan;
}

// src/page/preprocess.js
var FRAME_BYTES = 128;
var FRAME_PARAMS = 14;
var STATUS_REASONS = {
  1: "the module refused a parameter",
  2: "the payload length does not fit the params",
  3: "no memory left for scratch space"
};
var DTYPES = { u8: [0, 1], i8: [1, 1], u16: [2, 2], i16: [3, 2] };
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
  if (n % isz || n / isz % channels) {
    throw new PreprocessError(`preprocessor 'ema': payload of ${n} bytes is not a whole number of ${channels}-channel ${dtype} samples`);
  }
  return { outLen: n / isz * 4, args: [code, channels, roundHalfEven(alpha * 65536), fracBits] };
}
var PLANNERS = { ema: emaPlan };
var Preprocessor = class _Preprocessor {
  /** @param {WebAssembly.Module} module the compiled shardy_preprocess.wasm */
  constructor(module) {
    this.module = module;
  }
  /** Compile the module's bytes (checked against the gateway's sha256 by the caller). */
  static async fromBytes(bytes) {
    return new _Preprocessor(await WebAssembly.compile(bytes));
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
    const planner = Object.hasOwn(PLANNERS, name) ? PLANNERS[name] : void 0;
    if (planner === void 0) throw new PreprocessError(`unknown preprocessor ${JSON.stringify(name)} in the browser worker; it runs ${Object.keys(PLANNERS)}`);
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
      else data.read(into, 0);
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
};

// src/page/compute.js
var now2 = () => performance.now() / 1e3;
var INFLIGHT_BYTES = 64 * 2 ** 20;
var Computer = class _Computer {
  constructor(assets, gpu) {
    this.assets = assets;
    this.gpu = gpu;
    this.preprocessor = null;
    this.inflight = 0;
    this.waiting = [];
  }
  /** Wait until a dispatch of `bytes` may start; resolves to its release (call it once). */
  #admit(bytes) {
    return new Promise((resolve2) => {
      this.waiting.push({ bytes, resolve: resolve2 });
      this.#pump();
    });
  }
  #pump() {
    while (this.waiting.length) {
      const next = this.waiting[0];
      if (this.inflight > 0 && this.inflight + next.bytes > INFLIGHT_BYTES) return;
      this.waiting.shift();
      this.inflight += next.bytes;
      next.resolve(() => {
        this.inflight -= next.bytes;
        this.#pump();
      });
    }
  }
  /** Load the gateway's manifest and open the GPU. */
  static async open(base) {
    const [assets, gpu] = await Promise.all([Assets.load(base), GPU.open()]);
    return new _Computer(assets, gpu);
  }
  async #preprocessor() {
    if (this.preprocessor === null) {
      this.preprocessor = await Preprocessor.fromBytes(await this.assets.bytes("preprocess.wasm"));
    }
    return this.preprocessor;
  }
  /**
   * Run one order.
   *
   * @param order {kernel, payload: Uint8Array | ArrayBuffer | a spilled payload ({length,
   *   read(target, at)}: spill.js, read in chunks into the GPU or wasm memory), params?, seed,
   *   outputLen?}
   * @param report called with each stage's name as it starts
   * @returns {Promise<{output: Uint8Array, digest: string, timings: object}>} the output, its
   *   sha256 (hex) and each stage's seconds
   * @throws {KernelError | PreprocessError | GPUError | AssetError}
   */
  async run(order, report = () => {
  }) {
    let payload = order.payload;
    if (!(payload instanceof Uint8Array) && typeof payload?.read !== "function") payload = new Uint8Array(payload);
    const { kernel, params } = resolve(order.kernel, order.params ?? {});
    const plan = makePlan(kernel, payload.length, params, order.seed ?? 0);
    if (order.outputLen !== void 0 && order.outputLen !== null && plan.outputLen !== order.outputLen) {
      throw new KernelError(`kernel ${order.kernel} produces ${plan.outputLen} bytes for this payload, the order says ${order.outputLen}`);
    }
    const t0 = now2();
    if (kernel.preprocess) {
      report("preprocess");
      const pre = await this.#preprocessor();
      payload = await pre.run(kernel.preprocess.name, payload, kernel.preprocess.params(params));
    }
    const t1 = now2();
    report("gpu");
    const source = await this.assets.text(`shaders/${kernel.shader}`);
    const pipe = await this.gpu.pipeline(kernel.shader, source);
    const release = await this.#admit(2 * (payload.length + plan.outputLen));
    let output;
    try {
      output = await this.gpu.dispatch(pipe, payload, plan, kernel.align);
    } finally {
      release();
    }
    const t2 = now2();
    const digest = sha256Hex(output);
    return { output, digest, timings: { preprocess: t1 - t0, gpu: t2 - t1, digest: now2() - t2 } };
  }
};

// src/witness.js
var CIRCOM_ERRORS = {
  1: "signal not found",
  2: "too many signals set",
  3: "signal already set",
  4: "assert failed (the inputs do not satisfy the circuit's constraints)",
  5: "not enough memory",
  6: "input signal array access exceeds the size",
  7: "out of bounds array access"
};
var FNV_OFFSET = 0xcbf29ce484222325n;
var FNV_PRIME = 0x100000001b3n;
var MASK64 = (1n << 64n) - 1n;
function fnv1a64(name) {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(name)) h = (h ^ BigInt(byte)) * FNV_PRIME & MASK64;
  return h;
}
var CircomAbort = class extends Error {
  constructor(code) {
    super(`circom error ${code}`);
    this.code = code;
  }
};
function toValue(name, v) {
  let n;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^[0-9]{1,80}$/.test(v)) n = BigInt(v);
  else throw new ProofError(`input ${JSON.stringify(name)} must be an integer in [0, r)`);
  if (n < 0n || n >= R) throw new ProofError(`input ${JSON.stringify(name)} must lie in [0, r)`);
  return n;
}
var WitnessCalculator = class {
  /** Use {@link createWitnessCalculator}. */
  constructor(instance, messages) {
    this._ex = instance.exports;
    this._messages = messages;
    for (const name of [
      "memory",
      "getSharedRWMemoryStart",
      "init",
      "setInputSignal",
      "getInputSignalSize",
      "getRawPrime",
      "getFieldNumLen32",
      "getWitnessSize",
      "getInputSize",
      "getWitness"
    ]) {
      if (!(name in this._ex)) throw new ProofError(`witness wasm lacks the export ${name}`);
    }
    this.n32 = this._ex.getFieldNumLen32();
    this._shared = this._ex.getSharedRWMemoryStart();
    this._ex.getRawPrime();
    this.prime = this._readShared();
    this.witnessSize = this._ex.getWitnessSize();
    this.inputSize = this._ex.getInputSize();
    if (this.prime !== R) {
      throw new ProofError(
        `witness wasm was compiled for prime ${this.prime}, not BLS12-381's scalar field; recompile with circom --prime bls12381`
      );
    }
  }
  _words() {
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
      const what = err instanceof CircomAbort ? CIRCOM_ERRORS[err.code] ?? `circom error ${err.code}` : `wasm trap: ${err.message}`;
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
};
async function createWitnessCalculator(wasm) {
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
    showSharedRWMemory: () => {
    }
  };
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, { runtime });
  } catch (err) {
    throw new ProofError(`witness wasm is not a circom 2 witness calculator: ${err.message}`, {
      cause: err
    });
  }
  exports = instance.exports;
  return new WitnessCalculator(instance, messages);
}

// src/page/prover.js
var utf83 = new TextEncoder();
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
function manifestId(manifest) {
  return bytesToHex(sha256(utf83.encode(canonical(manifest)))).slice(0, 16);
}
var Prover = class {
  /**
   * @param {string} origin the gateway's http(s) origin
   * @param {string | null} helperUrl the bundle's URL: with it, and two or more cores, a helper
   *   Web Worker (named "helper") computes π_A and π_B while this thread computes π_C
   */
  constructor(origin, helperUrl = null, fetchFn = globalThis.fetch.bind(globalThis)) {
    this.origin = origin;
    this.helperUrl = (globalThis.navigator?.hardwareConcurrency ?? 1) > 1 ? helperUrl : null;
    this.fetch = fetchFn;
    this.circuits = /* @__PURE__ */ new Map();
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
    const vkeyCanonical = utf83.encode(canonical(vkeyJson));
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
        Promise.all([connectHelper(worker, zkey.slice()), prepareProvingKey(pk, { parts: ["C"] })]),
        failed
      ]);
      return { version, calculator, key, options: { helper } };
    } catch (err) {
      worker.terminate();
      console.warn(`${err.message}; proving on one thread`);
      return { version, calculator, key: await prepareProvingKey(pk), options: {} };
    }
  }
  #circuit(kid) {
    let pending = this.circuits.get(kid);
    if (pending === void 0) {
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
};

// src/page/spill.js
var STEP = 1 << 20;
var Source = class {
  constructor(handle, length) {
    this.handle = handle;
    this.length = length;
  }
  /** Fill `target` (a Uint8Array) with the payload's bytes from offset `at`. */
  read(target, at) {
    for (let done = 0; done < target.length; ) {
      const n = this.handle.read(target.subarray(done, Math.min(target.length, done + STEP)), { at: at + done });
      if (n <= 0) throw new Error(`the spilled payload ends at ${at + done} of ${this.length} bytes`);
      done += n;
    }
  }
};
var Spill = class _Spill {
  constructor(dir) {
    this.dir = dir;
    this.files = /* @__PURE__ */ new Map();
    this.chains = /* @__PURE__ */ new Map();
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
      return { spill: new _Spill(dir) };
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
    if (opened === void 0) return;
    const f = await opened.catch(() => null);
    if (f === null) return;
    f.handle.close();
    await this.dir.removeEntry(f.name).catch(() => null);
  }
  #get(id) {
    const f = this.chains.get(id);
    if (f === void 0) throw new Error(`no spilled payload ${id}`);
    return f;
  }
};

// src/page/worker.js
function serveCompute(port, bundleUrl = null, role = "all") {
  let computer = null;
  let opening = null;
  let prover = null;
  let spill = null;
  const noGateway = () => new Error("the compute worker has no gateway yet: send init first");
  port.addEventListener("message", async (event) => {
    const msg = event.data;
    try {
      if (msg.type === "spool-write") {
        spill.write(msg.spool, new Uint8Array(msg.data, msg.offset, msg.length), msg.at);
      } else if (msg.type === "spool-begin") {
        spill.begin(msg.spool, msg.size);
      } else if (msg.type === "spool-drop") {
        await spill?.drop(msg.spool);
      } else if (msg.type === "init" && role === "prover") {
        prover ??= new Prover(new URL(msg.base).origin, bundleUrl);
        port.postMessage({ type: "ready", id: msg.id });
      } else if (msg.type === "init") {
        if (role === "all") prover ??= new Prover(new URL(msg.base).origin, bundleUrl);
        opening ??= Promise.all([Computer.open(msg.base), Spill.open()]);
        let opfs;
        [computer, opfs] = await opening;
        spill = opfs.spill ?? null;
        port.postMessage({
          type: "ready",
          id: msg.id,
          adapter: computer.gpu.name,
          maxBinding: computer.gpu.maxBinding,
          spill: spill ? "opfs" : null,
          spillReason: opfs.reason ?? null
        });
      } else if (msg.type === "run") {
        if (computer === null) throw noGateway();
        const report = (stage) => port.postMessage({ type: "stage", id: msg.id, stage });
        let order = msg.order;
        try {
          if (order.spool !== void 0) order = { ...order, payload: await spill.source(order.spool) };
          const { output, digest, timings } = await computer.run(order, report);
          port.postMessage({ type: "output", id: msg.id, output: output.buffer, digest, timings }, [output.buffer]);
        } finally {
          if (order.spool !== void 0) await spill.drop(order.spool);
        }
      } else if (msg.type === "version") {
        if (prover === null) throw noGateway();
        port.postMessage({ type: "version", id: msg.id, version: await prover.version(msg.keyId) });
      } else if (msg.type === "prove") {
        if (prover === null) throw noGateway();
        const t0 = performance.now();
        const { proof, publicSignals } = await prover.prove(msg.keyId, msg.inputs);
        port.postMessage({ type: "proof", id: msg.id, proof, publicSignals, seconds: (performance.now() - t0) / 1e3 });
      }
    } catch (err) {
      if (computer === null) opening = null;
      port.postMessage({ type: "error", id: msg.id, name: err.name, message: err.message });
    }
  });
}

// src/page/main.js
var inWorker = typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope;
if (inWorker && globalThis.name === "helper") {
  serveHelper(globalThis);
} else if (inWorker) {
  serveCompute(globalThis, import.meta.url, globalThis.name === "prover" ? "prover" : "compute");
} else {
  startPage(import.meta.url);
}
