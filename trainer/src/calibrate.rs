//! `bach-trainer calibrate`: the voice-pair score's parallel-motion weights
//! fitted to the network's own harmonizations.
//!
//! Training fits each pair weight so that, with Bach's own voices as the
//! context (teacher forcing), the model expects each relation as often as
//! Bach writes it. Harmonizing, the voices before are the model's own, and
//! there it moves into parallel fifths and octaves two to three times as
//! often as Bach: the learned penalty is right for his contexts, not for
//! the ones the model leads itself into. Calibration closes that gap on
//! the model's own samples, as temperature scaling calibrates a classifier:
//! it harmonizes held-out sopranos as the plugin does (strict voice leading
//! off, so the network alone decides; at every lookahead), counts each
//! voice pair's parallel fifths and octaves as the harmony figures do, and
//! moves that pair's two parallel-motion weights by `rate · ln((Bach's
//! count + 1) / (the model's + 1))`, round after round. Only those weights
//! move (two per voice pair); every other tensor stays byte for byte.
//!
//! The sopranos are the valid split's by default: the network has learned
//! the train split's own harmonizations, and on those sopranos it already
//! writes about as few parallels as Bach (measured: 81 consecutive fifths
//! against his 67 over the 235 train chorales), so they cannot show the
//! habit. The test split stays unseen.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use bach_engine::file::ModelFile;
use bach_engine::model::pairs::{PAIR_FEATURES, PARALLEL_FIFTH, PARALLEL_OCTAVE};
use bach_engine::model::AnyModel;
use bach_engine::perform::user_sampler;
use bach_engine::voice_leading::{self, Parallel};
use bach_engine::{Horizon, ModelKind, ModelMeta, Token};

use crate::dataset::{Dataset, Piece, Split};
use crate::harmony::{harmonize, sounding_pitches, KeySource};
use crate::load::{check_fit, load_dataset};
use crate::model::{device, Network};

/// `bach-trainer calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// A voices model with the voice-pair score.
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset it was trained on.
    #[arg(long)]
    pub dataset: PathBuf,
    /// Whose sopranos are harmonized (and whose Bach counts are the target).
    #[arg(long, value_enum, default_value = "valid")]
    pub split: Split,
    /// Where to write the calibrated model (atomically; may be --model).
    #[arg(long)]
    pub out: PathBuf,
    /// Rounds of harmonizing and moving the weights.
    #[arg(long, default_value_t = DEFAULT_ROUNDS)]
    pub rounds: usize,
    /// How far a round moves each weight towards the log ratio of the counts.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    pub rate: f64,
    /// Sampling temperature of the harmonizations (the plugin's default).
    #[arg(long, default_value_t = DEFAULT_TEMPERATURE)]
    pub temperature: f32,
}

/// One round: the counts it saw (per pass over the pieces, summed over voice pairs).
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    pub model_fifths: f64,
    pub model_octaves: f64,
    pub bach_fifths: f64,
    pub bach_octaves: f64,
}

/// Per head and voice decided before it, consecutive fifths and octaves.
type Counts = Vec<Vec<[f64; 2]>>;

fn zero_counts(earlier: &[Vec<usize>]) -> Counts {
    earlier.iter().map(|us| vec![[0.0; 2]; us.len()]).collect()
}

/// Adds the parallel fifths and octaves of a score (`voices` tokens per
/// step) to `counts`, as the harmony figures count them
/// ([`voice_leading::parallel`]): per head `v` and `j`-th voice decided
/// before it.
fn count(tokens: &[Token], voices: usize, earlier: &[Vec<usize>], counts: &mut Counts) {
    let steps = sounding_pitches(tokens, voices);
    for (before, now) in steps.iter().zip(steps.iter().skip(1)) {
        for (v, us) in earlier.iter().enumerate() {
            for (j, &u) in us.iter().enumerate() {
                let (Some(a0), Some(a1), Some(b0), Some(b1)) =
                    (before[v], now[v], before[u], now[u])
                else {
                    continue;
                };
                match voice_leading::parallel(a0, a1, b0, b1) {
                    Some(Parallel::Fifth) => counts[v][j][0] += 1.0,
                    Some(Parallel::Octave) => counts[v][j][1] += 1.0,
                    None => {}
                }
            }
        }
    }
}

