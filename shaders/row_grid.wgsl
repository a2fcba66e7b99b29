// Prelude of the attention models' element-wise kernels over a [rows][dim] output
// (embed_sum.wgsl, bias_add.wgsl): one thread per (column c, row), columns on x in
// workgroups of 64, rows on y and, above 65535, on z. The kernel declares `p` with
// `rows` and `dim` and defines `element(c, row)`.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.y + id.z * 65535u;
    if id.x >= p.dim || row >= p.rows {
        return;
    }
    element(id.x, row);
}
