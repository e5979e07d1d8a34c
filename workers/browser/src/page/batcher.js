// Batch attestation in the page, as workers/batcher.py: replicas' leaves wait in a buffer and
// one Groth16 proof covers up to K of them. Whenever the prover is free it proves what waits
// (one alone when the tab is idle, more under load); a batch due while replicas are still being
// computed waits for them at most COMING_WAIT_S, and, with a wait T (SHARDY_ATTEST_WAIT_MS's
// counterpart), until its oldest leaf has waited T. Leaves of different keys never share a batch.
import { path } from "./merkle.js";

const COMING_WAIT_S = 0.1;
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const now = () => performance.now() / 1000;

export class Batcher {
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
  }

  /** Around a replica's computation: call the returned function once it attests or fails. */
  computing() {
    this.coming += 1;
    let done = false;
    return () => {
      if (!done) this.coming -= 1;
      done = true;
    };
  }

  /** Add a leaf; resolves to {receipt (this leaf's index and path), proofBytes}. */
  attest(keyId, leaf) {
    return new Promise((resolve, reject) => {
      this.pending.push({ keyId, leaf, added: now(), resolve, reject });
      if (!this.busy) this.#loop();
    });
  }

  async #loop() {
    this.busy = true;
    try {
      while (this.pending.length) {
        const oldest = this.pending[0];
        const same = () => this.pending.filter((p) => p.keyId === oldest.keyId);
        const due = () => now() - oldest.added >= this.wait
          && (this.coming === 0 || now() - oldest.added >= COMING_WAIT_S);
        while (same().length < this.size && !due()) await sleep(0.005);
        const batch = same().slice(0, this.size);
        this.pending = this.pending.filter((p) => !batch.includes(p));
        const leaves = batch.map((p) => p.leaf);
        try {
          const { receipt, proofBytes } = await this.proveBatch(oldest.keyId, leaves);
          batch.forEach((p, i) => p.resolve({ receipt: { ...receipt, index: i, path: path(leaves, i) }, proofBytes }));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