fn total(counts: &Counts, kind: usize) -> f64 {
    counts.iter().flatten().map(|c| c[kind]).sum()
}

/// Calibrates `file`'s parallel-motion pair weights on `pieces` (their
/// sopranos harmonized, their own voices the target); returns what each
/// round saw.
pub fn calibrate(
    file: &mut ModelFile,
    pieces: &[Piece],
    rounds: usize,
    rate: f64,
    temperature: f32,
) -> Result<Vec<Round>> {
    let meta = file.meta.clone();
    if meta.kind != ModelKind::Voices || !meta.pair_score {
        bail!("calibration needs a voices model with the voice-pair score (--pair-score)");
    }
    let voices = meta.voices.len();
    let earlier: Vec<Vec<usize>> = (0..voices).map(|v| meta.decided_before(v)).collect();
    // Bach's own counts, once.
    let mut bach = zero_counts(&earlier);
    for piece in pieces {
        if let Piece::Voices {
            voices: pv, tokens, ..
        } = piece
        {
            if *pv == voices {
                count(tokens, voices, &earlier, &mut bach);
            }
        }
    }
    let sampler = user_sampler(temperature, false);
    let horizons: &[Horizon] = if meta.ahead_notes() > 0 {
        &Horizon::ALL
    } else {
        &[Horizon::Off]
    };
    let mut record = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut model = AnyModel::from_file(file.clone()).into_voices()?;
        let mut ours = zero_counts(&earlier);
        for (i, piece) in pieces.iter().enumerate() {
            for &horizon in horizons {
                // A new random stream every round, so the weights follow the
                // model's habits, not one draw's accidents.
                let seed = (round as u64 + 1) * 1_000_003 + i as u64;
                let harmony =
                    harmonize(&mut model, piece, &sampler, seed, KeySource::Auto, horizon);
                count(&harmony, voices, &earlier, &mut ours);
            }
        }
        let passes = horizons.len() as f64;
        for c in ours.iter_mut().flatten() {
            c[0] /= passes;
            c[1] /= passes;
        }
        record.push(Round {
            model_fifths: total(&ours, 0),
            model_octaves: total(&ours, 1),
            bach_fifths: total(&bach, 0),
            bach_octaves: total(&bach, 1),
        });
        for (v, us) in earlier.iter().enumerate() {
            if us.is_empty() {
                continue;
            }
            let weights = file
                .tensors
                .get_mut(&format!("head.{v}.pairs"))
                .context("a pair-score model without its pair weights")?;
            for j in 0..us.len() {
                for (k, feature) in [PARALLEL_FIFTH, PARALLEL_OCTAVE].into_iter().enumerate() {
                    let step = rate * ((bach[v][j][k] + 1.0) / (ours[v][j][k] + 1.0)).ln();
                    weights[j * PAIR_FEATURES + feature] += step as f32;
                }
            }
        }
    }
    Ok(record)
}

/// Rounds of a calibration unless told otherwise (`--rounds`).
pub const DEFAULT_ROUNDS: usize = 8;
/// How far a round moves each weight unless told otherwise (`--rate`).
pub const DEFAULT_RATE: f64 = 0.5;
/// The harmonizations' temperature unless told otherwise (the plugin's).
pub const DEFAULT_TEMPERATURE: f32 = 0.3;

/// Fewer of Bach's parallels than this in the valid split, and `train`
/// warns that the calibration's target is noisy (the default harmonizer's
/// 75 valid chorales hold 12).
pub const FEW_PARALLELS: f64 = 10.0;

