// The worker page's one bundle (page/worker.js): loaded by page/index.html it runs the page;
// started as a Web Worker named "compute" it runs the GPU and preprocessor side, as one named
// "prover" the attestation prover, and as one named "helper" (started by the prover) it
// computes π_A and π_B of each proof.
import { serveHelper } from "../helper.js";
import { startPage } from "./ui.js";
import { serveCompute } from "./worker.js";

const inWorker = typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope;
if (inWorker && globalThis.name === "helper") {
  serveHelper(globalThis);
} else if (inWorker) {
  serveCompute(globalThis, import.meta.url, globalThis.name === "prover" ? "prover" : "compute");
} else {
  startPage(import.meta.url);
}
