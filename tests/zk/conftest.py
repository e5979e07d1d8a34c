"""Fixtures for the zk tests: the committed attestation circuit and a snarkjs runner."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shardy.zk import Circuit, attestation_inputs, load_circuit

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "circuits" / "build"
SNARKJS = ROOT / "circuits" / "node_modules" / ".bin" / "snarkjs"
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TASK = "3f2a5c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="session")
def circuit() -> Circuit:
    return load_circuit(BUILD)


@pytest.fixture(scope="session")
def vkey_json() -> dict[str, Any]:
    return json.loads((BUILD / "vkey.json").read_text())


@pytest.fixture(scope="session")
def inputs() -> dict[str, int]:
    return attestation_inputs(TASK, seed=7, output_len=4096, result_digest=DIGEST,
                              worker_secret=123456789)  # fmt: skip


@pytest.fixture(scope="session")
def proved(circuit: Circuit, inputs: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    from shardy.zk import prove

    return prove(circuit, inputs)


@pytest.fixture()
def snarkjs(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the snarkjs CLI (a separate GPL process); skip where circuits/node_modules is absent."""
    if not SNARKJS.exists():
        pytest.skip("circuits/node_modules is absent: run `npm ci --prefix circuits`")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SNARKJS), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    return run


@pytest.fixture(scope="session")
def build_dir() -> Path:
    return BUILD
