// conv2d_u8: a 3x3 integer filter over a u8 image (row-major, width x height), edges clamped.
// Per pixel: acc = sum(w[dy][dx] * pixel), acc = |acc| if `abs`, then
// out = clamp((acc * mul + (2^shift >> 1)) >> shift, 0, 255) with an arithmetic shift.
// Exact: i32 arithmetic whose range the plan checks.
//
// Three paths, chosen per dispatch (uniform branches); image and result are arrays of vec4<u32>
// (the kernel declares align = 16: both bindings are zero-padded to whole vec4s):
// - width % 16 == 0 (rows are whole vec4s): each invocation produces one vec4 (16 pixels) of two
//   output rows from one vec4 load of each of the four input rows they need, plus the word left
//   and right of it in each row; every loaded word's bytes are unpacked once for the taps of
//   both output rows, and each output row is one vec4 store.
// - width % 4 == 0 (rows are whole words): the same with 2 words (8 pixels) of two rows per
//   invocation, all 16 u32 loads issued before any arithmetic.
// - any other width: each invocation writes one output word (4 pixels, which may straddle rows),
//   reading the 9 neighbours of each pixel byte by byte.
// The plan dispatches one invocation per item of the path taken (`conv_items`).

struct Params {
    p: array<vec4<u32>, 4>,  // words: 3 width, 4 height, 5..13 weights (i32), 14 mul, 15 shift|abs<<8
}

@group(0) @binding(0) var<storage, read> image: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> result: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

fn word(k: u32) -> u32 {
    return params.p[k >> 2u][k & 3u];
}

// word i of the image, and of the result
fn img(i: u32) -> u32 {
    return image[i >> 2u][i & 3u];
}

fn put(i: u32, v: u32) {
    result[i >> 2u][i & 3u] = v;
}

fn byte_at(i: u32) -> i32 {
    return i32((image[i >> 4u][(i >> 2u) & 3u] >> ((i & 3u) * 8u)) & 0xffu);
}

// The words at `cols` (word columns) of the row starting at word `row`.
fn row_words(row: u32, cols: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(img(row + cols.x), img(row + cols.y), img(row + cols.z), img(row + cols.w));
}

// (prev, cur, next) for the word `w.y`: prev's top byte is the pixel left of it, next's low byte
// the pixel right of it; at the row's ends the edge pixel repeats (clamped edges).
fn taps(w: vec4<u32>, at_left: bool, at_right: bool) -> vec3<u32> {
    return vec3<u32>(select(w.x, w.y << 24u, at_left), w.y, select(w.z, w.y >> 24u, at_right));
}

