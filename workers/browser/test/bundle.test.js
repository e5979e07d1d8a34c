// The page's code bundles for the browser with esbuild, from Apache-2.0 sources and MIT
// @noble packages only (no snarkjs, circom or Node built-ins).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

test("src/index.js bundles for the browser from src/ and @noble/* only", async () => {
  const result = await build({
    absWorkingDir: fileURLToPath(new URL("..", import.meta.url)),
    entryPoints: ["src/index.js"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.length > 5);
  for (const path of inputs) {
    assert.match(path, /^(src\/|node_modules\/@noble\/(curves|hashes)\/)/, path);
  }
  const text = result.outputFiles[0].text;
  assert.doesNotMatch(text, /from\s*["']node:|require\(["']node:/);
  assert.doesNotMatch(text, /snarkjs|ffjavascript|witness_calculator/i);
});
