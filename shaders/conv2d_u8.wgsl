// conv2d_u8: a 3x3 integer filter over a u8 image (row-major, width x height), edges clamped.
// Per pixel: acc = sum(w[dy][dx] * pixel), acc = |acc| if `abs`, then
// out = clamp((acc * mul + (2^shift >> 1)) >> shift, 0, 255) with an arithmetic shift.
// Exact: i32 arithmetic whose range the plan checks.
//
// Three paths, chosen per dispatch (uniform branches); image and result are arrays of vec4<u32>
// (the kernel declares align = 16: both bindings are zero-padded to whole vec4s):
// - width % 16 == 0 (rows are whole vec4s): each invocation produces two vec4s (32 pixels) of two
//   output rows from the four input rows they need, loading in each row the two vec4s and the
//   word left and right of them, all before any arithmetic; each output vec4 is one store.
//   Every pixel is 3 packed 4 x i8 dot products (`dots`, one per filter row, on funnel-shifted
//   windows of the row) accumulated onto 128 * sum(weights); the final clamp is skipped for
//   filters whose extreme sums stay inside 0..255 (`Filter.clamped`).
// - width % 4 == 0 (rows are whole words): 2 words (8 pixels) of two rows per invocation, all 16
//   u32 loads issued before any arithmetic; a word's 4 pixels take packed dot products with
//   shifted weights (`row_taps`).
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
// w holds the row's three weights. The words hold each pixel p as the i8 value p - 128
// (xor 0x80 per byte, done at load), so the three taps of pixels 1 and 2 of the word are one
// packed dot product each with the weights (w.x, w.y, w.z, 0) shifted into place, pixels 0 and 3
// take two taps from the word and one from the neighbour; `finish` adds 128 * sum(weights).
// Integer dot products are exact, so this equals the plain sum of w * p.
fn row_taps(t: vec3<u32>, w: vec3<i32>) -> vec4<i32> {
    let k1 = pack4xI8(vec4<i32>(w, 0));
    let p0 = dot4I8Packed(t.y, k1 >> 8u) + w.x * (bitcast<i32>(t.x) >> 24u);
    let p1 = dot4I8Packed(t.y, k1);
    let p2 = dot4I8Packed(t.y, k1 << 8u);
    let p3 = dot4I8Packed(t.y, k1 << 16u) + w.z * ((bitcast<i32>(t.z) << 24u) >> 24u);
    return vec4<i32>(p0, p1, p2, p3);
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
    clamped: bool,  // whether some image can give sums outside 0..255 after rounding
}

// The 4 output pixels of a word, packed, from the taps of the rows above, at and below it.
fn filtered(top: vec3<u32>, mid: vec3<u32>, bot: vec3<u32>, f: Filter) -> u32 {
    var acc = row_taps(top, f.top) + row_taps(mid, f.mid) + row_taps(bot, f.bot) + f.bias;
    if (f.use_abs) {
        acc = abs(acc);
    }
    let v = vec4<u32>(clamp((acc * f.mul + f.half) >> vec4<u32>(f.shift), vec4<i32>(0), vec4<i32>(255)));
    return v.x | (v.y << 8u) | (v.z << 16u) | (v.w << 24u);
}

fn biased(v: vec4<u32>) -> vec4<u32> {
    return v ^ vec4<u32>(0x80808080u);
}

// A row's vec4 of 4 words with the word left and right of it, biased (see row_taps).
struct Row {
    v: vec4<u32>,
    left: u32,
    right: u32,
}

// The windows of two adjacent vec4s of a row (32 pixels), vec4 columns x and x + 1.
struct Pair {
    u: Windows,
    v: Windows,
}

// Vec4 columns x and x + 1 of the row starting at vec4 `row`, with the words either side; at
// the row's ends the edge pixel repeats (clamped edges). Where x is the last column, the
// second vec4 repeats it (its outputs are not stored).
fn load_pair(row: u32, x: u32, vr: u32) -> Pair {
    let last = vr - 1u;
    let a = biased(image[row + x]);
    let b = biased(image[row + min(x + 1u, last)]);
    let l = image[row + max(x, 1u) - 1u].w ^ 0x80808080u;
    let r = image[row + min(x + 2u, last)].x ^ 0x80808080u;
    let a_right = select(b.x, a.w >> 24u, x == last);
    let b_right = select(r, b.w >> 24u, x + 2u > last);
    return Pair(windows(Row(a, select(l, a.x << 24u, x == 0u), a_right)), windows(Row(b, a.w, b_right)));
}

// The 16 pixels of a Row as 4-pixel windows (packed i8): .p0[j] holds the left neighbour,
// pixel 0 and pixel 1 of word j (and pixel 2, which the zero 4th weight ignores), .p1[j] the
// window of pixel 1 (word j itself), .p2[j] and .p3[j] those of pixels 2 and 3, each a funnel
// shift of word j and a neighbour. One dot4I8Packed of a window with a filter row's weights
// (w.x, w.y, w.z, 0) is that row's share of one output pixel.
struct Windows {
    p0: vec4<u32>,
    p1: vec4<u32>,
    p2: vec4<u32>,
    p3: vec4<u32>,
}

