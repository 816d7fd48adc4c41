//! What defines a training run and where it stands: the settings
//! ([`TrainConfig`], whose two groups of settings, [`NetSettings`] and
//! [`TrainingSettings`], are also `train`'s flags and a model file's record)
//! and the progress ([`Progress`]), which the training loop updates and a
//! checkpoint saves.
//!
//! Each setting is written once, in these structs: its name, type, default
//! and help text serve the command line (clap), the checkpoint (serde) and
//! the provenance record ([`crate::provenance::Settings`]).

use std::path::{Path, PathBuf};

use bach_engine::{CoreKind, Init};

use crate::flags::flag_defaults;
use crate::fused::Recurrence;
use crate::optim::AdamWConfig;

/// Epochs a run trains for when `--epochs` is not given.
pub const DEFAULT_EPOCHS: usize = 50;

/// Everything that defines a training run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// The dataset's path, as given (checkpoints only; a model file gets its name).
    pub dataset: String,
    #[serde(flatten)]
    pub net: NetSettings,
    pub epochs: usize,
    #[serde(flatten)]
    pub training: TrainingSettings,
    /// The model file (best weights).
    pub out: PathBuf,
    pub checkpoint: PathBuf,
    /// Model name in the metadata.
    pub name: String,
    /// The command line, for provenance, paths cut to file names
    /// ([`crate::provenance::command_line`]).
    pub command: String,
    /// The model file a fine-tuning run started from (`train --from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<BaseModel>,
}

/// The network a run trains: its cell, its size, how its weights start, and
/// the piano roll's output. Each field is a `train` flag (the doc comment is
/// its help).
#[derive(Clone, Debug, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct NetSettings {
    #[arg(long = "arch", value_name = "ARCH", value_enum, default_value = "gru")]
    pub core: CoreKind,
    /// Recurrent layers (1 to 3).
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    #[arg(long, value_enum, default_value = "default")]
    pub init: Init,
    /// Piano rolls: decide each frame's keys lowest first through an NADE of
    /// this many hidden units (the RNN-NADE), so a key's odds depend on the
    /// keys below it; 0 keeps the 88 keys independent.
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub nade: usize,
    /// Voices models: each head also reads the state and the voices decided
    /// before it through a hidden layer of this many ReLU units, so a
    /// voice's odds may depend on both together (model format 7); 0 keeps
    /// the heads linear.
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub head_hidden: usize,
}

/// How a run trains the network (and the voices heads' options). Each field
/// is a `train` flag (the doc comment is its help); fields marked
/// `serde(default)` came later, and older runs read as their default.
#[derive(Clone, Debug, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct TrainingSettings {
    /// Pieces per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Steps per truncated back-propagation chunk.
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Fraction of training spent warming up the learning rate.
    #[arg(long, default_value_t = 0.02)]
    pub warmup: f64,
    /// The cosine schedule ends at lr times this.
    #[arg(long, default_value_t = 0.05)]
    pub lr_floor: f64,
    #[command(flatten)]
    pub optim: AdamWConfig,
    /// Dropout between layers and before the output heads.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Voices models with heads' hidden layers (`--head-hidden`): dropout on
    /// those layers' units while training (0: none). The heads read the state
    /// and the voices decided before through their own weights, which the
    /// dropout between layers never reaches.
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub head_dropout: f32,
    /// Voices models: each voice's head (all but the first decided) also
    /// scores its candidate's intervals with the voices decided before it,
    /// now and on the step before (interval class, parallel fifths and
    /// octaves, crossing, wide spacing), a learned weight per voice pair;
    /// intervals are read by size (model format 5).
    #[arg(long)]
    #[serde(default)]
    pub pair_score: bool,
    /// Voices models: the core also hears, per voice, the pitch it sounds
    /// going into each step (a held note's too, which the previous step's
    /// "hold" token does not name) and for how many steps (1 to 16) it has
    /// sounded (model format 6).
    #[arg(long)]
    #[serde(default)]
    pub sounding: bool,
    /// Voices models: the order the heads decide the voices in. top-down:
    /// soprano, alto, tenor, bass; outer-first: soprano, bass, alto, tenor
    /// (each voice's head hears the voices decided before it; model format 5).
    #[arg(long, value_enum, default_value = "top-down")]
    #[serde(default)]
    pub voice_order: VoiceOrder,
    /// Voices models: the share of training pieces (0 to 1) that open with
    /// their melody alone for one to four bars, then a short silence, then
    /// every voice entering, as continue mode plays; the silenced steps are
    /// not scored for the voices silenced. For a model that hears how long
    /// voices have rested (`--sounding`), so it comes in after a lone line.
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub lone_openings: f64,
    /// Voices models: the weight of a chord auxiliary target, a training-only
    /// head that names the chord (root, quality and the chord tone in the
    /// bass) each step's voices form, read from the core's state before the
    /// step (0: none). The chord is read from the data's voices; the head is
    /// not written to the model.
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub chord_aux: f64,
    /// Polyak averaging: validation, the best model and the model file use
    /// an exponential moving average of the weights with this decay per
    /// update (0: off; 0.999 averages over about the last thousand updates).
    /// The average damps the noise of the last updates, so it usually
    /// generalises better than the weights of any one update.
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub ema: f64,
    /// Epochs without a better validation NLL before stopping (0: never).
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
    /// Random transposition of each training piece (`--no-transpose` turns it off).
    #[arg(
        long = "no-transpose",
        action = clap::ArgAction::SetFalse,
        help = "Turn off random transposition of training pieces"
    )]
    pub transpose: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// cpu, or cuda (needs the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// How the recurrence runs: fused (one op per layer and chunk with a
    /// hand-written backward; CPU only, so on cuda the unfused ops run
    /// instead) or unfused (candle's ops step by step, the reference).
    #[arg(long, value_enum, default_value = "fused")]
    #[serde(default)]
    pub recurrence: Recurrence,
}

impl Default for NetSettings {
    fn default() -> Self {
        flag_defaults()
    }
}

impl Default for TrainingSettings {
    fn default() -> Self {
        flag_defaults()
    }
}

impl TrainConfig {
    /// The flags' defaults for a dataset at `dataset`, writing `out`.
    pub fn new(dataset: &str, out: &Path) -> Self {
        Self {
            dataset: dataset.to_owned(),
            net: NetSettings::default(),
            epochs: DEFAULT_EPOCHS,
            training: TrainingSettings::default(),
            out: out.to_owned(),
            checkpoint: default_checkpoint(out),
            name: out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            command: String::new(),
            from: None,
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

/// The model a fine-tuning run started from, as the training record names it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaseModel {
    /// The file's name, without its folder (a record names no folder).
    pub file: String,
    /// The model's own name, from its metadata.
    pub model: String,
    /// SHA-256 of the file's bytes (lowercase hex).
    pub sha256: String,
}
