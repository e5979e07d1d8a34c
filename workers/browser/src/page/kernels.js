// The built-in kernels' dispatch plans, mirroring shardy/kernels/*.py: for a payload length,
// params and seed, the output size, the workgroups to dispatch and the 16 uniform words (the
// binding ABI of shardy/kernels/kernel.py: 0 = payload, 1 = output, 2 = uniforms), and the
// preprocessor (WASM) a kernel runs first. tests/workers/test_browser_page.py checks the
// outputs against the Python worker's.
import { KernelError } from "./errors.js";

export const MAX_GROUPS = 65535;
export const UNIFORM_WORDS = 16;
const U32 = 2 ** 32;

/** Workgroups for a grid-stride loop over `items` (capped; kernels loop), as groups_for. */
export function groupsFor(items, perGroup) {
  return [Math.max(1, Math.min(MAX_GROUPS, Math.ceil(items / perGroup))), 1, 1];
}

/** The 16 uniform words: payload length, seed low/high words, then `extra` from p[0].w on. */
export function uniforms(n, seed, ...extra) {
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

// ---- histogram (shardy/kernels/histogram.py) --------------------------------------------------

const WORDS_PER_INVOCATION = 256;

function histogramPlan(n, params, seed) {
  return { outputLen: 1024, groups: groupsFor(Math.ceil(n / 4), 256 * WORDS_PER_INVOCATION),
           uniforms: uniforms(n, seed) };
}

// ---- sha256 and ema_sha256 (shardy/kernels/sha256.py) -----------------------------------------

function sha256Plan(n, params, seed) {
  const block = intParam("sha256", params, "block", 1, 1 << 24);
  const blocks = Math.max(1, Math.ceil(n / block));
  return { outputLen: 32 * blocks, groups: groupsFor(blocks, 64),
           uniforms: uniforms(n, seed, block, blocks) };
}

const EMA_ITEMSIZE = { u8: 1, i8: 1, u16: 2, i16: 2 };
const EMA_FRAC_BITS = 8;

function emaChecked(n, params) {
  const { alpha, dtype } = params;
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new KernelError(`ema_sha256: alpha must be a number in [0, 1], got ${alpha}`);
  }
  const itemsize = EMA_ITEMSIZE[dtype];
  if (itemsize === undefined) {
    throw new KernelError(`ema_sha256: dtype must be one of i16, i8, u16, u8, got ${dtype}`);
  }
  if (n % itemsize) {
    throw new KernelError(`ema_sha256: a ${dtype} series needs a length divisible by ${itemsize}, got ${n} bytes`);
  }
  return (n / itemsize) * 4;
}

function emaSha256Plan(n, params, seed) {
  return sha256Plan(emaChecked(n, params), params, seed);
}

// ---- mandelbrot (shardy/kernels/mandelbrot.py) ------------------------------------------------

const Q28 = 2 ** 28;

/** round(x) with ties to even, as Python's round. */
export function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d > 0.5 ? f + 1 : f;
  return f % 2 === 0 ? f : f + 1;
}

const u32 = (v) => ((v % U32) + U32) % U32;

function mandelbrotPlan(n, params, seed) {
  const w = intParam("mandelbrot", params, "width", 1, 1 << 14);
  const h = intParam("mandelbrot", params, "height", 1, 1 << 14);
  const it = intParam("mandelbrot", params, "max_iter", 1, 1 << 20);
  const vals = ["x0", "y0", "step"].map((k) => params[k]);
  if (vals.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
    throw new KernelError(`mandelbrot: x0, y0 and step must be finite numbers, got ${vals}`);
  }
  const [x0, y0, step] = vals.map((v) => roundHalfEven(v * Q28));  // exact: a power-of-2 scale
  if (step < 1) throw new KernelError(`mandelbrot: step must be at least 2**-28, got ${params.step}`);
  if ([x0, y0, x0 + (w - 1) * step, y0 + (h - 1) * step].some((c) => Math.abs(c) > 2 * Q28)) {
    throw new KernelError("mandelbrot: the tile must lie within [-2, 2] x [-2, 2]");
  }
  return { outputLen: 4 * w * h, groups: groupsFor(w * h, 256),
           uniforms: uniforms(n, seed, w, h, u32(x0), u32(y0), step, it) };
}

// ---- montecarlo_pi (shardy/kernels/montecarlo_pi.py) ------------------------------------------

function montecarloPlan(n, params, seed) {
  const samples = intParam("montecarlo_pi", params, "samples", 1, U32 - 1);
  const offset = intParam("montecarlo_pi", params, "offset", 0, U32 - samples);
  return { outputLen: 4, groups: groupsFor(samples, 256 * 64), uniforms: uniforms(n, seed, samples, offset) };
}

// ---- conv2d_u8 (shardy/kernels/conv2d_u8.py) --------------------------------------------------

