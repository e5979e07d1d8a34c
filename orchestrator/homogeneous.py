"""Homogeneous redundancy (SHARDY_HOMOGENEOUS): a float kernel's replicas on one platform.

The same float WGSL gives different bits on different GPUs and drivers (NVIDIA fuses
mul+add; docs/kernels.md), so float kernels agree within a tolerance. A user who wants
bit-identical float results instead asks for homogeneous redundancy, as BOINC does: dispatch
picks one platform class, the adapter string workers report (device, backend and driver;
`shardy.workers.engine.Engine.adapter`), gives every replica of the task, extra rounds and
speculative replicas included, to workers of that class (``tasks.platform``), and settle
compares their digests exactly.

The class is the one with the most live workers (at least the quorum). A remote worker's
adapter is its own report: a worker that lies about its platform only gets outvoted by
bit-exact honest ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shardy import routing
from shardy.celery_app import ShardyCelery
from shardy.errors import ConfigError
from shardy.store import Worker


def adapters(
    app: ShardyCelery, worker_ids: Iterable[str], session: Session | None = None
) -> dict[str, str]:
    """Worker id → its reported adapter (platform class), for workers that reported one
    (read in ``session`` when the caller holds one, else in a read session of its own)."""
    ids = sorted(set(worker_ids))
    if not ids:
        return {}
    if session is None:
        with app.store.read() as own:
            return adapters(app, ids, own)
    rows = session.execute(select(Worker.id, Worker.adapter).where(Worker.id.in_(ids)))
    return {wid: adapter for wid, adapter in rows if adapter}


def choose(by_worker: dict[str, str], quorum: int, voter_of: dict[str, str] | None = None) -> str:
    """The platform class with the most distinct voters (``voter_of``: worker → its voter;
    each worker its own when not given), ties by name: one operator's many keys reporting a
    made-up adapter count once.

    Raises:
        ConfigError: no class has ``quorum`` distinct live voters.
    """
    voters: dict[str, set[str]] = {}
    for worker, adapter in by_worker.items():
        voters.setdefault(adapter, set()).add((voter_of or {}).get(worker, worker))
    counts = Counter({a: len(v) for a, v in voters.items()})
    if not counts or max(counts.values()) < quorum:
        have = ", ".join(f"{n} x {a!r}" for a, n in counts.most_common()) or "none"
        raise ConfigError(
            f"homogeneous redundancy needs {quorum} live operators of one platform; live: "
            f"{have}. Start more workers of one kind, or unset SHARDY_HOMOGENEOUS to agree "
            "within the kernel's tolerance"
        )
    best = max(counts.values())
    return min(a for a, n in counts.items() if n == best)


def members(
    app: ShardyCelery,
    platform: str,
    live: Iterable[str] | None = None,
    session: Session | None = None,
) -> set[str]:
    """The ``live`` workers (default: every live worker) of ``platform``."""
    live = routing.alive(app.redis) if live is None else live
    return {w for w, a in adapters(app, live, session).items() if a == platform}
