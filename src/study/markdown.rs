//! `results.md`: the tables of a study, and the short summary printed at the end.

use std::fmt::Write;

use super::args::Preset;
use super::compare::{Comparison, Curve};
use super::evaluate::{GroupKind, Row};
use super::ood::{column_title, OodCell, OodReport};
use super::report::StudyReport;
use crate::embed::Pooling;
use crate::kit::distinct;
use crate::kit::markdown::{self as md, cells, num};

const MIB: f64 = 1024.0 * 1024.0;

fn ci(x: Option<[f64; 2]>) -> String {
    x.map_or("—".into(), |[a, b]| format!("[{a:.1}, {b:.1}]"))
}

fn pooling_name(p: Option<Pooling>) -> &'static str {
    p.map_or("—", Pooling::name)
}

fn layer_name(l: Option<usize>) -> String {
    l.map_or("—".into(), |l| l.to_string())
}

/// Distinct (model, pooling) of layered rows, in row order.
pub fn series_keys<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<(String, Option<Pooling>)> {
    distinct(
        rows.filter(|r| r.layer.is_some())
            .map(|r| (r.model.clone(), r.pooling)),
    )
}

/// One table per task: layer, Spearman, time per pair and peak memory beside the baseline
/// (the shape of the source study's table).
pub fn summary(r: &StudyReport) -> String {
    summary_tables(r, true)
}

/// The summary tables, with or without the (run-dependent) time and memory columns.
fn summary_tables(r: &StudyReport, timing: bool) -> String {
    let mut out = String::new();
    let mut cols = vec!["model", "pooling", "layer", "Spearman ×100", "95% CI"];
    if timing {
        cols.extend(["ms / pair", "peak GPU MiB", "peak RSS MiB"]);
    }
    for t in &r.tasks {
        let _ = writeln!(out, "\n### {} ({} pairs)\n", t.name, t.rows);
        let rows = r.rows_for(&t.name, GroupKind::All).map(|row| {
            let (pooling, layer) = (pooling_name(row.pooling), layer_name(row.layer));
            let mut cells = cells![
                row.model,
                pooling,
                layer,
                num(row.spearman, 2),
                ci(row.spearman_ci)
            ];
            if timing {
                let p = (r.profile.iter()).find(|p| p.model == row.model && p.task == t.name);
                cells.extend([
                    num(p.map(|p| p.ms_per_pair), 3),
                    num(p.map(|p| p.peak_gpu_bytes as f64 / MIB), 1),
                    num(p.and_then(|p| p.peak_rss_bytes).map(|b| b as f64 / MIB), 0),
                ]);
            }
            cells
        });
        md::table(&mut out, &cols.join(" | "), "", rows);
    }
    out
}

/// The whole report (scores only: time and memory are in [`profile_page`]).
pub fn full(r: &StudyReport) -> String {
    let mut out = String::from("# rwkv-lens study\n\n");
    protocol(&mut out, r);
    inputs(&mut out, r);
    out.push_str("\n## Summary\n\nTime and memory: `profile.md` and `profile.json` (they vary from run to run; this file does not).\n");
    out.push_str(&summary_tables(r, false));
    if let Some(c) = &r.comparison {
        comparison(&mut out, c, r.protocol.confidence);
    }
    if r.protocol.preset == Some(Preset::SourceStudy) {
        source_study_readings(&mut out, r);
    }
    for t in &r.tasks {
        task_details(&mut out, r, &t.name, t.binary);
        group_tables(&mut out, r, &t.name);
    }
    if let Some(ood) = &r.ood {
        ood_tables(&mut out, ood);
    }
    if !r.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        r.notes.iter().for_each(|n| {
            let _ = writeln!(out, "- {n}");
        });
    }
    out
}

