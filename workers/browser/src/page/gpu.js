// The page's GPU: one WebGPU device, the kernel binding ABI (shardy/kernels/abi.py: 0 = payload,
// read-only storage; 1 = output, storage; 2 = 16 u32 uniforms), pipelines cached by shader
// name, and one dispatch per replica as workers/gpu.py does: payload and output zero-padded to
// the kernel's alignment, output cleared, read back through a mapped staging buffer. A
// dispatch's encoding and submission run without a pause, so several replicas' dispatches may
// be in flight at once (their read-backs awaited together: one round trip to the GPU process
// for many replicas, not one each).
import { GPUError, KernelError } from "./errors.js";

const UNIFORM_BYTES = 64;
/** Bytes of a spilled payload uploaded per step (writeBuffer copies them at once). */
const UPLOAD_STEP = 1 << 20;

/** Upload a spilled payload `source` into `buffer` a step at a time, zero-padded to `padded`. */
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

/** One adapter's device and its compiled kernels. */
export class GPU {
  constructor(adapter, device) {
    this.adapter = adapter;
    this.device = device;
    const info = adapter.info ?? {};
    /** what the page reports, e.g. "google swiftshader (WebGPU)" */
    this.name = [info.vendor, info.architecture, info.device, info.description]
      .filter(Boolean).join(" ") || "unknown adapter";
    this.maxBinding = Math.floor(device.limits.maxStorageBufferBindingSize / 16) * 16;
    this.layout = device.createBindGroupLayout({
      entries: ["read-only-storage", "storage", "uniform"].map((type, binding) => ({
        binding, visibility: GPUShaderStage.COMPUTE, buffer: { type },
      })),
    });
    this.pipelines = new Map();  // name and entry → Promise<GPUComputePipeline>
    this.compiling = Promise.resolve();
    this.lost = false;
    device.lost.then(() => (this.lost = true));
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
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    return new GPU(adapter, device);
  }

  /**
   * The compute pipeline of `name`'s WGSL `source` on the ABI layout (compiled once; replicas
   * that ask meanwhile wait for the same compilation, and compilations run one at a time, so
   * each one's error scope holds its own errors).
   */
  pipeline(name, source, entry = "main") {
    const key = `${name}\0${entry}`;
    let pipe = this.pipelines.get(key);
    if (pipe === undefined) {
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
      compute: { module, entryPoint: entry },
    });
    const scope = this.device.popErrorScope();  // popped at once: dispatches may run meanwhile
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
      // buffers: payload (zero-padded), output, uniforms, staging
      const inp = make(padded, U.STORAGE | U.COPY_DST, "payload");
      const res = make(outSize, U.STORAGE | U.COPY_SRC | U.COPY_DST, "output");
      const uni = make(UNIFORM_BYTES, U.UNIFORM | U.COPY_DST, "uniforms");
      const staging = make(outSize, U.MAP_READ | U.COPY_DST, "staging");
      if (data instanceof Uint8Array) {
        const whole = n - (n % 4);
        if (whole) device.queue.writeBuffer(inp, 0, data, 0, whole);
        if (padded > whole) {  // a partial last word and the padding: at most 15 bytes
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
          { binding: 2, resource: { buffer: uni, offset: 0, size: UNIFORM_BYTES } },
        ],
      });
      // dispatch, then copy to staging and read back
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(res, 0, outSize);
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(...plan.groups);
      pass.end();
      encoder.copyBufferToBuffer(res, 0, staging, 0, outSize);
      device.queue.submit([encoder.finish()]);
      // both scopes popped before the first await: from push to pop nothing yields, so
      // dispatches in flight together never see each other's errors
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
}
