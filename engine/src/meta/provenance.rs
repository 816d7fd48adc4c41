//! Where a model came from: its dataset, training run and trainer.

use serde::{Deserialize, Serialize};

/// Where a model came from and how well it did. It names files, never folders:
/// a model file is shared, and a path would carry its maker's home directory
/// and user name with it. The fields after `command` were added without a
/// format version (older readers ignore them; older files read them as absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The dataset's file (or folder) name, without its directory.
    pub dataset: String,
    #[serde(default)]
    pub split: String,
    #[serde(default)]
    pub epochs: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub valid_nll: Option<f64>,
    #[serde(default)]
    pub test_nll: Option<f64>,
    /// ISO 8601 date of the end of training.
    #[serde(default)]
    pub date: String,
    /// The command line that trained it, every path reduced to its file name.
    #[serde(default)]
    pub command: String,
    /// SHA-256 of the dataset (lowercase hex), so a score can be checked
    /// against the very data it was measured on, not just a file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_sha256: Option<String>,
    /// Pieces in each split of the dataset as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_sizes: Option<SplitSizes>,
    /// The program that trained it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainer: Option<TrainerBuild>,
    /// Every training setting by name (the trainer's; inference ignores them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Pieces per split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitSizes {
    pub train: usize,
    pub valid: usize,
    pub test: usize,
}

/// A trainer's version, and the source revision when it was built from a repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainerBuild {
    pub name: String,
    pub version: String,
    /// The commit it was built from (`git rev-parse HEAD`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}
