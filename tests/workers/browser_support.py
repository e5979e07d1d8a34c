"""Headless Chromium with WebGPU (SwiftShader) for the worker page's tests, and a small aiohttp
server that serves the page the way the gateway does (its `WorkerPage` routes) without a
cluster behind it."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from shardy.keyring import FILES, MANIFEST_FIELD, build_manifest, default_build, manifest_id
from shardy.orchestrator.gateway.page import WorkerPage

ROOT = Path(__file__).resolve().parents[2]
#: The committed builds by statement version: 1 the earlier key (kept for rotation), 2 the
#: active one (circuits/manifest.json); `page_server` publishes both.
BUILDS = {1: ROOT / "circuits" / "build", 2: ROOT / "circuits" / "build-v2"}

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: Headless, off the network, WebGPU on (SwiftShader through Vulkan; see DESIGN.md, Browsers).
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)  # fmt: skip


#: A Chromium without the origin private file system: Blink's runtime feature behind
#: ``navigator.storage.getDirectory`` switched off, as in a browser that lacks OPFS.
NO_OPFS_FLAGS = ("--disable-blink-features=FileSystemAccessOriginPrivate",)


@contextmanager
def chromium(extra_flags: tuple[str, ...] = ()) -> Iterator[Any]:
    """A selenium driver of headless Chromium with a fresh profile (skips when absent), started
    with `CHROMIUM_FLAGS` and ``extra_flags``."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium "
                    "chromium-driver); the worker page's tests need a real browser")  # fmt: skip
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    profile = tempfile.mkdtemp(prefix="shardy-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def dev_key(build: Path | None = None) -> tuple[str, dict[str, bytes]]:
    """A committed key (default: the active development key): its id and its files by
    `/keys/<id>/<field>` field."""
    build = build or default_build()
    files = {field: (build / name).read_bytes() for field, name in FILES.items()}
    manifest = build_manifest(build)
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return manifest_id(manifest), {**files, MANIFEST_FIELD: canonical}


@contextmanager
def page_server(page: WorkerPage | None = None) -> Iterator[str]:
    """Serve `WorkerPage`'s routes on 127.0.0.1 from a thread, and the committed keys (`BUILDS`:
    both statement versions) at ``/keys/<id>/<field>`` as a gateway publishes them; yields the
    base URL."""
    page = page or WorkerPage()
    loop = asyncio.new_event_loop()
    app = web.Application()
    page.add_routes(app)
    keys = dict(dev_key(build) for build in BUILDS.values())

    async def key_file(request: web.Request) -> web.Response:
        files = keys.get(request.match_info["kid"], {})
        if request.match_info["field"] not in files:
            raise web.HTTPNotFound()
        return web.Response(body=files[request.match_info["field"]])

    app.router.add_get("/keys/{kid}/{field}", key_file)
    runner = web.AppRunner(app, access_log=None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def open_page(driver: Any, url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Open the worker page and wait until its compute worker is ready; returns its state."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return window.shardy && {adapter: shardy.state.adapter, stage: shardy.state.stage,"
            " errors: shardy.state.errors}"
        )
        if state and state["adapter"]:
            return state
        if state and state["stage"] == "failed":
            pytest.fail(f"the worker page failed to start: {state['errors']}")
        time.sleep(0.2)
    pytest.fail(f"the worker page did not get ready in {timeout} s")


_RUN = """
const [order, done] = [arguments[0], arguments[arguments.length - 1]];
const payload = Uint8Array.from(atob(order.payload), (c) => c.charCodeAt(0));
shardy.run({...order, payload}).then(
  (r) => {
    let s = ""; for (let i = 0; i < r.output.length; i += 0x8000)
      s += String.fromCharCode(...r.output.subarray(i, i + 0x8000));
    done({output: btoa(s), digest: r.digest, timings: r.timings});
  },
  (e) => done({error: e.name + ": " + e.message}));
"""


_PROVE = """
const [kid, inputs, done] = arguments;
shardy.client.prove(kid, inputs).then(
  (r) => done(r), (e) => done({error: e.name + ": " + e.message}));
"""


def prove_in_page(driver: Any, kid: str, inputs: dict[str, int]) -> dict[str, Any]:
    """The page's compute worker proves ``inputs`` under key ``kid``: {proof, publicSignals,
    seconds} or {error}."""
    return driver.execute_async_script(_PROVE, kid, {k: str(v) for k, v in inputs.items()})


_VERSION = """
const [kid, done] = arguments;
shardy.client.version(kid).then((v) => done(v), (e) => done(e.name + ": " + e.message));
"""


def version_in_page(driver: Any, kid: str) -> int | str:
    """The statement version the page's compute worker reads from key ``kid`` (or its error)."""
    return driver.execute_async_script(_VERSION, kid)


def run_in_page(driver: Any, kernel: str, payload: bytes, params: dict[str, Any],
                seed: int) -> dict[str, Any]:  # fmt: skip
    """Run one order in the page: {output: bytes, digest, timings} or {error: "Name: text"}."""
    order = {"kernel": kernel, "payload": base64.b64encode(payload).decode(), "params": params,
             "seed": str(seed)}  # fmt: skip
    result = driver.execute_async_script(_RUN, order)
    if "output" in result:
        result["output"] = base64.b64decode(result["output"])
    return result


def page_state(driver: Any) -> dict[str, Any]:
    """The page's `shardy.state` (worker id, connected, done, stage, errors)."""
    return driver.execute_script("return window.shardy ? shardy.state : null") or {}


def wait_joined(driver: Any, who: str, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the tab in ``driver`` has a session (connected, with its worker id) and
    return its state; fails the test after ``timeout`` seconds."""
    deadline, state = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        state = page_state(driver)
        if state.get("connected") and state.get("workerId"):
            return state
        time.sleep(0.5)
    pytest.fail(f"the tab of {who} did not join: {state}")
