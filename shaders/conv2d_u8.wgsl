// conv2d_u8: a 3x3 integer filter over a u8 image (row-major, width x height), edges clamped.
// Per pixel: acc = sum(w[dy][dx] * pixel), acc = |acc| if `abs`, then
// out = clamp((acc * mul + (2^shift >> 1)) >> shift, 0, 255) with an arithmetic shift.
// Exact: i32 arithmetic whose range the plan checks.
//
// Three paths, chosen per dispatch (uniform branches); image and result are arrays of vec4<u32>
// (the kernel declares align = 16: both bindings are zero-padded to whole vec4s):
// - width % 16 == 0 (rows are whole vec4s): each invocation produces one vec4 (16 pixels) of two
//   output rows from one vec4 load of each of the four input rows they need, plus the word left
//   and right of it in each row; every loaded word serves the taps of both output rows, and
//   each output row is one vec4 store.
// - width % 4 == 0 (rows are whole words): the same with 2 words (8 pixels) of two rows per
//   invocation, all 16 u32 loads issued before any arithmetic.
// Both compute a word's 4 pixels with packed 4 x i8 dot products, one per pixel and filter
// row (`row_taps`).
// - any other width: each invocation writes one output word (4 pixels, which may straddle rows),
//   reading the 9 neighbours of each pixel byte by byte.
// Workgroups of 128 invocations, one per 256 items of the path taken (`conv_items`): each
// invocation takes two items in turn (grid-stride loop). On the H100, 128-wide groups with two
// items each ran 4-5 points of torch's copy faster than 256-wide groups with one (32, 64, 96,
// 160 and 192 wide, and 1 or 4 items each, were slower), and with them the funnel-shifted taps
// and the folded bias gained 10 more (docs/kernels.md).

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

// The words at `cols` (word columns) of the row starting at word `row`, biased (see row_taps).
fn row_words(row: u32, cols: vec4<u32>) -> vec4<u32> {
    return biased(vec4<u32>(img(row + cols.x), img(row + cols.y), img(row + cols.z), img(row + cols.w)));
}

// (prev, cur, next) for the word `w.y`: prev's top byte is the pixel left of it, next's low byte
// the pixel right of it; at the row's ends the edge pixel repeats (clamped edges).
fn taps(w: vec4<u32>, at_left: bool, at_right: bool) -> vec3<u32> {
    return vec3<u32>(select(w.x, w.y << 24u, at_left), w.y, select(w.z, w.y >> 24u, at_right));
}

// One filter row's contribution to the 4 pixels of a word, from its (prev, cur, next) taps;
// w holds the row's three weights. The words hold each pixel p as the i8 value p - 128 (xor
// 0x80 per byte, done at load). Each pixel's three taps are three adjacent bytes of `cur` or of
// a funnel-shifted window (`left`: prev's top byte and cur's low three; `right`: cur's top three
// and next's low byte), so each pixel is one packed dot product with the weights
// (w.x, w.y, w.z, 0) or (0, w.x, w.y, w.z); `filtered` adds back 128 * sum(weights). Integer
// dot products are exact, so this equals the plain sum of w * p.
fn row_taps(t: vec3<u32>, w: vec3<i32>) -> vec4<i32> {
    let k1 = pack4xI8(vec4<i32>(w, 0));
    let k2 = k1 << 8u;
    let left = (t.y << 8u) | (t.x >> 24u);
    let right = (t.y >> 8u) | (t.z << 24u);
    return vec4<i32>(
        dot4I8Packed(left, k1), dot4I8Packed(t.y, k1), dot4I8Packed(t.y, k2), dot4I8Packed(right, k2),
    );
}

// The filter: weights of the rows above, at and below the pixel, and the rounding step.
struct Filter {
    top: vec3<i32>,
    mid: vec3<i32>,
    bot: vec3<i32>,
    mul: i32,
    half: i32,
    shift: u32,
    use_abs: bool,
    bias: i32,  // 128 * sum of the weights
}

// The 4 output pixels of a word, packed, from the taps of the rows above, at and below it.
// Without `abs` the bias folds into the rounding constant: (acc + bias) * mul + half =
// acc * mul + (bias * mul + half), one add less per pixel (i32 wraps, and the true value fits).
fn filtered(top: vec3<u32>, mid: vec3<u32>, bot: vec3<u32>, f: Filter) -> u32 {
    var acc = row_taps(top, f.top) + row_taps(mid, f.mid) + row_taps(bot, f.bot);
    var offset = f.bias * f.mul + f.half;
    if (f.use_abs) {
        acc = abs(acc + f.bias);
        offset = f.half;
    }
    let v = vec4<u32>(clamp((acc * f.mul + offset) >> vec4<u32>(f.shift), vec4<i32>(0), vec4<i32>(255)));
    return v.x | (v.y << 8u) | (v.z << 16u) | (v.w << 24u);
}

fn biased(v: vec4<u32>) -> vec4<u32> {
    return v ^ vec4<u32>(0x80808080u);
}

