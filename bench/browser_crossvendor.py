"""The cross-vendor digest table's SwiftShader column: every built-in kernel on the table's
fixed inputs (bench/gpu.py --crossvendor, seed 7) in the worker page in headless Chromium
(WebGPU on SwiftShader), beside this machine's Python worker (wgpu; lavapipe on CPU machines).
Exact kernels must give the same sha256; matmul_f32 is compared with its float64 oracle.

    .venv/bin/python bench/browser_crossvendor.py
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "workers"), str(ROOT / "bench")]

from browser_support import chromium, open_page, page_server, run_in_page  # noqa: E402
from gpu import crossvendor, crossvendor_cases  # noqa: E402

from shardy.kernels import registry  # noqa: E402
from shardy.workers.gpu import GPU  # noqa: E402


def main() -> None:
    here = crossvendor(GPU())
    cases = crossvendor_cases()
    print(f"| kernel | params | {here['adapter']} | SwiftShader (Chromium WebGPU) | |")
    print("|---|---|---|---|---|")
    with page_server() as url, chromium() as driver:
        adapter = open_page(driver, f"{url}/worker/").get("adapter", "?")
        for (name, payload, params), row in zip(cases, here["rows"], strict=True):
            got = run_in_page(driver, name, payload, params, 7)
            if "error" in got:
                print(f"| {name} | {params} | {row['digest'][:16]} | {got['error']} | error |")
                continue
            digest = hashlib.sha256(got["output"]).hexdigest()
            k = registry.get(name)
            if k.determinism.mode == "exact":
                verdict = "equal" if digest == row["digest"] else "DIFFERENT"
                cells = (row["digest"][:16], digest[:16], verdict)
            else:
                ref = k.reference(payload, k.resolve_params(params), 7)
                out = np.frombuffer(got["output"], dtype="<f4").reshape(ref.shape)
                ours = here["outputs"][name].reshape(ref.shape)
                cells = (f"max err {row['max_abs_err_vs_f64']:.1e} vs f64",
                         f"max err {float(np.abs(out - ref).max()):.1e} vs f64",
                         f"{np.mean(out != ours):.0%} of elements differ")  # fmt: skip
            print(f"| {name} | {params} | " + " | ".join(cells) + " |", flush=True)
    print(f"\npage adapter: {adapter}")


if __name__ == "__main__":
    main()
