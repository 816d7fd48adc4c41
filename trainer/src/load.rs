//! Reading what the commands work on: datasets (with their warnings on
//! stderr) and model files (into candle networks), and whether they suit
//! each other.

use std::path::Path;

use anyhow::{bail, Context, Result};
use bach_engine::{ModelKind, ModelMeta, VoicesModel};

use crate::dataset::midi_folder::VoiceMap;
use crate::dataset::{self, Dataset};
use crate::model::{device, Network};

/// Reads a dataset, with the kind and grid the user asked for.
pub fn load_dataset(
    path: &Path,
    kind: Option<ModelKind>,
    step_beats: Option<f64>,
) -> Result<Dataset> {
    load_dataset_with(path, kind, step_beats, None, false)
}

/// [`load_dataset`] with a MIDI folder's voices chosen by `voices`
/// (`--voices`), and, when `verbose` (as `train` asks), what was inferred
/// of each piece (a MIDI file's key and phrase ends) on stderr.
pub fn load_dataset_with(
    path: &Path,
    kind: Option<ModelKind>,
    step_beats: Option<f64>,
    voices: Option<&VoiceMap>,
    verbose: bool,
) -> Result<Dataset> {
    if let Some(s) = step_beats {
        if !(s.is_finite() && s > 0.0 && s <= 4.0) {
            bail!("--step-beats must be a length in quarter notes between 0 and 4, not {s}");
        }
    }
    let data = dataset::load_with(path, kind, step_beats, voices)?;
    if verbose {
        for line in &data.info {
            eprintln!("{line}");
        }
    }
    for w in &data.warnings {
        eprintln!("warning: {w}");
    }
    if data.skipped > 0 {
        eprintln!("warning: {} files were skipped", data.skipped);
    }
    Ok(data)
}

/// Loads a model file written by the trainer into a candle network.
pub fn load_network(path: &Path) -> Result<Network> {
    load_network_on(path, &device("cpu")?)
}

/// [`load_network`] onto `device`.
pub fn load_network_on(path: &Path, device: &candle_core::Device) -> Result<Network> {
    let file = bach_engine::file::ModelFile::load(path)
        .with_context(|| format!("cannot load model {}", path.display()))?;
    network_of(file, device)
}

/// A model file already read (and checked) into a candle network on `device`.
pub fn network_of(
    file: bach_engine::file::ModelFile,
    device: &candle_core::Device,
) -> Result<Network> {
    let tensors = file.named_tensors();
    Ok(Network::from_tensors(file.meta, &tensors, device)?)
}

/// Checks that a dataset suits a model.
pub fn check_fit(meta: &ModelMeta, data: &Dataset) -> Result<()> {
    if meta.kind != data.kind {
        bail!(
            "the model predicts {:?} but the dataset holds {:?}",
            meta.kind,
            data.kind
        );
    }
    if meta.kind == ModelKind::Voices {
        let voices = data.voices.len();
        if voices != meta.voices.len() {
            bail!(
                "the model has {} voices, the dataset {}",
                meta.voices.len(),
                voices
            );
        }
    }
    Ok(())
}

/// A four-voice (SATB) harmonizer as the engine plays it (no candle
/// network) and the voices dataset it is to play, checked against each
/// other: what `bach-trainer live` and `judge` start from. `figures` names
/// the figures in the error for another kind of model.
pub fn satb_and_data(
    model: &Path,
    dataset: &Path,
    figures: &str,
) -> Result<(VoicesModel, Dataset)> {
    let model = VoicesModel::load(model)?;
    if model.meta().kind != ModelKind::Voices || model.meta().voices.len() != 4 {
        bail!("{figures} need a four-voice (SATB) voices model");
    }
    let data = load_dataset(dataset, Some(ModelKind::Voices), None)?;
    check_fit(model.meta(), &data)?;
    Ok((model, data))
}
