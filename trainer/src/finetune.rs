//! `bach-trainer train --from MODEL`: a run that starts from a model file's
//! weights instead of random ones (fine-tuning a harmonizer to a few dozen
//! pieces in one's own style).
//!
//! The run keeps the source's whole layout, read from its [`ModelMeta`]:
//! architecture, vocabulary and voice ranges, features (key, meter,
//! lookahead), decision order, pair score and heads. A layout flag given on
//! the command line that contradicts the file is an error; one that agrees
//! with it is accepted. The dataset is read on the model's grid and made to
//! fit its voices ([`Source::fit`]): each piece is moved into the model's
//! ranges where the key frame allows it, and a piece that cannot fit is
//! skipped with a warning. The ranges are never widened: they are the
//! model's vocabulary, and a wider range would need new input columns and
//! output rows that the source never learned.
//!
//! Settings the user did not give get values suited to fine-tuning
//! ([`Source::configure`]): a third of the source's learning rate, fewer
//! epochs, early stopping sooner, and the source's dropout. The source is
//! the run's epoch 0: its valid NLL is the score an epoch must beat to be
//! kept, so the result is never worse than the source on the valid split.
//! The written file's training record names the source (file name, model
//! name, SHA-256) under the setting `from`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use bach_engine::file::ModelFile;
use bach_engine::{FrameOutput, ModelKind, ModelMeta, VoiceRange};

use crate::config::{BaseModel, TrainConfig, VoiceOrder};
use crate::dataset::midi_folder::VoiceMap;
use crate::dataset::{Dataset, Piece, Split};
use crate::load::load_dataset_with;
use crate::model::device;
use crate::train::Trainer;

/// A fine-tuning run's learning rate is the source's own (as its record
/// says, else the flag's default) divided by this: large steps would soon
/// wash out what the source learned from far more data.
pub const LR_DIVISOR: f64 = 3.0;
/// Epochs of a fine-tuning run unless `--epochs` says otherwise.
pub const EPOCHS: usize = 20;
/// Early stopping of a fine-tuning run unless `--patience` says otherwise:
/// a few dozen pieces overfit within a few epochs.
pub const PATIENCE: usize = 5;

/// The `train` flags (clap ids) that fix a model's layout, which a run
/// started from a model takes from the file.
const LAYOUT_FLAGS: [&str; 9] = [
    "core",
    "layers",
    "hidden",
    "init",
    "nade",
    "head_hidden",
    "pair_score",
    "sounding",
    "voice_order",
];

/// A model file to start from, read and checked.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub file: ModelFile,
    pub base: BaseModel,
}