fn windows(r: Row) -> Windows {
    let prev = vec4<u32>(r.left, r.v.xyz);
    let next = vec4<u32>(r.v.yzw, r.right);
    return Windows(
        (prev >> vec4<u32>(24u)) | (r.v << vec4<u32>(8u)),
        r.v,
        (r.v >> vec4<u32>(8u)) | (next << vec4<u32>(24u)),
        (r.v >> vec4<u32>(16u)) | (next << vec4<u32>(16u)),
    );
}

// Running sums of 16 output pixels: .pq[j] is pixel q of word j.
struct Acc {
    p0: vec4<i32>,
    p1: vec4<i32>,
    p2: vec4<i32>,
    p3: vec4<i32>,
}

// The filter rows' weights, each packed as 4 x i8 (w.x, w.y, w.z, 0).
struct Weights {
    top: u32,
    mid: u32,
    bot: u32,
}

fn dot4(x: vec4<u32>, k: u32) -> vec4<i32> {
    return vec4<i32>(dot4I8Packed(x.x, k), dot4I8Packed(x.y, k), dot4I8Packed(x.z, k), dot4I8Packed(x.w, k));
}

// `a` plus one filter row's share (weights `k`) of the 16 pixels whose row of taps is `w`.
fn dots(a: Acc, w: Windows, k: u32) -> Acc {
    return Acc(a.p0 + dot4(w.p0, k), a.p1 + dot4(w.p1, k), a.p2 + dot4(w.p2, k), a.p3 + dot4(w.p3, k));
}

// The rounding step of 4 sums; the clamp only where the filter's range needs it.
fn rounded(acc: vec4<i32>, f: Filter) -> vec4<u32> {
    var a = acc;
    if (f.use_abs) {
        a = abs(a);
    }
    let v = (a * f.mul + f.half) >> vec4<u32>(f.shift);
    if (f.clamped) {
        return vec4<u32>(clamp(v, vec4<i32>(0), vec4<i32>(255)));
    }
    return vec4<u32>(v);
}

// 16 finished sums as the vec4 of output pixels.
fn output(a: Acc, f: Filter) -> vec4<u32> {
    return rounded(a.p0, f) | (rounded(a.p1, f) << vec4<u32>(8u)) | (rounded(a.p2, f) << vec4<u32>(16u))
        | (rounded(a.p3, f) << vec4<u32>(24u));
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

    // the extreme sums any image can give (pixels 0 or 255), after abs
    let top = vec3<i32>(w0, w1, w2);
    let mid = vec3<i32>(w3, w4, w5);
    let bot = vec3<i32>(w6, w7, w8);
    let z = vec3<i32>(0);
    let neg = min(top, z) + min(mid, z) + min(bot, z);
    let pos = max(top, z) + max(mid, z) + max(bot, z);
    var lo = 255 * (neg.x + neg.y + neg.z);
    var hi = 255 * (pos.x + pos.y + pos.z);
    if (use_abs) {
        hi = max(hi, -lo);
        lo = 0;
    }
    let f = Filter(
        top, mid, bot, mul, half, shift, use_abs, 128 * (w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7 + w8),
        lo * mul + half < 0 || (hi * mul + half) >> shift > 255,
    );
    let hh = word(4u);

    if (word(3u) % 16u == 0u) {
        let vr = word(3u) / 16u;  // vec4s per row
        let pairs = (vr + 1u) / 2u;  // vec4 pairs per row (the last may be a single vec4)
        let items = pairs * ((hh + 1u) / 2u);
        let k = Weights(
            pack4xI8(vec4<i32>(w0, w1, w2, 0)), pack4xI8(vec4<i32>(w3, w4, w5, 0)),
            pack4xI8(vec4<i32>(w6, w7, w8, 0)),
        );
        let start = Acc(vec4<i32>(f.bias), vec4<i32>(f.bias), vec4<i32>(f.bias), vec4<i32>(f.bias));
        for (var it = gid.x; it < items; it += stride) {
            let pair = it / pairs;
            let x = (it - pair * pairs) * 2u;
            let y = pair * 2u;
            // rows y-1 .. y+2 (clamped), each as its two vec4s' windows; all loads first
            let a = load_pair(select(y - 1u, 0u, y == 0u) * vr, x, vr);
            let b = load_pair(y * vr, x, vr);
            let c = load_pair(min(y + 1u, hh - 1u) * vr, x, vr);
            let d = load_pair(min(y + 2u, hh - 1u) * vr, x, vr);
            let second_vec = x + 1u < vr;
            let second_row = y + 1u < hh;
            result[y * vr + x] = output(dots(dots(dots(start, a.u, k.top), b.u, k.mid), c.u, k.bot), f);
            if (second_vec) {
                result[y * vr + x + 1u] = output(dots(dots(dots(start, a.v, k.top), b.v, k.mid), c.v, k.bot), f);
            }
            if (second_row) {
                result[(y + 1u) * vr + x] = output(dots(dots(dots(start, b.u, k.top), c.u, k.mid), d.u, k.bot), f);
                if (second_vec) {
                    result[(y + 1u) * vr + x + 1u] =
                        output(dots(dots(dots(start, b.v, k.top), c.v, k.mid), d.v, k.bot), f);
                }
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
