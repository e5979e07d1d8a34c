"""An int8 GEMM with i32 accumulation, shipped with its task (exact: digests match bit for bit).

Start a cluster in one terminal (``shardy up``), then run ``python examples/int8_gemm.py``.
A is m x k and B is k x n, int8, packed four to a u32 word (B transposed, so both are read
along k); C = A @ B is m x n int32. k must be a multiple of 4.
"""

from __future__ import annotations

import numpy as np

import shardy
from shardy import layout as L

Dims = L.struct("Dims", [("m", L.u32), ("n", L.u32), ("k", L.u32)])

SOURCE = """
fn lane(word: u32, i: u32) -> i32 {
    return extractBits(bitcast<i32>(word), i * 8u, 8u);  // sign-extends the int8
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.y;
    let col = id.x;
    if (row >= params.m || col >= params.n) { return; }
    let words = params.k / 4u;
    var acc = 0;
    for (var w = 0u; w < words; w = w + 1u) {
        let a = a_packed[row * words + w];
        let b = bt_packed[col * words + w];
        for (var i = 0u; i < 4u; i = i + 1u) {
            acc = acc + lane(a, i) * lane(b, i);
        }
    }
    c[row * params.n + col] = acc;
}
"""

GEMM = shardy.WgslKernel(
    label="int8-gemm",
    source=SOURCE,
    inputs=[
        shardy.Buffer("a_packed", L.array(L.u32), count="m * k // 4"),
        shardy.Buffer("bt_packed", L.array(L.u32), count="n * k // 4"),
    ],
    output=shardy.Buffer("c", L.array(L.i32), count="m * n"),
    uniforms=Dims,
    params={"m": 1, "n": 1, "k": 4},
    grid=["n", "m"],
    workgroup_size=(16, 16, 1),
)


def inputs(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's inputs for int8 matrices ``a`` (m x k) and ``b`` (k x n)."""
    pack = lambda x: np.ascontiguousarray(x, dtype=np.int8).view("<u4").reshape(-1)  # noqa: E731
    return {"a_packed": pack(a), "bt_packed": pack(b.T)}


def main(m: int = 64, n: int = 48, k: int = 128) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    result = shardy.submit(GEMM, inputs(a, b), params={"m": m, "n": n, "k": k}).get(timeout=120)
    want = a.astype(np.int32) @ b.astype(np.int32)
    got = result.output.reshape(m, n)
    print(f"{GEMM.name[:17]}…: {m}x{k} @ {k}x{n} int8, verified by {len(result.attestations)} "
          f"workers; equal to numpy: {np.array_equal(got, want)}")  # fmt: skip
    assert np.array_equal(got, want), "the verified output disagrees with numpy"


if __name__ == "__main__":
    main()