/// How a calibration runs: whose sopranos, how many rounds, how far, how hot.
#[derive(Clone, Debug)]
pub struct Settings {
    pub split: Split,
    pub rounds: usize,
    pub rate: f64,
    pub temperature: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            split: Split::Valid,
            rounds: DEFAULT_ROUNDS,
            rate: DEFAULT_RATE,
            temperature: DEFAULT_TEMPERATURE,
        }
    }
}

/// What a calibration did: each round's counts, and the NLL of the result
/// (`None` for an empty split).
#[derive(Clone, Debug)]
pub struct Calibrated {
    pub rounds: Vec<Round>,
    pub valid_nll: Option<f64>,
    pub test_nll: Option<f64>,
}

/// Calibrates `file` on `data`'s `settings.split`, measures the valid and
/// test NLL of the result, records the calibration in the training record
/// and writes the file to `out` atomically. `command` is the calibrate
/// command line to record; `None` records that `train` calibrated.
pub fn calibrate_and_write(
    mut file: ModelFile,
    data: &Dataset,
    settings: &Settings,
    command: Option<String>,
    out: &Path,
) -> Result<Calibrated> {
    let pieces = data.split(settings.split);
    if pieces.is_empty() {
        bail!(
            "the {} split of {} is empty",
            settings.split.name(),
            data.name
        );
    }
    let rounds = calibrate(
        &mut file,
        pieces,
        settings.rounds,
        settings.rate,
        settings.temperature,
    )?;
    let tensors = file.named_tensors();
    let net = Network::from_tensors(file.meta.clone(), &tensors, &device("cpu")?)?;
    let nll = |pieces: &[Piece]| -> Result<Option<f64>> {
        if pieces.is_empty() {
            return Ok(None);
        }
        Ok(Some(crate::eval::evaluate(&net, pieces)?.nll))
    };
    let (valid, test) = (nll(&data.valid)?, nll(&data.test)?);
    let mut meta: ModelMeta = file.meta.clone();
    if let Some(t) = meta.training.as_mut() {
        t.valid_nll = valid;
        t.test_nll = test;
        let record = t.settings.get_or_insert_with(Default::default);
        // How, and by which program, as the training record says of training.
        match command {
            Some(command) => {
                record.insert("calibrate.command".into(), command.into());
            }
            None => {
                record.insert("calibrate.by".into(), "train".into());
            }
        }
        if let Some(revision) = crate::provenance::trainer_build().revision {
            record.insert("calibrate.revision".into(), revision.into());
        }
        record.insert("calibrate.split".into(), settings.split.name().into());
        record.insert("calibrate.rounds".into(), settings.rounds.into());
        record.insert("calibrate.rate".into(), settings.rate.into());
        record.insert(
            "calibrate.temperature".into(),
            crate::provenance::shortest_decimal(settings.temperature).into(),
        );
    }
    let bytes = bach_engine::file::to_bytes(&meta, &tensors)?;
    bach_engine::file::write_atomic(out, &bytes)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(Calibrated {
        rounds,
        valid_nll: valid,
        test_nll: test,
    })
}

