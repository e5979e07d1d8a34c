// montecarlo_pi: counts how many of `samples` seeded points fall inside the quarter disc.
// Sample i (i = offset .. offset + samples - 1) is the integer point (x, y) in [0, 65536)^2:
//   key = mix(seed_lo ^ mix(seed_hi ^ 0x9e3779b9)), h = mix(i ^ key),
//   x = mix(h ^ 0x68e31da4) >> 16, y = mix(h + 0xb5297a4d) >> 16,
// where mix is Wellons' lowbias32 hash; it hits when x*x + y*y < 2^32. 4 * hits / samples
// estimates pi. Exact: 32-bit integer arithmetic and an order-independent atomic sum.
// Bindings follow the Shardy kernel ABI (the payload is unused).

struct Params {
    p: array<vec4<u32>, 4>,  // p[0].yz = seed, p[0].w = samples, p[1].x = offset
}

@group(0) @binding(0) var<storage, read> payload: array<u32>;
@group(0) @binding(1) var<storage, read_write> hits: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> local_hits: atomic<u32>;

fn mix(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

@compute @workgroup_size(256)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    if (lid == 0u) {
        atomicStore(&local_hits, 0u);
    }
    workgroupBarrier();

    let key = mix(params.p[0].y ^ mix(params.p[0].z ^ 0x9e3779b9u));
    let samples = params.p[0].w;
    let offset = params.p[1].x;
    let stride = groups.x * 256u;
    var count = 0u;
    for (var j = gid.x; j < samples; j += stride) {
        let h = mix((offset + j) ^ key);
        let x = mix(h ^ 0x68e31da4u) >> 16u;
        let y = mix(h + 0xb5297a4du) >> 16u;
        let yy = y * y;
        if (x * x <= 0xffffffffu - yy) {
            count += 1u;
        }
        if (j > 0xffffffffu - stride) {
            break;  // j += stride would wrap around
        }
    }
    atomicAdd(&local_hits, count);
    workgroupBarrier();
    if (lid == 0u) {
        atomicAdd(&hits[0], atomicLoad(&local_hits));
    }
}
