// sha256: the payload is cut into blocks of `block` bytes (the last may be shorter) and each
// invocation writes the SHA-256 (FIPS 180-4) digest of one block: 32 bytes per block, in order.
// Exact: pure 32-bit integer arithmetic.
//
// The 64 rounds are written out with the round constants as literals and the message schedule
// as a rolling window of 16 named words, so that the state, the schedule and the constants stay
// in registers (an indexed private array would live in local memory on some GPUs). The payload
// is an array of vec4<u32> (the kernel declares align = 16: the binding is zero-padded to whole
// vec4s). A chunk that lies wholly inside its block reads its 16 message words as 4 vec4 loads
// where it starts on a 16-byte boundary, else as 16 word loads where it starts on a word; the
// padded tail chunk(s) are built word by word when the block's start and length are whole
// words, else byte by byte.

struct Params {
    p: array<vec4<u32>, 4>,  // p[0].x = payload bytes, p[0].w = block bytes, p[1].x = blocks
}

@group(0) @binding(0) var<storage, read> payload: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> digests: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// vec4 i of the payload, and word i
fn quad(i: u32) -> vec4<u32> {
    return payload[i];
}

fn word_at(i: u32) -> u32 {
    return payload[i >> 2u][i & 3u];
}

fn byte_at(i: u32) -> u32 {
    return (word_at(i >> 2u) >> ((i & 3u) * 8u)) & 0xffu;
}

fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

fn bsig0(x: u32) -> u32 {
    return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u);
}

fn bsig1(x: u32) -> u32 {
    return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u);
}

fn ssig0(x: u32) -> u32 {
    return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
}

fn ssig1(x: u32) -> u32 {
    return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u);
}

fn ch(e: u32, f: u32, g: u32) -> u32 {
    return (e & f) ^ (~e & g);
}

fn maj(a: u32, b: u32, c: u32) -> u32 {
    return (a & b) ^ (a & c) ^ (b & c);
}

fn bswap(x: u32) -> u32 {
    return (x >> 24u) | ((x >> 8u) & 0xff00u) | ((x << 8u) & 0xff0000u) | (x << 24u);
}

fn bswap4(x: vec4<u32>) -> vec4<u32> {
    let m = vec4<u32>(0xff00ffu);
    let y = ((x >> vec4<u32>(8u)) & m) | ((x & m) << vec4<u32>(8u));
    return (y >> vec4<u32>(16u)) | (y << vec4<u32>(16u));
}

// Big-endian word j of the padded message of the `len` bytes starting at `start`.
fn message_word(start: u32, len: u32, j: u32, total_words: u32) -> u32 {
    if (j == total_words - 2u) {
        return len >> 29u;  // high half of the 64-bit bit length
    }
    if (j == total_words - 1u) {
        return len << 3u;
    }
    if (((start | len) & 3u) == 0u) {  // whole words: the data, then 0x80 and zeros
        if (j * 4u < len) {
            return bswap(word_at((start >> 2u) + j));
        }
        return select(0u, 0x80000000u, j * 4u == len);
    }
    var w = 0u;
    for (var b = 0u; b < 4u; b++) {
        let k = j * 4u + b;
        var v = 0u;
        if (k < len) {
            v = byte_at(start + k);
        } else if (k == len) {
            v = 0x80u;
        }
        w = (w << 8u) | v;
    }
    return w;
}

// The 16 big-endian message words of chunk c of the block (`len` bytes at byte `start`).
struct Chunk {
    a: vec4<u32>,
    b: vec4<u32>,
    c: vec4<u32>,
    d: vec4<u32>,
}