/// `train`'s last step: calibrates the model file it wrote at `out` on the
/// valid split, in place, when it is a voices model with the pair score (the
/// only kind there is anything to calibrate in). Says what it did on
/// stderr; `Ok(None)` when there was nothing to do.
pub fn after_training(out: &Path, data: &Dataset) -> Result<Option<Calibrated>> {
    let file =
        ModelFile::load(out).with_context(|| format!("cannot load model {}", out.display()))?;
    if file.meta.kind != ModelKind::Voices || !file.meta.pair_score {
        return Ok(None);
    }
    if data.valid.is_empty() {
        eprintln!("not calibrated: the dataset has no valid split to calibrate on");
        return Ok(None);
    }
    let before = file.meta.training.as_ref().and_then(|t| t.valid_nll);
    let settings = Settings::default();
    eprintln!(
        "calibrating the parallel-motion pair weights on the {} valid sopranos ({} rounds; --no-calibrate skips this)",
        data.valid.len(),
        settings.rounds
    );
    let done = calibrate_and_write(file, data, &settings, None, out)?;
    if let (Some(first), Some(last)) = (done.rounds.first(), done.rounds.last()) {
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
        eprintln!(
            "calibrated: the network alone wrote {:.1} parallel fifths and {:.1} octaves before, {:.1} and {:.1} in the last round (the valid pieces' own voices: {:.0} and {:.0}); valid NLL {} -> {}, test NLL {}; wrote {}",
            first.model_fifths,
            first.model_octaves,
            last.model_fifths,
            last.model_octaves,
            first.bach_fifths,
            first.bach_octaves,
            f(before),
            f(done.valid_nll),
            f(done.test_nll),
            out.display()
        );
        // Each round moves the weights by the log ratio of counts; with a
        // handful of parallels to count, one sample's accidents decide it.
        let bach = first.bach_fifths + first.bach_octaves;
        if bach < FEW_PARALLELS {
            eprintln!(
                "warning: the {} valid pieces' own voices hold only {bach:.0} parallel fifths and octaves, so the calibration's target is noisy; more valid pieces make it surer (--no-calibrate keeps the weights as trained)",
                data.valid.len()
            );
        }
    }
    Ok(Some(done))
}

/// `bach-trainer calibrate`: calibrates, measures the valid and test NLL of
/// the result, records the calibration in the training record and writes it.
pub fn run(args: CalibrateArgs) -> Result<()> {
    if args.rounds == 0 || !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 2.0) {
        bail!("--rounds must be at least 1 and --rate between 0 and 2");
    }
    let file = ModelFile::load(&args.model)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
    let data = load_dataset(&args.dataset, Some(ModelKind::Voices), None)?;
    check_fit(&file.meta, &data)?;
    let settings = Settings {
        split: args.split,
        rounds: args.rounds,
        rate: args.rate,
        temperature: args.temperature,
    };
    let command = crate::provenance::command_line(std::env::args());
    let done = calibrate_and_write(file, &data, &settings, Some(command), &args.out)?;
    for (i, r) in done.rounds.iter().enumerate() {
        eprintln!(
            "round {:2}: the network alone writes {:.1} parallel fifths and {:.1} octaves (Bach {:.0} and {:.0}) on the {} sopranos",
            i + 1,
            r.model_fifths,
            r.model_octaves,
            r.bach_fifths,
            r.bach_octaves,
            args.split.name()
        );
    }
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    eprintln!(
        "wrote {}: valid NLL {}, test NLL {}",
        args.out.display(),
        f(done.valid_nll),
        f(done.test_nll)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::CoreKind;

    #[test]
    fn counts_are_the_harmony_figures_parallels_per_pair() {
        let meta = ModelMeta::satb(CoreKind::Gru, 1, 4);
        use Token::{Hold, Onset, Rest};
        // S and A rise a tone a fifth apart; the tenor holds; then the bass
        // enters and rises with the soprano two octaves below it.
        let score = [
            [Onset(72), Onset(65), Onset(60), Rest],
            [Onset(74), Onset(67), Hold, Onset(50)],
            [Onset(76), Onset(64), Hold, Onset(52)],
        ]
        .concat();
        for order in [vec![], vec![0, 3, 1, 2]] {
            let mut meta = meta.clone();
            meta.order = order;
            let earlier: Vec<Vec<usize>> = (0..4).map(|v| meta.decided_before(v)).collect();
            let mut counts = zero_counts(&earlier);
            count(&score, 4, &earlier, &mut counts);
            // The alto's fifths with the soprano (its first earlier voice).
            assert_eq!(counts[1][0], [1.0, 0.0], "{:?}", meta.order);
            // The bass's octaves with the soprano.
            let s = earlier[3].iter().position(|&u| u == 0).unwrap();
            assert_eq!(counts[3][s], [0.0, 1.0], "{:?}", meta.order);
            assert_eq!(total(&counts, 0) + total(&counts, 1), 2.0);
        }
    }
}
