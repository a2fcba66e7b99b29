// Prelude of token_shift.wgsl and ddlerp.wgsl (after run.wgsl): the previous token's
// LayerNorm output, the `xx[t−1]` of the token shift. Reads the kernel's `p` (with `tokens`
// T and `dim` C), `xx` ([B][T][C], right-padded) and `shift_state` ([B][C]).
//
//   xx[b][t−1][c] = the row before, within the chunk                  (t > 0)
//                 = shift_state[b][c], the previous chunk's last row   (t = 0, run.load_state)
//                 = 0                                                   (t = 0, a fresh sequence)

fn previous(row: u32, c: u32) -> f32 {
    let t = row % p.tokens;
    if t > 0u {
        return xx[(row - 1u) * p.dim + c];
    }
    if run.load_state == 1u {
        return shift_state[(row / p.tokens) * p.dim + c];
    }
    return 0.0;
}
