"""The orchestrator's signing key: the long-lived Ed25519 key every verified record is signed
with (`shardy.p2p.signed`), kept in a 0600 file and published beside the verifier keys.

The key lives in ``SHARDY_ORCHESTRATOR_KEY`` (PEM, PKCS#8), by default
``SHARDY_HOME/orchestrator-signing.key``, created on first use. Give every orchestrator
process of one deployment the same file. Its public key is published in Redis under
:data:`PUBLISHED` (a hash: public key hex → unix time first published), next to the verifier
keys (``shardy:zk:key:<id>``), and printed by ``shardy keys orchestrator``; gossip peers trust
it through ``SHARDY_P2P_TRUSTED``.
"""

from __future__ import annotations

import logging
import os
import stat
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from shardy.celery_app import ShardyCelery
from shardy.config import Settings
from shardy.errors import ConfigError, ShardyError
from shardy.p2p.signed import PUBLISHED_KEYS as PUBLISHED
from shardy.p2p.signed import public_key_hex, sign_stream_fields

log = logging.getLogger("shardy.orchestrator")

#: File name of the key in SHARDY_HOME when SHARDY_ORCHESTRATOR_KEY is unset.
KEY_FILE = "orchestrator-signing.key"

#: app → its signing key (loaded once per process; its public key published once)
_keys: weakref.WeakKeyDictionary[ShardyCelery, Ed25519PrivateKey] = weakref.WeakKeyDictionary()


def key_path(settings: Settings) -> Path:
    """Where this deployment's signing key lives."""
    return settings.orchestrator_key or settings.home / KEY_FILE


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path`` (PEM, PKCS#8), created (mode 0600, exclusively) if absent.

    Raises:
        ConfigError: the file is unreadable, not an Ed25519 key, or readable by others.
    """
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create(path)  # another orchestrator process created it first
        except OSError as exc:
            raise ConfigError(
                f"cannot create the orchestrator signing key {path}: {exc}; make its directory "
                "writable or point SHARDY_ORCHESTRATOR_KEY at an existing key"
            ) from exc
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        log.info("created the orchestrator signing key %s", path)
        return key
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"orchestrator signing key {path} is accessible by group or others (mode "
                f"{mode & 0o777:o}); run `chmod 600 {path}`"
            )
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"cannot read the orchestrator signing key {path}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"orchestrator signing key {path} is not an unencrypted PEM key: {exc}; restore it "
            "(peers trust its public key) or move it away to create a new one"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"orchestrator signing key {path} is not an Ed25519 key")
    return key


def public_key(settings: Settings) -> str:
    """This deployment's orchestrator public key (hex), creating the key on first use."""
    return public_key_hex(load_or_create(key_path(settings)))


def publish_public_key(client: redis.Redis, key: Ed25519PrivateKey) -> str:
    """Put ``key``'s public key into :data:`PUBLISHED` (kept if already there); its hex."""
    public = public_key_hex(key)
    client.hsetnx(PUBLISHED, public, str(int(time.time())))
    return public


def published_keys(client: redis.Redis) -> list[str]:
    """Every orchestrator public key published in this Redis (hex)."""
    return sorted(k.decode() if isinstance(k, bytes) else k for k in client.hkeys(PUBLISHED))


def signing_key(app: ShardyCelery) -> Ed25519PrivateKey:
    """The app's signing key, loaded once per process, its public key published on first use.

    Raises:
        ConfigError: the key file cannot be created or read.
    """
    key = _keys.get(app)
    if key is None:
        key = load_or_create(key_path(app.settings))
        publish_public_key(app.redis, key)
        _keys[app] = key
    return key


def sign_entry(
    app: ShardyCelery, fields: dict[str, Any], enrolled: Iterable[tuple[Any, Any]]
) -> dict[str, str]:
    """The signed fields (`shardy.p2p.signed.SIGNED_FIELDS`) for one verified stream entry.

    A key or record that cannot be signed is logged with its fix and leaves the entry unsigned
    (gossip peers then refuse it): settle still commits the verified result.
    """
    try:
        return sign_stream_fields(fields, enrolled, signing_key(app))
    except ShardyError as exc:
        log.error("verified record of task %s left unsigned: %s", fields.get("task_id"), exc)
        return {}
