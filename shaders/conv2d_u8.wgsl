// conv2d_u8: a 3x3 integer filter over a u8 image (row-major, width x height), edges clamped.
// Per pixel: acc = sum(w[dy][dx] * pixel), acc = |acc| if `abs`, then
// out = clamp((acc * mul + (2^shift >> 1)) >> shift, 0, 255) with an arithmetic shift.
// Exact: i32 arithmetic whose range the plan checks. Each invocation writes 4 pixels (a word).

struct Params {
    p: array<vec4<u32>, 4>,  // words: 3 width, 4 height, 5..13 weights (i32), 14 mul, 15 shift|abs<<8
}

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<storage, read_write> result: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

fn word(k: u32) -> u32 {
    return params.p[k >> 2u][k & 3u];
}

fn byte_at(i: u32) -> i32 {
    return i32((image[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let w = i32(word(3u));
    let h = i32(word(4u));
    let total = word(3u) * word(4u);
    let w0 = bitcast<i32>(params.p[1].y);
    let w1 = bitcast<i32>(params.p[1].z);
    let w2 = bitcast<i32>(params.p[1].w);
    let w3 = bitcast<i32>(params.p[2].x);
    let w4 = bitcast<i32>(params.p[2].y);
    let w5 = bitcast<i32>(params.p[2].z);
    let w6 = bitcast<i32>(params.p[2].w);
    let w7 = bitcast<i32>(params.p[3].x);
    let w8 = bitcast<i32>(params.p[3].y);
    let mul = bitcast<i32>(word(14u));
    let shift = word(15u) & 0xffu;
    let use_abs = (word(15u) >> 8u) != 0u;
    let half = i32((1u << shift) >> 1u);
    let words = (total + 3u) / 4u;
    let stride = groups.x * 256u;
    for (var k = gid.x; k < words; k += stride) {
        var packed = 0u;
        var x = i32((k * 4u) % u32(w));
        var y = i32((k * 4u) / u32(w));
        for (var b = 0u; b < 4u; b++) {
            if (k * 4u + b < total) {
                // clamped row starts and columns of the 3x3 neighbourhood
                let r0 = u32(max(y - 1, 0) * w);
                let r1 = u32(y * w);
                let r2 = u32(min(y + 1, h - 1) * w);
                let c0 = u32(max(x - 1, 0));
                let c1 = u32(x);
                let c2 = u32(min(x + 1, w - 1));
                var acc = w0 * byte_at(r0 + c0) + w1 * byte_at(r0 + c1) + w2 * byte_at(r0 + c2);
                acc += w3 * byte_at(r1 + c0) + w4 * byte_at(r1 + c1) + w5 * byte_at(r1 + c2);
                acc += w6 * byte_at(r2 + c0) + w7 * byte_at(r2 + c1) + w8 * byte_at(r2 + c2);
                if (use_abs) {
                    acc = abs(acc);
                }
                let v = clamp((acc * mul + half) >> shift, 0, 255);
                packed |= u32(v) << (b * 8u);
            }
            x += 1;
            if (x == w) {
                x = 0;
                y += 1;
            }
        }
        result[k] = packed;
    }
}
