"""GPU kernel benchmark: every built-in through wgpu against numpy (CPU) and torch (CUDA).

Run: ``PYTHONPATH=. python bench/gpu.py [--scale 1.0] [--repeat 5] [--json out.json]``
and ``... --crossvendor out.json`` for the fixed-input digest table (compare two machines'
files with ``--compare a.json b.json``). Kernel time is measured with inputs resident on the
GPU (one submit of ``repeat`` dispatches, after half a second of them to reach working clocks);
``e2e`` adds upload and read-back (`GPU.run`). ``wgpu copy`` is a plain WGSL vec4 copy, the
bandwidth a shader reaches through this wgpu/Vulkan path, next to torch's device copy.

The bandwidth-bound kernels are compared with torch's copy of 1 GiB and with torch's copy of a
tensor of their own input size, timed in the same run (``--input-mib 1024`` runs them on
about 1 GiB inputs, whatever ``--scale``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _import_core() -> None:
    """Import the kernel modules; where the service dependencies of ``shardy/__init__`` are
    absent (a bare GPU box), load the package without running its ``__init__``."""
    try:
        importlib.import_module("shardy")
    except ImportError:
        pkg = types.ModuleType("shardy")
        pkg.__path__ = [str(ROOT / "shardy")]
        sys.modules["shardy"] = pkg
    importlib.import_module("shardy.kernels")


_import_core()
from shardy.kernels import Kernel, Plan, groups_for, registry, uniforms  # noqa: E402
from shardy.kernels.mandelbrot import fixed as mandelbrot_fixed  # noqa: E402
from shardy.workers.gpu import GPU  # noqa: E402
from shardy.workers.preprocess import Preprocessor  # noqa: E402


def best(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


WARM_SECONDS = 0.5  # busy time before timing: an idle GPU clocks down (an H100 to 345 MHz)
WARM_MAX_SECONDS = 4.0  # ... and longer while batches still get faster (the clock still rising)


def resident_times(gpu: GPU, k: Kernel, payload: bytes, plan: Plan, repeat: int) -> tuple:
    """(wall, GPU) seconds per dispatch with the payload already on the GPU: one submit of
    ``repeat`` dispatches timed to the read-back of 4 bytes (wall), and by timestamps written at
    the start and end of its compute pass (GPU; None without the timestamp-query feature);
    best of 3 batches, after at least `WARM_SECONDS` of batches and until 5 in a row were no
    faster (at most `WARM_MAX_SECONDS`), so that the GPU runs at its working clock."""
    import struct

    wgpu = importlib.import_module("wgpu")
    dev, usage = gpu.device, wgpu.BufferUsage
    align = k.align
    data = bytes(payload).ljust(max(align, -(-len(payload) // align) * align), b"\0")
    inp = dev.create_buffer_with_data(data=data, usage=usage.STORAGE)
    out_size = max(align, -(-plan.output_len // align) * align)
    out = dev.create_buffer(size=out_size, usage=usage.STORAGE | usage.COPY_SRC)
    uni = dev.create_buffer_with_data(data=struct.pack("<16I", *plan.uniforms), usage=usage.UNIFORM)
    bind = dev.create_bind_group(
        layout=gpu.layout,
        entries=[{"binding": i, "resource": {"buffer": b}} for i, b in enumerate((inp, out, uni))],
    )
    pipe = gpu.pipeline(k)
    stamps = "timestamp-query" in getattr(gpu, "features", ())
    if stamps:
        qs = dev.create_query_set(type="timestamp", count=2)
        qbuf = dev.create_buffer(size=16, usage=usage.QUERY_RESOLVE | usage.COPY_SRC)

    def batch(n: int) -> tuple[float, float | None]:
        enc = dev.create_command_encoder()
        writes = None
        if stamps:
            writes = {
                "query_set": qs,
                "beginning_of_pass_write_index": 0,
                "end_of_pass_write_index": 1,
            }
        cpass = enc.begin_compute_pass(timestamp_writes=writes)
        cpass.set_pipeline(pipe)
        cpass.set_bind_group(0, bind)
        for _ in range(n):
            cpass.dispatch_workgroups(*plan.groups)
        cpass.end()
        if stamps:
            enc.resolve_query_set(qs, 0, 2, qbuf, 0)
        t = time.perf_counter()
        dev.queue.submit([enc.finish()])
        if stamps:  # waits for the dispatches; timestamps in nanoseconds
            ts = np.frombuffer(dev.queue.read_buffer(qbuf), dtype="<u8")
            return time.perf_counter() - t, float(ts[1] - ts[0]) * 1e-9
        dev.queue.read_buffer(out, 0, 4)  # waits for the dispatches (4 bytes back)
        return time.perf_counter() - t, None

    batch(1)
    start, fastest, slower = time.perf_counter(), float("inf"), 0
    while time.perf_counter() - start < WARM_MAX_SECONDS:
        wall, _ = batch(repeat)
        fastest, slower = (wall, 0) if wall < 0.98 * fastest else (fastest, slower + 1)
        if time.perf_counter() - start >= WARM_SECONDS and slower >= 5:
            break
    runs = [batch(repeat) for _ in range(3)]
    for b in (inp, out, uni, *((qbuf,) if stamps else ())):
        b.destroy()
    wall = min(r[0] for r in runs) / repeat
    return wall, (min(r[1] for r in runs) / repeat if stamps else None)


def resident_seconds(gpu: GPU, k: Kernel, payload: bytes, plan: Plan, repeat: int) -> float:
    """Wall seconds per dispatch with the payload already on the GPU (see `resident_times`)."""
    return resident_times(gpu, k, payload, plan, repeat)[0]


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# ---- workloads: (payload, params, work units, unit name) -----------------------------------


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


# ---- torch on the GPU: the same work where torch has it --------------------------------------


def _torch_cuda():
    """(torch, its CUDA device), or None where torch or CUDA is absent."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch, torch.device("cuda")


