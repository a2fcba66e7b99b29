// The attention models' input embedding: word + learned position (+ BERT's segment row;
// GPT-2 has none and binds zeros), before BERT's LayerNorm (layer_norm.wgsl):
//
//   y[b·T + t][c] = E_word[id[b·T + t]][c] + E_pos[t][c] + E_type[0][c]
//
// The host gathers the word rows `word_rows[b·T + t] = E_word[id[b·T + t]]` (the table stays
// off the device). Right-padded batch: rows past a sequence's length are zeros, masked later.
// One thread per (c, row): prepend `row_grid.wgsl`.

struct Params {
    rows: u32,     // B·T
    tokens: u32,   // T (padded length)
    dim: u32,      // C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> word_rows: array<f32>;
@group(0) @binding(2) var<storage, read> position: array<f32>;
@group(0) @binding(3) var<storage, read> token_type: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn element(c: u32, row: u32) {
    let t = row % p.tokens;
    let i = row * p.dim + c;
    y[i] = word_rows[i] + position[t * p.dim + c] + token_type[c];
}
