// The tab as a remote worker: the gateway's session protocol (shardy/session.py; the Python
// client is workers/remote.py). Challenge → (enroll with the operator's token, proving the
// secret behind its commitment → enrolled → challenge) → hello signed with the tab's Ed25519
// key → welcome; then orders in (a payload above CHUNK streams in after its order, in
// order_chunk messages: checked by inbound.js, kept in memory or, from the `spill` threshold up,
// written to OPFS by the compute worker), each computed (compute worker), attested (prover
// worker: one Groth16 proof per replica, or one per batch of up to K replicas with a Merkle path
// each) and answered with a result (chunked above CHUNK) or a failure. Reconnects with backoff
// until the tab closes or the gateway refuses the worker. Every proof states what its key
// proves: statement version 1 or 2 (shardy/statement.py), which the prover worker reads from
// the key's verifying key.
import { sha256Hex, sha256HexAsync } from "./assets.js";
import { batchInputs, commitment, enrollMessage, enrollmentInputs, enrollmentStatement, parseToken, replicaInputs,
         replicaLeaf, sessionMessage } from "./attest.js";
import { AuthError, FrameError, PayloadError } from "./errors.js";
import { Batcher } from "./batcher.js";
import { CHUNK, decodeMessage, encodeMessage, parseOrder } from "./frames.js";
import { Inbound, MemorySink, SpillSink } from "./inbound.js";
import { root } from "./merkle.js";

const PROTOCOL = 2;  // 2: payloads above CHUNK stream in order_chunk messages (shardy/session.py)
/** Failures that retrying elsewhere cannot mend (dead-lettered), as workers/remote.py. */
const PERMANENT = new Set(["KernelError", "PreprocessError", "ProofError", "FrameError", "PayloadError", "AssetError"]);

/** A WebSocket's binary messages as promises, in order. */
class Inbox {
  constructor(ws) {
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    ws.addEventListener("message", (e) => this.#push({ data: e.data }));
    ws.addEventListener("close", (e) => {
      this.closed = new FrameError(`the gateway closed the session (${e.code}${e.reason ? `: ${e.reason}` : ""})`);
      this.closed.code = "closed";
      for (const w of this.waiters.splice(0)) w.reject(this.closed);
    });
  }

  #push(item) {
    const w = this.waiters.shift();
    if (w) w.resolve(item.data);
    else this.queue.push(item);
  }

  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift().data);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

/** One remote worker session (reconnecting). */
export class Session {
  /**
   * @param opts {url (ws://host/session), token (or null once enrolled), client
   *   (ComputeClient), identity (Identity), adapter, batch (K: replicas per proof, default 1;
   *   the session then takes K orders at once), wait (ms a replica may wait for its batch to
   *   fill, default 0), spill (streamed payloads of at least this many bytes go to OPFS;
   *   Infinity: none, e.g. without OPFS), onchange (state → void)}
   */
  constructor({ url, token, client, identity, adapter, batch = 1, wait = 0, spill = Infinity, onchange = () => {} }) {
    Object.assign(this, { url, token, client, identity, adapter, spill, onchange });
    this.slots = Math.max(1, Math.min(64, Math.floor(batch) || 1));
    this.batcher = this.slots > 1 ? new Batcher(this.slots, (kid, leaves) => this.#proveBatch(kid, leaves),
                                                   Math.max(0, Number(wait) || 0) / 1000) : null;
    this.state = { connected: false, workerId: identity.workerId, done: 0, failed: 0, task: null,
                   stage: "connecting", lastProof: null, error: null, spilled: 0,
                   proofs: 0, proving: 0 };  // batch proofs made, and their seconds in all
    this.arriving = new Map();  // streamed orders whose payload is arriving, by key
    this.dropped = new Set();  // streamed orders given up: the rest of their chunks pass
    this.stopped = false;
    this.running = false;
  }

