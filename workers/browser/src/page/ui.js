// The page a person sees: it starts the compute Web Worker, joins the gateway as a remote
// worker (with the enrollment link's token, `#token=shy1…`, or the identity it enrolled
// before), shows the adapter, replicas done, the current task and stage, proof times and
// errors, and offers `window.shardy` (its state, and `run` for tests).
import { Identity } from "./identity.js";
import { Session } from "./session.js";

const byId = (id) => document.getElementById(id);

function show(id, text) {
  const el = byId(id);
  if (el && el.textContent !== text) el.textContent = text;  // an unchanged field costs no paint
}

/** Milliseconds between two repaints of the status: a busy tab changes it many times each. */
const RENDER_MS = 100;

/**
 * The page's side of its workers, by id: orders out to the compute worker (GPU) and outputs
 * back; proofs from the prover worker (the compute worker itself when none is given).
 */
export class ComputeClient {
  constructor(worker, proverWorker = worker) {
    this.worker = worker;
    this.proverWorker = proverWorker;
    this.pending = new Map();
    this.nextId = 1;
    this.nextSpool = 1;
    this.versions = new Map();  // key id → Promise<statement version>
    this.onstage = () => {};
    for (const [w, what] of new Map([[proverWorker, "prover"], [worker, "compute"]])) {
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
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /**
   * Load the gateway's files and open the GPU (and give the prover the gateway); resolves to
   * the compute worker's {adapter, maxBinding, spill, spillReason}.
   */
  async init(base) {
    const msg = { type: "init", base: String(base) };
    const [ready] = await Promise.all([this.#call(msg),
      this.proverWorker === this.worker ? null : this.#call(msg, [], this.proverWorker)]);
    return ready;
  }

  /**
   * Run an order in the worker (its payload's buffer is transferred, not copied).
   *
   * @returns {Promise<{output: Uint8Array, digest: string, timings: object}>}
   */
  async run(order) {
    if (order.spool !== undefined) {  // a payload spilled to OPFS in the worker already
      const msg = await this.#call({ type: "run", order });
      return { output: new Uint8Array(msg.output), digest: msg.digest, timings: msg.timings };
    }
    let payload = order.payload;
    if (payload instanceof Uint8Array) {
      payload = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength
        ? payload.buffer : payload.slice().buffer;
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
    this.worker.postMessage({ type: "spool-write", spool, at, data: data.buffer, offset: data.byteOffset,
                              length: data.byteLength }, [data.buffer]);
  }

  /** Delete spilled payload `spool`. */
  spoolDrop(spool) {
    this.worker.postMessage({ type: "spool-drop", spool });
  }

  /**
   * The statement version (1 or 2) key `keyId` proves, from its verifying key's nPublic; asked
   * of the prover once per key (a busy prover would answer each replica late).
   */
  version(keyId) {
    let known = this.versions.get(keyId);
    if (known === undefined) {
      known = this.#call({ type: "version", keyId }, [], this.proverWorker).then((msg) => msg.version);
      this.versions.set(keyId, known);
      known.catch(() => this.versions.delete(keyId));  // a key that failed to load is asked again
    }
    return known;
  }

  /** Prove attestation inputs under key `keyId`: {proof, publicSignals, seconds}. */
  prove(keyId, inputs) {
    return this.#call({ type: "prove", keyId, inputs }, [], this.proverWorker);
  }
}

/** Start the page: the compute worker from this same bundle, then the status display. */
export function startPage(bundleUrl) {
  const base = new URL(".", bundleUrl);
  const worker = new Worker(bundleUrl, { type: "module", name: "compute" });
  const prover = new Worker(bundleUrl, { type: "module", name: "prover" });
  const client = new ComputeClient(worker, prover);
  const state = { adapter: null, done: 0, task: null, stage: "starting", errors: [], workerId: null,
                  spill: "…", spilled: 0 };
  // the status is drawn at most every RENDER_MS (one replica changes it several times, and each
  // change of the DOM costs the renderer and the GPU process a paint the prover needs the CPU for)
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
    state.errors.push(`${new Date().toISOString()} ${err.name}: ${err.message}`);
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
      join(msg).catch(fail);
      return msg;
    },
    (err) => {
      state.stage = "failed";
      fail(err);
      throw err;
    },
  );
  async function join({ adapter, spill: opfs, spillReason }) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    const query = new URLSearchParams(location.search);
    const option = (name, fallback) => Number(fragment.get(name) ?? query.get(name) ?? fallback);
    const [batch, wait] = [option("batch", 1), option("wait", 0)];  // K and T of batch proofs
    // streamed payloads from this many bytes up go to OPFS (as SHARDY_STREAM_THRESHOLD's default)
    const threshold = option("spill", 64 * 2 ** 20);
    state.spill = opfs ? `OPFS from ${threshold} bytes` : `memory (no OPFS here: ${spillReason})`;
    if (token) history.replaceState(null, "", location.pathname + location.search);  // keep it off screen
    const identity = await Identity.load();
    if (!token && !identity.workerId) {
      state.stage = "not enrolled: open this page with an operator's enrollment link";
      render();
      return;
    }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/session`;
    const browser = navigator.userAgentData?.brands?.find((b) => !/Not/.test(b.brand))?.brand ?? "browser";
    const session = new Session({
      url, token, client, identity, batch, wait, adapter: `${adapter} (WebGPU; ${browser})`,
      spill: opfs ? threshold : Infinity,
      onchange: (s) => {
        Object.assign(state, { done: s.done, task: s.task, stage: s.stage, workerId: s.workerId,
                               connected: s.connected, failed: s.failed, spilled: s.spilled });
        if (s.lastProof !== null) state.proof = `${(s.lastProof * 1000).toFixed(0)} ms`;
        if (s.error && state.errors.at(-1)?.endsWith(s.error) !== true) fail({ name: "session", message: s.error });
        render();
      },
    });
    api.session = session;
    // a page put away (closed, or kept frozen in the back-forward cache) leaves at once
    addEventListener("pagehide", () => session.stop());
    addEventListener("pageshow", (event) => {
      if (event.persisted && session.stopped) {  // back from the cache: join again
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
    },
  };
  globalThis.shardy = api;
  render();
  return api;
}
