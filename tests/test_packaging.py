"""Shardy is one installable package: a wheel, installed into a fresh virtualenv, runs the demo
and the sidecar from outside the checkout, and installs no top-level orchestrator or workers.

The fresh virtualenv gets Shardy itself from the wheel only (``--no-deps``); its third-party
dependencies come from the development virtualenv's site-packages through a ``.pth`` line,
so the test needs no network and no minutes of dependency downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import site
import subprocess
import sys
import threading
import time
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_support import short_home

import shardy
import shardy.workers as shardy_workers
from shardy.config import Settings
from shardy.embedded import EmbeddedRedis
from shardy.kernels import SHADER_DIR, registry
from shardy.keyring import CIRCUITS, MANIFEST, read_manifest

ROOT = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shaders_wasm_and_circuits_resolve_inside_the_package():
    assert Path(shardy.__file__).parent / "shaders" == SHADER_DIR
    for name in registry.names():
        assert registry.get(name).source()  # every built-in finds its WGSL through the package
    assert {p.name for p in SHADER_DIR.glob("*.wgsl")} == {
        p.name for p in (ROOT / "shaders").glob("*.wgsl")
    }
    assert Path(shardy.__file__).parent / "circuits" == CIRCUITS
    assert CIRCUITS / "manifest.json" == MANIFEST
    for entry in read_manifest():  # the default verifier key resolves inside the package
        assert (entry.build / "attestation.zkey").is_file()
    packaged = Path(shardy_workers.__file__).parent / "shardy_preprocess.wasm"
    assert _sha(packaged) == _sha(ROOT / "wasm" / "shardy_preprocess.wasm")


def test_package_data_lists_them():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "shaders/*.wgsl" in data["package-data"]["shardy"]
    assert "circuits/build/attestation.zkey" in data["package-data"]["shardy"]
    assert "shardy_preprocess.wasm" in data["package-data"]["shardy.workers"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the checkout (pip, PEP 517, isolated build environment)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = out.glob("shardy-*.whl")
    return path


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the wheel installed; returns its bin/ directory."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "shardy_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    yield env_dir / "bin"


def test_the_wheel_holds_one_package_with_its_files(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("shardy-")}
    assert tops == {"shardy"}
    for needed in (
        "shardy/orchestrator/settle.py",
        "shardy/workers/tasks.py",
        "shardy/workers/shardy_preprocess.wasm",
        "shardy/kernels/histogram.py",
        "shardy/ops/cli.py",
        "shardy/shaders/histogram.wgsl",
        "shardy/circuits/manifest.json",
        "shardy/circuits/build/attestation.zkey",
        "shardy/store/migrations/versions/0001_initial_schema.py",
        "shardy/py.typed",
    ):
        assert needed in names


def _outside_env(home: Path) -> dict[str, str]:
    """An environment that cannot see the checkout: no PYTHONPATH, no checkout on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHARDY_", "PYTHON"))}
    return {**env, "SHARDY_HOME": str(home), "XDG_RUNTIME_DIR": "/tmp", "COLUMNS": "200"}


def test_installed_package_has_no_top_level_wings(fresh: Path, tmp_path: Path):
    code = (
        "import importlib.util, shardy.orchestrator.settle, shardy.workers.tasks\n"
        "print(shardy.__file__)\n"
        "print(importlib.util.find_spec('orchestrator'), importlib.util.find_spec('workers'))\n"
    )
    done = subprocess.run(
        [str(fresh / "python"), "-c", f"import shardy\n{code}"], cwd=tmp_path,
        env=_outside_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    where, specs = done.stdout.splitlines()
    assert not where.startswith(str(ROOT)) and "site-packages" in where
    assert specs == "None None"


@pytest.mark.cluster
def test_installed_shardy_runs_the_demo_and_the_sidecar(fresh: Path, tmp_path: Path):
    home = short_home()
    try:
        demo = subprocess.run(
            [str(fresh / "shardy"), "demo", "--workers", "3", "--tasks", "3", "--size", "4096"],
            cwd=tmp_path, env=_outside_env(home), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "verified tasks" in demo.stdout and "3 tasks verified" in demo.stdout
        assert "outputs match numpy" in demo.stdout
        with EmbeddedRedis(Settings(home=home)):  # the sidecar reads the verified stream
            _sidecar_prints_its_address(fresh, home, tmp_path)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _sidecar_prints_its_address(fresh: Path, home: Path, cwd: Path) -> None:
    proc = subprocess.Popen(
        [str(fresh / "shardy"), "sidecar", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"],
        cwd=cwd, env=_outside_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.5))
                if "listening on /ip4/127.0.0.1/tcp/" in seen[-1]:
                    return
        pytest.fail("the installed sidecar printed no listen address:\n" + "".join(seen))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