  #set(patch) {
    Object.assign(this.state, patch);
    this.onchange(this.state);
  }

  /** Leave: close the session (the gateway gives the replicas in flight to other workers). */
  stop() {
    this.stopped = true;
    this.ws?.close(1000, "the tab is closing");  // browsers refuse 1001 from a page
  }

  /** Serve until stopped; throws AuthError when the gateway refuses this worker. */
  async run() {
    if (this.running) return;  // one loop per session (a tab back from the cache restarts it)
    this.running = true;
    try {
      await this.#serve();
    } finally {
      this.running = false;
    }
  }

  async #serve() {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.#connectAndServe();
        failures = 0;
      } catch (err) {
        if (err instanceof AuthError || ["auth", "revoked"].includes(err.code)) {
          this.#set({ connected: false, stage: "refused", error: err.message });
          throw err instanceof AuthError ? err : new AuthError(err.message);
        }
        this.#set({ connected: false, stage: "reconnecting", error: err.message });
      }
      failures += 1;
      const delay = Math.random() * Math.min(30, 0.5 * 2 ** Math.min(failures, 6));
      await new Promise((r) => setTimeout(r, delay * 1000));
    }
  }

  async #connectAndServe() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    const inbox = new Inbox(ws);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("close", () => reject(new FrameError(`cannot connect to ${this.url}`)), { once: true });
    });
    this.ws = ws;
    if (this.stopped) ws.close();
    try {
      await this.#handshake(ws, inbox);
      this.#set({ connected: true, stage: "waiting for orders", error: null });
      for (;;) {  // up to `slots` orders at once (the gateway sends no more)
        const msg = decodeMessage(await inbox.next(), "order", "order_chunk");
        if (msg.kind === "order_chunk") this.#chunk(ws, msg);
        else if (msg.meta.chunks !== undefined && msg.meta.chunks !== null) this.#begin(ws, msg);
        else this.#answer(ws, msg);
      }
    } finally {
      ws.close();
      this.ws = null;
      for (const a of this.arriving.values()) a.sink.drop?.();
      this.arriving.clear();
    }
  }

  async #handshake(ws, inbox) {
    let challenge = decodeMessage(await inbox.next(), "challenge").meta;
    if (!this.identity.workerId) {
      if (!this.token) throw new AuthError("this tab is not enrolled: open the page with an operator's enrollment link (…/worker/#token=shy1…)");
      this.#set({ stage: "enrolling" });
      ws.send(await this.#enrollMessage(challenge));
      const enrolled = decodeMessage(await inbox.next(), "enrolled").meta;
      await this.identity.enrolled(String(enrolled.worker_id));
      this.#set({ workerId: this.identity.workerId });
      challenge = decodeMessage(await inbox.next(), "challenge").meta;
    }
    const { publicHex } = this.identity;
    const signature = await this.identity.sign(sessionMessage(challenge.gateway, challenge.nonce, publicHex));
    ws.send(encodeMessage("hello", { public_key: publicHex, signature, slots: this.slots,
                                     adapter: this.adapter.slice(0, 200), protocol: PROTOCOL }));
    const welcome = decodeMessage(await inbox.next(), "welcome").meta;
    this.#set({ workerId: String(welcome.worker_id) });
  }

  async #enrollMessage(challenge) {
    const token = parseToken(this.token);
    const { publicHex, secret } = this.identity;
    const commit = commitment(secret);
    const [taskId, digest] = enrollmentStatement(challenge.nonce, publicHex, commit);
    const version = await this.client.version(challenge.key_id);
    const inputs = enrollmentInputs(version, taskId, digest, secret);
    const { proof, publicSignals } = await this.client.prove(challenge.key_id, inputs);
    const signature = await this.identity.sign(enrollMessage(token.operatorId, challenge.nonce, publicHex, commit));
    return encodeMessage("enroll", { token: token.text, public_key: publicHex, commitment: commit, signature,
                                     key_id: challenge.key_id, proof, public_signals: publicSignals });
  }

  #parse(ws, msg) {
    try {
      return parseOrder(msg);
    } catch (err) {
      ws.send(encodeMessage("error", { code: "malformed", message: `unreadable order: ${err.message}` }));
      ws.close();
      return null;
    }
  }

  /** A streamed order's header: its payload follows, into memory or (from `spill` up) OPFS. */
  #begin(ws, msg) {
    const order = this.#parse(ws, msg);
    if (order === null) return;
    const key = { task_id: order.taskId, round: order.round, replica: order.replica };
    const id = keyId(key);
    let sink = null;
    try {
      if (this.arriving.has(id)) {
        this.arriving.get(id).sink.drop?.();
        this.arriving.delete(id);
        throw new PayloadError(`replica ${id} was ordered again while its payload came`);
      }
      if (this.arriving.size >= 2 * this.slots) throw new PayloadError(`more than ${2 * this.slots} payloads arriving at once`);
      const spilled = order.payloadSize >= this.spill;
      sink = spilled ? new SpillSink(this.client, order.payloadSize) : new MemorySink(order.payloadSize);
      const inbound = new Inbound(order, sink);
      this.arriving.set(id, { order, inbound, sink, spilled, since: performance.now(), writing: 0 });
    } catch (err) {
      sink?.drop?.();
      this.#refuse(ws, key, err);
    }
  }

  /** One chunk of a streamed order's payload; the order runs once it is whole and checked. */
  #chunk(ws, { meta, segments }) {
    const key = { task_id: meta.task_id, round: meta.round, replica: meta.replica };
    if (typeof key.task_id !== "string" || !Number.isSafeInteger(key.round) || !Number.isSafeInteger(key.replica)) {
      this.#set({ error: "a payload chunk naming no replica was dropped" });
      return;
    }
    const id = keyId(key);
    const a = this.arriving.get(id);
    if (a === undefined) {
      if (!this.dropped.has(id)) {
        this.#refuse(ws, key, new PayloadError(`a payload chunk came for replica ${id}, which this worker does not hold (its order never came)`));
      }
      return;
    }
    const t0 = performance.now();
    let whole;
    try {
      whole = a.inbound.take({ meta, segments });
    } catch (err) {
      this.arriving.delete(id);
      a.sink.drop?.();
      if (meta.abort === undefined || meta.abort === null) return this.#refuse(ws, key, err);
      this.#forget(id);  // the gateway gave it up: no answer
      return this.#set({ error: err.message });
    } finally {
      a.writing += (performance.now() - t0) / 1000;
    }
    if (!whole) return;
    this.arriving.delete(id);
    const timings = { fetch: (performance.now() - a.since) / 1000 };
    if (a.spilled) {
      timings.spool = a.writing;
      this.#set({ spilled: this.state.spilled + 1 });
    }
    this.#run(ws, a.order, a.spilled ? { spool: a.sink.id } : { payload: a.sink.bytes }, timings);
  }

  /** Fail replica `key` at once (its order broke the protocol: permanent). */
  #refuse(ws, key, err) {
    this.#forget(keyId(key));
    this.#set({ failed: this.state.failed + 1, error: `${err.name}: ${err.message}` });
    ws.send(encodeMessage("failure", { ...key, error: `${err.name}: ${err.message}`.slice(0, 2000), permanent: true }));
  }

  #forget(id) {
    this.dropped.add(id);
    if (this.dropped.size > 1024) this.dropped.delete(this.dropped.values().next().value);
  }

  /** Compute, attest and answer one order with its payload inline. */
  #answer(ws, msg) {
    const order = this.#parse(ws, msg);
    if (order !== null) this.#run(ws, order, null, {});
  }

  /**
   * Compute, attest and answer one order (a failure message when it cannot).
   *
   * @param input null (the payload inline, checked here), or a streamed payload, checked:
   *   {payload: Uint8Array} or {spool: id} (in OPFS)
   */
  async #run(ws, order, input, timings) {
    const key = { task_id: order.taskId, round: order.round, replica: order.replica };
    this.#set({ task: `${order.kernel} ${order.taskId.slice(0, 8)} (replica ${order.replica})`, stage: "payload" });
    let messages;
    const joined = this.batcher?.computing() ?? (() => {});
    try {
      if (input === null && await sha256HexAsync(order.payload) !== order.payloadSha256) {
        throw new PayloadError("the order's payload does not hash to its reference");
      }
      // its own buffer, transferred to the worker (a streamed one is already)
      const payload = input === null ? { payload: order.payload.slice() } : input;
      const done = await this.client.run({ kernel: order.kernel, ...payload, params: order.params,
                                           seed: order.seed, outputLen: order.outputLen });
      this.#set({ stage: "attest" });
      const t0 = performance.now();
      const version = await this.client.version(order.keyId);
      let attestation;
      if (this.batcher) {
        const claim = replicaLeaf(version, order, done.digest);
        const attested = this.batcher.attest(order.keyId, claim);
        joined();
        const { receipt, proofBytes } = await attested;
        attestation = { batch: receipt, batchProof: proofBytes };
      } else {
        const inputs = replicaInputs(version, order, done.digest, this.identity.secret);
        attestation = await this.client.prove(order.keyId, inputs);
      }
      const seconds = (performance.now() - t0) / 1000;
      messages = resultMessages(key, order.keyId, done.output, attestation, { ...timings, ...done.timings, attest: seconds });
      this.#set({ done: this.state.done + 1, lastProof: seconds });
    } catch (err) {
      messages = [encodeMessage("failure", { ...key, error: `${err.name}: ${err.message}`.slice(0, 2000),
                                             permanent: PERMANENT.has(err.name) })];
      this.#set({ failed: this.state.failed + 1, error: `${err.name}: ${err.message}` });
    } finally {
      joined();
      this.#set({ task: null, stage: "waiting for orders" });
    }
    for (const m of messages) ws.send(m);
  }

  /** One batch's proof, as workers/engine.py `_prove_batch`: {receipt of leaf 0, proofBytes}. */
  async #proveBatch(keyId, leaves) {
    const id = crypto.randomUUID();
    const rootHex = root(leaves);
    const version = await this.client.version(keyId);
    const inputs = batchInputs(version, id, leaves.length, rootHex, this.identity.secret);
    const t0 = performance.now();
    const { proof, publicSignals } = await this.client.prove(keyId, inputs);
    this.state.proofs += 1;
    this.state.proving += (performance.now() - t0) / 1000;
    const stored = { id, root: rootHex, size: leaves.length, key_id: keyId, proof, public_signals: publicSignals };
    const proofBytes = new TextEncoder().encode(JSON.stringify(stored));
    const receipt = { id, index: 0, size: leaves.length, root: rootHex, path: [], key_id: keyId,
                      proof_sha256: sha256Hex(proofBytes), proof_size: proofBytes.length };
    return { receipt, proofBytes };
  }
}

/** A replica's key as text: task/round/replica. */
function keyId(key) {
  return `${key.task_id}/${key.round}/${key.replica}`;
}

/**
 * The result message, then chunk messages when the output exceeds one CHUNK.
 *
 * @param attestation {proof, publicSignals} or, batched, {batch (receipt), batchProof (bytes)}
 */
export function resultMessages(key, keyId, output, attestation, timings) {
  const n = output.length;
  const chunked = n > CHUNK;
  const meta = { ...key, key_id: keyId, timings, size: n, chunks: chunked ? Math.ceil(n / CHUNK) : 0 };
  const segments = chunked ? [] : [output];
  if (attestation.batch) {
    meta.batch = attestation.batch;
    segments.push(attestation.batchProof);
  } else {
    Object.assign(meta, { proof: attestation.proof, public_signals: attestation.publicSignals });
  }
  const head = encodeMessage("result", meta, segments);
  if (!chunked) return [head];
  const out = [head];
  for (let i = 0, at = 0; at < n; i++, at += CHUNK) {
    out.push(encodeMessage("chunk", { ...key, index: i }, [output.subarray(at, at + CHUNK)]));
  }
  return out;
}
