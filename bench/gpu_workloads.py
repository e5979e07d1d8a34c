"""The workloads of bench/gpu.py: deterministic inputs of every built-in kernel, the work units
each call does (bytes moved, samples, iterations or flops), and numpy's rate on the same work.
Imported by bench/gpu.py after it has made ``shardy.kernels`` importable."""

from __future__ import annotations

import math
import time

import numpy as np

from shardy.kernels import registry


def best(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


#: Kernels whose rate is bytes moved, compared with torch's copy (the bandwidth-bound ones;
#: sha256 is counted in bytes too, though it is bound by its arithmetic).
BANDWIDTH_KERNELS = ("histogram", "sha256", "conv2d_u8")


def workloads(scale: float, input_bytes: int | None = None) -> dict[str, tuple[bytes, dict, str]]:
    """Benchmark inputs, deterministic (seeded) so every machine runs the same bytes.

    Args:
        scale: size factor of every workload (1: histogram 256 MiB, sha256 64 MiB, conv2d_u8
            8192x8192, ...).
        input_bytes: if given, the input size of the `BANDWIDTH_KERNELS` instead: histogram and
            sha256 get this many bytes, conv2d_u8 a square image of at most this many pixels
            (side a multiple of 16, so rows are whole vec4s as at ``--scale 1``).
    """
    rng = np.random.default_rng(2026)
    side = max(64, int(8192 * scale**0.5))
    mm = max(128, int(4096 * scale ** (1 / 3)) // 128 * 128)
    nbytes = max(1 << 20, int((256 << 20) * scale))
    sha_bytes = nbytes // 4
    if input_bytes is not None:
        nbytes = sha_bytes = input_bytes
        side = max(64, math.isqrt(input_bytes) // 16 * 16)
    return {
        "histogram": (rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes(), {}, "read"),
        "sha256": (
            rng.integers(0, 256, sha_bytes, dtype=np.uint8).tobytes(),
            {"block": 1024},
            "read",
        ),
        "conv2d_u8": (
            rng.integers(0, 256, side * side, dtype=np.uint8).tobytes(),
            {"width": side, "height": side, "filter": "gaussian"},
            "read+write",
        ),
        "montecarlo_pi": (b"", {"samples": int(min(2**32 - 1, (1 << 30) * scale))}, "samples"),
        "mandelbrot": (
            b"",
            {
                "width": side // 2,
                "height": side // 2,
                "x0": -2.0,
                "y0": -1.25,
                "step": 2.5 / (side // 2),
                "max_iter": 256,
            },
            "iterations",
        ),
        "matmul_f32": (
            rng.uniform(-1, 1, 2 * mm * mm).astype("<f4").tobytes(),
            {"m": mm, "n": mm, "k": mm},
            "flop",
        ),
    }


def work(name: str, payload: bytes, params: dict, out: np.ndarray) -> float:
    """Work units of one call: bytes moved, samples, iterations or flops."""
    if name in ("histogram", "sha256"):
        return len(payload)
    if name == "conv2d_u8":
        return 2 * len(payload)
    if name == "montecarlo_pi":
        return params["samples"]
    if name == "mandelbrot":
        return float(out.astype(np.int64).sum())
    return 2.0 * params["m"] * params["n"] * params["k"]


def numpy_rate(name: str, payload: bytes, params: dict, units: float, repeat: int) -> float:
    """Work units per second of numpy on the CPU (large inputs cut down, rate scaled)."""
    k = registry.get(name)
    full = k.resolve_params(params)
    if name == "matmul_f32":  # numpy's own f32 BLAS matmul, not the float64 oracle
        m, n, kk = full["m"], full["n"], full["k"]
        ab = np.frombuffer(payload, dtype="<f4")
        a, b = ab[: m * kk].reshape(m, kk), ab[m * kk :].reshape(kk, n)
        return units / best(lambda: a @ b, min(repeat, 3))
    if name == "montecarlo_pi":
        part = {**full, "samples": min(full["samples"], 1 << 24)}
        return part["samples"] / best(lambda: k.reference(b"", part, 0), 1)
    if name == "mandelbrot":
        h = full["height"]
        part = {**full, "height": max(1, h // 16), "y0": full["y0"] + full["step"] * (h // 2)}
        out = k.reference(b"", part, 0)
        return float(out.astype(np.int64).sum()) / best(lambda: k.reference(b"", part, 0), 1)
    if name == "conv2d_u8":
        rows = max(1, full["height"] // 8)
        part = {**full, "height": rows}
        cut = payload[: rows * full["width"]]
        return 2 * len(cut) / best(lambda: k.reference(cut, part, 0), 1)
    cut = payload[: max(1 << 20, len(payload) // 8)]
    return len(cut) / best(lambda: k.reference(cut, full, 0), 1)


UNITS = {
    "read": "GB/s",
    "read+write": "GB/s",
    "samples": "Gsample/s",
    "iterations": "Giter/s",
    "flop": "GFLOP/s",
}