/// The source study's "layers 1, 3, 5, 7, 9, 11" read both ways, from the same pass:
/// as block numbers (our layers 1, 3, …, 11) and as indices into Hugging Face's
/// `hidden_states` (whose entry k is the output of block k + 1: our layers 2, 4, …, 12).
/// See docs/study.md, "Which layers the source study meant".
fn source_study_readings(out: &mut String, r: &StudyReport) {
    out.push_str("\n## The source study's layers, two readings\n\n");
    out.push_str("The study took `hidden_states` \"1, 3, 5, 7, 9, 11\" of Hugging Face's RWKV-6. Read as block numbers they are our layers 1, 3, …, 11; read as indices into `hidden_states` (entry k = output of block k + 1, no embedding entry) they are our layers 2, 4, …, 12 (docs/study.md). Both come from the same pass.\n");
    for t in &r.tasks {
        let _ = writeln!(out, "\n### {}\n", t.name);
        let rows: Vec<&Row> = (r.rows_for(&t.name, GroupKind::All))
            .filter(|x| x.layer.is_some()) // baselines have no layers
            .collect();
        let score = |model: &str, layer: usize| {
            let row = (rows.iter()).find(|x| x.model == model && x.layer == Some(layer));
            row.map_or("—".to_string(), |x| num(x.spearman, 2))
        };
        let models = distinct(rows.iter().map(|x| x.model.as_str()));
        let table = models.into_iter().flat_map(|m| {
            [1, 3, 5, 7, 9, 11].map(|k| cells![m, k, k, score(m, k), k + 1, score(m, k + 1)])
        });
        let cols = "model | study's index | as block number: our layer | Spearman ×100 | as `hidden_states[i]`: our layer | Spearman ×100";
        md::table(out, cols, "", table);
    }
}

fn protocol(out: &mut String, r: &StudyReport) {
    let p = &r.protocol;
    let pools: Vec<&str> = p.poolings.iter().map(|x| x.name()).collect();
    let baselines: Vec<&str> = p.baselines.iter().map(|b| b.name()).collect();
    let _ = writeln!(
        out,
        "{} {} · schema {} · preset {} · layers `{}` · pooling {} · baselines {} · bootstrap {} × (seed {}, {:.0}% percentile CI) · scores ×100 · cosine similarity\n",
        r.tool.name,
        r.tool.version,
        r.schema_version,
        p.preset.map_or("none".to_string(), |x| format!("{x:?}")),
        p.layers,
        pools.join(","),
        if baselines.is_empty() { "none".into() } else { baselines.join(",") },
        p.bootstrap,
        p.seed,
        p.confidence * 100.0,
    );
}

fn inputs(out: &mut String, r: &StudyReport) {
    if !r.models.is_empty() {
        out.push_str("## Models\n\n");
        let cols = "model | engine | layers × width | file xxh64 | bytes";
        let rows = r.models.iter().map(|m| {
            let (hash, bytes) = m.file.as_ref().map_or(("—".into(), "—".into()), |f| {
                (f.xxh64.clone(), f.bytes.to_string())
            });
            let shape = format!("{} × {}", m.config.n_layer, m.config.n_embd);
            cells![m.label, m.engine, shape, hash, bytes]
        });
        md::table(out, cols, "", rows);
    }
    for b in &r.baselines {
        let _ = writeln!(
            out,
            "\nBaseline {}: {} ({} words × {}d, xxh64 {}), {} words of the study found. Tokenization: {}\n",
            b.name, b.file.path, b.vocab_size, b.dim, b.file.xxh64, b.words_loaded, b.tokenization
        );
    }
    tasks_table(out, r);
}