def torch_timer(torch, repeat: int):
    """``timed(fn)``: seconds per call of ``fn`` over ``repeat`` queued calls and one
    synchronize, after `WARM_SECONDS` of calls (as the wgpu timing warms up)."""

    def timed(fn) -> float:
        warm_until = time.perf_counter() + WARM_SECONDS
        while time.perf_counter() < warm_until:
            fn()
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t) / repeat

    return timed


def torch_rates(loads: dict, outputs: dict, repeat: int) -> dict[str, tuple[float, str]]:
    """Work units per second of torch (CUDA) doing each kernel's work in ``loads``, with a
    note; ``copy`` is its 1 GiB device-to-device copy."""
    found = _torch_cuda()
    if found is None:
        return {}
    torch, dev = found
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    timed = torch_timer(torch, repeat)
    rates: dict[str, tuple[float, str]] = {}
    rates["copy"] = (torch_copy_rate(torch, dev, timed), "device-to-device copy of 1 GiB")
    if "histogram" in loads:
        payload, _, _ = loads["histogram"]
        x = torch.frombuffer(bytearray(payload), dtype=torch.uint8).to(dev)
        rates["histogram"] = (
            len(payload) / timed(lambda: torch.bincount(x, minlength=256)),
            "bincount",
        )
        del x
    if "conv2d_u8" in loads:
        try:
            rates["conv2d_u8"] = torch_conv2d(torch, dev, loads["conv2d_u8"], outputs, timed)
        except RuntimeError as exc:  # e.g. out of memory: its f32 temporaries are 4x the image
            rates["conv2d_u8"] = (float("nan"), f"pad+conv2d f32 failed: {exc}".splitlines()[0])
        torch.cuda.empty_cache()
    if "matmul_f32" in loads:
        rates["matmul_f32"] = torch_matmul(torch, dev, loads["matmul_f32"], timed)
    if "montecarlo_pi" in loads:
        rates["montecarlo_pi"] = torch_montecarlo(
            torch, dev, loads["montecarlo_pi"], outputs, timed
        )
    if "mandelbrot" in loads:
        _, params, _ = loads["mandelbrot"]
        fixed = mandelbrot_fixed(registry.get("mandelbrot").resolve_params(params))
        rates["mandelbrot"] = torch_mandelbrot(
            torch, dev, params, fixed, outputs["mandelbrot"], timed
        )
    return rates


def torch_conv2d(torch, dev, load: tuple, outputs: dict, timed) -> tuple[float, str]:
    """Replicate pad + f32 conv2d + floor/clamp: conv2d_u8's gaussian, bytes compared."""
    payload, params, _ = load
    w, h = params["width"], params["height"]
    img = torch.frombuffer(bytearray(payload), dtype=torch.uint8).to(dev).view(1, 1, h, w)
    wt = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=torch.float32, device=dev)

    def conv():
        acc = torch.nn.functional.conv2d(
            torch.nn.functional.pad(img.float(), (1, 1, 1, 1), mode="replicate"),
            wt.view(1, 1, 3, 3),
        )
        return torch.floor((acc + 8) / 16).clamp(0, 255).to(torch.uint8)

    same = bytes(conv().cpu().numpy().tobytes()) == outputs["conv2d_u8"].tobytes()
    return 2 * w * h / timed(conv), f"pad+conv2d f32+round, equal={same}"


