// One replica's data path in the page, as workers/engine.py `_run`: plan (the kernel's own
// rules), preprocess (the repository's .wasm), run the repository's WGSL on WebGPU, and hash
// the output. Runs inside the page's Web Worker (worker.js).
import { Assets, sha256Hex } from "./assets.js";
import { GPU } from "./gpu.js";
import { KernelError } from "./errors.js";
import { makePlan, resolve } from "./kernels.js";
import { Preprocessor } from "./preprocess.js";

const now = () => performance.now() / 1000;

/** The page's compute resources: the gateway's files, the GPU, the preprocessor module. */
export class Computer {
  constructor(assets, gpu) {
    this.assets = assets;
    this.gpu = gpu;
    this.preprocessor = null;
    this.gpuQueue = Promise.resolve();  // one dispatch at a time (workers/engine.py's gpu_lock)
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
    const turn = this.gpuQueue.then(async () => {
      const pipe = await this.gpu.pipeline(kernel.shader, source);
      return this.gpu.dispatch(pipe, payload, plan, kernel.align);
    });
    this.gpuQueue = turn.catch(() => null);
    const output = await turn;
    const t2 = now();
    const digest = sha256Hex(output);
    return { output, digest, timings: { preprocess: t1 - t0, gpu: t2 - t1, digest: now() - t2 } };
  }
}
