//! Command-line arguments of `rwkv-lens study` (a `clap::Args` the CLI flattens into
//! its subcommand) and their resolution, presets included, into a `Protocol`.

use std::path::PathBuf;

use crate::data::TaskSpec;
use crate::embed::Pooling;
use crate::{Error, Result};

/// A baseline scored beside the models (`--baseline none`: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Baseline {
    /// GloVe 6B 50d, the average of the sentence's known word vectors.
    #[serde(rename = "glove-6b-50d")]
    Glove,
}

impl Baseline {
    /// The name in flags, tables and results.json.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Glove => "glove-6b-50d",
        }
    }
}

/// Protocol presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// arXiv 2502.14620: MRPC GLUE train first 1000 + GLUE validation 408, the study's
    /// layers 1,3,5,7,9,11 in both readings (layers 1–12 computed once), mean pooling,
    /// GloVe 6B 50d, time and memory. Fixes those flags.
    SourceStudy,
    /// Out-of-distribution view: MRPC test, STS12–16, SICK-R, BIOSSES; every layer.
    Ood,
    /// Small and quick (for `make demo`): MRPC GLUE validation + STS-B test, every
    /// layer, mean and last pooling.
    Demo,
}

/// `rwkv-lens study` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct StudyArgs {
    /// Model checkpoint (file or directory); repeat for several models.
    #[arg(long = "model", value_name = "M")]
    pub models: Vec<PathBuf>,
    /// Task spec, repeat or comma-separate: mrpc[:SPLIT], stsb, sickr, sts12..sts16,
    /// biosses, pairs:PATH; SPLIT+SPLIT concatenates, SPLIT@N keeps the first N pairs.
    #[arg(long = "task", value_name = "SPEC", value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Layers: `all` or a list like 1,3,5 (0 = ln0(emb), i = output of block i). Default all.
    #[arg(long)]
    pub layers: Option<String>,
    /// Poolings: mean, last or mean,last. Default mean.
    #[arg(long)]
    pub pooling: Option<String>,
    /// Baselines: glove-6b-50d (default) or none.
    #[arg(long = "baseline", value_delimiter = ',')]
    pub baselines: Vec<String>,
    /// Data directory (else $RWKV_LENS_DATA, else ../shared/data next to the repo).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// GloVe vectors file (default DATA/glove/glove.6B.50d.txt.gz).
    #[arg(long)]
    pub glove: Option<PathBuf>,
    /// Output directory for results.json, results.md and the SVG plots.
    #[arg(long, default_value = "runs/study")]
    pub out: PathBuf,
    /// A fixed protocol.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Keep an evenly spaced subsample of N pairs per task.
    #[arg(long)]
    pub max_pairs: Option<usize>,
    /// Sentences per forward pass (length-sorted batches).
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Bootstrap replicates for the confidence intervals (0: no intervals).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Confidence level of the percentile intervals.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Seed of the bootstrap and of the anisotropy pairs.
    #[arg(long, default_value_t = 20250220)]
    pub seed: u64,
    /// Reference domain of the out-of-distribution view.
    #[arg(long, default_value = "news")]
    pub reference_domain: String,
    /// Random sentence pairs per task for the anisotropy (mean cosine) estimate.
    #[arg(long, default_value_t = 1000)]
    pub anisotropy_pairs: usize,
    /// Memory budget for pooled embeddings held at once; above it the layers are
    /// split over several forward passes.
    #[arg(long, default_value_t = 4096)]
    pub embed_memory_mib: usize,
}

/// The defaults are clap's: `rwkv-lens study` with no flags.
impl Default for StudyArgs {
    fn default() -> Self {
        crate::kit::clap_defaults()
    }
}

/// The resolved protocol.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Protocol {
    pub preset: Option<Preset>,
    pub tasks: Vec<String>,
    #[serde(skip)]
    pub specs: Vec<TaskSpec>,
    /// Layer spec, resolved per model (`all` depends on depth).
    pub layers: String,
    pub poolings: Vec<Pooling>,
    pub baselines: Vec<Baseline>,
    pub max_pairs: Option<usize>,
    pub batch_size: usize,
    pub bootstrap: usize,
    pub confidence: f64,
    pub seed: u64,
    pub reference_domain: String,
    pub anisotropy_pairs: usize,
    pub embed_memory_mib: usize,
}

struct PresetValues {
    tasks: &'static [&'static str],
    layers: &'static str,
    pooling: &'static str,
}

fn preset_values(p: Preset) -> PresetValues {
    match p {
        Preset::SourceStudy => PresetValues {
            tasks: &["mrpc:glue-train@1000+glue-validation"],
            // both readings of the study's "1,3,5,7,9,11" (block numbers, and Hugging
            // Face `hidden_states` indices = our 2,4,…,12): docs/study.md
            layers: "1,2,3,4,5,6,7,8,9,10,11,12",
            pooling: "mean",
        },
        Preset::Ood => PresetValues {
            tasks: &[
                "mrpc", "sts12", "sts13", "sts14", "sts15", "sts16", "sickr", "biosses",
            ],
            layers: "all",
            pooling: "mean",
        },
        Preset::Demo => PresetValues {
            tasks: &["mrpc:glue-validation", "stsb:test"],
            layers: "all",
            pooling: "mean,last",
        },
    }
}

