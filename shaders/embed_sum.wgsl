// The encoder's input embedding (BERT), before its LayerNorm (layer_norm.wgsl):
//
//   y[b·T + t][c] = E_word[id[b·T + t]][c] + E_pos[t][c] + E_type[0][c]
//
// Right-padded batch: rows past a sequence's length hold the pad id and are masked later.
// One thread per (c, row).

struct Params {
    rows: u32,     // B·T
    tokens: u32,   // T (padded length)
    dim: u32,      // C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> word: array<f32>;
@group(0) @binding(3) var<storage, read> position: array<f32>;
@group(0) @binding(4) var<storage, read> token_type: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let c = id.x;
    let row = id.y + id.z * 65535u;
    if c >= p.dim || row >= p.rows {
        return;
    }
    let t = row % p.tokens;
    y[row * p.dim + c] = word[ids[row] * p.dim + c] + position[t * p.dim + c] + token_type[c];
}
