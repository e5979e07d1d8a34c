"""The browser worker in headless Chromium (WebGPU on SwiftShader), against its yardsticks on
the same machine, in one run (parts 1 and 2 in one browser, part 3 in three):

1. the worker page's prover (@noble/curves, π_A/π_B on a helper worker) against snarkjs's
   browser build proving the same circuit and inputs (snarkjs is GPL: this bench serves it from
   circuits/node_modules on its own page; the worker page never loads it): inputs → proof;
2. a histogram and a sha256 replica's stage times in the page against the Python worker's GPU
   stage (wgpu on the local adapter: lavapipe on CPU machines);
3. verified tasks/s, end to end, of three tabs against three Python remote workers in one real
   cluster behind one gateway, R = quorum = 3, the same attestation batch size K, the same
   burst of tasks; the two scenarios alternate for ``--rounds`` rounds, each warmed up first
   (bench/browser_fabric.py; target: tabs >= 0.5x Python).

Where part 3's time goes (CPU by process and thread, proofs, stage times):
bench/browser_profile.py.

Results: docs/benchmarks.md, "Browser worker". Part 3 alone, as recorded there:
    flock /tmp/shardy-bench.lock .venv/bin/python bench/browser.py --parts 3 --rounds 3

usage: python bench/browser.py [--parts 1,2,3] [--proofs 10] [--mib 4] [--runs 5]
           [--rounds 3] [--tasks 96] [--kib 64] [--batch 16] [--warmup 6]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from shardy.keyring import FILES, MANIFEST_FIELD, build_manifest, default_build, manifest_id
from shardy.orchestrator.gateway.page import WorkerPage
from shardy.statement import Subject, replica_inputs, version_of
from shardy.zk import new_worker_secret

ROOT = Path(__file__).resolve().parents[1]
SNARKJS = ROOT / "circuits" / "node_modules" / "snarkjs" / "build" / "snarkjs.min.js"
FLAGS = ("--headless=new", "--no-sandbox", "--enable-unsafe-webgpu",
         "--enable-features=Vulkan", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking")  # fmt: skip

BENCH_HTML = b"""<!doctype html><meta charset="utf-8"><script src="snarkjs.min.js"></script>
<script>
window.proveSnarkjs = async (inputs, n) => {
  const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
  const wasm = await get("/worker/circuit/attestation.wasm");
  const zkey = await get("/worker/circuit/attestation.zkey");
  const times = [];
  for (let i = 0; i <= n; i++) {  // the first call warms up
    const t0 = performance.now();
    await snarkjs.groth16.fullProve(inputs, {type: "mem", data: wasm}, {type: "mem", data: zkey});
    if (i) times.push(performance.now() - t0);
  }
  return times;
};
</script>"""

PAGE_PROVE = """
const [kid, inputs, n, done] = arguments;
(async () => {
  await shardy.ready;
  const times = [];
  for (let i = 0; i <= n; i++) {
    const t0 = performance.now();
    await shardy.client.prove(kid, inputs);
    if (i) times.push(performance.now() - t0);
  }
  return times;
})().then(done, (e) => done({error: String(e)}));
"""

SNARKJS_PROVE = """
const [inputs, n, done] = arguments;
proveSnarkjs(inputs, n).then(done, (e) => done({error: String(e)}));
"""

PAGE_RUN = """
const [order, n, done] = arguments;
(async () => {
  await shardy.ready;
  const bytes = Uint8Array.from(atob(order.payload), (c) => c.charCodeAt(0));
  const out = [];
  for (let i = 0; i <= n; i++) {
    const t0 = performance.now();
    const r = await shardy.run({...order, payload: bytes.slice()});
    if (i) out.push({total: (performance.now() - t0) / 1000, ...r.timings, digest: r.digest});
  }
  return out;
})().then(done, (e) => done({error: String(e)}));
"""


def serve() -> tuple[str, Any, str]:
    """The worker page, the development key and the bench page on 127.0.0.1; (url, stop,
    the key's id)."""
    build = default_build()
    kid = manifest_id(build_manifest(build))
    files = {f: (build / n).read_bytes() for f, n in FILES.items()}
    files[MANIFEST_FIELD] = json.dumps(build_manifest(build), sort_keys=True,
                                       separators=(",", ":")).encode()  # fmt: skip
    app = web.Application()
    WorkerPage().add_routes(app)

    async def key(request: web.Request) -> web.Response:
        if request.match_info["kid"] != kid or request.match_info["field"] not in files:
            raise web.HTTPNotFound()
        return web.Response(body=files[request.match_info["field"]])

    app.router.add_get("/keys/{kid}/{field}", key)
    app.router.add_get("/bench/", lambda r: web.Response(body=BENCH_HTML, content_type="text/html"))
    app.router.add_get("/bench/snarkjs.min.js", lambda r: web.FileResponse(SNARKJS))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(30)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)

    return f"http://127.0.0.1:{port}", stop, kid


