"""Worker identity: a secret created once per worker (mode 0600) whose Poseidon hash it attests."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from shardy.config import Settings
from shardy.errors import ConfigError
from shardy.zk import FIELD_MODULUS, commitment, new_worker_secret


def secret_path(settings: Settings, worker_id: str) -> Path:
    """Where worker ``worker_id`` keeps its secret under SHARDY_HOME."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", worker_id)
    return settings.home / "secrets" / f"{safe}.secret"


def worker_secret(settings: Settings, worker_id: str) -> int:
    """The worker's secret: SHARDY_WORKER_SECRET, else its file, created on first use (0600).

    Raises:
        ConfigError: the variable or the file does not hold an integer in [1, r).
    """
    raw = settings.worker_secret
    source = "SHARDY_WORKER_SECRET"
    if raw is None:
        path = secret_path(settings, worker_id)
        source = str(path)
        if not path.exists():
            _create(path)
        raw = path.read_text().strip()
    try:
        value = int(raw, 0)
    except ValueError:
        value = 0
    if not 0 < value < FIELD_MODULUS:
        raise ConfigError(f"the worker secret in {source} is not an integer in [1, r); fix it")
    return value


def _create(path: Path) -> None:
    """Write a new secret to ``path`` whole or not at all: written to a file of its own, then
    linked into place unless another process or thread got there first (a reader never sees
    the file half written)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.unlink(missing_ok=True)  # left by a process killed here that had this pid and thread
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{new_worker_secret()}\n")
        try:
            os.link(tmp, path)
        except FileExistsError:  # created meanwhile: that one stands
            pass
        except OSError:  # a file system without hard links: created in place, first one wins
            _create_in_place(path, tmp.read_text())
    finally:
        tmp.unlink(missing_ok=True)


def _create_in_place(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def worker_commitment(secret: int) -> str:
    """The public commitment (decimal) to a worker secret."""
    return str(commitment(secret))
