"""Finding a kernel by name: a built-in from the registry, or a shipped kernel by its hash.

A shipped kernel (``wgsl-<sha256>``) is stored twice: durably in SQL (table ``kernels``, read by
the orchestrator, settle and clients) and in the blob store under its hash (read by fleet
workers, refreshed with every round sent). Remote workers receive it inline with the order. Every
copy is checked against the hash in the name before it is parsed, so a store that lies about a
kernel gives an error, never another kernel.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy.exc import IntegrityError

from shardy.blobs import KEY_PREFIX
from shardy.errors import BlobNotFound, BlobUnavailable
from shardy.kernels.kernel import Kernel
from shardy.kernels.registry import registry
from shardy.kernels.shipped import PREFIX, WgslKernel, is_shipped

Loader = Callable[[str], bytes | None]


class Catalog:
    """Name → Kernel: the registry's built-ins, and shipped kernels parsed once (LRU)."""

    def __init__(self, load: Loader | None = None, size: int = 128) -> None:
        self._load = load
        self._size = size
        self._cache: OrderedDict[str, Kernel] = OrderedDict()
        self._lock = threading.Lock()
        #: shipped kernels this process recorded in SQL (`save`)
        self.saved: set[str] = set()

    def get(self, name: str, load: Loader | None = None) -> Kernel:
        """The kernel called ``name``; ``load`` (hash → canonical JSON bytes, or None when
        absent) overrides the catalog's loader for a shipped kernel not yet cached.

        Raises:
            KernelError: unknown name, or shipped bytes that fail the hash or validation.
            BlobNotFound / BlobUnavailable: the kernel's bytes are not (or not now) readable.
        """
        if not is_shipped(name):
            return registry.get(name)
        with self._lock:
            kernel = self._cache.get(name)
            if kernel is not None:
                self._cache.move_to_end(name)
                return kernel
        loader = load or self._load
        digest = name[len(PREFIX) :]
        data = loader(digest) if loader is not None else None
        if data is None:
            raise BlobNotFound(
                f"shipped kernel {digest[:12]} is not in the store; resubmit it with its task"
            )
        kernel = WgslKernel.from_json(bytes(data), expect_hash=digest).as_kernel()
        self.put(kernel)
        return kernel

    def put(self, kernel: Kernel) -> None:
        """Cache a shipped kernel (the submitting process knows it already)."""
        with self._lock:
            self._cache[kernel.name] = kernel
            self._cache.move_to_end(kernel.name)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)


def blob_loader(client: redis.Redis) -> Loader:
    """Read shipped kernels from the blob store (a fleet worker's path)."""

    def load(digest: str) -> bytes | None:
        try:
            return client.get(KEY_PREFIX + digest)
        except redis.RedisError as exc:
            raise BlobUnavailable(f"could not read kernel {digest[:12]}: {exc}") from exc

    return load


# ---- the orchestrator's and clients' view (SQL first, then the blob store) ---------------------

_catalogs: weakref.WeakKeyDictionary[Any, Catalog] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def catalog(app: Any) -> Catalog:
    """The catalog of a Shardy app (SQL, then blobs), one per app and process."""
    with _guard:
        cat = _catalogs.get(app)
        if cat is None:
            cat = _catalogs[app] = Catalog(lambda digest: _stored(app, digest))
        return cat


def lookup(app: Any, name: str) -> Kernel:
    """``catalog(app).get(name)``."""
    return catalog(app).get(name)


def save(app: Any, spec: WgslKernel) -> Kernel:
    """Record a shipped kernel in SQL (once) and the blob store; returns it as a `Kernel`."""
    from shardy.store import ShippedKernel

    cat = catalog(app)
    if spec.name in cat.saved:  # recorded by this process already
        return cat.get(spec.name, lambda _: spec.to_json())
    kernel = spec.as_kernel()
    try:
        with app.store.session() as s:
            if s.get(ShippedKernel, spec.hash) is None:
                s.add(ShippedKernel(hash=spec.hash, label=spec.label, spec=spec.to_json()))
    except IntegrityError:  # another client stored the same kernel first: the row is there
        with app.store.read() as s:
            if s.get(ShippedKernel, spec.hash) is None:
                raise
    cat.put(kernel)
    cat.saved.add(spec.name)
    return kernel


def publish(app: Any, kernel: Kernel) -> None:
    """Store (or refresh) a shipped kernel's bytes in the blob store for fleet workers."""
    if kernel.spec is not None:
        app.blobs.put(kernel.spec.to_json(), inline=False)


def _stored(app: Any, digest: str) -> bytes | None:
    from shardy.store import ShippedKernel

    with app.store.read() as s:
        row = s.get(ShippedKernel, digest)
    if row is not None:
        return bytes(row.spec)
    try:
        return blob_loader(app.redis)(digest)
    except BlobUnavailable:
        return None
