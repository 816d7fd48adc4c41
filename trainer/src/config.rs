//! What defines a training run and where it stands: the settings
//! ([`TrainConfig`]) and the progress ([`Progress`]), which the training loop
//! updates and a checkpoint saves.

use std::path::{Path, PathBuf};

use bach_engine::{CoreKind, Init};

use crate::fused::Recurrence;
use crate::optim::AdamWConfig;

/// Everything that defines a training run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// The dataset's path, as given (checkpoints only; a model file gets its name).
    pub dataset: String,
    pub core: CoreKind,
    pub layers: usize,
    pub hidden: usize,
    pub init: Init,
    /// Piano rolls: the NADE frame output's hidden size (0: independent keys).
    #[serde(default)]
    pub nade: usize,
    pub epochs: usize,
    pub batch: usize,
    pub seq_len: usize,
    pub lr: f64,
    /// Fraction of training spent warming the learning rate up.
    pub warmup: f64,
    /// The schedule ends at `lr * lr_floor`.
    pub lr_floor: f64,
    pub dropout: f32,
    /// Voices models: the heads' voice-pair score (`ModelMeta::pair_score`).
    #[serde(default)]
    pub pair_score: bool,
    /// Voices models: the order the heads decide the voices in (runs from
    /// before it existed read as top down).
    #[serde(default)]
    pub voice_order: VoiceOrder,
    /// Epochs without a better validation NLL before stopping.
    pub patience: usize,
    pub seed: u64,
    pub device: String,
    /// The recurrence's implementation (fused: one op per layer and chunk on
    /// the CPU; runs made before it existed read as fused).
    #[serde(default)]
    pub recurrence: Recurrence,
    /// Random transposition of each training piece.
    pub transpose: bool,
    pub optim: AdamWConfig,
    /// The model file (best weights).
    pub out: PathBuf,
    pub checkpoint: PathBuf,
    /// Model name in the metadata.
    pub name: String,
    /// The command line, for provenance, paths cut to file names
    /// ([`crate::provenance::command_line`]).
    pub command: String,
}

impl TrainConfig {
    /// Sensible defaults for a dataset at `dataset`, writing `out`.
    pub fn new(dataset: &str, out: &Path) -> Self {
        Self {
            dataset: dataset.to_owned(),
            core: CoreKind::Gru,
            layers: 2,
            hidden: 256,
            init: Init::Default,
            nade: 0,
            epochs: 50,
            batch: 32,
            seq_len: 128,
            lr: 3e-3,
            warmup: 0.02,
            lr_floor: 0.05,
            dropout: 0.0,
            pair_score: false,
            voice_order: VoiceOrder::TopDown,
            patience: 10,
            seed: 0,
            device: "cpu".into(),
            recurrence: Recurrence::default(),
            transpose: true,
            optim: AdamWConfig::default(),
            out: out.to_owned(),
            checkpoint: default_checkpoint(out),
            name: out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            command: String::new(),
        }
    }
}

/// The order a voices model's heads decide the voices in
/// (`ModelMeta::order`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum VoiceOrder {
    /// Top voice first, then each voice below it in turn.
    #[default]
    TopDown,
    /// The top voice, then the bottom one, then the inner voices from the
    /// top: soprano, bass, alto, tenor, as Bach taught.
    OuterFirst,
}

impl VoiceOrder {
    /// The order of `voices` voices as a model file states it (empty: top down).
    pub fn order(self, voices: usize) -> Vec<usize> {
        match self {
            VoiceOrder::TopDown => Vec::new(),
            VoiceOrder::OuterFirst if voices < 3 => Vec::new(),
            VoiceOrder::OuterFirst => std::iter::once(0)
                .chain(std::iter::once(voices - 1))
                .chain(1..voices - 1)
                .collect(),
        }
    }
}

/// `model.safetensors` → `model.ckpt.safetensors`.
pub fn default_checkpoint(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{stem}.ckpt.safetensors"))
}

/// One finished epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss per step (with dropout and augmentation, every step scored).
    pub train_nll: f64,
    /// Standard NLL on the valid split.
    pub valid_nll: Option<f64>,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    pub seconds: f64,
}

/// Where a run stands; saved in checkpoints.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The epoch under way (0-based).
    pub epoch: usize,
    /// The next batch of that epoch.
    pub batch: usize,
    /// Optimizer updates done.
    pub updates: u64,
    /// Updates skipped for a non-finite gradient.
    pub skipped_updates: u64,
    /// Loss summed over the epoch so far, and the steps it covers.
    pub epoch_loss: f64,
    pub epoch_steps: usize,
    pub epoch_seconds: f64,
    pub history: Vec<EpochRecord>,
    pub best_valid: Option<f64>,
    pub best_epoch: Option<usize>,
    pub bad_epochs: usize,
    pub train_pieces: usize,
    pub finished: bool,
    pub test_nll: Option<f64>,
}