fn tasks_table(out: &mut String, r: &StudyReport) {
    out.push_str("## Tasks\n\n");
    let cols = "task | pairs | unique sentences | domains | files (xxh64) | GloVe tokens known | sentences without GloVe vector";
    let rows = r.tasks.iter().map(|t| {
        let domains: Vec<String> = t.domains.iter().map(|(d, n)| format!("{d} {n}")).collect();
        let files: Vec<String> = (t.files.iter())
            .map(|f| format!("{} ({})", f.path, f.xxh64))
            .collect();
        let g = t.glove.as_ref();
        let known = g.map(|g| 100.0 * g.known_tokens as f64 / g.tokens.max(1) as f64);
        let known = known.map_or("—".into(), |k| format!("{k:.1}%"));
        let without = g.map_or("—".into(), |g| g.sentences_without_vector.to_string());
        let (domains, files) = (domains.join(", "), files.join("<br>"));
        cells![
            t.name,
            t.rows,
            t.unique_sentences,
            domains,
            files,
            known,
            without
        ]
    });
    md::table(out, cols, "", rows);
}

fn task_details(out: &mut String, r: &StudyReport, task: &str, binary: bool) {
    let _ = writeln!(out, "\n## {task}\n");
    let mut cols = vec!["model", "pooling", "layer", "Spearman", "CI", "Pearson"];
    if binary {
        cols.extend(["ROC-AUC", "best acc", "best F1"]);
    }
    cols.extend(["anisotropy", "undefined pairs"]);
    let rows = r.rows_for(task, GroupKind::All).map(|row| {
        let (pooling, layer) = (pooling_name(row.pooling), layer_name(row.layer));
        let (spearman, ci, pearson) = (
            num(row.spearman, 2),
            ci(row.spearman_ci),
            num(row.pearson, 2),
        );
        let mut cells = cells![row.model, pooling, layer, spearman, ci, pearson];
        if binary {
            let (acc, f1) = (row.best_accuracy, row.best_f1);
            cells.extend(
                [row.roc_auc, acc.map(|t| t.value), f1.map(|t| t.value)].map(|x| num(x, 2)),
            );
        }
        cells.extend([num(row.anisotropy, 4), row.undefined_pairs.to_string()]);
        cells
    });
    md::table(out, &cols.join(" | "), "", rows);
}

/// Spearman per subset / domain (rows) and layer (columns), one table per model × pooling.
fn group_tables(out: &mut String, r: &StudyReport, task: &str) {
    for kind in [GroupKind::Subset, GroupKind::Domain] {
        let rows: Vec<&Row> = r.rows_for(task, kind).collect();
        if rows.is_empty() {
            continue;
        }
        let names = distinct_names(&rows);
        let baseline: Vec<&Row> = rows.iter().copied().filter(|x| x.layer.is_none()).collect();
        for (model, pooling) in series_keys(rows.iter().copied()) {
            let mine: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|x| x.model == model && x.pooling == pooling)
                .collect();
            let mut layers: Vec<usize> = mine.iter().filter_map(|x| x.layer).collect();
            layers.sort();
            layers.dedup();
            let _ = writeln!(
                out,
                "\nSpearman ×100 by {}, {model} ({}):\n",
                kind.name(),
                pooling_name(pooling)
            );
            let mut cols = vec![kind.name().to_string(), "n".into()];
            cols.extend(layers.iter().map(|l| format!("L{l}")));
            cols.extend(baseline.first().map(|b| b.model.clone()));
            let rows = names.iter().map(|name| {
                let of = |x: &&&Row| group_name(x) == name.as_str();
                let n = mine.iter().find(of).map_or(0, |x| x.n);
                let score = |x: Option<&&Row>| num(x.and_then(|x| x.spearman), 1);
                let mut cells = cells![name, n];
                let at = |l: &usize| score(mine.iter().find(|x| of(x) && x.layer == Some(*l)));
                cells.extend(layers.iter().map(at));
                cells.extend((!baseline.is_empty()).then(|| score(baseline.iter().find(of))));
                cells
            });
            md::table(out, &cols.join(" | "), "", rows);
        }
    }
}

fn group_name(r: &Row) -> &str {
    let domain = r.domain.as_deref().filter(|_| r.group == GroupKind::Domain);
    r.subset.as_deref().or(domain).unwrap_or("")
}

