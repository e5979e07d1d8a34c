// One replica's data path in the page, as workers/engine.py `_run`: plan (the kernel's own
// rules), preprocess (the repository's .wasm), run the repository's WGSL on WebGPU, and hash
// the output. Runs inside the page's Web Worker (worker.js).
import { Assets, sha256Hex } from "./assets.js";
import { GPU } from "./gpu.js";
import { KernelError } from "./errors.js";
import { makePlan, resolve } from "./kernels.js";
import { Preprocessor } from "./preprocess.js";

const now = () => performance.now() / 1000;
/**
 * Bytes of GPU buffers that replicas' dispatches may hold at once (payload and output, each
 * also staged): many small replicas are submitted together and read back in one wait, while a
 * large one runs alone (workers/engine.py runs one at a time under its gpu_lock: wgpu-py's
 * device is shared by threads; the page's is driven from this one thread).
 */
const INFLIGHT_BYTES = 64 * 2 ** 20;

/** The page's compute resources: the gateway's files, the GPU, the preprocessor module. */
export class Computer {
  constructor(assets, gpu) {
    this.assets = assets;
    this.gpu = gpu;
    this.preprocessor = null;
    // dispatches in flight together, up to INFLIGHT_BYTES of buffers (any one alone), admitted
    // in order of arrival (a large replica is not overtaken by a stream of small ones)
    this.inflight = 0;
    this.waiting = [];
  }

  /** Wait until a dispatch of `bytes` may start; resolves to its release (call it once). */
  #admit(bytes) {
    return new Promise((resolve) => {
      this.waiting.push({ bytes, resolve });
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
    return new Computer(assets, gpu);
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
  async run(order, report = () => {}) {
    let payload = order.payload;
    if (!(payload instanceof Uint8Array) && typeof payload?.read !== "function") payload = new Uint8Array(payload);
    const { kernel, params } = resolve(order.kernel, order.params ?? {});
    const plan = makePlan(kernel, payload.length, params, order.seed ?? 0);
    if (order.outputLen !== undefined && order.outputLen !== null && plan.outputLen !== order.outputLen) {
      throw new KernelError(`kernel ${order.kernel} produces ${plan.outputLen} bytes for this payload, the order says ${order.outputLen}`);
    }
    const t0 = now();
    if (kernel.preprocess) {
      report("preprocess");
      const pre = await this.#preprocessor();
      payload = await pre.run(kernel.preprocess.name, payload, kernel.preprocess.params(params));
    }
    const t1 = now();
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
    const t2 = now();
    const digest = sha256Hex(output);
    return { output, digest, timings: { preprocess: t1 - t0, gpu: t2 - t1, digest: now() - t2 } };
  }
}
