// Batch attestation in the page, as workers/batcher.py: replicas' leaves wait in a buffer and
// one Groth16 proof covers up to K of them. Whenever the prover is free it proves what waits
// (one alone when the tab is idle, more under load); a batch due while replicas are still being
// computed waits for them at most COMING_WAIT_S, and so does the batch after a proof for the
// replicas that proof frees (their slots come back as new orders: as many as it covered), and,
// with a wait T (SHARDY_ATTEST_WAIT_MS's counterpart), until its oldest leaf has waited T.
// Leaves of different keys never share a batch. The loop sleeps until a leaf arrives, a
// computation ends or a deadline passes (no polling).
import { path } from "./merkle.js";

const COMING_WAIT_S = 0.1;
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
    // after a proof, the replicas it frees come back as new orders: the next batch expects
    // as many of them for a moment (workers/batcher.py's _expected, _freed_at)
    this.expected = 0;
    this.freedAt = 0;
    this.wake = null;  // resolves the loop's current sleep
  }

  #notify() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Around a replica's computation: call the returned function once it attests or fails. */
  computing() {
    this.coming += 1;
    let done = false;
    return () => {
      if (!done) {
        this.coming -= 1;
        this.#notify();
      }
      done = true;
    };
  }

  /** Add a leaf; resolves to {receipt (this leaf's index and path), proofBytes}. */
  attest(keyId, leaf) {
    return new Promise((resolve, reject) => {
      this.pending.push({ keyId, leaf, added: now(), resolve, reject });
      this.expected = Math.max(0, this.expected - 1);
      if (this.busy) this.#notify();
      else this.#loop();
    });
  }

  /** Seconds until the oldest leaf's batch is due (0: now), as workers/batcher.py `_take`. */
  #due(oldest) {
    const t = now();
    const waited = oldest.added + this.wait - t;
    let coming = this.coming ? oldest.added + COMING_WAIT_S - t : 0;
    if (this.expected) coming = Math.max(coming, this.freedAt + COMING_WAIT_S - t);
    return Math.max(waited, coming, 0);
  }

  async #loop() {
    this.busy = true;
    try {
      while (this.pending.length) {
        const oldest = this.pending[0];
        const same = () => this.pending.filter((p) => p.keyId === oldest.keyId);
        for (let left; same().length < this.size && (left = this.#due(oldest)) > 0;) {
          await new Promise((resolve) => {
            const timer = setTimeout(() => {
              this.wake = null;
              resolve();
            }, Math.max(1, left * 1000));
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        const batch = same().slice(0, this.size);
        this.pending = this.pending.filter((p) => !batch.includes(p));
        const leaves = batch.map((p) => p.leaf);
        try {
          const { receipt, proofBytes } = await this.proveBatch(oldest.keyId, leaves);
          batch.forEach((p, i) => p.resolve({ receipt: { ...receipt, index: i, path: path(leaves, i) }, proofBytes }));
        } catch (err) {
          for (const p of batch) p.reject(err);
        } finally {
          this.expected = batch.length;
          this.freedAt = now();
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