fn distinct_names(rows: &[&Row]) -> Vec<String> {
    distinct(rows.iter().map(|r| group_name(r).to_string()))
}

fn ood_tables(out: &mut String, ood: &OodReport) {
    let _ = writeln!(
        out,
        "\n## Out-of-distribution view\n\nDomain score = pair-weighted mean of per-task Spearman ×100; Δ = score − {} score, with its bootstrap CI.\n",
        ood.reference
    );
    for (model, pooling) in ood_keys(ood) {
        ood_series_table(out, ood, &model, pooling);
    }
    out.push_str("\nBest layer per domain:\n\n");
    let cols = "model | pooling | domain | best layer | Spearman ×100";
    let rows = ood.best_layers.iter().map(|b| {
        let (pooling, score) = (pooling_name(b.pooling), format!("{:.1}", b.spearman));
        cells![b.model, pooling, b.domain, b.layer, score]
    });
    md::table(out, cols, "", rows);
}

fn ood_cell_text(c: Option<&OodCell>) -> String {
    match c {
        None => "—".to_string(),
        Some(c) if c.delta.is_none() => num(c.spearman, 1),
        Some(c) => {
            let (score, delta) = (num(c.spearman, 1), num(c.delta, 1));
            format!("{score} (Δ {delta} {})", ci(c.delta_ci))
        }
    }
}

/// Domains (rows) × layers (columns) of one model × pooling, baseline last.
fn ood_series_table(out: &mut String, ood: &OodReport, model: &str, pooling: Option<Pooling>) {
    let cols = ood.columns(model, pooling);
    let (pool, reference) = (pooling_name(pooling), &ood.reference);
    let _ = writeln!(
        out,
        "\n{model} ({pool}): score, and Δ [CI] from {reference}\n"
    );
    let mut head = vec!["domain".to_string(), "n".into()];
    head.extend(cols.iter().map(column_title));
    let rows = ood.domains.iter().enumerate().map(|(i, d)| {
        let layered = cols.iter().filter(|c| c.0.is_some());
        let n = layered.filter_map(|c| c.1[i]).next().map_or(0, |c| c.n);
        let mut row = cells![d, n];
        row.extend(cols.iter().map(|c| ood_cell_text(c.1[i])));
        row
    });
    md::table(out, &head.join(" | "), "", rows);
}

/// Distinct (model, pooling) of the layered OOD cells.
pub fn ood_keys(ood: &OodReport) -> Vec<(String, Option<Pooling>)> {
    let layered = ood.cells.iter().filter(|c| c.layer.is_some());
    distinct(layered.map(|c| (c.model.clone(), c.pooling)))
}

/// `profile.md`: the summary with time and memory, load times and the profile table.
pub fn profile_page(r: &StudyReport) -> String {
    let mut out = String::from("# rwkv-lens study: time and memory\n\n");
    let _ = writeln!(
        out,
        "Created {} (Unix time). Scores: `results.md`. Rows marked cached were read back from the embedding cache; their seconds are those measured when they were computed.",
        r.created_unix
    );
    for b in &r.baselines {
        let _ = writeln!(
            out,
            "\nBaseline {} loaded in {:.2} s.",
            b.name, b.load_seconds
        );
    }
    out.push_str("\n## Summary\n");
    out.push_str(&summary(r));
    profile(&mut out, r);
    out
}

fn profile(out: &mut String, r: &StudyReport) {
    out.push_str("\n## Profile\n\n");
    let cols = "model | task | engine | pairs | sentences | tokens | passes | cached | seconds | pairs/s | tokens/s | ms/pair | peak GPU MiB | peak RSS MiB";
    let rows = r.profile.iter().map(|p| {
        let cached = if p.cached { "yes" } else { "no" };
        let mut cells = cells![
            p.model,
            p.task,
            p.engine,
            p.pairs,
            p.unique_sentences,
            p.tokens,
            p.passes,
            cached
        ];
        let (gpu, rss) = (
            p.peak_gpu_bytes as f64 / MIB,
            p.peak_rss_bytes.map(|b| b as f64 / MIB),
        );
        let times = [
            (p.seconds, 3),
            (p.pairs_per_s, 1),
            (p.tokens_per_s, 1),
            (p.ms_per_pair, 3),
            (gpu, 1),
        ];
        cells.extend(times.map(|(x, digits)| num(Some(x), digits)));
        cells.push(num(rss, 0));
        cells
    });
    md::table(out, cols, "", rows);
}