// One filter row's contribution to the 4 pixels of a word, from its (prev, cur, next) taps;
// wl, wc, wr are the row's three weights.
fn row_taps(t: vec3<u32>, wl: i32, wc: i32, wr: i32) -> vec4<i32> {
    let b = vec4<i32>((vec4<u32>(t.y) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
    let l = i32(t.x >> 24u);
    let r = i32(t.z & 0xffu);
    return wl * vec4<i32>(l, b.xyz) + wc * b + wr * vec4<i32>(b.yzw, r);
}

struct Post {
    mul: i32,
    half: i32,
    shift: u32,
    use_abs: bool,
}

fn finish(sum: vec4<i32>, post: Post) -> u32 {
    var acc = sum;
    if (post.use_abs) {
        acc = abs(acc);
    }
    let v = vec4<u32>(clamp((acc * post.mul + post.half) >> vec4<u32>(post.shift), vec4<i32>(0), vec4<i32>(255)));
    return v.x | (v.y << 8u) | (v.z << 16u) | (v.w << 24u);
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
    let stride = groups.x * 256u;

    if (word(3u) % 16u == 0u) {
        let post = Post(mul, half, shift, use_abs);
        let hh = word(4u);
        let vr = word(3u) / 16u;  // vec4s per row
        let items = vr * ((hh + 1u) / 2u);
        for (var it = gid.x; it < items; it += stride) {
            let pair = it / vr;
            let x = it - pair * vr;
            let y = pair * 2u;
            let ra = select(y - 1u, 0u, y == 0u) * vr;
            let rb = y * vr;
            let rc = min(y + 1u, hh - 1u) * vr;
            let rd = min(y + 2u, hh - 1u) * vr;
            let xl = select(x - 1u, 0u, x == 0u);
            let xr = min(x + 1u, vr - 1u);
            let a = image[ra + x]; let al = image[ra + xl].w; let ar = image[ra + xr].x;
            let b = image[rb + x]; let bl = image[rb + xl].w; let br = image[rb + xr].x;
            let c = image[rc + x]; let cl = image[rc + xl].w; let cr = image[rc + xr].x;
            let d = image[rd + x]; let dl = image[rd + xl].w; let dr = image[rd + xr].x;
            let at_left = x == 0u;
            let at_right = x + 1u >= vr;
            let second_row = y + 1u < hh;
            let ta0 = taps(vec4<u32>(al, a.xy, 0u), at_left, false);
            let tb0 = taps(vec4<u32>(bl, b.xy, 0u), at_left, false);
            let tc0 = taps(vec4<u32>(cl, c.xy, 0u), at_left, false);
            let td0 = taps(vec4<u32>(dl, d.xy, 0u), at_left, false);
            let ta1 = a.xyz; let tb1 = b.xyz; let tc1 = c.xyz; let td1 = d.xyz;
            let ta2 = a.yzw; let tb2 = b.yzw; let tc2 = c.yzw; let td2 = d.yzw;
            let ta3 = taps(vec4<u32>(a.zw, ar, 0u), false, at_right);
            let tb3 = taps(vec4<u32>(b.zw, br, 0u), false, at_right);
            let tc3 = taps(vec4<u32>(c.zw, cr, 0u), false, at_right);
            let td3 = taps(vec4<u32>(d.zw, dr, 0u), false, at_right);
            result[rb + x] = vec4<u32>(
                finish(row_taps(ta0, w0, w1, w2) + row_taps(tb0, w3, w4, w5) + row_taps(tc0, w6, w7, w8), post),
                finish(row_taps(ta1, w0, w1, w2) + row_taps(tb1, w3, w4, w5) + row_taps(tc1, w6, w7, w8), post),
                finish(row_taps(ta2, w0, w1, w2) + row_taps(tb2, w3, w4, w5) + row_taps(tc2, w6, w7, w8), post),
                finish(row_taps(ta3, w0, w1, w2) + row_taps(tb3, w3, w4, w5) + row_taps(tc3, w6, w7, w8), post),
            );
            if (second_row) {
                result[rc + x] = vec4<u32>(
                    finish(row_taps(tb0, w0, w1, w2) + row_taps(tc0, w3, w4, w5) + row_taps(td0, w6, w7, w8), post),
                    finish(row_taps(tb1, w0, w1, w2) + row_taps(tc1, w3, w4, w5) + row_taps(td1, w6, w7, w8), post),
                    finish(row_taps(tb2, w0, w1, w2) + row_taps(tc2, w3, w4, w5) + row_taps(td2, w6, w7, w8), post),
                    finish(row_taps(tb3, w0, w1, w2) + row_taps(tc3, w3, w4, w5) + row_taps(td3, w6, w7, w8), post),
                );
            }
        }
        return;
    }
    if (word(3u) % 4u == 0u) {
        let post = Post(mul, half, shift, use_abs);
        let hh = word(4u);
        let wr = word(3u) / 4u;  // words per row
        let chunks = (wr + 1u) / 2u;  // word pairs per row
        let items = chunks * ((hh + 1u) / 2u);
        for (var it = gid.x; it < items; it += stride) {
            let pair = it / chunks;
            let q0 = (it - pair * chunks) * 2u;
            let y = pair * 2u;
            // word offsets of rows y-1 .. y+2, clamped to the image
            let ra = select(y - 1u, 0u, y == 0u) * wr;
            let rb = y * wr;
            let rc = min(y + 1u, hh - 1u) * wr;
            let rd = min(y + 2u, hh - 1u) * wr;
            // columns: the word left of the pair, the pair, the word right of it (clamped)
            let cols = vec4<u32>(select(q0 - 1u, 0u, q0 == 0u), q0, min(q0 + 1u, wr - 1u), min(q0 + 2u, wr - 1u));
            // all 16 loads before any arithmetic
            let a = row_words(ra, cols);
            let b = row_words(rb, cols);
            let c = row_words(rc, cols);
            let d = row_words(rd, cols);
            let at_left = q0 == 0u;
            let second_word = q0 + 1u < wr;
            let at_right = !second_word;
            let second_row = y + 1u < hh;
            // word q0: its left neighbour is .x (or pixel 0 repeated), its right one .z
            // (or, at the row end, its own last pixel repeated)
            let ta = taps(a, at_left, at_right);
            let tb = taps(b, at_left, at_right);
            let tc = taps(c, at_left, at_right);
            let td = taps(d, at_left, at_right);
            put(rb + q0, finish(row_taps(ta, w0, w1, w2) + row_taps(tb, w3, w4, w5) + row_taps(tc, w6, w7, w8), post));
            if (second_row) {
                put(rc + q0, finish(row_taps(tb, w0, w1, w2) + row_taps(tc, w3, w4, w5) + row_taps(td, w6, w7, w8), post));
            }
            if (second_word) {
                let at_end = q0 + 2u >= wr;
                let ua = taps(a.yzww, false, at_end);
                let ub = taps(b.yzww, false, at_end);
                let uc = taps(c.yzww, false, at_end);
                let ud = taps(d.yzww, false, at_end);
                put(rb + q0 + 1u, finish(row_taps(ua, w0, w1, w2) + row_taps(ub, w3, w4, w5) + row_taps(uc, w6, w7, w8), post));
                if (second_row) {
                    put(rc + q0 + 1u, finish(row_taps(ub, w0, w1, w2) + row_taps(uc, w3, w4, w5) + row_taps(ud, w6, w7, w8), post));
                }
            }
        }
        return;
    }

    let words = (total + 3u) / 4u;
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
        put(k, packed);
    }
}
