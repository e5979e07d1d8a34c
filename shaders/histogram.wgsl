// histogram: counts of each byte value (0..255) of the payload, as 256 little-endian u32.
// Exact: integer atomics, the result does not depend on scheduling order.
// Bindings follow the Shardy kernel ABI: 0 = payload words, 1 = output, 2 = parameters.

struct Params {
    p: array<vec4<u32>, 4>,  // p[0].x = payload length in bytes
}

@group(0) @binding(0) var<storage, read> payload: array<u32>;
@group(0) @binding(1) var<storage, read_write> bins: array<atomic<u32>, 256>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> local_bins: array<atomic<u32>, 256>;

@compute @workgroup_size(256)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    atomicStore(&local_bins[lid], 0u);
    workgroupBarrier();

    let n = params.p[0].x;
    let words = (n + 3u) / 4u;
    let stride = groups.x * 256u;
    for (var i = gid.x; i < words; i += stride) {
        let w = payload[i];
        for (var b = 0u; b < 4u; b++) {
            if (i * 4u + b < n) {
                atomicAdd(&local_bins[(w >> (b * 8u)) & 0xffu], 1u);
            }
        }
    }
    workgroupBarrier();

    let count = atomicLoad(&local_bins[lid]);
    if (count > 0u) {
        atomicAdd(&bins[lid], count);
    }
}
