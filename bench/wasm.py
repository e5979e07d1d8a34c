"""Benchmark: preprocessor throughput under wasmtime vs the numpy fallback vs pure Python, and the
fixed cost of one wasm call (fresh store + instance + alloc + call).

Run: ``python bench/wasm.py [--kib 4096] [--repeat 5]``. Prints a table; MB/s is payload bytes in
(10**6 bytes) per second, best of ``--repeat`` runs. Pure Python runs on a payload 16× smaller.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import wasmtime

from shardy.workers.preprocess import Preprocessor
from shardy.workers.wasm import WasmHost


def payloads(kib: int) -> dict[str, tuple[bytes, dict]]:
    """One representative call per preprocessor, on about ``kib`` KiB of input."""
    n = kib << 10
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
    side = int((n) ** 0.5)
    f32 = rng.standard_normal(n // 4, dtype=np.float32).tobytes()
    return {
        "chunks": (u8, {"size": 4096, "stride": 3072, "shuffle": 1}),
        "tiles": (u8[: side * side], {"width": side, "height": side, "tile_w": 64, "halo": 1}),
        "decode": (u8, {"dtype": "u8", "scale": 1 / 255}),
        "ema": (u8, {"alpha": 0.1, "frac_bits": 8}),
        "quantize": (f32, {"dtype": "i8", "scale": 32.0}),
    }


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def throughput(pre: Preprocessor, name: str, data: bytes, params: dict, repeat: int) -> float:
    seconds = best(lambda: pre.run(name, data, params, seed=1), repeat)
    return len(data) / seconds / 1e6


def ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.23x`` (below 10) or ``45x``."""
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def call_overhead(repeat: int) -> dict[str, float]:
    """Median microseconds of the fixed per-call steps, on an empty payload."""
    host = WasmHost(fuel=10**9, max_memory=64 << 20)
    engine, module = host._engine, host._module  # the bench may look inside
    steps: dict[str, list[float]] = {"store + limits + fuel": [], "instantiate": [], "total": []}
    for _ in range(repeat * 200):
        t0 = time.perf_counter()
        store = wasmtime.Store(engine)
        store.set_limits(memory_size=64 << 20)
        store.set_fuel(10**9)
        t1 = time.perf_counter()
        wasmtime.Instance(store, module, [])
        t2 = time.perf_counter()
        steps["store + limits + fuel"].append(t1 - t0)
        steps["instantiate"].append(t2 - t1)
        t3 = time.perf_counter()
        host.call("decode", b"", 0, [0, 0x3F800000, 0])
        steps["total"].append(time.perf_counter() - t3)
    pre = Preprocessor(use_wasm=True)
    runs = []
    for _ in range(repeat * 200):
        t0 = time.perf_counter()
        pre.run("decode", b"", {})
        runs.append(time.perf_counter() - t0)
    out = {k: statistics.median(v) * 1e6 for k, v in steps.items()}
    out["Preprocessor.run (validate + call)"] = statistics.median(runs) * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=4096, help="payload KiB (default 4096)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (default 5)")
    args = parser.parse_args()
    backends = {
        "wasm": Preprocessor(use_wasm=True),
        "numpy": Preprocessor(use_wasm=False),
        "python": Preprocessor(use_wasm=False, fallback="python"),
    }
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"payload {args.kib} KiB (pure Python: {args.kib // 16} KiB), best of {args.repeat}\n")
    head = f"{'preprocessor':<10} {'wasm MB/s':>10} {'numpy MB/s':>11} {'python MB/s':>12}"
    print(f"{head} {'wasm/numpy':>11} {'wasm/python':>12}")
    for name, (data, params) in payloads(args.kib).items():
        small = data[: len(data) // 16]
        if name == "tiles":  # keep a whole image for the small run
            side = int(len(small) ** 0.5)
            small, params_small = small[: side * side], {**params, "width": side, "height": side}
        else:
            params_small = params
        mbs = {
            "wasm": throughput(backends["wasm"], name, data, params, args.repeat),
            "numpy": throughput(backends["numpy"], name, data, params, args.repeat),
            "python": throughput(backends["python"], name, small, params_small, 1),
        }
        print(
            f"{name:<10} {mbs['wasm']:>10.1f} {mbs['numpy']:>11.1f} {mbs['python']:>12.2f} "
            f"{ratio(mbs['wasm'], mbs['numpy']):>11} {ratio(mbs['wasm'], mbs['python']):>12}"
        )
    print("\nper-call fixed cost (median, empty payload)")
    for step, micros in call_overhead(args.repeat).items():
        print(f"  {step:<36} {micros:>8.1f} µs")


if __name__ == "__main__":
    main()
