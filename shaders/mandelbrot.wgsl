// mandelbrot: escape iteration counts of a width x height tile, one u32 per pixel, row-major.
// Fixed point Q4.28 in i32: c = (x0 + px * step, y0 + py * step); from z = 0, each step first
// escapes if |re| or |im| > 2, or re^2 + im^2 > 4, else z = z^2 + c; the count is the number of
// steps taken (max_iter if none escaped). Products are exact 32 x 32 -> 64-bit multiplies
// shifted right by 28, truncated toward zero. Exact by construction: integers only.

struct Params {
    p: array<vec4<u32>, 4>,  // words: 3 width, 4 height, 5 x0, 6 y0 (Q28 i32), 7 step, 8 max_iter
}

@group(0) @binding(0) var<storage, read> payload: array<u32>;
@group(0) @binding(1) var<storage, read_write> counts: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const ONE: i32 = 1 << 28;

// (a * b) >> 28 for |a|, |b| <= 2^29, truncated toward zero.
fn mulq(a: i32, b: i32) -> i32 {
    let ua = u32(abs(a));
    let ub = u32(abs(b));
    let a1 = ua >> 16u;
    let a0 = ua & 0xffffu;
    let b1 = ub >> 16u;
    let b0 = ub & 0xffffu;
    let lo = a0 * b0;
    let mid = a1 * b0 + a0 * b1;
    let l = lo + (mid << 16u);
    let carry = select(0u, 1u, l < lo);
    let hi = a1 * b1 + (mid >> 16u) + carry;
    let q = i32((hi << 4u) | (l >> 28u));
    return select(q, -q, (a < 0) != (b < 0));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let width = params.p[0].w;
    let total = width * params.p[1].x;
    let x0 = bitcast<i32>(params.p[1].y);
    let y0 = bitcast<i32>(params.p[1].z);
    let step = bitcast<i32>(params.p[1].w);
    let max_iter = params.p[2].x;
    let stride = groups.x * 256u;
    for (var i = gid.x; i < total; i += stride) {
        let cx = x0 + i32(i % width) * step;
        let cy = y0 + i32(i / width) * step;
        var x = 0;
        var y = 0;
        var it = 0u;
        for (; it < max_iter; it++) {
            if (abs(x) > 2 * ONE || abs(y) > 2 * ONE) {
                break;
            }
            let xx = mulq(x, x);
            let yy = mulq(y, y);
            if (u32(xx) + u32(yy) > u32(4 * ONE)) {
                break;
            }
            let xy = mulq(x, y);
            x = xx - yy + cx;
            y = 2 * xy + cy;
        }
        counts[i] = it;
    }
}