impl Source {
    /// Reads the model file at `path` through the engine's checks (format,
    /// shapes, finite weights); any failure is an error naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let what = || format!("cannot start from the model {}", path.display());
        let file = ModelFile::load(path).with_context(what)?;
        let bytes = std::fs::read(path).with_context(what)?;
        let base = BaseModel {
            file: crate::provenance::file_name_only(&path.display().to_string()),
            model: file.meta.name.clone(),
            sha256: crate::hash::sha256_hex(&bytes),
        };
        Ok(Self {
            path: path.to_owned(),
            file,
            base,
        })
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.file.meta
    }

    fn label(&self) -> String {
        self.base.file.clone()
    }

    /// The kind and grid to read the dataset with: the model's. A `--kind`
    /// or `--step-beats` that contradicts it is an error.
    pub fn dataset_options(
        &self,
        kind: Option<ModelKind>,
        step_beats: Option<f64>,
    ) -> Result<(ModelKind, f64)> {
        let meta = self.meta();
        if let Some(k) = kind.filter(|&k| k != meta.kind) {
            bail!(
                "--kind {} contradicts {}, a {} model: a run that starts from a model keeps its kind (leave --kind out)",
                kind_name(k),
                self.label(),
                kind_name(meta.kind)
            );
        }
        if let Some(s) = step_beats.filter(|&s| s != meta.step_beats) {
            bail!(
                "--step-beats {s} contradicts {}, whose grid step is {} quarter notes: a run that starts from a model keeps its grid (leave --step-beats out)",
                self.label(),
                meta.step_beats
            );
        }
        Ok((meta.kind, meta.step_beats))
    }

    /// The dataset made to fit the model: its kind, grid and voice count
    /// must be the model's (else an error); its voices become the model's
    /// (with the model's ranges, not widened), and every piece of every
    /// split is moved into those ranges, or skipped when it cannot be
    /// (see [`fit_piece`]). Returns the dataset and a warning per piece
    /// skipped, plus one line on those moved.
    pub fn fit(&self, data: Dataset) -> Result<(Dataset, Vec<String>)> {
        fit_dataset(self.meta(), &self.label(), data)
    }

    /// `config` (a fresh run's flags, given or defaulted) made into a run
    /// from this model: the layout settings become the file's, and those of
    /// `given` (the clap ids set on the command line, see [`flags_given`])
    /// that contradict it are an error; the settings not given get
    /// fine-tuning values. Returns a line saying which.
    pub fn configure(&self, config: &mut TrainConfig, given: &[String]) -> Result<String> {
        let meta = self.meta();
        let is_given = |id: &str| given.iter().any(|g| g == id);
        let order = if meta.kind == ModelKind::Voices
            && !meta.order.is_empty()
            && meta.order == VoiceOrder::OuterFirst.order(meta.voices.len())
        {
            VoiceOrder::OuterFirst
        } else {
            // Top down, or an order no flag names: the file's order is kept
            // either way, the record just cannot name the latter.
            VoiceOrder::TopDown
        };
        let nade = match meta.frame {
            FrameOutput::Nade { hidden } => hidden,
            FrameOutput::Independent => 0,
        };
        let pairs: [(&str, &str, String, String); 9] = [
            (
                "core",
                "--arch",
                value_name(config.net.core),
                value_name(meta.core),
            ),
            (
                "layers",
                "--layers",
                config.net.layers.to_string(),
                meta.layers.to_string(),
            ),
            (
                "hidden",
                "--hidden",
                config.net.hidden.to_string(),
                meta.hidden.to_string(),
            ),
            (
                "init",
                "--init",
                value_name(config.net.init),
                value_name(meta.init),
            ),
            (
                "nade",
                "--nade",
                config.net.nade.to_string(),
                nade.to_string(),
            ),
            (
                "head_hidden",
                "--head-hidden",
                config.net.head_hidden.to_string(),
                meta.head_hidden.to_string(),
            ),
            (
                "pair_score",
                "--pair-score",
                config.training.pair_score.to_string(),
                meta.pair_score.to_string(),
            ),
            (
                "sounding",
                "--sounding",
                config.training.sounding.to_string(),
                meta.hears_sounding().to_string(),
            ),
            (
                "voice_order",
                "--voice-order",
                value_name(config.training.voice_order),
                value_name(order),
            ),
        ];
        debug_assert!(pairs.iter().map(|p| p.0).eq(LAYOUT_FLAGS));
        let wrong: Vec<String> = pairs
            .iter()
            .filter(|(id, _, flag, file)| is_given(id) && flag != file)
            .map(|(_, name, flag, file)| match *name {
                "--pair-score" => format!("{name} (the model has no pair score)"),
                "--sounding" => format!("{name} (the model does not hear what the voices sound)"),
                _ => format!("{name} {flag} (the model's is {file})"),
            })
            .collect();
        if !wrong.is_empty() {
            bail!(
                "{} contradicts {}: a run that starts from a model keeps its layout (architecture, vocabulary, voice ranges, features, decision order, pair score), so leave those flags out",
                wrong.join(", "),
                self.label()
            );
        }
        config.net.core = meta.core;
        config.net.layers = meta.layers;
        config.net.hidden = meta.hidden;
        config.net.init = meta.init;
        config.net.nade = nade;
        config.net.head_hidden = meta.head_hidden;
        config.training.pair_score = meta.pair_score;
        config.training.sounding = meta.hears_sounding();
        config.training.voice_order = order;

        let recorded = |key: &str| {
            meta.training
                .as_ref()
                .and_then(|t| t.settings.as_ref())
                .and_then(|s| s.get(key))
                .and_then(|v| v.as_f64())
                .filter(|x| x.is_finite())
        };
        let mut chosen = Vec::new();
        if !is_given("lr") {
            let (base, whose) = match recorded("lr").filter(|&x| x > 0.0) {
                Some(x) => (x, "the source's"),
                None => (config.training.lr, "the default"),
            };
            config.training.lr = base / LR_DIVISOR;
            chosen.push(format!(
                "--lr {:.2e} (a third of {whose} {base:.2e})",
                config.training.lr
            ));
        }
        if !is_given("epochs") {
            config.epochs = EPOCHS;
            chosen.push(format!("--epochs {EPOCHS}"));
        }
        if !is_given("patience") {
            config.training.patience = PATIENCE;
            chosen.push(format!("--patience {PATIENCE}"));
        }
        if !is_given("dropout") {
            if let Some(d) = recorded("dropout").filter(|d| (0.0..1.0).contains(d)) {
                config.training.dropout = d as f32;
                chosen.push(format!("--dropout {d} (the source's)"));
            }
        }
        config.from = Some(self.base.clone());
        Ok(if chosen.is_empty() {
            String::new()
        } else {
            format!("fine-tuning settings: {}", chosen.join(", "))
        })
    }

    /// `train`'s fresh run from this model: `config` made into one
    /// ([`Source::configure`], `given` the flags set on the command line)
    /// and started ([`Source::trainer`]), saying on stderr what it chose
    /// and the source's valid NLL.
    pub fn start(
        &self,
        mut config: TrainConfig,
        given: &[String],
        data: &Dataset,
    ) -> Result<Trainer> {
        let chosen = self.configure(&mut config, given)?;
        if !chosen.is_empty() {
            eprintln!("{chosen}");
        }
        let (t, baseline) = self.trainer(config, data)?;
        if let Some(v) = baseline {
            eprintln!(
                "starting from {}: valid NLL {v:.4} before fine-tuning (an epoch must beat it to be kept)",
                self.path.display()
            );
        }
        Ok(t)
    }

    /// A run on `data` (fitted, see [`Source::fit`]) that starts from the
    /// model's weights, read through the same path as every model file
    /// ([`crate::load::network_of`]). The source is its epoch 0: its valid
    /// NLL (returned; `None` without a valid split) is the score to beat.
    pub fn trainer(&self, config: TrainConfig, data: &Dataset) -> Result<(Trainer, Option<f64>)> {
        let dev = device(&config.training.device)?;
        let mut net = crate::load::network_of(self.file.clone(), &dev)?;
        net.meta.name = config.name.clone();
        // The new record is written from the run; the source's stays in its file.
        net.meta.training = None;
        let mut t = Trainer::from_network(config, net, data)?;
        let baseline = if data.valid.is_empty() {
            None
        } else {
            Some(crate::eval::evaluate(&t.net, &data.valid)?.nll)
        };
        if let Some(v) = baseline.filter(|v| v.is_finite()) {
            t.progress.best_valid = Some(v);
            t.progress.best_epoch = Some(0);
            t.best = Some(t.net.tensors()?);
        }
        Ok((t, baseline))
    }
}

