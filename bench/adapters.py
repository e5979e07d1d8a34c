"""Adapter enumeration and selection on this machine: what `shardy gpus`, `--adapter N|NAME`
and `shardy up --per-adapter` would pick, and a histogram digest on each selected adapter.

    python bench/adapters.py
"""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    import shardy  # noqa: F401
except ImportError:  # a bare GPU box without the service dependencies of shardy/__init__
    pkg = types.ModuleType("shardy")
    pkg.__path__ = [str(ROOT / "shardy")]
    sys.modules["shardy"] = pkg

import numpy as np  # noqa: E402

from shardy.kernels import registry  # noqa: E402
from shardy.workers.gpu import GPU, compute_adapters, list_adapters, worker_name  # noqa: E402


def main() -> None:
    payload = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    kernel = registry.get("histogram")
    plan = kernel.make_plan(len(payload), {}, 0)
    oracle = hashlib.sha256(kernel.reference(payload, {}, 0).tobytes()).hexdigest()
    print("adapters wgpu sees:")
    for a in list_adapters():
        print(f"  {a.index}: {a.name} [{a.backend}, {a.adapter_type}] max binding {a.max_binding}")
    print("per-adapter workers:", [worker_name(a) for a in compute_adapters()])
    for a in compute_adapters():
        word = a.name.split()[0]
        for selector in (str(a.index), word):
            gpu = GPU(selector)
            digest = hashlib.sha256(bytes(gpu.run(kernel, payload, plan))).hexdigest()
            print(f"  --adapter {selector!r}: {gpu.name} ({gpu.backend}) histogram digest "
                  f"{digest[:16]} {'= numpy' if digest == oracle else '!= numpy'}")  # fmt: skip


if __name__ == "__main__":
    main()
