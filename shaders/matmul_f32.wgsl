// matmul_f32: C = A x B for row-major f32 matrices, A m x k then B k x n in the payload,
// C m x n in the output. Each workgroup computes a 128 x 128 tile of C through workgroup
// memory, 8 x 8 values per invocation (two vec4 column groups for 8 rows), stepping k by 8.
// Every C element sums its k products in increasing k order, but adapters may fuse
// multiply-add differently, so the kernel is declared tolerance(atol, rtol), not exact.

struct Params {
    p: array<vec4<u32>, 4>,  // p[0].w = m, p[1].x = n, p[1].y = k
}

@group(0) @binding(0) var<storage, read> ab: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const TILE: u32 = 128u;
const TK: u32 = 8u;

var<workgroup> a_tile: array<vec4<f32>, 256>;  // [kk][row / 4], rows of A transposed
var<workgroup> b_tile: array<vec4<f32>, 256>;  // [kk][col / 4]

@compute @workgroup_size(16, 16)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let m = params.p[0].w;
    let n = params.p[1].x;
    let k = params.p[1].y;
    let b_base = m * k;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    var acc: array<vec4<f32>, 16>;  // acc[r * 2 + h]: row (r < 4 ? ty*4 + r : 64 + ty*4 + r - 4)
    for (var i = 0u; i < 16u; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var t = 0u; t < k; t += TK) {
        for (var e = 0u; e < 4u; e++) {
            let idx = li + e * 256u;
            // A: 128 rows x 8 k, stored transposed
            let ar = idx / TK;
            let ac = idx % TK;
            var av = 0.0;
            if (row0 + ar < m && t + ac < k) {
                av = ab[(row0 + ar) * k + t + ac];
            }
            a_tile[ac * 32u + ar / 4u][ar % 4u] = av;
            // B: 8 k x 128 cols
            let br = idx / TILE;
            let bc = idx % TILE;
            var bv = 0.0;
            if (t + br < k && col0 + bc < n) {
                bv = ab[b_base + (t + br) * n + col0 + bc];
            }
            b_tile[br * 32u + bc / 4u][bc % 4u] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let a0 = a_tile[kk * 32u + lid.y];
            let a1 = a_tile[kk * 32u + 16u + lid.y];
            let b0 = b_tile[kk * 32u + lid.x];
            let b1 = b_tile[kk * 32u + 16u + lid.x];
            for (var r = 0u; r < 4u; r++) {
                acc[r * 2u] += a0[r] * b0;
                acc[r * 2u + 1u] += a0[r] * b1;
                acc[8u + r * 2u] += a1[r] * b0;
                acc[8u + r * 2u + 1u] += a1[r] * b1;
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 8u; r++) {
        let row = row0 + select(lid.y * 4u + r, 64u + lid.y * 4u + r - 4u, r >= 4u);
        if (row < m) {
            for (var h = 0u; h < 2u; h++) {
                let col = col0 + h * 64u + lid.x * 4u;
                let v = acc[r * 2u + h];
                for (var q = 0u; q < 4u; q++) {
                    if (col + q < n) {
                        c[row * n + col + q] = v[q];
                    }
                }
            }
        }
    }
}
