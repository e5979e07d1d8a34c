// The page's Web Workers (the same bundle as the page, started by name): "compute" owns the
// GPU, the preprocessor and the OPFS spill; "prover" owns the attestation prover (and starts
// its helper). Two threads, so that replicas keep running on the GPU while a batch is proven
// (as a Python worker's replica threads run beside its batcher thread), and the page stays
// responsive.
//
// (serveCompute's role "all": one worker serves both.)
//
// Messages in (each answered by the worker that serves it; the page sends init to both):
// {type: "init", id, base} → {type: "ready", id, adapter, maxBinding, spill ("opfs" or null),
// spillReason (why not)} from compute, {type: "ready", id} from prover;
// compute: {type: "spool-begin", spool, size}, {type: "spool-write", spool, data (ArrayBuffer,
// transferred), offset, length, at}, {type: "spool-drop", spool}: a streamed payload written to
// OPFS as its chunks arrive (spill.js; no answer: a failed write fails the run that reads it);
// {type: "run", id, order} (order.payload an ArrayBuffer, transferred, or order.spool: a
// spilled payload, read in chunks and deleted after) → {type: "stage", id,
// stage}…, then {type: "output", id, output (ArrayBuffer, transferred), digest, timings};
// prover: {type: "version", id, keyId} → {type: "version", id, version} (the statement version
// the key proves, from its verifying key; the key is loaded for proving as well);
// {type: "prove", id, keyId, inputs} → {type: "proof", id, proof, publicSignals, seconds};
// any failure → {type: "error", id, name, message}.
import { Computer } from "./compute.js";
import { Prover } from "./prover.js";
import { Spill } from "./spill.js";

/**
 * Serve the page's messages on `port` (the worker's global scope).
 *
 * @param {string | null} bundleUrl this bundle's URL, to start the prover's helper from
 * @param {"compute" | "prover" | "all"} role what this worker serves: the GPU side, the
 *   prover, or both (one worker for everything)
 */
export function serveCompute(port, bundleUrl = null, role = "all") {
  let computer = null;
  let opening = null;
  let prover = null;
  let spill = null;
  const noGateway = () => new Error("the compute worker has no gateway yet: send init first");
  port.addEventListener("message", async (event) => {
    const msg = event.data;
    try {
      if (msg.type === "spool-write") {  // first: the most frequent, and never awaited here
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
        port.postMessage({ type: "ready", id: msg.id, adapter: computer.gpu.name, maxBinding: computer.gpu.maxBinding,
                           spill: spill ? "opfs" : null, spillReason: opfs.reason ?? null });
      } else if (msg.type === "run") {
        if (computer === null) throw noGateway();
        const report = (stage) => port.postMessage({ type: "stage", id: msg.id, stage });
        let order = msg.order;
        try {
          if (order.spool !== undefined) order = { ...order, payload: await spill.source(order.spool) };
          const { output, digest, timings } = await computer.run(order, report);
          port.postMessage({ type: "output", id: msg.id, output: output.buffer, digest, timings }, [output.buffer]);
        } finally {
          if (order.spool !== undefined) await spill.drop(order.spool);
        }
      } else if (msg.type === "version") {
        if (prover === null) throw noGateway();
        port.postMessage({ type: "version", id: msg.id, version: await prover.version(msg.keyId) });
      } else if (msg.type === "prove") {
        if (prover === null) throw noGateway();
        const t0 = performance.now();
        const { proof, publicSignals } = await prover.prove(msg.keyId, msg.inputs);
        port.postMessage({ type: "proof", id: msg.id, proof, publicSignals, seconds: (performance.now() - t0) / 1000 });
      }
    } catch (err) {
      if (computer === null) opening = null;
      port.postMessage({ type: "error", id: msg.id, name: err.name, message: err.message });
    }
  });
}
