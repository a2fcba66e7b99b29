//! `rwkv-lens bench --quick` end to end on whatever adapter wgpu finds (lavapipe in CI):
//! the JSON has every section with the right fields, the ratios are the quotients of the
//! measured rows, our GPU agrees with the CPU reference, and the copy kernel copies.
//! Never asserts wall-clock speed.

use crate::common;

use rwkv_lens::bench::report::{Report, OURS, SCHEMA};
use rwkv_lens::bench::roofline::{copy_dispatch, open};
use rwkv_lens::bench::spec::Shape;
use rwkv_lens::bench::{run, table, BenchOptions};
use rwkv_lens::gpu::GpuOptions;
use rwkv_lens::model::random::random_checkpoint;

/// The quick report, and whether the MRPC workload had its data (under CI=true it must).
fn quick_report() -> Option<(Report, bool)> {
    if !common::adapter() {
        return None;
    }
    let data = common::data_dir("mrpc/glue");
    let has_data = data.is_some();
    let opts = BenchOptions {
        quick: true,
        no_peer: true,
        no_python: true,
        data,
        repeat: 2,
        ..BenchOptions::default()
    };
    Some((run(&opts).expect("quick bench runs"), has_data))
}

#[test]
fn quick_bench_report_is_complete_and_consistent() {
    let Some((r, has_data)) = quick_report() else {
        return;
    };
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["schema"], SCHEMA);
    for key in [
        "name",
        "backend",
        "device_type",
        "driver",
        "driver_info",
        "limits",
        "features",
    ] {
        assert!(json["adapter"].get(key).is_some(), "adapter.{key} missing");
    }
    assert!(
        json["adapter"]["limits"]["max_storage_buffer_binding_size"]
            .as_u64()
            .unwrap()
            > 0
    );
    // tiny shape × f16/f32 × 4 points for our GPU, plus CPU-reference rows
    let ours: Vec<_> = r.prefill.iter().filter(|p| p.engine == OURS).collect();
    assert_eq!(ours.len(), 8, "{:?}", r.prefill);
    for p in &ours {
        assert_eq!(p.seconds.len(), 2);
        let mut sorted = p.seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[0] + sorted[1]) / 2.0; // two timed passes
        let want = (p.at.point.batch * p.at.point.length) as f64 / median;
        assert!(
            (p.tokens_per_s - want).abs() <= 1e-9 * want,
            "tokens/s is B·T / median seconds"
        );
    }
    // every ratio is ours / peer of two rows at the same point
    assert!(!r.ratios.is_empty());
    for x in &r.ratios {
        let find = |engine: &str| {
            r.prefill
                .iter()
                .find(|p| p.engine == engine && p.at == x.at)
                .unwrap()
                .tokens_per_s
        };
        assert_eq!(x.ours_tokens_per_s, find(&x.ours));
        assert_eq!(x.peer_tokens_per_s, find(&x.peer));
        assert_eq!(x.ratio, x.ours_tokens_per_s / x.peer_tokens_per_s);
    }
    // GPU vs reference (2 per job) and the fast CPU engine vs reference (4 per job) on the
    // same random weights and tokens
    let gpu = r
        .agreement
        .iter()
        .filter(|a| a.pair.starts_with(OURS))
        .count();
    assert_eq!((gpu, r.agreement.len()), (4, 12), "{:?}", r.agreement);
    assert!(r.agreement.iter().all(|a| a.pass), "{:?}", r.agreement);
    // memory rows: the weights are every tensor the engine uploads (all but the
    // embedding, ln_out and head; projections at the row's precision, the rest f32),
    // counted here from the tiny shape's tensors; the budget fraction is a quotient
    let tiny = Shape::preset("tiny", None, 1).unwrap();
    let ck = random_checkpoint(&tiny.spec).unwrap();
    for m in &r.memory {
        let projection_bytes = if m.at.precision == "f16" { 2 } else { 4 };
        let mut want = 0;
        for (name, t) in ck.tensors() {
            if ["emb.", "ln_out.", "head."]
                .iter()
                .any(|p| name.starts_with(p))
            {
                continue;
            }
            let projection =
                name.ends_with(".weight") && t.shape.len() == 2 && !name.contains(".ln");
            want += t.numel() as u64 * if projection { projection_bytes } else { 4 };
        }
        assert_eq!(m.weight_bytes, want, "{:?}", m.at);
        let budget = 1.15 * m.weight_bytes as f64 + m.activation_bytes as f64;
        assert!((m.budget_fraction - m.peak_gpu_bytes as f64 / budget).abs() < 1e-12);
        assert!(
            m.peak_gpu_bytes >= m.weight_bytes,
            "the weights live on the device"
        );
    }
    let roof = r.roofline.as_ref().expect("roofline");
    assert!(roof.gemm_gflops > 0.0 && roof.copy_gbps > 0.0);
    assert_eq!(
        roof.fraction_of_gemm,
        roof.forward_gflops / roof.gemm_gflops
    );
    if let Some(k) = &r.kernels {
        let total: f64 = k.families.iter().map(|f| f.share).sum();
        assert!((total - 1.0).abs() < 1e-9, "shares sum to 1: {total}");
        assert!(k.families.iter().any(|f| f.family == "matmul"));
    }
    if has_data {
        let e = r.embedding.first().expect("the MRPC workload ran");
        assert_eq!((e.pairs, e.sentences, e.layers), (8, 16, 3));
        assert_eq!(e.ms_per_pair, 1e3 * e.seconds / 8.0);
    }
    let md = table::render(&r);
    assert!(
        md.contains("## Prefill") && md.contains("## Roofline"),
        "{md}"
    );
}

#[test]
fn copy_kernel_copies_every_byte() {
    if !common::adapter() {
        return;
    }
    let ctx = open(&GpuOptions::default()).unwrap();
    let bytes = 3 * 65536 * 16 + 40; // 769 workgroups, the last one partly idle; 8 bytes dropped
    let (d, src, dst) = copy_dispatch(&ctx, bytes).unwrap();
    let n = bytes / 16 * 16;
    let values: Vec<f32> = (0..n / 4).map(|i| i as f32 * 0.5 - 7.0).collect();
    ctx.queue
        .write_buffer(&src.buffer, 0, bytemuck::cast_slice(&values));
    d.run(&ctx, 1).unwrap();
    let read = ctx
        .buffer(
            "read",
            n,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )
        .unwrap();
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(&dst.buffer, 0, &read.buffer, 0, n);
    ctx.queue.submit([enc.finish()]);
    let got = pollster::block_on(ctx.read(&read.buffer, n)).unwrap();
    assert_eq!(bytemuck::cast_slice::<u8, f32>(&got), &values[..]);
    assert_eq!(d.work, 2.0 * n as f64);
}