def stats(ms: list[float]) -> str:
    return f"{statistics.median(ms):8.1f} ms (min {min(ms):.1f}, max {max(ms):.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proofs", type=int, default=10)
    ap.add_argument("--mib", type=float, default=4.0, help="payload of the kernel replicas")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parts", default="1,2,3", help="which parts to run (comma-separated)")
    ap.add_argument("--rounds", type=int, default=3, help="part 3: rounds of both scenarios")
    ap.add_argument("--tasks", type=int, default=96, help="part 3: tasks per burst")
    ap.add_argument("--kib", type=float, default=64.0, help="part 3: payload of each task")
    ap.add_argument("--batch", type=int, default=16, help="part 3: K, replicas per proof")
    ap.add_argument("--warmup", type=int, default=6, help="part 3: tasks before each burst")
    args = ap.parse_args()
    parts = {int(p) for p in args.parts.split(",") if p}
    if parts & {1, 2}:
        page_bench(args, parts)
    if 3 in parts:
        from browser_fabric import fabric_bench

        fabric_bench(args.rounds, args.tasks, args.kib, args.batch, args.warmup)


def page_bench(args: argparse.Namespace, parts: set[int]) -> None:
    """Parts 1 and 2, in one browser on a page server without a cluster."""
    from selenium import webdriver

    url, stop, kid = serve()
    profile = tempfile.mkdtemp(prefix="shardy-bench-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(
        executable_path=shutil.which("chromedriver") or "chromedriver"))  # fmt: skip
    driver.set_script_timeout(600)
    try:
        driver.get(f"{url}/worker/")
        while not driver.execute_script("return window.shardy && shardy.state.adapter"):
            time.sleep(0.2)
        adapter = driver.execute_script("return shardy.state.adapter")
        if 1 in parts:
            digest = hashlib.sha256(b"bench").hexdigest()
            subject = Subject("6f1c9f0e-8d2a-4b8e-9f3e-2a1b0c9d8e7f", 7, 4096, "histogram", {},
                              "ab" * 32)  # fmt: skip
            version = version_of(json.loads((default_build() / "vkey.json").read_text()))
            inputs = replica_inputs(version, subject, digest, new_worker_secret(), 1, 0)
            text = {k: str(v) for k, v in inputs.items()}
            ours = driver.execute_async_script(PAGE_PROVE, kid, text, args.proofs)
            page = driver.current_window_handle
            driver.switch_to.new_window("tab")
            driver.get(f"{url}/bench/")
            theirs = driver.execute_async_script(SNARKJS_PROVE, text, args.proofs)
            driver.switch_to.window(page)
            print(f"Chromium headless, {adapter}; {args.proofs} proofs each (inputs -> proof)\n")
            print(f"{'prover':<34}{'median':>12}")
            print(f"{'page (noble, 2 workers)':<34}{stats(ours)}")
            print(f"{'snarkjs browser build':<34}{stats(theirs)}")
            ratio = statistics.median(ours) / statistics.median(theirs)
            print(f"{'ratio page / snarkjs':<34}{ratio:8.2f}x\n")

        if 2 in parts:
            from shardy.kernels import registry
            from shardy.workers.gpu import GPU

            gpu = GPU()
            n = int(args.mib * (1 << 20))
            payload = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
            head = f"kernel ({args.mib:g} MiB)"
            print(f"{head:<20}{'page gpu s':>12}{'page total s':>14}{'python gpu s':>14}"
                  f"{'ratio':>8}  ({gpu.name})")  # fmt: skip
            for name in ("histogram", "sha256"):
                k = registry.get(name)
                plan = k.make_plan(n, {}, 3)
                py = []
                expected = None
                for _ in range(args.runs + 1):
                    t0 = time.perf_counter()
                    expected = bytes(gpu.run(k, payload, plan))
                    py.append(time.perf_counter() - t0)
                order = {"kernel": name, "payload": base64.b64encode(payload).decode(),
                         "params": {}, "seed": "3"}  # fmt: skip
                runs = driver.execute_async_script(PAGE_RUN, order, args.runs)
                assert runs[0]["digest"] == hashlib.sha256(expected).hexdigest(), name
                g = statistics.median(r["gpu"] for r in runs)
                tot = statistics.median(r["total"] for r in runs)
                p = statistics.median(py[1:])
                print(f"{name:<20}{g:12.3f}{tot:14.3f}{p:14.3f}{g / p:7.2f}x")
    finally:
        driver.quit()
        stop()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
