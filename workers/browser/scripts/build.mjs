// Builds the worker page's one bundle, page/worker.js, from src/page/main.js with esbuild
// (no minification, no source map: the same sources and esbuild version give the same bytes).
// tests/workers/test_browser_page.py rebuilds it into a temporary folder and compares.
//
//   node scripts/build.mjs                 write page/worker.js
//   node scripts/build.mjs --outdir DIR    write DIR/worker.js instead (the test's check)
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const at = process.argv.indexOf("--outdir");
const outdir = at > 0 ? process.argv[at + 1] : join(root, "page");

const BANNER = "// Shardy's worker page, built by workers/browser/scripts/build.mjs from workers/browser/src\n"
  + "// (Apache-2.0) and @noble/curves, @noble/hashes (MIT). Do not edit: run `npm run build`.";

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/page/main.js"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  charset: "utf8",
  legalComments: "inline",
  banner: { js: BANNER },
  write: false,
  metafile: true,
  logLevel: "warning",
});
const inputs = Object.keys(result.metafile.inputs);
const foreign = inputs.filter((p) => !/^(src\/|node_modules\/@noble\/(curves|hashes)\/)/.test(p));
if (foreign.length) throw new Error(`the bundle may take only src/ and @noble/*: ${foreign.join(", ")}`);
mkdirSync(outdir, { recursive: true });
writeFileSync(join(outdir, "worker.js"), result.outputFiles[0].contents);
console.log(`${join(outdir, "worker.js")}: ${result.outputFiles[0].contents.length} bytes from ${inputs.length} files`);
