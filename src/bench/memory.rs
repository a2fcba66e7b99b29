//! What a forward pass must hold on the device, from the config alone: the budget the
//! measured peak is compared with (`peak ≤ 1.15 · weights + activations`).

use crate::model::{Config, DType};

/// Bytes of every weight the GPU engine uploads at this precision: the eight projection
/// matrices per block (r, k, v, g, o; ffn k, r, v) in `precision`, the LoRA matrices and
/// per-channel vectors in f32. The embedding stays on the host (rows are gathered there)
/// and the LM head is never used, so neither counts.
pub fn weight_bytes(cfg: &Config, precision: DType) -> u64 {
    let (c, f) = (cfg.n_embd as u64, cfg.ffn_dim as u64);
    let projections = 6 * c * c + 2 * c * f;
    let lora = 2 * 5 * cfg.mix_lora as u64 * c + 2 * cfg.decay_lora as u64 * c;
    // ln1, ln2 (2 each), ln_x (2), 6 time_maa, time_decay, time_faaaa, ffn maa k/r = 16
    let vectors = 16 * c;
    let per_layer = projections * precision.size() as u64 + (lora + vectors) * 4;
    cfg.n_layer as u64 * per_layer + 2 * c * 4
}

/// Bytes of the activations for a pass of `rows` = B·T padded tokens and `batch`
/// sequences, all f32: the residual x, the LayerNorm output, six `[rows][C]` scratch
/// vectors (mix / WKV output, r, k, v, g, log-decay), the LoRA hidden `[rows][max(5R, D)]`,
/// the channel-mix hidden `[rows][F]`, pooled outputs and their read-back copy
/// `2 · 2·(L+1)·B·C`, and the carried recurrent state `L · (2C + H·N·N)`.
pub fn activation_bytes(cfg: &Config, rows: usize, batch: usize) -> u64 {
    let (c, l) = (cfg.n_embd as u64, cfg.n_layer as u64);
    let rows = rows as u64;
    let lora = (5 * cfg.mix_lora).max(cfg.decay_lora) as u64;
    let per_row = 8 * c + lora + cfg.ffn_dim as u64;
    let pooled = 2 * 2 * (l + 1) * batch as u64 * c;
    let state = l * (2 * c + cfg.n_head as u64 * (cfg.head_size as u64).pow(2));
    4 * (rows * per_row + pooled + state)
}

/// `peak ÷ (1.15 · weights + activations)`: at most 1 meets the memory target.
pub fn budget_fraction(peak: u64, weights: u64, activations: u64) -> f64 {
    peak as f64 / (1.15 * weights as f64 + activations as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::random::{random_tensors, RandomSpec};
    use crate::model::Checkpoint;

    #[test]
    fn weight_bytes_count_every_uploaded_tensor() {
        // Cross-check against the tensors of a real (tiny) checkpoint: everything but the
        // embedding, ln_out and head, projections in f16, the rest in f32.
        let spec = RandomSpec::tiny(5);
        let ck = Checkpoint::from_tensors("tiny", random_tensors(&spec).unwrap(), 0).unwrap();
        let mut want = 0u64;
        for (name, t) in ck.tensors() {
            if name.starts_with("emb.") || name.starts_with("ln_out.") || name.starts_with("head.")
            {
                continue;
            }
            let is_projection =
                name.ends_with(".weight") && t.shape.len() == 2 && !name.contains(".ln");
            want += t.numel() as u64 * if is_projection { 2 } else { 4 };
        }
        assert_eq!(weight_bytes(&ck.config, DType::F16), want);
    }

    #[test]
    fn activation_bytes_by_hand() {
        let spec = RandomSpec::tiny(1); // C=128, L=2, F=448, R=8, D=16, H=2, N=64
        let ck = Checkpoint::from_tensors("tiny", random_tensors(&spec).unwrap(), 0).unwrap();
        let per_row = 8 * 128 + 40 + 448;
        let pooled = 4 * 3 * 2 * 128;
        let state = 2 * (256 + 2 * 64 * 64);
        assert_eq!(
            activation_bytes(&ck.config, 32, 2),
            4 * (32 * per_row + pooled + state)
        );
        assert!((budget_fraction(115, 100, 0) - 1.0).abs() < 1e-12);
    }
}
