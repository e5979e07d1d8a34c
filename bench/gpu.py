"""GPU kernel benchmark: every built-in through wgpu against numpy (CPU) and torch (CUDA).

Run: ``PYTHONPATH=. python bench/gpu.py [--scale 1.0] [--repeat 5] [--json out.json]``
and ``... --crossvendor out.json`` for the fixed-input digest table (compare two machines'
files with ``--compare a.json b.json``). Kernel time is measured with inputs resident on the
GPU (one submit of ``repeat`` dispatches, after half a second of them to reach working clocks);
``e2e`` adds upload and read-back (`GPU.run`). ``wgpu copy`` is a plain WGSL vec4 copy, the
bandwidth a shader reaches through this wgpu/Vulkan path, next to torch's device copy.

The bandwidth-bound kernels are compared with torch's copy of 1 GiB and with torch's copy of a
tensor of their own input size, timed in the same run (``--input-mib 1024`` runs them on
about 1 GiB inputs, whatever ``--scale``). The torch side lives in bench/gpu_torch.py, the
cross-vendor table in bench/gpu_crossvendor.py, the workloads and numpy's side in
bench/gpu_workloads.py.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
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
from gpu_crossvendor import compare, crossvendor  # noqa: E402  (bench/ is on the path)
from gpu_torch import WARM_SECONDS, torch_copy_rates, torch_rates  # noqa: E402
from gpu_workloads import (  # noqa: E402
    BANDWIDTH_KERNELS,
    UNITS,
    best,
    numpy_rate,
    work,
    workloads,
)

from shardy.kernels import Kernel, Plan, groups_for, registry, uniforms  # noqa: E402
from shardy.workers.gpu import GPU  # noqa: E402

WARM_MAX_SECONDS = 4.0  # the warm-up runs on while batches still get faster (the clock rising)


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