def torch_matmul(torch, dev, load: tuple, timed) -> tuple[float, str]:
    """f32 ``a @ b`` (TF32 off), flops per second."""
    payload, params, _ = load
    m, n, k = params["m"], params["n"], params["k"]
    ab = torch.frombuffer(bytearray(payload), dtype=torch.float32).to(dev)
    a, b = ab[: m * k].view(m, k), ab[m * k :].view(k, n)
    return 2.0 * m * n * k / timed(lambda: a @ b), "matmul f32, TF32 off"


def torch_montecarlo(torch, dev, load: tuple, outputs: dict, timed) -> tuple[float, str]:
    """montecarlo_pi's counter hash in int64 tensors, samples per second, count compared."""
    _, params, _ = load
    samples = params["samples"]
    mask = 0xFFFFFFFF

    def mix(v):
        v = v ^ (v >> 16)
        v = (v * 0x7FEB352D) & mask
        v = v ^ (v >> 15)
        v = (v * 0x846CA68B) & mask
        return v ^ (v >> 16)

    key = int(mix(torch.tensor(0 ^ int(mix(torch.tensor(0x9E3779B9))))))

    def montecarlo():
        hits = 0
        for start in range(0, samples, 1 << 27):
            i = torch.arange(start, min(samples, start + (1 << 27)), device=dev, dtype=torch.int64)
            hh = mix(i ^ key)
            xx = mix(hh ^ 0x68E31DA4) >> 16
            yy = mix((hh + 0xB5297A4D) & mask) >> 16
            hits += (xx * xx + yy * yy < (1 << 32)).sum()
        return hits

    same = int(montecarlo()) == int(outputs["montecarlo_pi"][0])
    return samples / timed(montecarlo), f"int64 hash, equal={same}"


def torch_copy_rate(torch, dev, timed, nbytes: int = 1 << 30) -> float:
    """Bytes read plus written per second by a device-to-device copy of ``nbytes``."""
    pair = [torch.empty(nbytes, dtype=torch.uint8, device=dev) for _ in range(2)]
    rate = 2 * nbytes / timed(lambda: pair[1].copy_(pair[0]))
    pair.clear()  # give the memory back before the next size
    torch.cuda.empty_cache()
    return rate


def torch_copy_rates(sizes: list[int], repeat: int) -> dict[int, float]:
    """`torch_copy_rate` for each size (a kernel's input bytes), timed like the kernels."""
    found = _torch_cuda()
    if found is None:
        return {}
    torch, dev = found
    timed = torch_timer(torch, repeat)
    return {n: torch_copy_rate(torch, dev, timed, n) for n in sorted(set(sizes))}


def torch_mandelbrot(torch, dev, params: dict, fixed, expected: np.ndarray, timed):
    """The fixed-point iteration as masked int64 tensor steps (every pixel, every step)."""
    w, h, max_iter = params["width"], params["height"], params["max_iter"]
    x0, y0, step = fixed
    q28 = 1 << 28
    cy = (y0 + torch.arange(h, device=dev, dtype=torch.int64) * step).view(h, 1).expand(h, w)
    cx = (x0 + torch.arange(w, device=dev, dtype=torch.int64) * step).view(1, w).expand(h, w)

    def mulq(a, b):
        q = (a.abs() * b.abs()) >> 28
        return torch.where((a < 0) ^ (b < 0), -q, q)

    def run():
        x = torch.zeros((h, w), dtype=torch.int64, device=dev)
        y = torch.zeros_like(x)
        counts = torch.zeros_like(x)
        live = torch.ones((h, w), dtype=torch.bool, device=dev)
        for _ in range(max_iter):
            xx, yy = mulq(x, x), mulq(y, y)
            live = live & (x.abs() <= 2 * q28) & (y.abs() <= 2 * q28) & (xx + yy <= 4 * q28)
            xy = mulq(x, y)
            x = torch.where(live, xx - yy + cx, x)
            y = torch.where(live, 2 * xy + cy, y)
            counts += live
        return counts

    same = np.array_equal(run().cpu().numpy().astype("<u4"), expected.reshape(h, w))
    return float(expected.astype(np.int64).sum()) / timed(run), f"masked int64 steps, equal={same}"


# ---- the cross-vendor table: fixed inputs, digests and float error ---------------------------


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


# ---- main -----------------------------------------------------------------------------------

UNITS = {
    "read": "GB/s",
    "read+write": "GB/s",
    "samples": "Gsample/s",
    "iterations": "Giter/s",
    "flop": "GFLOP/s",
}


