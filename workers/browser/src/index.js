// The page's zk API in one import (the esbuild entry for the worker bundle): witness runner,
// zkey reader, Groth16 prover and verifier, helper protocol (π_A and π_B on a second thread).
export { ProofError } from "./errors.js";
export { PARTS, prepareProvingKey, prove, proveAB, verify } from "./groth16.js";
export { connectHelper, serveHelper } from "./helper.js";
export { WitnessCalculator, createWitnessCalculator } from "./witness.js";
export { parseZkey } from "./zkey.js";
