"""What bounds the GPU kernels: each built-in next to a variant with one cost taken out.

Run: ``PYTHONPATH=. python bench/gpu_diag.py [--scale 1.0] [--repeat 50]``. Every variant is
derived from the shipped shader by replacing one function, so it follows the shader; the
variants compute wrong results on purpose and are only timed (resident, as in bench/gpu.py):

- histogram without atomics: ``count`` folds each word into a private xor instead of four
  workgroup atomics (same loads, same dispatch geometry); and the atomics without the loads
  (``payload[...]`` replaced by a hash of the index);
- conv2d_u8 without arithmetic: ``row_taps``/``filtered`` xor all their input words (same
  loads and stores, no dot products, rounding or packing);
- sha256 with its data in registers: ``quad``/``word_at`` return a hash of the index instead of
  loading, so the same compressions run with no global loads and still write every digest:
  the measured ALU ceiling of the kernel; and the same bytes in 256-byte blocks (4x as many
  independent blocks, one extra padding chunk per 4 data chunks);
- plain WGSL copies (u32 and vec4) as the bandwidth a shader gets through wgpu/Vulkan, and
  torch's device copy where CUDA is present.

Each row is timed on the wall clock and, where the adapter has timestamp queries, on the GPU's
own clock (``bench.resident_times``).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu as bench  # noqa: E402  (bench/gpu.py: workloads, timing, the WGSL copy)

from shardy.kernels import Kernel, Plan, groups_for, registry, uniforms  # noqa: E402


def replace_fn(source: str, name: str, body: str) -> str:
    """``source`` with WGSL function ``name`` (up to its closing brace at column 0) replaced."""
    m = re.search(rf"^fn {name}\(.*?^}}\n", source, flags=re.M | re.S)
    if m is None:
        raise SystemExit(f"shader has no function {name!r}; update bench/gpu_diag.py")
    return source[: m.start()] + body + source[m.end() :]


def without_atomics(source: str) -> str:
    body = "var<private> sink: u32;\n\nfn count(w: u32, replica: u32) {\n    sink ^= w;\n}\n"
    source = replace_fn(source, "count", body)
    keep = "    if (sink == 0x9e3779b9u) {\n        atomicAdd(&local_bins[0], 1u);\n    }\n"
    marker = "    workgroupBarrier();\n\n    var total"
    if marker not in source:
        raise SystemExit("histogram.wgsl changed; update bench/gpu_diag.py")
    return source.replace(marker, keep + marker)


SYNTH_QUAD = (
    "    let h = i * 0x9e3779b9u;\n"
    "    return vec4<u32>(h, h ^ 0x85ebca6bu, h * 0xc2b2ae35u, h + 0x27d4eb2fu);\n"
)


def without_loads(source: str) -> str:
    """histogram.wgsl with every ``payload[i]`` replaced by a hash of i (atomics only)."""
    if "payload[i" not in source:
        raise SystemExit("histogram.wgsl changed; update bench/gpu_diag.py")
    fn = "fn synth(i: u32) -> vec4<u32> {\n" + SYNTH_QUAD + "}\n\n"
    body = re.sub(r"payload\[([^\]]+)\]", r"synth(\1)", source)
    return body.replace("@compute", fn + "@compute", 1)


def without_arithmetic(source: str) -> str:
    source = replace_fn(
        source,
        "row_taps",
        "fn row_taps(t: vec3<u32>, w: vec3<i32>) -> vec4<i32> {\n"
        "    return vec4<i32>(bitcast<i32>(t.x ^ t.y ^ t.z));\n}\n",
    )
    return replace_fn(
        source,
        "filtered",
        "fn filtered(top: vec3<u32>, mid: vec3<u32>, bot: vec3<u32>, f: Filter) -> u32 {\n"
        "    return top.x ^ top.y ^ top.z ^ mid.x ^ mid.y ^ mid.z ^ bot.x ^ bot.y ^ bot.z;\n}\n",
    )


def in_registers(source: str) -> str:
    """sha256.wgsl with its message words from a hash of the index instead of the payload."""
    source = replace_fn(source, "quad", "fn quad(i: u32) -> vec4<u32> {\n" + SYNTH_QUAD + "}\n")
    return replace_fn(
        source, "word_at", "fn word_at(i: u32) -> u32 {\n    return i * 0x9e3779b9u;\n}\n"
    )


def copy_kernel(element: str) -> Kernel:
    """A grid-stride copy of ``array<element>`` (u32 or vec4<u32>)."""
    size = 16 if element.startswith("vec4") else 4
    src = bench.COPY_WGSL.replace("vec4<u32>>", f"{element}>").replace("/ 16u", f"/ {size}u")

    def plan(n: int, params: dict, seed: int) -> Plan:
        return Plan(n, groups_for(n // size, 256), uniforms(n, seed), "uint8")

    return Kernel(f"copy_{size}", "<copy>", plan, lambda *a: None, source_override=src)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    gpu = bench.GPU(features=("timestamp-query",))
    print(f"adapter: {gpu.name} ({gpu.backend})", flush=True)
    loads = bench.workloads(args.scale)
    rows = []

    def timed(label: str, k: Kernel, payload: bytes, params: dict, units: float) -> None:
        plan = k.make_plan(len(payload), params, 0)
        wall, on_gpu = bench.resident_times(gpu, k, payload, plan, args.repeat)
        rows.append((label, units / wall, units / on_gpu if on_gpu else None))
        print(f"  {label}: {units / wall / 1e9:.1f} GB/s", flush=True)

    hist = registry.get("histogram")
    payload, params, _ = loads["histogram"]
    timed("histogram", hist, payload, params, len(payload))
    bare = dataclasses.replace(hist, source_override=without_atomics(hist.source()))
    timed("histogram without atomics", bare, payload, params, len(payload))
    bare = dataclasses.replace(hist, source_override=without_loads(hist.source()))
    timed("histogram without loads (atomics only)", bare, payload, params, len(payload))

    conv = registry.get("conv2d_u8")
    payload, params, _ = loads["conv2d_u8"]
    timed("conv2d_u8", conv, payload, params, 2 * len(payload))
    bare = dataclasses.replace(conv, source_override=without_arithmetic(conv.source()))
    timed("conv2d_u8 without arithmetic", bare, payload, params, 2 * len(payload))

    sha = registry.get("sha256")
    payload, params, _ = loads["sha256"]
    timed(f"sha256, {params['block']}-byte blocks", sha, payload, params, len(payload))
    bare = dataclasses.replace(sha, source_override=in_registers(sha.source()))
    timed("sha256 with its data in registers (ALU ceiling)", bare, payload, params, len(payload))
    timed("sha256, 256-byte blocks", sha, payload, {"block": 256}, len(payload))

    n = min(gpu.max_binding // 16 * 16, max(1 << 20, int((128 << 20) * args.scale)))
    data = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
    timed("WGSL copy, u32", copy_kernel("u32"), data, {}, 2 * n)
    timed("WGSL copy, vec4<u32>", copy_kernel("vec4<u32>"), data, {}, 2 * n)

    copy = None
    try:
        import time

        import torch

        if torch.cuda.is_available():
            dev = torch.device("cuda")

            def timed_torch(fn) -> float:
                until = time.perf_counter() + bench.WARM_SECONDS
                while time.perf_counter() < until:
                    fn()
                    torch.cuda.synchronize()
                t = time.perf_counter()
                for _ in range(args.repeat):
                    fn()
                torch.cuda.synchronize()
                return (time.perf_counter() - t) / args.repeat

            copy = bench.torch_copy_rate(torch, dev, timed_torch)
    except ImportError:
        pass
    print(f"\n{gpu.name} ({gpu.backend}), repeat {args.repeat}\n")
    print("| variant | GB/s | of torch copy | GPU-timed GB/s | of torch copy |")
    print("|---|---:|---:|---:|---:|")
    for label, rate, on_gpu in rows:
        share = f"{rate / copy:.0%}" if copy else "–"
        g = f"{on_gpu / 1e9:,.1f}" if on_gpu else "–"
        gshare = f"{on_gpu / copy:.0%}" if copy and on_gpu else "–"
        print(f"| {label} | {rate / 1e9:,.1f} | {share} | {g} | {gshare} |")
    if copy:
        print(f"| torch copy (1 GiB) | {copy / 1e9:,.1f} | 100% | | |")


if __name__ == "__main__":
    main()