COPY_WGSL = """
struct Params { p: array<vec4<u32>, 4>, }
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> params: Params;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = gid.x; i < params.p[0].x / 16u; i += groups.x * 256u) {
        dst[i] = src[i];
    }
}
"""


def wgpu_copy_rate(gpu: GPU, nbytes: int, repeat: int) -> tuple:
    """(wall, GPU-timed, bytes copied): bytes read plus written per second by a plain WGSL vec4
    copy of ``nbytes`` (at most the binding limit; one 16-byte load and store per
    invocation): what a kernel can move through this wgpu/Vulkan path, next to torch's."""
    n = min(gpu.max_binding // 16 * 16, nbytes // 16 * 16)

    def plan(size: int, params: dict, seed: int) -> Plan:
        return Plan(size, groups_for(size // 16, 256), uniforms(size, seed), "uint8")

    k = Kernel("wgpu_copy", "<copy>", plan, lambda *a: None, source_override=COPY_WGSL)
    payload = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
    wall, gpu_s = resident_times(gpu, k, payload, k.make_plan(n, {}, 0), repeat)
    return 2 * n / wall, (2 * n / gpu_s if gpu_s else None), n


def bench(
    gpu: GPU, scale: float, repeat: int, only: list[str] | None, input_bytes: int | None = None
) -> dict:
    """Rates of wgpu (resident and end-to-end), numpy and torch for every workload, and each
    bandwidth-bound kernel's torch copy of its input size (``torch_copy_same``)."""
    loads = workloads(scale, input_bytes)
    if only:
        unknown = sorted(set(only) - set(loads))
        if unknown:
            raise SystemExit(f"--only: no workload {unknown}; choose from {sorted(loads)}")
        loads = {k: v for k, v in loads.items() if k in only}
    results, outputs = {}, {}
    for name, (payload, params, unit) in loads.items():
        k = registry.get(name)
        plan = k.make_plan(len(payload), params, 0)
        if max(len(payload), plan.output_len) > gpu.max_binding:
            # the resident timing binds the whole payload (GPU.run would stream it in chunks)
            raise SystemExit(
                f"{name}: {max(len(payload), plan.output_len)} bytes exceed this adapter's "
                f"binding limit of {gpu.max_binding}; use a smaller --scale or --input-mib"
            )
        out = np.empty(plan.output_len, dtype=np.uint8)
        e2e = best(lambda k=k, p=payload, plan=plan, out=out: gpu.run(k, p, plan, out=out), 3)
        outputs[name] = out.view(plan.dtype)
        units = work(name, payload, params, outputs[name])
        per, gpu_per = resident_times(gpu, k, payload, plan, repeat)
        results[name] = {
            "unit": UNITS[unit],
            "wgpu": units / per,
            "wgpu_gpu": units / gpu_per if gpu_per else None,
            "wgpu_e2e": units / e2e,
            "numpy": numpy_rate(name, payload, params, units, repeat),
            "digest": hashlib.sha256(out).hexdigest(),
            "size": len(payload) or params,
        }
        print(f"  {name}: {units / per / 1e9:.2f} G{unit}/s", flush=True)
    copy_bytes = input_bytes if input_bytes is not None else max(1 << 20, int((128 << 20) * scale))
    wall, gpu_rate, n = wgpu_copy_rate(gpu, copy_bytes, repeat)
    results["wgpu copy"] = {"unit": "GB/s", "wgpu": wall, "wgpu_gpu": gpu_rate, "size": n}
    for name, (rate, note) in torch_rates(loads, outputs, repeat).items():
        results.setdefault(name, {"unit": "GB/s"}).update(torch=rate, torch_note=note)
    # torch's copy of each bandwidth row's input size: the same fixed costs per operation
    sizes = [r["size"] for name, r in results.items() if _bandwidth_row(name)]
    copies = torch_copy_rates(sizes, repeat)
    for name, r in results.items():
        if _bandwidth_row(name) and r["size"] in copies:
            r["torch_copy_same"] = copies[r["size"]]
    return results


def _bandwidth_row(name: str) -> bool:
    return name in BANDWIDTH_KERNELS or name == "wgpu copy"


def table(adapter: str, results: dict) -> None:
    """Print the per-kernel ratio table."""
    copy = results.get("copy", {}).get("torch")
    print(f"\n{adapter}\n")
    print(
        "| kernel | unit | wgpu (resident) | GPU-timed | wgpu e2e | numpy CPU | torch CUDA | "
        "wgpu/numpy | wgpu/torch | wgpu/torch copy | GPU-timed/torch copy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        if name == "copy":
            print(f"| torch copy | GB/s | | | | | {r['torch'] / 1e9:.1f} | | | | |")
            continue
        gg = r.get("wgpu_gpu")
        gcell = f"{gg / 1e9:.2f}" if gg else "–"
        if name == "wgpu copy":
            share = f"{r['wgpu'] / copy:.0%}" if copy else "–"
            gshare = f"{gg / copy:.0%}" if copy and gg else "–"
            print(
                f"| wgpu copy (vec4 WGSL, {_mib(r['size'])}) | GB/s | {r['wgpu'] / 1e9:.1f} | "
                f"{gcell} | | | | | | "
                f"{share} | {gshare} |"
            )
            continue
        g, t = r["wgpu"], r.get("torch")
        bw = copy and r["unit"] == "GB/s"
        print(
            f"| {name} | {r['unit']} | {g / 1e9:.2f} | {gcell} | {r['wgpu_e2e'] / 1e9:.2f} | "
            f"{r['numpy'] / 1e9:.3f} | {t / 1e9 if t else float('nan'):.2f} | "
            f"{g / r['numpy']:.1f}× | {f'{g / t:.2f}×' if t else '–'} | "
            f"{f'{g / copy:.0%}' if bw else '–'} | {f'{gg / copy:.0%}' if bw and gg else '–'} |"
        )
    for name, r in results.items():
        if "torch_note" in r:
            print(f"- torch {name}: {r['torch_note']}")
    bandwidth_table(results)


def _mib(n: int) -> str:
    mib = n / (1 << 20)
    return f"{mib:,.0f} MiB" if mib == int(mib) else f"{mib:,.1f} MiB"


def bandwidth_table(results: dict) -> None:
    """Print each bandwidth row against torch's 1 GiB copy and its copy of the row's input
    size (both read + written bytes per second, timed in this run)."""
    rows = [(name, r) for name, r in results.items() if _bandwidth_row(name)]
    if not rows:
        return
    copy = results.get("copy", {}).get("torch")
    print(
        "\n| kernel | input | wgpu (resident) GB/s | GPU-timed GB/s | torch copy 1 GiB GB/s | "
        "resident / copy 1 GiB | GPU-timed / copy 1 GiB | torch copy same size GB/s | "
        "resident / copy same size | GPU-timed / copy same size |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def share(a, b) -> str:
        return f"{a / b:.0%}" if a and b else "–"

    def rate(v) -> str:
        return f"{v / 1e9:,.1f}" if v else "–"

    for name, r in rows:
        g, gg, same = r["wgpu"], r.get("wgpu_gpu"), r.get("torch_copy_same")
        print(
            f"| {name} | {_mib(r['size'])} | {rate(g)} | {rate(gg)} | {rate(copy)} | "
            f"{share(g, copy)} | {share(gg, copy)} | {rate(same)} | {share(g, same)} | "
            f"{share(gg, same)} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor")
    ap.add_argument(
        "--input-mib",
        type=int,
        help="input size of histogram, sha256 and conv2d_u8 (a square image) and of the WGSL "
        "copy, instead of their --scale sizes (e.g. 1024; below 4096)",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="kernels to run")
    ap.add_argument("--json", help="write the rates here")
    ap.add_argument("--crossvendor", help="write fixed-input digests here (and .npy outputs)")
    ap.add_argument("--compare", nargs=2, metavar="JSON", help="print two machines' table")
    ap.add_argument("--adapter", default=None)
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    if args.input_mib is not None and not 1 <= args.input_mib < 4096:
        ap.error(f"--input-mib must be in 1..4095 (lengths are u32 uniforms), got {args.input_mib}")
    input_bytes = args.input_mib << 20 if args.input_mib is not None else None
    gpu = GPU(args.adapter, features=("timestamp-query",))
    adapter = f"{gpu.name} ({gpu.backend})"
    print(
        f"adapter: {adapter}; max binding {gpu.max_binding}, max buffer {gpu.max_buffer}",
        flush=True,
    )
    if args.crossvendor:
        cv = crossvendor(gpu)
        for name, out in cv.pop("outputs").items():
            np.save(Path(args.crossvendor).with_suffix(f".{name}.npy"), out)
        Path(args.crossvendor).write_text(json.dumps(cv, indent=1))
        print(json.dumps(cv["rows"], indent=1), flush=True)
        if args.scale <= 0:
            return
    results = bench(gpu, args.scale, args.repeat, args.only, input_bytes)
    table(adapter, results)
    if args.json:
        Path(args.json).write_text(json.dumps({"adapter": adapter, "results": results}, indent=1))


if __name__ == "__main__":
    main()