const FILTERS = {
  identity: [[0, 0, 0, 0, 1, 0, 0, 0, 0], 1, 0, false],
  box: [[1, 1, 1, 1, 1, 1, 1, 1, 1], 7282, 16, false],
  gaussian: [[1, 2, 1, 2, 4, 2, 1, 2, 1], 1, 4, false],
  sharpen: [[0, -1, 0, -1, 5, -1, 0, -1, 0], 1, 0, false],
  sobel_x: [[-1, 0, 1, -2, 0, 2, -1, 0, 1], 1, 0, true],
  sobel_y: [[-1, -2, -1, 0, 0, 0, 1, 2, 1], 1, 0, true],
  laplacian: [[0, 1, 0, 1, -4, 1, 0, 1, 0], 1, 0, true],
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
  if (w % 16 === 0) return (w / 16) * Math.ceil(h / 2);
  if (w % 4 === 0) return Math.ceil(w / 8) * Math.ceil(h / 2);
  return Math.ceil((w * h) / 4);
}

function conv2dPlan(n, params, seed) {
  const w = intParam("conv2d_u8", params, "width", 1, 1 << 16);
  const h = intParam("conv2d_u8", params, "height", 1, 1 << 16);
  if (n !== w * h) throw new KernelError(`conv2d_u8: a ${w}x${h} image needs a payload of ${w * h} bytes, got ${n}`);
  const [weights, mul, shift, abs] = convFilter(params);
  const words = [w, h, ...weights.map(u32), mul, shift | (Number(abs) << 8)];
  return { outputLen: n, groups: groupsFor(convItems(w, h), 256), uniforms: uniforms(n, seed, ...words) };
}

// ---- matmul_f32 (shardy/kernels/matmul_f32.py; a tolerance kernel) ----------------------------

const TILE = 128;

function matmulPlan(n, params, seed) {
  const m = intParam("matmul_f32", params, "m", 1, MAX_GROUPS * TILE);
  const cols = intParam("matmul_f32", params, "n", 1, MAX_GROUPS * TILE);
  const k = intParam("matmul_f32", params, "k", 1, 2 ** 28);
  const need = 4 * (m * k + k * cols);
  if (n !== need) throw new KernelError(`matmul_f32: A (${m}x${k}) then B (${k}x${cols}) as f32 need ${need} bytes, got ${n}`);
  return { outputLen: 4 * m * cols, groups: [Math.ceil(cols / TILE), Math.ceil(m / TILE), 1],
           uniforms: uniforms(n, seed, m, cols, k) };
}

// ---- the registry ------------------------------------------------------------------------------

/**
 * name → {shader, align, params (defaults), plan(n, params, seed), preprocess?: {name,
 * params(resolved)}}. `align`: the payload and output bindings are zero-padded to it.
 */
export const KERNELS = {
  histogram: { shader: "histogram.wgsl", align: 16, params: {}, plan: histogramPlan },
  sha256: { shader: "sha256.wgsl", align: 16, params: { block: 4096 }, plan: sha256Plan },
  ema_sha256: {
    shader: "sha256.wgsl", align: 16, params: { alpha: 0.25, dtype: "u8", block: 4096 },
    plan: emaSha256Plan,
    preprocess: { name: "ema", params: (p) => ({ alpha: p.alpha, dtype: p.dtype, frac_bits: EMA_FRAC_BITS }) },
  },
  mandelbrot: {
    shader: "mandelbrot.wgsl", align: 4, plan: mandelbrotPlan,
    params: { width: 256, height: 256, x0: -2.0, y0: -1.5, step: 3 / 256, max_iter: 256 },
  },
  montecarlo_pi: {
    shader: "montecarlo_pi.wgsl", align: 4, plan: montecarloPlan, params: { samples: 1 << 20, offset: 0 },
  },
  conv2d_u8: {
    shader: "conv2d_u8.wgsl", align: 16, plan: conv2dPlan,
    params: { width: null, height: null, filter: "gaussian", weights: null, mul: 1, shift: 0, abs: 0 },
  },
  matmul_f32: {
    shader: "matmul_f32.wgsl", align: 4, plan: matmulPlan, params: { m: null, n: null, k: null },
    tolerance: { atol: 1e-3, rtol: 1e-3 },
  },
};

/**
 * A kernel and its resolved params (defaults merged; unknown names refused).
 *
 * @throws {KernelError} unknown kernel or parameter
 */
export function resolve(name, params = {}) {
  const kernel = Object.hasOwn(KERNELS, name) ? KERNELS[name] : undefined;
  if (kernel === undefined) {
    throw new KernelError(`kernel ${JSON.stringify(name)} does not run in the browser worker; it runs ${Object.keys(KERNELS).join(", ")}`);
  }
  const unknown = Object.keys(params).filter((k) => !Object.hasOwn(kernel.params, k)).sort();
  if (unknown.length) {
    const known = Object.keys(kernel.params).sort().join(", ") || "none";
    throw new KernelError(`kernel ${JSON.stringify(name)} has no parameter(s) ${unknown.join(", ")}; accepted: ${known}`);
  }
  return { kernel, params: { ...kernel.params, ...params } };
}

/** The plan of `name` for a payload of `n` bytes (validated as Kernel.make_plan does). */
export function makePlan(kernel, n, params, seed) {
  const s = BigInt(seed);
  if (s < 0n || s >= 2n ** 64n) throw new KernelError(`seed ${seed} is outside 0..2**64-1`);
  if (n >= U32) throw new KernelError(`payload of ${n} bytes exceeds the 4 GiB kernel limit`);
  const plan = kernel.plan(n, params, s);
  if (plan.groups.some((g) => g < 1 || g > MAX_GROUPS)) {
    throw new KernelError(`workgroups ${plan.groups} out of range`);
  }
  return plan;
}
