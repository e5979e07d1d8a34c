"""The cross-vendor table of bench/gpu.py: every built-in on small fixed inputs, the output's
sha256 (exact kernels) or its largest error against float64 (tolerance kernels), and two
machines' results side by side (``--crossvendor out.json``, ``--compare a.json b.json``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from shardy.kernels import registry
from shardy.workers.gpu import GPU
from shardy.workers.preprocess import Preprocessor


def crossvendor_cases() -> list[tuple[str, bytes, dict]]:
    """The fixed inputs of the cross-vendor table: (kernel, payload, params), seed 7."""
    rng = np.random.default_rng(4)
    data = rng.integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    img = rng.integers(0, 256, 1024 * 768, dtype=np.uint8).tobytes()
    mm = 512
    ab = rng.uniform(-1, 1, 2 * mm * mm).astype("<f4").tobytes()
    cases = [
        ("histogram", data, {}),
        ("sha256", data, {"block": 4096}),
        ("ema_sha256", data[: 1 << 20], {"alpha": 0.1, "dtype": "u16"}),
        ("montecarlo_pi", b"", {"samples": 1 << 26}),
        ("conv2d_u8", img, {"width": 1024, "height": 768, "filter": "gaussian"}),
        ("conv2d_u8", img, {"width": 1024, "height": 768, "filter": "sobel_x"}),
        ("mandelbrot", b"", {"width": 512, "height": 512, "step": 3 / 512, "max_iter": 512}),
        ("matmul_f32", ab, {"m": mm, "n": mm, "k": mm}),
    ]
    return cases


def crossvendor(gpu: GPU) -> dict:
    """Every built-in on small fixed inputs: output sha256 (exact) or max error (tolerance)."""
    cases = crossvendor_cases()
    pre = Preprocessor(use_wasm=False)
    rows, outputs = [], {}
    for name, payload, params in cases:
        k = registry.get(name)
        plan = k.make_plan(len(payload), params, 7)
        src = payload
        if k.preprocessor:
            src = pre.run(k.preprocessor, payload, k.preprocess_args(params), 7)
        out = gpu.run_array(k, src, plan)
        row = {"kernel": name, "params": params, "digest": hashlib.sha256(out).hexdigest()}
        if k.determinism.mode != "exact":
            ref = k.reference(payload, k.resolve_params(params), 7)
            row["max_abs_err_vs_f64"] = float(np.abs(out - ref).max())
            outputs[name] = out
        rows.append(row)
    return {"adapter": f"{gpu.name} ({gpu.backend})", "rows": rows, "outputs": outputs}


def compare(a_path: str, b_path: str) -> None:
    """Print the cross-vendor table of two --crossvendor results."""
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    print(f"| kernel | params | {a['adapter']} | {b['adapter']} | agree |")
    print("|---|---|---|---|---|")
    for ra, rb in zip(a["rows"], b["rows"], strict=True):
        if "max_abs_err_vs_f64" in ra:
            oa = np.load(Path(a_path).with_suffix(f".{ra['kernel']}.npy"))
            ob = np.load(Path(b_path).with_suffix(f".{rb['kernel']}.npy"))
            diff = np.abs(oa - ob)
            cells = (
                f"max err {ra['max_abs_err_vs_f64']:.2e}",
                f"max err {rb['max_abs_err_vs_f64']:.2e}",
                f"max diff {diff.max():.2e}, {np.count_nonzero(diff) / diff.size:.0%} differ",
            )
        else:
            same = ra["digest"] == rb["digest"]
            cells = (ra["digest"][:16], rb["digest"][:16], "equal" if same else "DIFFER")
        print(f"| {ra['kernel']} | {json.dumps(ra['params'])} | " + " | ".join(cells) + " |")
