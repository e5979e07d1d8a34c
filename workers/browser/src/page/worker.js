// The page's Web Worker (the same bundle as the page, started with the name "compute"): it
// owns the GPU, the preprocessor and the prover and answers the page, so the page stays
// responsive.
//
// Messages in: {type: "init", base} → {type: "ready", adapter, maxBinding};
// {type: "run", id, order} (order.payload an ArrayBuffer, transferred) → {type: "stage", id,
// stage}…, then {type: "output", id, output (ArrayBuffer, transferred), digest, timings};
// {type: "version", id, keyId} → {type: "version", id, version} (the statement version the key
// proves, from its verifying key; the key is loaded for proving as well);
// {type: "prove", id, keyId, inputs} → {type: "proof", id, proof, publicSignals, seconds};
// any failure → {type: "error", id, name, message}.
import { Computer } from "./compute.js";
import { Prover } from "./prover.js";

/**
 * Serve orders on `port` (the worker's global scope).
 *
 * @param {string | null} bundleUrl this bundle's URL, to start the prover's helper from
 */
export function serveCompute(port, bundleUrl = null) {
  let computer = null;
  let opening = null;
  let prover = null;
  port.addEventListener("message", async (event) => {
    const msg = event.data;
    try {
      if (msg.type === "init") {
        prover ??= new Prover(new URL(msg.base).origin, bundleUrl);
        opening ??= Computer.open(msg.base);
        computer = await opening;
        port.postMessage({ type: "ready", adapter: computer.gpu.name, maxBinding: computer.gpu.maxBinding });
      } else if (msg.type === "run") {
        if (computer === null) throw new Error("the compute worker has no gateway yet: send init first");
        const report = (stage) => port.postMessage({ type: "stage", id: msg.id, stage });
        const { output, digest, timings } = await computer.run(msg.order, report);
        port.postMessage({ type: "output", id: msg.id, output: output.buffer, digest, timings }, [output.buffer]);
      } else if (msg.type === "version") {
        if (prover === null) throw new Error("the compute worker has no gateway yet: send init first");
        port.postMessage({ type: "version", id: msg.id, version: await prover.version(msg.keyId) });
      } else if (msg.type === "prove") {
        if (prover === null) throw new Error("the compute worker has no gateway yet: send init first");
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
