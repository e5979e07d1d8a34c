"""The torch (CUDA) side of bench/gpu.py: each built-in's work where torch has it, timed as the
wgpu side is (queued calls after a warm-up, one synchronize), and torch's device copies."""

from __future__ import annotations

import time

import numpy as np

from shardy.kernels import registry
from shardy.kernels.mandelbrot import fixed as mandelbrot_fixed

#: Busy time before timing, here and on the wgpu side (bench/gpu.py): an idle GPU clocks down
#: (an H100 to 345 MHz).
WARM_SECONDS = 0.5


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
