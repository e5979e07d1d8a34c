// The page's one error for the zk path, as shardy.errors.ProofError: a key, witness, proof or
// signal list that is malformed. An invalid proof is not an error (verify returns false).

/** A zkey, witness wasm, input, proof or public-signal list is malformed or does not fit. */
export class ProofError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "ProofError";
  }
}
