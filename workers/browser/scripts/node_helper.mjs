// Start the prover's helper on a Node worker thread (for tests and benches; not bundled).
import { Worker } from "node:worker_threads";
import { connectHelper } from "../src/helper.js";

/**
 * @param {Uint8Array} zkey the zkey's bytes
 * @returns {Promise<{helper: Function, close: () => Promise<number>}>} helper: prove()'s option
 */
export async function startNodeHelper(zkey) {
  const worker = new Worker(new URL("./helper_worker.mjs", import.meta.url));
  const endpoint = {
    postMessage: (msg) => worker.postMessage(msg),
    addEventListener: (type, fn) => worker.on(type, (data) => fn({ data })),
  };
  const helper = await connectHelper(endpoint, zkey);
  return { helper, close: () => worker.terminate() };
}
