"""The worker page the gateway serves (``/worker/``): the page and its one bundle
(``workers/browser/page``), the repository's WGSL shaders, the preprocessor ``.wasm`` and the
circuit files the in-page prover needs, each listed with its sha256 in ``manifest.json`` and
sent with it in ``X-Shardy-Sha256``; the page checks every file against the manifest. Files
are read once, at the first request. Nothing else is served from disk (a name not in the
manifest is a 404), and the page's Content-Security-Policy lets it load nothing from elsewhere.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

import shardy
from shardy.keyring import default_build

_PACKAGE = Path(shardy.__file__).parent
#: The page's built files (``npm run build`` in workers/browser writes worker.js).
PAGE_DIR = _PACKAGE / "workers" / "browser" / "page"
SHADER_DIR = _PACKAGE / "shaders"
PREPROCESS_WASM = _PACKAGE / "workers" / "shardy_preprocess.wasm"
#: URL prefix of the page and its files.
PREFIX = "/worker/"
#: Circuit files the in-page prover reads, as served names → names in the key's build folder.
CIRCUIT_FILES = {"circuit/attestation.wasm": "attestation.wasm",
                 "circuit/attestation.zkey": "attestation.zkey",
                 "circuit/vkey.json": "vkey.json"}  # fmt: skip
_TYPES = {".html": "text/html", ".js": "text/javascript", ".json": "application/json",
          ".wasm": "application/wasm", ".wgsl": "text/wgsl"}  # fmt: skip
#: The page loads scripts, workers, wasm and fetches from this gateway only.
CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
       "connect-src 'self' ws: wss:; style-src 'unsafe-inline'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip


@dataclass(frozen=True)
class Asset:
    """One served file: its bytes, sha256 (hex) and content type."""

    data: bytes
    sha256: str
    content_type: str


def sources() -> dict[str, Path]:
    """Served name → file: the page, its bundle, shaders, preprocessor and circuit files."""
    files = {"index.html": PAGE_DIR / "index.html", "worker.js": PAGE_DIR / "worker.js",
             "preprocess.wasm": PREPROCESS_WASM}  # fmt: skip
    files.update({f"shaders/{p.name}": p for p in sorted(SHADER_DIR.glob("*.wgsl"))})
    build = default_build()
    files.update({name: build / file for name, file in CIRCUIT_FILES.items()})
    return files


def load(files: dict[str, Path]) -> dict[str, Asset]:
    """Read and hash ``files``, and add ``manifest.json`` listing them.

    Raises:
        FileNotFoundError: a file is missing (naming the fix).
    """
    assets: dict[str, Asset] = {}
    for name, path in files.items():
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"the worker page needs {path}; run `npm run build` in workers/browser or "
                "reinstall shardy"
            ) from exc
        content_type = _TYPES.get(path.suffix, "application/octet-stream")
        assets[name] = Asset(data, hashlib.sha256(data).hexdigest(), content_type)
    listing = {name: {"sha256": a.sha256, "size": len(a.data)} for name, a in assets.items()}
    manifest = orjson.dumps({"files": listing}, option=orjson.OPT_SORT_KEYS)
    assets["manifest.json"] = Asset(manifest, hashlib.sha256(manifest).hexdigest(),
                                    "application/json")  # fmt: skip
    return assets


class WorkerPage:
    """The page's routes on an aiohttp application (the gateway's, or a test's)."""

    def __init__(self, files: dict[str, Path] | None = None) -> None:
        self._files = files
        self._assets: dict[str, Asset] | None = None
        self._lock = threading.Lock()

    @property
    def assets(self) -> dict[str, Asset]:
        """Every served file by name (read and hashed on first use)."""
        with self._lock:  # a failed load is tried again on the next request
            if self._assets is None:
                self._assets = load(self._files if self._files is not None else sources())
            return self._assets

    def add_routes(self, app: web.Application) -> None:
        """``/worker`` (redirect), ``/worker/`` (the page) and ``/worker/{name}``."""
        app.router.add_get(PREFIX.rstrip("/"), self._redirect)
        app.router.add_get(PREFIX + "{name:.*}", self._file)

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(PREFIX + (f"?{request.query_string}" if request.query_string else ""))

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"] or "index.html"
        try:
            assets = self.assets
        except FileNotFoundError as exc:  # an install without the page: say what to do
            raise web.HTTPServiceUnavailable(text=str(exc)) from exc
        asset = assets.get(name)
        if asset is None:
            raise web.HTTPNotFound(text=f"the worker page has no file {name!r}")
        headers = {"X-Shardy-Sha256": asset.sha256, "ETag": f'"{asset.sha256}"',
                   "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}  # fmt: skip
        if name == "index.html":
            headers["Content-Security-Policy"] = CSP
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers=headers)
        return web.Response(body=asset.data, content_type=asset.content_type, headers=headers)