/// The model comparison: the answer, the models, each task's curves by relative depth,
/// the degradations at each model's chosen layer and the differences of degradations.
fn comparison(out: &mut String, c: &Comparison, confidence: f64) {
    out.push_str("\n## Comparing models\n\nDoes RWKV degrade less than attention out of distribution? Method: docs/study.md, \"Comparing models\".\n\n");
    c.answer.iter().for_each(|a| {
        let _ = writeln!(out, "- {a}");
    });
    out.push('\n');
    let rows = c.models.iter().map(|m| {
        let weights = m.untrained.as_deref().unwrap_or("not marked untrained");
        cells![m.label, m.family.name(), m.n_layer, weights]
    });
    md::table(out, "model | family | blocks | weights", "", rows);
    for task in distinct(c.curves.iter().map(|x| x.task.as_str())) {
        let _ = writeln!(
            out,
            "\nSpearman ×100 by relative depth (layer / blocks, 0 = embeddings), {task}:\n"
        );
        let curves: Vec<&Curve> = c.curves.iter().filter(|x| x.task == task).collect();
        let mut depths: Vec<f64> = curves
            .iter()
            .flat_map(|x| x.points.iter().map(|p| p.depth))
            .collect();
        depths.sort_by(f64::total_cmp);
        depths.dedup();
        let mut cols = vec!["depth".to_string()];
        cols.extend(
            curves
                .iter()
                .map(|x| format!("{} ({})", x.model, pooling_name(x.pooling))),
        );
        let rows = depths.into_iter().map(|d| {
            let mut cells = vec![format!("{d:.3}")];
            for x in &curves {
                let p = x.points.iter().find(|p| p.depth == d);
                cells.push(p.map_or(String::new(), |p| {
                    format!("{} (L{})", num(p.spearman, 1), p.layer)
                }));
            }
            cells
        });
        md::table(out, &cols.join(" | "), "", rows);
    }
    if c.degradations.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nDegradation = reference-domain score − domain score, {}; [{:.0}% bootstrap CI]:\n",
        c.layer_rule,
        confidence * 100.0
    );
    let cols = "model | pooling | layer | domain | Spearman ×100 | degradation | CI";
    let rows = c.degradations.iter().map(|d| {
        let (spearman, degradation) = (num(d.spearman, 1), num(d.degradation, 1));
        cells![
            d.model,
            pooling_name(d.pooling),
            d.layer,
            d.domain,
            spearman,
            degradation,
            ci(d.ci)
        ]
    });
    md::table(out, cols, "", rows);
    let _ = writeln!(out, "\nDifference of degradations D = RWKV's − attention's (< 0: RWKV degrades less), paired bootstrap CI; \"mean\" = over the non-reference domains:\n");
    let cols = "RWKV | attention | pooling | domain | RWKV degradation | attention degradation | D | CI | verdict";
    let rows = c.differences.iter().map(|x| {
        let (pooling, domain) = (
            pooling_name(x.pooling),
            x.domain.as_deref().unwrap_or("mean"),
        );
        let mut cells = cells![x.rwkv, x.attention, pooling, domain];
        let degradations = [x.rwkv_degradation, x.attention_degradation, x.difference];
        cells.extend(degradations.map(|d| num(d, 1)));
        cells.extend([ci(x.ci), x.verdict.text(confidence)]);
        cells
    });
    md::table(out, cols, "", rows);
}
