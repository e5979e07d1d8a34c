"""A local cluster: embedded Redis, one orchestrator and N GPU worker processes (real Celery)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from shardy.celery_app import CONTROL_QUEUE, GPU_QUEUE
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis
from shardy.errors import ShardyError
from shardy.ops.remote import RemoteFleet


def settings_env(settings: Settings) -> dict[str, str]:
    """The SHARDY_* variables that reproduce ``settings`` in a child process."""
    env = {}
    for f in dataclasses.fields(settings):
        if f.name == "worker_secret":  # one secret per worker: never shared by a whole cluster
            continue
        value = getattr(settings, f.name)
        if value is not None:
            env[f"SHARDY_{f.name.upper()}"] = str(int(value) if isinstance(value, bool) else value)
    return env


#: The module whose tasks serve each queue (``celery -A``).
ROLE_MODULES = {GPU_QUEUE: "shardy.workers.tasks", CONTROL_QUEUE: "shardy.orchestrator.tasks"}


def worker_command(
    queue: str,
    name: str,
    *,
    concurrency: int = 1,
    loglevel: str = "warning",
    pool: str = "prefork",
    include: Sequence[str] = (),
) -> list[str]:
    """The `celery worker` command line Shardy uses for one worker process: the GPU worker's
    tasks for ``shardy.gpu``, the orchestrator's for ``shardy.control``."""
    return [
        sys.executable, "-m", "celery", "-A", ROLE_MODULES[queue], "worker",
        "-Q", queue, "-n", name, "-c", str(concurrency), "-P", pool,
        "-l", loglevel, "--without-gossip", "--without-mingle",
        *(["--include", ",".join(include)] if include else []),
    ]  # fmt: skip


def gpu_pool(settings: Settings, concurrency: int = 1) -> tuple[str, int]:
    """Pool and concurrency of a GPU worker: batch attestation needs K replicas in flight at
    once in one process (a threads pool sharing the device and the batcher)."""
    if settings.attest_batch > 1:
        return "threads", max(concurrency, settings.attest_batch)
    return "prefork", concurrency