impl StudyArgs {
    /// Applies the preset (explicit flags override it, except for `source-study`,
    /// which refuses them so that its protocol stays exact) and checks every value.
    pub fn plan(&self) -> Result<Protocol> {
        let preset = self.preset.map(preset_values);
        if self.preset == Some(Preset::SourceStudy) {
            self.refuse_overrides()?;
        }
        let tasks: Vec<String> = match (&preset, self.tasks.is_empty()) {
            (Some(p), true) => p.tasks.iter().map(|s| s.to_string()).collect(),
            (None, true) => return Err(Error::input("no task: pass --task SPEC or --preset")),
            (_, false) => self.tasks.clone(),
        };
        let specs = tasks
            .iter()
            .map(|t| TaskSpec::parse(t))
            .collect::<Result<Vec<_>>>()?;
        let layers = (self.layers.as_deref())
            .or(preset.as_ref().map(|p| p.layers))
            .unwrap_or("all");
        let pooling = self
            .pooling
            .as_deref()
            .or(preset.as_ref().map(|p| p.pooling))
            .unwrap_or("mean");
        let poolings = Pooling::parse_list(pooling)?;
        self.check_numbers()?;
        Ok(Protocol {
            preset: self.preset,
            tasks: specs.iter().map(TaskSpec::name).collect(),
            specs,
            layers: layers.to_string(),
            poolings,
            baselines: self.resolved_baselines()?,
            max_pairs: self.max_pairs,
            batch_size: self.batch_size,
            bootstrap: self.bootstrap,
            confidence: self.confidence,
            seed: self.seed,
            reference_domain: self.reference_domain.clone(),
            anisotropy_pairs: self.anisotropy_pairs,
            embed_memory_mib: self.embed_memory_mib,
        })
    }

    fn refuse_overrides(&self) -> Result<()> {
        let given = [
            ("--task", !self.tasks.is_empty()),
            ("--layers", self.layers.is_some()),
            ("--pooling", self.pooling.is_some()),
            ("--baseline", !self.baselines.is_empty()),
            ("--max-pairs", self.max_pairs.is_some()),
        ];
        match given.iter().find(|(_, g)| *g) {
            Some((flag, _)) => Err(Error::input(format!(
                "--preset source-study fixes {flag}: drop {flag} or the preset"
            ))),
            None => Ok(()),
        }
    }

    fn check_numbers(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::input("--batch-size must be at least 1"));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::input(format!(
                "--confidence {} must lie strictly between 0 and 1",
                self.confidence
            )));
        }
        if self.max_pairs == Some(0) {
            return Err(Error::input("--max-pairs must be at least 1"));
        }
        Ok(())
    }

    fn resolved_baselines(&self) -> Result<Vec<Baseline>> {
        let glove = Baseline::Glove.name();
        if self.baselines.is_empty() {
            return Ok(vec![Baseline::Glove]);
        }
        let mut out = Vec::new();
        for b in &self.baselines {
            match b.trim() {
                "none" => {}
                name if name == glove => out.push(Baseline::Glove),
                other => {
                    return Err(Error::input(format!(
                        "unknown baseline `{other}` (expected {glove} or none)"
                    )))
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_study_preset_is_exact() {
        let args = StudyArgs {
            preset: Some(Preset::SourceStudy),
            ..Default::default()
        };
        let plan = args.plan().unwrap();
        assert_eq!(plan.tasks, ["mrpc:glue-train@1000+glue-validation"]);
        assert_eq!(plan.layers, "1,2,3,4,5,6,7,8,9,10,11,12");
        assert_eq!(plan.poolings, [Pooling::Mean]);
        assert_eq!(plan.baselines, [Baseline::Glove]);
        let bad = StudyArgs {
            layers: Some("all".into()),
            ..args
        };
        assert!(bad.plan().unwrap_err().to_string().contains("--layers"));
    }

    #[test]
    fn explicit_flags_and_errors() {
        let args = StudyArgs {
            tasks: vec!["stsb".into()],
            pooling: Some("last,mean,last".into()),
            baselines: vec!["none".into()],
            ..Default::default()
        };
        let plan = args.plan().unwrap();
        assert_eq!(plan.poolings, [Pooling::Last, Pooling::Mean]);
        assert!(plan.baselines.is_empty());
        assert_eq!(plan.layers, "all");
        assert!(StudyArgs::default().plan().is_err());
        let bad = StudyArgs {
            tasks: vec!["stsb".into()],
            confidence: 1.5,
            ..Default::default()
        };
        assert!(bad.plan().is_err());
    }
}