fn load_chunk(start: u32, len: u32, c: u32, total_words: u32) -> Chunk {
    let at = start + c * 64u;
    if (c * 64u + 64u <= len) {
        if ((at & 15u) == 0u) {
            let q = at >> 4u;
            return Chunk(bswap4(quad(q)), bswap4(quad(q + 1u)), bswap4(quad(q + 2u)), bswap4(quad(q + 3u)));
        }
        if ((at & 3u) == 0u) {
            let i = at >> 2u;
            return Chunk(
                bswap4(vec4<u32>(word_at(i), word_at(i + 1u), word_at(i + 2u), word_at(i + 3u))),
                bswap4(vec4<u32>(word_at(i + 4u), word_at(i + 5u), word_at(i + 6u), word_at(i + 7u))),
                bswap4(vec4<u32>(word_at(i + 8u), word_at(i + 9u), word_at(i + 10u), word_at(i + 11u))),
                bswap4(vec4<u32>(word_at(i + 12u), word_at(i + 13u), word_at(i + 14u), word_at(i + 15u))),
            );
        }
    }
    let j = c * 16u;
    return Chunk(
        vec4<u32>(
            message_word(start, len, j, total_words), message_word(start, len, j + 1u, total_words),
            message_word(start, len, j + 2u, total_words), message_word(start, len, j + 3u, total_words),
        ),
        vec4<u32>(
            message_word(start, len, j + 4u, total_words), message_word(start, len, j + 5u, total_words),
            message_word(start, len, j + 6u, total_words), message_word(start, len, j + 7u, total_words),
        ),
        vec4<u32>(
            message_word(start, len, j + 8u, total_words), message_word(start, len, j + 9u, total_words),
            message_word(start, len, j + 10u, total_words), message_word(start, len, j + 11u, total_words),
        ),
        vec4<u32>(
            message_word(start, len, j + 12u, total_words), message_word(start, len, j + 13u, total_words),
            message_word(start, len, j + 14u, total_words), message_word(start, len, j + 15u, total_words),
        ),
    );
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = params.p[0].x;
    let block = params.p[0].w;
    let blocks = params.p[1].x;
    let stride = groups.x * 64u;
    for (var blk = gid.x; blk < blocks; blk += stride) {
        let start = blk * block;
        let len = min(block, n - start);
        let chunks = (len + 72u) / 64u;  // ceil((len + 9) / 64)
        let total_words = chunks * 16u;
        var h0 = 0x6a09e667u;
        var h1 = 0xbb67ae85u;
        var h2 = 0x3c6ef372u;
        var h3 = 0xa54ff53au;
        var h4 = 0x510e527fu;
        var h5 = 0x9b05688cu;
        var h6 = 0x1f83d9abu;
        var h7 = 0x5be0cd19u;
        for (var c = 0u; c < chunks; c++) {
            let m = load_chunk(start, len, c, total_words);
            var w0 = m.a.x; var w1 = m.a.y; var w2 = m.a.z; var w3 = m.a.w;
            var w4 = m.b.x; var w5 = m.b.y; var w6 = m.b.z; var w7 = m.b.w;
            var w8 = m.c.x; var w9 = m.c.y; var w10 = m.c.z; var w11 = m.c.w;
            var w12 = m.d.x; var w13 = m.d.y; var w14 = m.d.z; var w15 = m.d.w;
            var a = h0; var b = h1; var cc = h2; var d = h3;
            var e = h4; var f = h5; var g = h6; var hh = h7;
            var t1: u32;
            t1 = hh + bsig1(e) + ch(e, f, g) + 0x428a2f98u + w0; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            t1 = g + bsig1(d) + ch(d, e, f) + 0x71374491u + w1; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0xb5c0fbcfu + w2; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0xe9b5dba5u + w3; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x3956c25bu + w4; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0x59f111f1u + w5; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x923f82a4u + w6; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0xab1c5ed5u + w7; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0xd807aa98u + w8; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            t1 = g + bsig1(d) + ch(d, e, f) + 0x12835b01u + w9; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0x243185beu + w10; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0x550c7dc3u + w11; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x72be5d74u + w12; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0x80deb1feu + w13; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x9bdc06a7u + w14; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0xc19bf174u + w15; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w0 += ssig1(w14) + w9 + ssig0(w1);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0xe49b69c1u + w0; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w1 += ssig1(w15) + w10 + ssig0(w2);
            t1 = g + bsig1(d) + ch(d, e, f) + 0xefbe4786u + w1; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w2 += ssig1(w0) + w11 + ssig0(w3);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0x0fc19dc6u + w2; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w3 += ssig1(w1) + w12 + ssig0(w4);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0x240ca1ccu + w3; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w4 += ssig1(w2) + w13 + ssig0(w5);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x2de92c6fu + w4; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w5 += ssig1(w3) + w14 + ssig0(w6);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0x4a7484aau + w5; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w6 += ssig1(w4) + w15 + ssig0(w7);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x5cb0a9dcu + w6; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w7 += ssig1(w5) + w0 + ssig0(w8);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0x76f988dau + w7; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w8 += ssig1(w6) + w1 + ssig0(w9);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0x983e5152u + w8; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w9 += ssig1(w7) + w2 + ssig0(w10);
            t1 = g + bsig1(d) + ch(d, e, f) + 0xa831c66du + w9; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w10 += ssig1(w8) + w3 + ssig0(w11);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0xb00327c8u + w10; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w11 += ssig1(w9) + w4 + ssig0(w12);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0xbf597fc7u + w11; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w12 += ssig1(w10) + w5 + ssig0(w13);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0xc6e00bf3u + w12; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w13 += ssig1(w11) + w6 + ssig0(w14);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0xd5a79147u + w13; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w14 += ssig1(w12) + w7 + ssig0(w15);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x06ca6351u + w14; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w15 += ssig1(w13) + w8 + ssig0(w0);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0x14292967u + w15; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w0 += ssig1(w14) + w9 + ssig0(w1);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0x27b70a85u + w0; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w1 += ssig1(w15) + w10 + ssig0(w2);
            t1 = g + bsig1(d) + ch(d, e, f) + 0x2e1b2138u + w1; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w2 += ssig1(w0) + w11 + ssig0(w3);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0x4d2c6dfcu + w2; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w3 += ssig1(w1) + w12 + ssig0(w4);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0x53380d13u + w3; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w4 += ssig1(w2) + w13 + ssig0(w5);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x650a7354u + w4; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w5 += ssig1(w3) + w14 + ssig0(w6);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0x766a0abbu + w5; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w6 += ssig1(w4) + w15 + ssig0(w7);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x81c2c92eu + w6; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w7 += ssig1(w5) + w0 + ssig0(w8);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0x92722c85u + w7; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w8 += ssig1(w6) + w1 + ssig0(w9);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0xa2bfe8a1u + w8; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w9 += ssig1(w7) + w2 + ssig0(w10);
            t1 = g + bsig1(d) + ch(d, e, f) + 0xa81a664bu + w9; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w10 += ssig1(w8) + w3 + ssig0(w11);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0xc24b8b70u + w10; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w11 += ssig1(w9) + w4 + ssig0(w12);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0xc76c51a3u + w11; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w12 += ssig1(w10) + w5 + ssig0(w13);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0xd192e819u + w12; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w13 += ssig1(w11) + w6 + ssig0(w14);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0xd6990624u + w13; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w14 += ssig1(w12) + w7 + ssig0(w15);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0xf40e3585u + w14; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w15 += ssig1(w13) + w8 + ssig0(w0);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0x106aa070u + w15; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w0 += ssig1(w14) + w9 + ssig0(w1);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0x19a4c116u + w0; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w1 += ssig1(w15) + w10 + ssig0(w2);
            t1 = g + bsig1(d) + ch(d, e, f) + 0x1e376c08u + w1; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w2 += ssig1(w0) + w11 + ssig0(w3);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0x2748774cu + w2; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w3 += ssig1(w1) + w12 + ssig0(w4);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0x34b0bcb5u + w3; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w4 += ssig1(w2) + w13 + ssig0(w5);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x391c0cb3u + w4; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w5 += ssig1(w3) + w14 + ssig0(w6);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0x4ed8aa4au + w5; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w6 += ssig1(w4) + w15 + ssig0(w7);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0x5b9cca4fu + w6; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w7 += ssig1(w5) + w0 + ssig0(w8);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0x682e6ff3u + w7; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            w8 += ssig1(w6) + w1 + ssig0(w9);
            t1 = hh + bsig1(e) + ch(e, f, g) + 0x748f82eeu + w8; d += t1; hh = t1 + bsig0(a) + maj(a, b, cc);
            w9 += ssig1(w7) + w2 + ssig0(w10);
            t1 = g + bsig1(d) + ch(d, e, f) + 0x78a5636fu + w9; cc += t1; g = t1 + bsig0(hh) + maj(hh, a, b);
            w10 += ssig1(w8) + w3 + ssig0(w11);
            t1 = f + bsig1(cc) + ch(cc, d, e) + 0x84c87814u + w10; b += t1; f = t1 + bsig0(g) + maj(g, hh, a);
            w11 += ssig1(w9) + w4 + ssig0(w12);
            t1 = e + bsig1(b) + ch(b, cc, d) + 0x8cc70208u + w11; a += t1; e = t1 + bsig0(f) + maj(f, g, hh);
            w12 += ssig1(w10) + w5 + ssig0(w13);
            t1 = d + bsig1(a) + ch(a, b, cc) + 0x90befffau + w12; hh += t1; d = t1 + bsig0(e) + maj(e, f, g);
            w13 += ssig1(w11) + w6 + ssig0(w14);
            t1 = cc + bsig1(hh) + ch(hh, a, b) + 0xa4506cebu + w13; g += t1; cc = t1 + bsig0(d) + maj(d, e, f);
            w14 += ssig1(w12) + w7 + ssig0(w15);
            t1 = b + bsig1(g) + ch(g, hh, a) + 0xbef9a3f7u + w14; f += t1; b = t1 + bsig0(cc) + maj(cc, d, e);
            w15 += ssig1(w13) + w8 + ssig0(w0);
            t1 = a + bsig1(f) + ch(f, g, hh) + 0xc67178f2u + w15; e += t1; a = t1 + bsig0(b) + maj(b, cc, d);
            h0 += a; h1 += b; h2 += cc; h3 += d;
            h4 += e; h5 += f; h6 += g; h7 += hh;
        }
        let o = blk * 8u;
        digests[o] = bswap(h0);
        digests[o + 1u] = bswap(h1);
        digests[o + 2u] = bswap(h2);
        digests[o + 3u] = bswap(h3);
        digests[o + 4u] = bswap(h4);
        digests[o + 5u] = bswap(h5);
        digests[o + 6u] = bswap(h6);
        digests[o + 7u] = bswap(h7);
    }
}
