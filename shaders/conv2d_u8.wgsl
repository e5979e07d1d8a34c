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

fn pixel(x: i32, y: i32, w: i32, h: i32) -> i32 {
    let i = u32(clamp(y, 0, h - 1) * w + clamp(x, 0, w - 1));
    return i32((image[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let w = i32(word(3u));
    let h = i32(word(4u));
    let total = word(3u) * word(4u);
    var weights: array<i32, 9>;
    for (var t = 0u; t < 9u; t++) {
        weights[t] = bitcast<i32>(word(5u + t));
    }
    let mul = bitcast<i32>(word(14u));
    let shift = word(15u) & 0xffu;
    let use_abs = (word(15u) >> 8u) != 0u;
    let half = i32((1u << shift) >> 1u);
    let words = (total + 3u) / 4u;
    let stride = groups.x * 256u;
    for (var k = gid.x; k < words; k += stride) {
        var packed = 0u;
        for (var b = 0u; b < 4u; b++) {
            let i = k * 4u + b;
            if (i < total) {
                let x = i32(i % u32(w));
                let y = i32(i / u32(w));
                var acc = 0;
                for (var dy = 0; dy < 3; dy++) {
                    for (var dx = 0; dx < 3; dx++) {
                        acc += weights[dy * 3 + dx] * pixel(x + dx - 1, y + dy - 1, w, h);
                    }
                }
                if (use_abs) {
                    acc = abs(acc);
                }
                let v = clamp((acc * mul + half) >> shift, 0, 255);
                packed |= u32(v) << (b * 8u);
            }
        }
        result[k] = packed;
    }
}