/// `data` made to fit a model of layout `meta` (named `label` in messages):
/// see [`Source::fit`].
pub fn fit_dataset(
    meta: &ModelMeta,
    label: &str,
    mut data: Dataset,
) -> Result<(Dataset, Vec<String>)> {
    crate::load::check_fit(meta, &data)
        .with_context(|| format!("the dataset does not suit {}", label))?;
    if data.step_beats != meta.step_beats {
        bail!(
            "{} steps in {} quarter notes, {} in {}: a run that starts from a model keeps its grid",
            data.name,
            data.step_beats,
            label,
            meta.step_beats
        );
    }
    let mut warnings = Vec::new();
    if meta.kind != ModelKind::Voices {
        // Every piece fits the keyboard already.
        return Ok((data, warnings));
    }
    data.voices = meta.voices.clone();
    let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
    let described: Vec<String> = meta
        .voices
        .iter()
        .map(|v| format!("{} {}-{}", v.name, v.low, v.high))
        .collect();
    let mut moved = 0;
    for split in [Split::Train, Split::Valid, Split::Test] {
        let pieces = match split {
            Split::Train => &mut data.train,
            Split::Valid => &mut data.valid,
            Split::Test => &mut data.test,
        };
        let mut kept = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.drain(..).enumerate() {
            match fit_piece(&piece, meta, &ranges) {
                Some((p, shift)) => {
                    moved += usize::from(shift != 0);
                    kept.push(p);
                }
                None => warnings.push(format!(
                    "{} piece {} of {} does not fit the voice ranges of {} ({}) {}: skipped",
                    split.name(),
                    i + 1,
                    data.name,
                    label,
                    described.join(", "),
                    if meta.knows_key() && piece.context().is_some() {
                        "in any octave of its key's frame"
                    } else {
                        "in any transposition"
                    }
                )),
            }
        }
        *pieces = kept;
    }
    if moved > 0 {
        warnings.push(format!(
            "{moved} pieces were moved into the voice ranges of {}",
            label
        ));
    }
    Ok((data, warnings))
}