class Cluster:
    """Start and stop a local Shardy cluster.

    Args:
        settings: configuration shared by every process (passed as SHARDY_* variables).
        workers: GPU worker processes.
        worker_env: extra environment per GPU worker index (tests use it for faults).
        worker_modules: extra modules each GPU worker index imports at start (Celery's
            ``--include``; tests load their fault kernels and behaviours this way).
        names: process (and Celery node) name per GPU worker index (default ``gpu<index>``).
        loglevel: Celery log level of the child processes (logs go to SHARDY_HOME/logs).
        supervise: restart any process that exits (as compose's ``restart:`` policy does); a
            process stopped with `kill` stays down until started again.
        remote: remote worker processes behind a local gateway (`shardy.ops.remote`).
        remote_operators: operator name per remote worker index (default ``local-<index>``).
        remote_env: extra environment per remote worker index.
        remote_options: further `RemoteFleet` arguments (listen address, URLs, prefixes).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 3,
        worker_env: dict[int, dict[str, str]] | None = None,
        worker_modules: dict[int, Sequence[str]] | None = None,
        loglevel: str = "warning",
        names: dict[int, str] | None = None,
        supervise: bool = True,
        remote: int = 0,
        remote_operators: dict[int, str] | None = None,
        remote_env: dict[int, dict[str, str]] | None = None,
        remote_options: dict | None = None,
    ) -> None:
        self.settings = settings
        self.supervise = supervise
        self._lock = threading.RLock()
        self._held: set[str] = set()  # killed on purpose: not restarted by the supervisor
        self._extra: dict[str, Callable[[], subprocess.Popen]] = {}
        self._stopping = threading.Event()
        self.n_workers = workers
        self.worker_env = worker_env or {}
        self.worker_modules = worker_modules or {}
        self.loglevel = loglevel
        self.names = names or {}
        self.host = socket.gethostname()
        self.redis = EmbeddedRedis(settings) if settings.embedded else None
        self.procs: dict[str, subprocess.Popen] = {}
        self.logdir = settings.home / "logs"
        self.remote: RemoteFleet | None = None
        if remote:
            self.remote = RemoteFleet(self, remote, operators=remote_operators,
                                      worker_env=remote_env, **(remote_options or {}))  # fmt: skip

    def start(self, timeout: float = 120.0) -> Cluster:
        """Start Redis (if embedded), migrate the store, start every process, wait until ready."""
        from shardy.store import Store

        self.settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.logdir.mkdir(exist_ok=True)
        if self.redis is not None:
            self.redis.start()
        Store(self.settings.database).close()
        self.restart("orchestrator")
        for i in range(self.n_workers):
            self.start_worker(i)
        self.wait_ready(timeout)
        if self.remote is not None:
            self.remote.start(timeout)
        if self.supervise:
            threading.Thread(target=self._supervise, name="shardy-supervisor", daemon=True).start()
        return self

    def add_process(self, name: str, start: Callable[[], subprocess.Popen]) -> None:
        """Run and supervise another process (Flower, say) started by ``start()``."""
        with self._lock:
            self._extra[name] = start
            self.procs[name] = start()

    def _supervise(self) -> None:
        while not self._stopping.wait(1.0):
            with self._lock:
                if self._stopping.is_set():
                    return
                for name, proc in list(self.procs.items()):
                    if proc.poll() is not None and name not in self._held:
                        with open(self.logdir / "supervisor.log", "a") as log:
                            log.write(
                                f"{time.ctime()}: {name} exited ({proc.returncode}); restart\n"
                            )
                        self.restart(name)

    def node(self, name: str) -> str:
        """Celery node name of process ``name``."""
        return f"{name}@{self.host}"

    def start_worker(self, index: int) -> None:
        """Start (or restart) GPU worker ``gpu<index>``."""
        pool, concurrency = gpu_pool(self.settings)
        self.start_process(
            self.names.get(index, f"gpu{index}"),
            GPU_QUEUE,
            env=self.worker_env.get(index),
            pool=pool,
            concurrency=concurrency,
            include=self.worker_modules.get(index, ()),
        )

    def restart(self, name: str) -> None:
        """Start process ``name`` again (a GPU worker, the orchestrator or an added process)."""
        if name in self._extra:
            with self._lock:
                self._held.discard(name)
                self.procs[name] = self._extra[name]()
            return
        if name == "orchestrator":
            self.start_process(name, CONTROL_QUEUE, concurrency=2)
            return
        for index in range(self.n_workers):
            if self.names.get(index, f"gpu{index}") == name:
                self.start_worker(index)
                return
        raise ShardyError(f"no process named {name!r} in this cluster")

    def start_process(
        self,
        name: str,
        queue: str,
        *,
        concurrency: int = 1,
        env: dict[str, str] | None = None,
        pool: str = "prefork",
        include: Sequence[str] = (),
    ) -> subprocess.Popen:
        """Start one Celery worker process named ``name`` on ``queue``."""
        cmd = worker_command(queue, self.node(name), concurrency=concurrency,
                             loglevel=self.loglevel, pool=pool, include=include)  # fmt: skip
        return self.spawn(name, cmd, env or {})

    def base_env(self) -> dict[str, str]:
        """The SHARDY_* variables every trusted process of this cluster gets."""
        return settings_env(self.settings)

    def spawn(
        self, name: str, cmd: list[str], env: dict[str, str], *, inherit: bool = True
    ) -> subprocess.Popen:
        """Start process ``name`` (its own session, output to ``logs/<name>.log``), with this
        process's environment and the cluster's settings, or with ``env`` alone."""
        full_env = {**os.environ, **self.base_env(), **env} if inherit else dict(env)
        full_env.setdefault("XDG_RUNTIME_DIR", "/tmp")
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(cmd, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        log.close()
        with self._lock:
            self.procs[name] = proc
            self._held.discard(name)
        return proc

    def client_app(self):
        """A Celery app (with Redis, blobs and the store) for this cluster's settings."""
        from shardy.api import Client

        return Client(self.settings).app

    def celery_names(self) -> list[str]:
        """The processes that are Celery nodes named after themselves."""
        return [n for n in self.procs if n not in self._extra]

    def wait_ready(self, timeout: float = 120.0, names: list[str] | None = None) -> None:
        """Block until every named process answers a Celery ping."""
        from shardy.api import Client

        app = Client(self.settings).app
        want = {self.node(n) for n in (names or self.celery_names())}
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while not want <= seen:
            for name, proc in self.procs.items():
                if proc.poll() is not None and self.node(name) in want:
                    raise ShardyError(
                        f"worker {name} exited with code {proc.returncode}; "
                        f"see {self.logdir / (name + '.log')}"
                    )
            if time.monotonic() > deadline:
                raise ShardyError(
                    f"workers not ready after {timeout}s: {sorted(want - seen)}; "
                    f"see the logs in {self.logdir}"
                )
            for reply in app.control.ping(timeout=0.5) or []:
                seen.update(reply)

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float | None = None) -> int:
        """Send ``sig`` to process ``name`` and its pool children (the whole session) and wait
        for it to exit (at most ``timeout`` s: else TimeoutExpired); it stays down
        (unsupervised) until started again. Returns its exit code."""
        with self._lock:
            self._held.add(name)
            proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        return proc.wait(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Warm-shutdown every process (SIGTERM), then kill stragglers; stop embedded Redis."""
        with self._lock:
            self._stopping.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def per_adapter(cls, settings: Settings, **kw: object) -> Cluster:
        """One GPU worker per physical adapter, each bound to it by SHARDY_GPU_ADAPTER."""
        from shardy.workers.gpu import compute_adapters, worker_name

        adapters = compute_adapters()
        if not adapters:
            raise ShardyError("wgpu sees no compute adapter; install a Vulkan driver")
        env = {i: {"SHARDY_GPU_ADAPTER": str(a.index)} for i, a in enumerate(adapters)}
        names = {i: worker_name(a) for i, a in enumerate(adapters)}
        if kw.get("remote"):  # the remote workers take the adapters: one worker per adapter
            return cls(settings, workers=0, remote_env=env, remote=len(adapters),
                       **{k: v for k, v in kw.items() if k != "remote"})  # fmt: skip
        return cls(settings, workers=len(adapters), worker_env=env, names=names, **kw)
