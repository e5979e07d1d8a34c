// The prover's helper: a second thread (a Web Worker in the page, worker_threads in Node) that
// holds the zkey's π_A and π_B tables and computes both (π_B, in G2, is the largest MSM) while
// the prover's own thread computes π_C's MSM.
//
// Messages: {type: "init", zkey} → {type: "ready"}; {type: "prove", id, witness, r, s} →
// {type: "prove", id, share: {pi_a, pi_b, s_pi_a}} (snarkjs JSON); failures →
// {type: "error", id, message}. BigInts cross by structured clone. An endpoint is anything with
// postMessage and addEventListener("message", (event) => event.data): a Worker, `self` inside
// one, a MessagePort.
import { ProofError } from "./errors.js";
import { prepareProvingKey, proveAB } from "./groth16.js";

/**
 * Serve proof shares on `port` (call it inside the helper thread).
 *
 * @param port the helper's end: `self` in a Web Worker, `parentPort` in Node
 */
export function serveHelper(port) {
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

/**
 * Hand a helper its key and wait until its tables are ready.
 *
 * @param endpoint the prover's end (the Worker object)
 * @param {ArrayBuffer | Uint8Array} zkey the zkey's bytes (copied to the helper)
 * @returns {Promise<(witness: bigint[], r: bigint, s: bigint) => Promise<object>>} the `helper`
 *   option of prove()
 * @throws {ProofError} the helper could not prepare the key
 */
export async function connectHelper(endpoint, zkey) {
  const pending = new Map();
  let nextId = 1;
  let ready;
  const readyPromise = new Promise((resolve, reject) => (ready = { resolve, reject }));
  endpoint.addEventListener("message", (event) => {
    const msg = event.data;
    const waiter = msg.id === undefined ? ready : pending.get(msg.id);
    if (!waiter) return;
    pending.delete(msg.id);
    if (msg.type === "error") waiter.reject(new ProofError(`prover helper: ${msg.message}`));
    else waiter.resolve(msg.share);
  });
  endpoint.postMessage({ type: "init", zkey });
  await readyPromise;
  return (witness, r, s) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      endpoint.postMessage({ type: "prove", id, witness, r, s });
    });
}
