"""Bringing compose/'s stack up for real: a Docker engine, a Debian base image built without a
registry, a wheelhouse, the images, two operators' remote workers, and the whole stack.

Everything this starts it stops: dockerd if none answered before, and the stack with its
volumes. The base image is kept between runs (``local/debian:bookworm``), as is the wheelhouse
(compose/wheels/, ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops_support import wait_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
BASE_IMAGE = "local/debian:bookworm"
PROJECT = "shardytest"
REDIS_PORT, POSTGRES_PORT = 16379, 15432


def sh(*argv: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """Run ``argv``; on failure raise with its output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}"
                           f"\n{done.stderr[-3000:]}")  # fmt: skip
    return done


def install_tools() -> None:
    """docker.io, docker-compose and debootstrap from Debian, where missing (as root)."""
    tools = (("docker.io", "dockerd"), ("docker-compose", "docker-compose"),
             ("debootstrap", "debootstrap"))  # fmt: skip
    missing = [package for package, exe in tools if not shutil.which(exe)]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh(*sudo, "apt-get", "update", "-qq", env=env)
        sh(*sudo, "apt-get", "install", "-y", "-qq", *missing, env=env)


@contextmanager
def docker_engine(logdir: Path) -> Iterator[None]:
    """A Docker engine that answers: the running one, or dockerd started here (and stopped)."""
    if sh("docker", "info", check=False, timeout=30).returncode == 0:
        yield
        return
    log = open(logdir / "dockerd.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for("dockerd", lambda: sh("docker", "info", check=False, timeout=30).returncode == 0,
                 timeout=60)  # fmt: skip
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def debian_mirror() -> str:
    """The machine's Debian mirror (apt's sources), else deb.debian.org."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.exists():
            m = re.search(r"(?:URIs:|deb)\s+(https?://\S+/debian)\b", path.read_text())
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def base_image() -> None:
    """``local/debian:bookworm`` from debootstrap (no registry needed), once."""
    if sh("docker", "image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return
    root = Path(tempfile.mkdtemp(prefix="shardy-rootfs-"))
    try:
        sh("debootstrap", "--variant=minbase", "bookworm", str(root), debian_mirror())
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        sh("docker", "import", "-", BASE_IMAGE, stdin=tar.stdout)
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def wheelhouse() -> None:
    """Wheels of Shardy and its dependencies in compose/wheels/, so image builds need no
    index. bookworm's python3 is 3.11.2, whose redis needs async-timeout (3.11.3+ does not)."""
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(COMPOSE / "wheels"),
       f"{ROOT}[postgres,p2p,flower]", "async-timeout>=4.0.3", cwd=ROOT)  # fmt: skip


class Stack:
    """docker-compose on compose/'s files plus local-base.yml, as project `PROJECT`."""

    def __init__(self, env_dir: Path) -> None:
        self.env_dir = env_dir
        self.env = {**os.environ, "SHARDY_BASE_IMAGE": BASE_IMAGE, "SHARDY_ENV_DIR": str(env_dir),
                    "SHARDY_REDIS_PORT": str(REDIS_PORT),
                    "SHARDY_POSTGRES_PORT": str(POSTGRES_PORT)}  # fmt: skip

    def compose(self, *args: str, check: bool = True, timeout: float = 900):
        argv = ["docker-compose", "-p", PROJECT, "-f", "docker-compose.yml", "-f",
                "local-base.yml", *args]  # fmt: skip
        return sh(*argv, check=check, timeout=timeout, cwd=COMPOSE, env=self.env)

    def write_tokens(self, tokens: list[str]) -> None:
        for i, token in enumerate(tokens):
            (self.env_dir / f"remote-gpu{i}.env").write_text(
                f"SHARDY_HOME=/var/lib/shardy\nSHARDY_GATEWAY_TOKEN={token}\n"
            )

    def add_operator(self, name: str) -> str:
        out = self.compose("run", "--rm", "orchestrator", "shardy", "operators", "add", name)
        return next(line for line in out.stdout.splitlines() if line.startswith("shy1."))

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def up(self) -> None:
        """The whole stack: storage and the orchestrator side first, two operators' tokens for
        the remote workers, then everything."""
        self.write_tokens(["", ""])
        self.compose("build")
        self.compose("up", "-d", "redis", "postgres", "orchestrator", "gateway")
        self.write_tokens([self.add_operator("box-a"), self.add_operator("box-b")])
        self.compose("up", "-d")

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail=200", check=False).stdout

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["-v"] if volumes else []), check=False)


def host_settings(home: Path):
    """Settings of a client on the host, through the published ports (R = 2 as shardy.env)."""
    from shardy.config import Settings

    redis = f"redis://127.0.0.1:{REDIS_PORT}"
    database = f"postgresql+psycopg://shardy:shardy@127.0.0.1:{POSTGRES_PORT}/shardy"
    return Settings(home=home, broker_url=f"{redis}/0", result_url=f"{redis}/1",
                    blob_url=f"{redis}/2", database_url=database, redundancy_factor=2)  # fmt: skip
