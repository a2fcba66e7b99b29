// Memory-bandwidth probe for `rwkv-lens bench` (the roofline's bandwidth roof):
//
//   dst[i] = src[i]        for i < n   (vec4<f32>, one element per invocation)
//
// Every byte is read once and written once, with no arithmetic, so
// bandwidth = 2 · n · 16 bytes / time. The grid is 2-D (x = 65535 workgroups at most) so
// buffers beyond 65535 · 256 vec4s still fit one dispatch.

struct Params {
    n: u32,        // vec4 elements to copy
    row: u32,      // invocations per grid row = workgroups in x · 256
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.y * p.row + id.x;
    if i < p.n {
        dst[i] = src[i];
    }
}