/// The dataset of a resumed run made to fit it as it was when it started:
/// a run from a model (its checkpoint names the source) sees its data moved
/// into the model's ranges, as on its first day.
pub fn fit_for_resume(checkpoint: &Path, data: Dataset) -> Result<Dataset> {
    let ck = crate::checkpoint::Checkpoint::load(checkpoint)?;
    let Some(base) = &ck.header.config.from else {
        return Ok(data);
    };
    let (data, warnings) = fit_dataset(&ck.header.meta, &base.file, data)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(data)
}

/// A piece moved into `ranges` as the model would see it, with the shift
/// (semitones) applied; `None` if it cannot fit. A model that knows keys
/// sees an annotated piece in its key's frame, so only octaves can move it
/// there (any other shift moves the key with it, and the frame moves it
/// back); any other piece may move by any number of semitones. The smallest
/// shift that fits is taken (none when the piece fits as it is).
pub fn fit_piece(piece: &Piece, meta: &ModelMeta, ranges: &[VoiceRange]) -> Option<(Piece, i32)> {
    let framed = piece.in_frame(meta);
    let (low, high) = shift_bounds(&framed, ranges)?;
    let unit = if meta.knows_key() && piece.context().is_some() {
        12
    } else {
        1
    };
    // The multiple of `unit` in [low, high] nearest 0.
    let shift = if low > 0 {
        (low + unit - 1).div_euclid(unit) * unit
    } else if high < 0 {
        high.div_euclid(unit) * unit
    } else {
        0
    };
    (low <= shift && shift <= high).then(|| (piece.transposed(shift), shift))
}

/// The shifts (semitones, lowest and highest) that put every note of a
/// voices piece inside its voice's range; `None` if none does.
fn shift_bounds(piece: &Piece, ranges: &[VoiceRange]) -> Option<(i32, i32)> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return Some((0, 0));
    };
    let voices = (*voices).max(1);
    let (mut low, mut high) = (-127i32, 127i32);
    for (i, t) in tokens.iter().enumerate() {
        let (Some(p), Some(range)) = (t.onset(), ranges.get(i % voices)) else {
            continue;
        };
        low = low.max(range.low as i32 - p as i32);
        high = high.min(range.high as i32 - p as i32);
    }
    (low <= high).then_some((low, high))
}