@compute @workgroup_size(128)
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
    let stride = groups.x * 128u;

    let f = Filter(
        vec3<i32>(w0, w1, w2), vec3<i32>(w3, w4, w5), vec3<i32>(w6, w7, w8),
        mul, half, shift, use_abs, 128 * (w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7 + w8),
    );
    let hh = word(4u);

    if (word(3u) % 16u == 0u) {
        let vr = word(3u) / 16u;  // vec4s per row
        let items = vr * ((hh + 1u) / 2u);
        for (var it = gid.x; it < items; it += stride) {
            let pair = it / vr;
            let x = it - pair * vr;
            let y = pair * 2u;
            // vec4 offsets of rows y-1 .. y+2, clamped to the image
            let ra = select(y - 1u, 0u, y == 0u) * vr;
            let rb = y * vr;
            let rc = min(y + 1u, hh - 1u) * vr;
            let rd = min(y + 2u, hh - 1u) * vr;
            let xl = select(x - 1u, 0u, x == 0u);
            let xr = min(x + 1u, vr - 1u);
            // each row: the vec4, and the words left and right of it (all loads first)
            let a = biased(vec4<u32>(image[ra + xl].w, image[ra + x].xyz));
            let b = biased(vec4<u32>(image[rb + xl].w, image[rb + x].xyz));
            let c = biased(vec4<u32>(image[rc + xl].w, image[rc + x].xyz));
            let d = biased(vec4<u32>(image[rd + xl].w, image[rd + x].xyz));
            let a2 = biased(vec4<u32>(image[ra + x].w, image[ra + xr].x, 0u, 0u));
            let b2 = biased(vec4<u32>(image[rb + x].w, image[rb + xr].x, 0u, 0u));
            let c2 = biased(vec4<u32>(image[rc + x].w, image[rc + xr].x, 0u, 0u));
            let d2 = biased(vec4<u32>(image[rd + x].w, image[rd + xr].x, 0u, 0u));
            let at_left = x == 0u;
            let at_right = x + 1u >= vr;
            // taps of the vec4's 4 words in each row
            let a0 = taps(a, at_left, false);
            let b0 = taps(b, at_left, false);
            let c0 = taps(c, at_left, false);
            let d0 = taps(d, at_left, false);
            let a1 = vec3<u32>(a.yzw);
            let b1 = vec3<u32>(b.yzw);
            let c1 = vec3<u32>(c.yzw);
            let d1 = vec3<u32>(d.yzw);
            let a_2 = vec3<u32>(a.zw, a2.x);
            let b_2 = vec3<u32>(b.zw, b2.x);
            let c_2 = vec3<u32>(c.zw, c2.x);
            let d_2 = vec3<u32>(d.zw, d2.x);
            let a3 = taps(vec4<u32>(a.w, a2.xy, 0u), false, at_right);
            let b3 = taps(vec4<u32>(b.w, b2.xy, 0u), false, at_right);
            let c3 = taps(vec4<u32>(c.w, c2.xy, 0u), false, at_right);
            let d3 = taps(vec4<u32>(d.w, d2.xy, 0u), false, at_right);
            result[rb + x] = vec4<u32>(
                filtered(a0, b0, c0, f), filtered(a1, b1, c1, f),
                filtered(a_2, b_2, c_2, f), filtered(a3, b3, c3, f),
            );
            if (y + 1u < hh) {
                result[rc + x] = vec4<u32>(
                    filtered(b0, c0, d0, f), filtered(b1, c1, d1, f),
                    filtered(b_2, c_2, d_2, f), filtered(b3, c3, d3, f),
                );
            }
        }
        return;
    }
    if (word(3u) % 4u == 0u) {
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
            let left = select(q0 - 1u, 0u, q0 == 0u);
            let cols = vec4<u32>(left, q0, min(q0 + 1u, wr - 1u), min(q0 + 2u, wr - 1u));
            // all 16 loads before any arithmetic
            let a = row_words(ra, cols);
            let b = row_words(rb, cols);
            let c = row_words(rc, cols);
            let d = row_words(rd, cols);
            let at_left = q0 == 0u;
            let second_word = q0 + 1u < wr;
            let second_row = y + 1u < hh;
            // word q0: its left neighbour is .x (or pixel 0 repeated), its right one .z
            // (or, at the row end, its own last pixel repeated)
            let ta = taps(a, at_left, !second_word);
            let tb = taps(b, at_left, !second_word);
            let tc = taps(c, at_left, !second_word);
            let td = taps(d, at_left, !second_word);
            put(rb + q0, filtered(ta, tb, tc, f));
            if (second_row) {
                put(rc + q0, filtered(tb, tc, td, f));
            }
            if (second_word) {
                let at_end = q0 + 2u >= wr;
                let ua = taps(a.yzww, false, at_end);
                let ub = taps(b.yzww, false, at_end);
                let uc = taps(c.yzww, false, at_end);
                let ud = taps(d.yzww, false, at_end);
                put(rb + q0 + 1u, filtered(ua, ub, uc, f));
                if (second_row) {
                    put(rc + q0 + 1u, filtered(ub, uc, ud, f));
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
