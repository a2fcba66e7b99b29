// Per-chunk information shared by the kernels that need sequence lengths (a uniform,
// so it does not count against the 8 storage buffers per stage), at kernels::bindings::RUN.
// A batch is processed in time chunks of T tokens; chunk c covers positions t0 .. t0+T−1.

struct Run {
    t0: u32,           // first position of this chunk
    load_state: u32,   // 1: continue from the carried WKV state (t0 > 0)
    store_state: u32,  // 1: save the WKV state for the next chunk
    last_chunk: u32,   // 1: this chunk ends the batch (pooling finalises its means)
    lengths: array<vec4<u32>, 1024>, // real length of sequence b at lengths[b/4][b%4]
}

@group(0) @binding(7) var<uniform> run: Run;

fn seq_len(b: u32) -> u32 {
    return run.lengths[b / 4u][b % 4u];
}