/// The `train` flags set on `args` (a whole command line, program first,
/// parsed by `cli`, the program's clap command), as clap ids (`lr`, `core`
/// for `--arch`, ...): what the user chose, as against the defaults. Empty
/// when the line is not a `train` command.
pub fn flags_given(cli: clap::Command, args: impl IntoIterator<Item = OsString>) -> Vec<String> {
    let Ok(matches) = cli.try_get_matches_from(args) else {
        return Vec::new();
    };
    let Some(("train", train)) = matches.subcommand() else {
        return Vec::new();
    };
    train
        .ids()
        .filter(|id| {
            train.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// `train`'s dataset: read as asked, or, for a run from a model
/// (`source`), on the model's kind and grid and fitted to it
/// ([`Source::fit`]); a resumed run from a model is fitted again
/// ([`fit_for_resume`]). Warnings go to stderr.
pub fn read_dataset(
    source: Option<&Source>,
    path: &Path,
    kind: Option<ModelKind>,
    step_beats: Option<f64>,
    voices: Option<&VoiceMap>,
    resume: Option<&Path>,
) -> Result<Dataset> {
    // Only `train` reads its data aloud (where each file's key came from).
    let load = |kind, step| load_dataset_with(path, kind, step, voices, true);
    match (source, resume) {
        (Some(s), _) => {
            let (kind, step) = s.dataset_options(kind, step_beats)?;
            let (data, warnings) = s.fit(load(Some(kind), Some(step))?)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            Ok(data)
        }
        (None, Some(ck)) => fit_for_resume(ck, load(kind, step_beats)?),
        (None, None) => load(kind, step_beats),
    }
}

fn value_name<T: clap::ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_owned())
}

fn kind_name(k: ModelKind) -> String {
    value_name(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::{CoreKind, Feature, Horizon, Key, Mode, Token};

    use crate::dataset::PieceContext;

    /// Two steps of S, A, T, B onsets, in `tonic` major when it is given.
    fn piece(notes: [[u8; 4]; 2], tonic: Option<u8>) -> Piece {
        let tokens = notes.concat().into_iter().map(Token::Onset).collect();
        Piece::Voices {
            voices: 4,
            tokens,
            context: tonic.map(|tonic| {
                Box::new(PieceContext {
                    key: Key {
                        tonic,
                        mode: Mode::Major,
                    },
                    bars: Vec::new(),
                    meters: Vec::new(),
                    horizon: Horizon::Off,
                    fermatas: Vec::new(),
                })
            }),
        }
    }

    fn onsets(p: &Piece) -> Vec<u8> {
        let Piece::Voices { tokens, .. } = p else {
            unreachable!()
        };
        tokens.iter().filter_map(|t| t.onset()).collect()
    }

    #[test]
    fn pieces_move_into_the_ranges_by_octaves_in_a_key_frame_else_by_semitones() {
        let plain = ModelMeta::satb(CoreKind::Gru, 1, 4);
        let mut keyed = plain.clone();
        keyed.features.push(Feature::KeyMode);
        let ranges: Vec<VoiceRange> = plain.voices.iter().map(|v| v.range()).collect();

        // Fits as it is: unchanged either way.
        let fine = piece([[72, 64, 55, 48], [74, 65, 57, 43]], Some(2));
        for meta in [&plain, &keyed] {
            assert_eq!(fit_piece(&fine, meta, &ranges), Some((fine.clone(), 0)));
        }

        // A bass four semitones below its range (lowest 30), in D major.
        let low = piece([[70, 62, 50, 26], [72, 64, 52, 28]], Some(2));
        // Without a key frame, the smallest shift that fits.
        let (moved, shift) = fit_piece(&low, &plain, &ranges).unwrap();
        assert_eq!(shift, 4);
        assert_eq!(onsets(&moved)[3], 30);
        // In D's frame the piece sounds 2 lower (tonic on C): 6 short, and
        // only an octave keeps the frame. The key stays D.
        let (moved, shift) = fit_piece(&low, &keyed, &ranges).unwrap();
        assert_eq!(shift, 12);
        assert_eq!(onsets(&moved)[3], 38);
        assert_eq!(moved.context().unwrap().key.tonic, 2);
        // Without a key the keyed model reads it as it is: semitones again.
        let no_key = piece([[70, 62, 50, 26], [72, 64, 52, 28]], None);
        assert_eq!(fit_piece(&no_key, &keyed, &ranges).unwrap().1, 4);

        // A soprano of 30 semitones over a bass that spans 40: room for 4
        // semitones' shift, but not an octave's.
        let tight = piece([[84, 62, 50, 26], [86, 64, 52, 28]], Some(0));
        assert_eq!(fit_piece(&tight, &plain, &ranges).map(|f| f.1), None);
        let snug = piece([[83, 62, 50, 26], [83, 64, 52, 28]], Some(0));
        assert_eq!(fit_piece(&snug, &plain, &ranges).map(|f| f.1), Some(4));
        assert_eq!(fit_piece(&snug, &keyed, &ranges), None);
    }
}
