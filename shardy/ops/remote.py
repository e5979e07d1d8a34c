"""Remote workers for a local cluster: a gateway and N remote worker processes, so `shardy up
--remote`, the demo and the tests go through the real door. Each worker enrolls under its own
operator (``local-<i>``) unless told otherwise, with its own SHARDY_HOME, and its environment
carries no broker, Redis or database URL."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

from shardy import routing
from shardy.errors import ShardyError
from shardy.ops.cli_gateway import GATEWAY_CONCURRENCY, gateway_command

if TYPE_CHECKING:
    from shardy.ops.cluster import Cluster

#: The only settings a remote worker process gets (never broker, Redis or database URLs).
REMOTE_ENV = ("SHARDY_ATTEST_BATCH", "SHARDY_ATTEST_WAIT_MS", "SHARDY_WASM", "SHARDY_MAX_PAYLOAD",
              "SHARDY_MAX_OUTPUT", "SHARDY_TASK_TIME_LIMIT", "SHARDY_REMOTE_SLOTS",
              "SHARDY_GPU_ADAPTER", "SHARDY_GATEWAY_CA", "SHARDY_STREAM_THRESHOLD")  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteFleet:
    """A gateway and remote workers added to ``cluster`` (supervised like its processes).

    Args:
        cluster: the local cluster (its orchestrator and store must be up).
        workers: remote worker processes (``rw<index>``).
        operators: operator name per worker index (default ``local-<index>``).
        worker_env: extra environment per worker index.
        listen: the address the gateway binds (0.0.0.0 for workers on other hosts).
        worker_host: the gateway's address per worker index, where it is not 127.0.0.1 (a
            worker on another network).
        worker_prefix: a command prefix per worker index (``ip netns exec NS``, say).
    """

    def __init__(
        self,
        cluster: Cluster,
        workers: int,
        *,
        operators: dict[int, str] | None = None,
        worker_env: dict[int, dict[str, str]] | None = None,
        listen: str = "127.0.0.1",
        worker_host: dict[int, str] | None = None,
        worker_prefix: dict[int, list[str]] | None = None,
    ) -> None:
        self.cluster = cluster
        self.n = workers
        self.operators = {i: (operators or {}).get(i, f"local-{i}") for i in range(workers)}
        self.worker_env = worker_env or {}
        self.listen = listen
        self.port = free_port()
        self.gateway_id = f"local-{self.port}"
        self.tls = cluster.settings.gateway_cert is not None
        self.url = f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/session"
        self.worker_host = worker_host or {}
        self.worker_prefix = worker_prefix or {}
        self.tokens: dict[str, str] = {}

    def start(self, timeout: float = 120.0) -> RemoteFleet:
        """Make the operators' tokens, start the gateway, then the workers; wait until every
        worker has a session."""
        self._tokens()
        self.cluster.add_process("gateway", self._start_gateway)
        self._wait_http(timeout)
        for i in range(self.n):
            self.cluster.add_process(f"rw{i}", lambda i=i: self._start_worker(i))
        self.wait_sessions(self.n, timeout)
        return self

    def _tokens(self) -> None:
        from shardy.orchestrator import operators as ops
        from shardy.store import Operator, Store

        store = Store(self.cluster.settings.database)
        try:
            with store.session() as session:
                for name in sorted(set(self.operators.values())):
                    if session.query(Operator).filter_by(name=name).first() is None:
                        self.tokens[name] = str(ops.add(session, name))
        finally:
            store.close()

    def _start_gateway(self) -> subprocess.Popen:
        env = {"SHARDY_GATEWAY_ID": self.gateway_id,
               "SHARDY_GATEWAY_LISTEN": f"{self.listen}:{self.port}"}  # fmt: skip
        cmd = gateway_command(self.gateway_id, GATEWAY_CONCURRENCY, self.cluster.loglevel)
        return self.cluster.spawn("gateway", cmd, env)

    def _start_worker(self, i: int) -> subprocess.Popen:
        home = self.cluster.settings.home / "rw" / str(i)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = {k: v for k, v in os.environ.items() if not k.startswith("SHARDY_")}
        trusted = {k: v for k, v in self.cluster.base_env().items() if k in REMOTE_ENV}
        url = self.url.replace("127.0.0.1", self.worker_host.get(i, "127.0.0.1"))
        env = {**base, **trusted, "SHARDY_HOME": str(home), "SHARDY_GATEWAY_URL": url,
               "SHARDY_GATEWAY_TOKEN": self.tokens.get(self.operators[i], ""),
               **self.worker_env.get(i, {})}  # fmt: skip
        cmd = [*self.worker_prefix.get(i, []), sys.executable, "-m", "shardy.ops.cli", "worker",
               "--loglevel", "info"]  # fmt: skip
        return self.cluster.spawn(f"rw{i}", cmd, env, inherit=False)

    def worker_id(self, i: int) -> str | None:
        """The id remote worker ``i`` enrolled as (None before it has)."""
        path = self.cluster.settings.home / "rw" / str(i) / "remote" / "enrolled.json"
        try:
            return str(json.loads(path.read_text())["worker_id"])
        except (OSError, ValueError, KeyError):
            return None

    def _wait_http(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        s = self.cluster.settings
        ctx = ssl.create_default_context(cafile=str(s.gateway_ca)) if self.tls else None
        scheme = "https" if self.tls else "http"
        while True:
            try:
                url = f"{scheme}://127.0.0.1:{self.port}/healthz"
                urllib.request.urlopen(url, timeout=1, context=ctx).close()
                return
            except OSError:
                proc = self.cluster.procs.get("gateway")
                if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                    raise ShardyError(
                        f"the gateway did not come up; see {self.cluster.logdir / 'gateway.log'}"
                    ) from None
                time.sleep(0.2)

    def wait_sessions(self, n: int, timeout: float = 120.0) -> set[str]:
        """Wait until ``n`` remote workers hold sessions; returns their ids."""
        r = self.cluster.client_app().redis
        deadline = time.monotonic() + timeout
        while True:
            live = {w for w, info in routing.live_workers(r).items() if info.kind == "remote"}
            if len(live) >= n:
                return live
            if time.monotonic() > deadline:
                raise ShardyError(
                    f"{len(live)} of {n} remote workers joined; see the rw*.log files in "
                    f"{self.cluster.logdir}"
                )
            time.sleep(0.2)
