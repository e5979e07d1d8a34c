// Node entry of the prover's helper thread (worker_threads); the page uses a Web Worker instead.
import { parentPort } from "node:worker_threads";
import { serveHelper } from "../src/helper.js";

serveHelper(parentPort);
