// histogram: counts of each byte value (0..255) of the payload, as 256 little-endian u32.
// Exact: integer atomics, the result does not depend on scheduling order.
// Bindings follow the Shardy kernel ABI: 0 = payload (read as vec4<u32>: the kernel declares
// align = 16, so the binding is zero-padded to whole vec4s), 1 = output, 2 = parameters.
//
// Each workgroup counts into COPIES replicas of the 256 bins in workgroup memory, invocation i
// into replica i % COPIES, laid out bin-major (bin * COPIES + replica) so that the invocations of
// a subgroup hit different banks and rarely the same counter. Every invocation reads four
// independent vec4s (64 bytes) per loop step; the few workgroups the plan dispatches (256 words
// per invocation) then add their replicas' sums into the output once per bin.

struct Params {
    p: array<vec4<u32>, 4>,  // p[0].x = payload length in bytes
}

@group(0) @binding(0) var<storage, read> payload: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> bins: array<atomic<u32>, 256>;
@group(0) @binding(2) var<uniform> params: Params;

const COPY_BITS: u32 = 4u;
const COPIES: u32 = 1u << COPY_BITS;  // 256 * 16 * 4 bytes = 16 KiB of workgroup memory
const BIN_MASK: u32 = 0xffu << COPY_BITS;  // a byte value, in place as bin * COPIES

var<workgroup> local_bins: array<atomic<u32>, 4096>;  // 256 * COPIES

// Counter bin * COPIES + replica of each byte of w, each index one shift and one and-or (the
// multiply-add form ran 6 points of torch's copy slower on the H100 at 256 MiB).
fn count(w: u32, replica: u32) {
    atomicAdd(&local_bins[((w << COPY_BITS) & BIN_MASK) | replica], 1u);
    atomicAdd(&local_bins[((w >> (8u - COPY_BITS)) & BIN_MASK) | replica], 1u);
    atomicAdd(&local_bins[((w >> (16u - COPY_BITS)) & BIN_MASK) | replica], 1u);
    atomicAdd(&local_bins[((w >> (24u - COPY_BITS)) & BIN_MASK) | replica], 1u);
}

fn count4(v: vec4<u32>, replica: u32) {
    count(v.x, replica);
    count(v.y, replica);
    count(v.z, replica);
    count(v.w, replica);
}

@compute @workgroup_size(256)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    for (var i = lid; i < 256u * COPIES; i += 256u) {
        atomicStore(&local_bins[i], 0u);
    }
    workgroupBarrier();

    let n = params.p[0].x;
    let full = n / 16u;
    let replica = lid % COPIES;
    let threads = groups.x * 256u;
    var i = gid.x;
    for (; i + 3u * threads < full; i += 4u * threads) {
        let a = payload[i];
        let b = payload[i + threads];
        let c = payload[i + 2u * threads];
        let d = payload[i + 3u * threads];
        count4(a, replica);
        count4(b, replica);
        count4(c, replica);
        count4(d, replica);
    }
    for (; i < full; i += threads) {
        count4(payload[i], replica);
    }
    if (gid.x == 0u && n % 16u != 0u) {
        let v = payload[full];
        for (var b = full * 16u; b < n; b++) {
            let w = v[(b >> 2u) & 3u];
            atomicAdd(&local_bins[((w >> ((b & 3u) * 8u)) & 0xffu) * COPIES + replica], 1u);
        }
    }
    workgroupBarrier();

    var total = 0u;
    for (var r = 0u; r < COPIES; r++) {
        total += atomicLoad(&local_bins[lid * COPIES + r]);
    }
    if (total > 0u) {
        atomicAdd(&bins[lid], total);
    }
}
