//! `bach-trainer judge`: a Bach-or-ours classifier, to see where our
//! harmony's style still differs from Bach's.
//!
//! Every soprano of the train, valid and test splits is harmonized as
//! `bach-trainer harmony` does (the plugin's performer, one lookahead,
//! once per seed: seeds 1-3 by default, each harmonization one more pair
//! beside Bach's), and both versions, Bach's and ours, are cut into windows
//! of 4 beats. Each window is described by a few dozen plain features of the
//! four voices (the spacing of neighbouring voices, crossings, the chord
//! types on beats and their inversions, the bass's scale degree, how the
//! outer voices move, how often the inner voices strike and leap), and an
//! L2-regularised logistic regression learns, on the train split only, to
//! tell Bach's windows from ours. It is then shown the valid and test
//! pieces, which neither it nor the harmony model saw. A piece is told
//! apart when the mean of its windows' log-odds says "Bach" for Bach's
//! version and "ours" for ours. A measure, not a loss: nothing is trained
//! against it. The features it leans on most are printed with their
//! weights (on standardised features: positive means "more Bach-like"),
//! and then, for each group of features (`GROUPS`), how often a
//! classifier that sees that group alone ranks the pairs right.

use std::path::PathBuf;

use anyhow::{bail, Result};
use bach_engine::perform::user_sampler;
use bach_engine::{Horizon, Token};
use serde::Serialize;

use crate::dataset::{Piece, Split};
use crate::harmony::{harmonize, sounding_pitches, KeySource};

/// Steps (16ths) per window: one 4/4 bar, about a chorale half-phrase.
const WINDOW: usize = 16;
/// Gradient-descent steps and rate of the logistic regression (full batch,
/// standardised features: it converges well within this).
const ITERATIONS: usize = 400;
const RATE: f64 = 0.5;
/// L2 penalty on the weights (per window, as in the mean log-loss).
const L2: f64 = 1e-3;

#[derive(clap::Args, Debug)]
pub struct JudgeArgs {
    /// A four-voice (SATB) voices model.
    #[arg(long)]
    pub model: PathBuf,
    /// The annotated chorales (chorales.json, with keys and meters).
    #[arg(long)]
    pub dataset: PathBuf,
    /// How far ahead the harmony hears the melody: off, beat, bar or whole.
    #[arg(long, default_value = "off", value_parser = parse_horizon)]
    pub lookahead: Horizon,
    /// Sampling temperature for alto, tenor and bass (the plugin's default).
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    /// Seeds of the harmony, pooled: each piece is harmonized once per
    /// seed, and every harmonization is one more pair (the harmony figures'
    /// seeds 1-3 by default, since one seed's pairs move by a few pieces).
    #[arg(long = "seed", value_delimiter = ',', default_values_t = [1u64, 2, 3])]
    pub seeds: Vec<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_horizon(s: &str) -> Result<Horizon, String> {
    let names = ["off", "beat", "bar", "whole"];
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| Horizon::ALL[i])
        .ok_or_else(|| format!("expected one of {}", names.join(", ")))
}

/// The classifier's results.
#[derive(Debug, Serialize)]
pub struct JudgeReport {
    pub lookahead: String,
    pub features: usize,
    /// Windows of each split (Bach's and ours together) told right.
    pub window_accuracy: Vec<(String, f64)>,
    /// Harmonizations (Bach's and ours, each on its own) told right by the
    /// mean of their windows' log-odds; chance is 50%.
    pub piece_accuracy: Vec<(String, f64)>,
    /// Pieces whose Bach version scores more Bach-like than ours, all
    /// seeds pooled.
    pub pairs_ranked_right: Vec<(String, f64)>,
    /// The same for each seed on its own, in `seeds`' order.
    pub pairs_by_seed: Vec<(String, Vec<f64>)>,
    pub seeds: Vec<u64>,
    /// The features with the largest weights, most Bach-like first.
    pub leans_on: Vec<(String, f64)>,
    /// Each group of features (`GROUPS`) on its own: a classifier trained
    /// on that group alone, and the pairs it ranks right on each split.
    pub groups_alone: Vec<(String, Vec<(String, f64)>)>,
}

/// The features in groups by what they describe, each a range of
/// [`feature_names`]: which aspect of the style gives us away.
const GROUPS: [(&str, std::ops::Range<usize>); 4] = [
    ("voicing (spacing, crossings)", 0..16),
    (
        "chords (types, inversions, bass degrees)",
        16..FEATURES - 10,
    ),
    ("outer-voice motion", FEATURES - 10..FEATURES - 6),
    ("A, T, B rhythm and leaps", FEATURES - 6..FEATURES),
];

/// How many features [`window_features`] writes: [`feature_names`]' length.
const FEATURES: usize = 3 * 5 + 1 + CHORDS.len() + 3 + 12 + 12 * CHORDS.len() + 4 + 3 * 2;

/// The names of the features [`window_features`] writes, in order.
fn feature_names() -> Vec<String> {
    let mut names = Vec::new();
    for pair in ["S-A", "A-T", "T-B"] {
        for bucket in [
            "unison-2nd",
            "3rd",
            "4th-5th",
            "6th-octave",
            "over an octave",
        ] {
            names.push(format!("spacing {pair} {bucket}"));
        }
    }
    names.push("crossings".into());
    for chord in CHORDS {
        names.push(format!("chord on beats: {chord}"));
    }
    for inversion in ["root in the bass", "third in the bass", "fifth in the bass"] {
        names.push(format!("triads on beats: {inversion}"));
    }
    for degree in DEGREES {
        names.push(format!("bass on beats: {degree} above the tonic"));
    }
    for chord in CHORDS {
        for degree in DEGREES {
            names.push(format!("{chord} over a bass {degree} above the tonic"));
        }
    }
    for motion in ["parallel", "similar", "contrary", "oblique"] {
        names.push(format!("S-B motion: {motion}"));
    }
    for voice in ["A", "T", "B"] {
        names.push(format!("{voice} onsets"));
        names.push(format!("{voice} leaps over a 4th"));
    }
    names
}

const CHORDS: [&str; 8] = [
    "major triad",
    "minor triad",
    "diminished triad",
    "augmented triad",
    "dominant seventh",
    "other seventh",
    "two pitch classes or fewer",
    "other",
];
const DEGREES: [&str; 12] = [
    "0", "m2", "M2", "m3", "M3", "4", "tritone", "5", "m6", "M6", "m7", "M7",
];

/// The root of a triad of chord type `kind` (the first four of
/// [`CHORDS`], as [`crate::live::chord_type`] names them) sounding the
/// pitch classes `classes`; `None` for the other types.
fn triad_root(classes: u16, kind: usize) -> Option<u8> {
    let &(third, fifth) = [(4u8, 7u8), (3, 7), (3, 6), (4, 8)].get(kind)?;
    let has = |pc: u8| classes & (1 << (pc % 12)) != 0;
    (0..12u8).find(|&r| has(r) && has(r + third) && has(r + fifth))
}

/// The features of the steps `steps` (each voice's sounding pitch, S A T B)
/// from `start`, whose places in the bar are `on_beat`; `tonic` is the
/// key's. Counts are divided by the window's length.
fn window_features(
    steps: &[Vec<Option<u8>>],
    onsets: &[[bool; 4]],
    on_beat: &[bool],
    tonic: u8,
) -> Vec<f64> {
    let n = steps.len().max(1) as f64;
    let mut f = vec![0.0; FEATURES];
    let mut at = 0;
    // Spacing of neighbouring voices.
    for pair in 0..3 {
        for s in steps {
            if let (Some(hi), Some(lo)) = (s[pair], s[pair + 1]) {
                let gap = hi as i32 - lo as i32;
                let bucket = match gap {
                    ..=2 => 0,
                    3..=4 => 1,
                    5..=7 => 2,
                    8..=12 => 3,
                    _ => 4,
                };
                f[at + bucket] += 1.0 / n;
            }
        }
        at += 5;
    }
    // Crossings.
    for s in steps {
        let crossed = (0..3).any(|v| matches!((s[v], s[v + 1]), (Some(hi), Some(lo)) if hi < lo));
        if crossed {
            f[at] += 1.0 / n;
        }
    }
    at += 1;
    // Chords on beats, their inversions, the bass's degree.
    let (chords_at, inversions_at, degrees_at) = (at, at + CHORDS.len(), at + CHORDS.len() + 3);
    for (s, &beat) in steps.iter().zip(on_beat) {
        if !beat {
            continue;
        }
        let classes = s.iter().flatten().fold(0u16, |c, p| c | 1 << (p % 12));
        let Some(bass) = s.iter().flatten().min().copied() else {
            continue;
        };
        // The chord types of `bach-trainer live`'s chord mix.
        let kind = crate::live::chord_type(&[s[0], s[1], s[2], s[3]]);
        f[chords_at + kind] += 1.0 / n;
        if let Some(root) = triad_root(classes, kind) {
            let above = (bass % 12 + 12 - root) % 12;
            let inversion = match above {
                0 => Some(0),
                3 | 4 => Some(1),
                6..=8 => Some(2),
                _ => None,
            };
            if let Some(i) = inversion {
                f[inversions_at + i] += 1.0 / n;
            }
        }
        let degree = ((bass % 12 + 12 - tonic % 12) % 12) as usize;
        f[degrees_at + degree] += 1.0 / n;
        f[degrees_at + 12 + 12 * kind + degree] += 1.0 / n;
    }
    at = degrees_at + 12 + 12 * CHORDS.len();
    // Outer voices' motion where either moves.
    for w in steps.windows(2) {
        let (Some(s0), Some(b0), Some(s1), Some(b1)) = (w[0][0], w[0][3], w[1][0], w[1][3]) else {
            continue;
        };
        let (ds, db) = (s1 as i32 - s0 as i32, b1 as i32 - b0 as i32);
        let motion = match (ds, db) {
            (0, 0) => continue,
            (0, _) | (_, 0) => 3,
            _ if ds == db => 0,
            _ if ds.signum() == db.signum() => 1,
            _ => 2,
        };
        f[at + motion] += 1.0 / n;
    }
    at += 4;
    // Inner voices' and the bass's onsets and leaps.
    for v in 1..4 {
        let mut last = None;
        for (s, o) in steps.iter().zip(onsets) {
            if o[v] {
                f[at] += 1.0 / n;
                if let (Some(a), Some(b)) = (last, s[v]) {
                    if (a as i32 - b as i32).abs() > 5 {
                        f[at + 1] += 1.0 / n;
                    }
                }
            }
            if s[v].is_some() {
                last = s[v];
            }
        }
        at += 2;
    }
    f
}

/// The windows of one harmonization (`tokens`, S A T B laid out by step).
fn windows_of(tokens: &[Token], piece: &Piece) -> Windows {
    let Some(context) = piece.context() else {
        return Vec::new();
    };
    let steps = sounding_pitches(tokens, 4);
    let onsets: Vec<[bool; 4]> = tokens
        .chunks_exact(4)
        .map(|s| std::array::from_fn(|v| matches!(s[v], Token::Onset(_))))
        .collect();
    let on_beat: Vec<bool> = (0..steps.len())
        .map(|t| context.bars.get(t).is_some_and(|b| b.in_beat() == 0))
        .collect();
    (0..steps.len() / WINDOW)
        .map(|w| {
            let r = w * WINDOW..(w + 1) * WINDOW;
            window_features(
                &steps[r.clone()],
                &onsets[r.clone()],
                &on_beat[r],
                context.key.tonic,
            )
        })
        .collect()
}

/// A harmonization's windows, each a feature vector.
type Windows = Vec<Vec<f64>>;

/// One split's windows: for each piece and seed, Bach's windows and ours.
struct Judged {
    pieces: Vec<(Windows, Windows)>,
    /// The place in `--seed` of each entry of `pieces`.
    seed_of: Vec<usize>,
}

/// Runs `bach-trainer judge`.
pub fn run(args: JudgeArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "Bach or ours, lookahead {}, {} features per 4-beat window (trained on the train split), seeds {:?} pooled:",
        report.lookahead, report.features, report.seeds
    );
    println!(
        "{:<6} {:>9} {:>16} {:>14}   pairs by seed",
        "split", "windows", "harmonizations", "pairs ranked"
    );
    for (i, (split, w)) in report.window_accuracy.iter().enumerate() {
        let by_seed: Vec<String> = report.pairs_by_seed[i]
            .1
            .iter()
            .map(|p| format!("{:.1}%", 100.0 * p))
            .collect();
        println!(
            "{:<6} {:>8.1}% {:>15.1}% {:>13.1}%   {}",
            split,
            100.0 * w,
            100.0 * report.piece_accuracy[i].1,
            100.0 * report.pairs_ranked_right[i].1,
            by_seed.join(" / ")
        );
    }
    println!("it leans on (weight on the standardised feature; positive: more like Bach):");
    for (name, w) in &report.leans_on {
        println!("  {w:+.3}  {name}");
    }
    println!("each group of features alone (pairs ranked right):");
    for (name, pairs) in &report.groups_alone {
        let splits: Vec<String> = pairs
            .iter()
            .map(|(split, p)| format!("{split} {:.1}%", 100.0 * p))
            .collect();
        println!("  {name:<42} {}", splits.join("  "));
    }
    Ok(())
}

/// Computes [`run`]'s report.
pub fn report(args: &JudgeArgs) -> Result<JudgeReport> {
    // The engine's model alone: the judge needs no candle network.
    let (mut model, data) =
        crate::load::satb_and_data(&args.model, &args.dataset, "the judge's figures")?;
    if args.seeds.is_empty() {
        bail!("--seed needs at least one seed");
    }
    let sampler = user_sampler(args.temperature, true);
    let mut judged = Vec::new();
    for split in [Split::Train, Split::Valid, Split::Test] {
        let (mut pieces, mut seed_of) = (Vec::new(), Vec::new());
        for (i, piece) in data.split(split).iter().enumerate() {
            let Piece::Voices {
                tokens, voices: 4, ..
            } = piece
            else {
                continue;
            };
            if piece.context().is_none() {
                continue;
            }
            let bach = windows_of(tokens, piece);
            for (s, &seed) in args.seeds.iter().enumerate() {
                let ours = harmonize(
                    &mut model,
                    piece,
                    &sampler,
                    seed.wrapping_add(i as u64),
                    KeySource::Auto,
                    args.lookahead,
                );
                let ours = windows_of(&ours, piece);
                if !bach.is_empty() && bach.len() == ours.len() {
                    pieces.push((bach.clone(), ours));
                    seed_of.push(s);
                }
            }
        }
        if pieces.is_empty() {
            bail!(
                "the {} split has no annotated four-voice pieces (the judge needs chorales.json)",
                split.name()
            );
        }
        judged.push((split, Judged { pieces, seed_of }));
    }
    let names = feature_names();
    let all = fit_and_score(&judged, 0..FEATURES);
    let mut leans: Vec<(String, f64)> = names
        .iter()
        .cloned()
        .zip(all.classifier.weights.iter().copied())
        .collect();
    leans.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    leans.truncate(12);
    leans.sort_by(|a, b| b.1.total_cmp(&a.1));
    let groups_alone = GROUPS
        .iter()
        .map(|(name, columns)| {
            let alone = fit_and_score(&judged, columns.clone());
            (name.to_string(), alone.pairs_ranked_right)
        })
        .collect();
    Ok(JudgeReport {
        lookahead: args.lookahead.name().into(),
        features: names.len(),
        window_accuracy: all.window_accuracy,
        piece_accuracy: all.piece_accuracy,
        pairs_ranked_right: all.pairs_ranked_right,
        pairs_by_seed: all.pairs_by_seed,
        seeds: args.seeds.clone(),
        leans_on: leans,
        groups_alone,
    })
}

/// A classifier fitted on the train split's windows, seeing only the
/// features `columns`, and what it tells apart on every split.
struct Scored {
    classifier: Logistic,
    window_accuracy: Vec<(String, f64)>,
    piece_accuracy: Vec<(String, f64)>,
    pairs_ranked_right: Vec<(String, f64)>,
    pairs_by_seed: Vec<(String, Vec<f64>)>,
}

/// The features `columns` of the window `w`, borrowed: leaving the other
/// features out copies nothing.
fn seen<'a>(w: &'a [f64], columns: &std::ops::Range<usize>) -> &'a [f64] {
    &w[columns.clone()]
}

fn fit_and_score(judged: &[(Split, Judged)], columns: std::ops::Range<usize>) -> Scored {
    let train = &judged[0].1;
    let (x, y): (Vec<&[f64]>, Vec<f64>) = train
        .pieces
        .iter()
        .flat_map(|(bach, ours)| {
            bach.iter()
                .map(|w| (seen(w, &columns), 1.0))
                .chain(ours.iter().map(|w| (seen(w, &columns), 0.0)))
        })
        .unzip();
    let scale = Standardise::fit(&x);
    let xs: Vec<Vec<f64>> = x.iter().map(|w| scale.apply(w)).collect();
    let classifier = Logistic::fit(&xs, &y);
    let mut window_accuracy = Vec::new();
    let mut piece_accuracy = Vec::new();
    let mut pairs_ranked_right = Vec::new();
    let mut pairs_by_seed = Vec::new();
    let seeds = judged
        .iter()
        .flat_map(|(_, j)| j.seed_of.iter().map(|s| s + 1))
        .max()
        .unwrap_or(0);
    for (split, j) in judged {
        let (mut right, mut windows, mut told, mut ranked) = (0usize, 0usize, 0usize, 0usize);
        let (mut ranked_by_seed, mut pairs_of_seed) = (vec![0usize; seeds], vec![0usize; seeds]);
        for ((bach, ours), &seed) in j.pieces.iter().zip(&j.seed_of) {
            let score = |w: &Vec<f64>| classifier.log_odds(&scale.apply(seen(w, &columns)));
            let mean = |ws: &Windows| ws.iter().map(score).sum::<f64>() / ws.len() as f64;
            right += bach.iter().filter(|w| score(w) > 0.0).count();
            right += ours.iter().filter(|w| score(w) <= 0.0).count();
            windows += bach.len() + ours.len();
            let (b, o) = (mean(bach), mean(ours));
            told += (b > 0.0) as usize + (o <= 0.0) as usize;
            ranked += (b > o) as usize;
            ranked_by_seed[seed] += (b > o) as usize;
            pairs_of_seed[seed] += 1;
        }
        let n = j.pieces.len() as f64;
        window_accuracy.push((split.name().to_string(), right as f64 / windows as f64));
        piece_accuracy.push((split.name().to_string(), told as f64 / (2.0 * n)));
        pairs_ranked_right.push((split.name().to_string(), ranked as f64 / n));
        let by_seed = ranked_by_seed
            .iter()
            .zip(&pairs_of_seed)
            .map(|(&r, &n)| r as f64 / n.max(1) as f64)
            .collect();
        pairs_by_seed.push((split.name().to_string(), by_seed));
    }
    Scored {
        classifier,
        window_accuracy,
        piece_accuracy,
        pairs_ranked_right,
        pairs_by_seed,
    }
}

/// Each feature's mean and standard deviation on the train windows.
struct Standardise {
    mean: Vec<f64>,
    sd: Vec<f64>,
}

impl Standardise {
    fn fit(x: &[&[f64]]) -> Self {
        let d = x.first().map_or(0, |w| w.len());
        let n = x.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for w in x {
            for (m, v) in mean.iter_mut().zip(w.iter()) {
                *m += v / n;
            }
        }
        let mut sd = vec![0.0; d];
        for w in x {
            for ((s, v), m) in sd.iter_mut().zip(w.iter()).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        // A feature that never varies is left at 0 rather than divided by 0.
        let sd = sd.into_iter().map(|v| v.sqrt().max(1e-9)).collect();
        Self { mean, sd }
    }

    fn apply(&self, w: &[f64]) -> Vec<f64> {
        w.iter()
            .zip(&self.mean)
            .zip(&self.sd)
            .map(|((v, m), s)| (v - m) / s)
            .collect()
    }
}

/// Logistic regression: `P(Bach) = σ(w·x + b)`.
struct Logistic {
    weights: Vec<f64>,
    bias: f64,
}

impl Logistic {
    fn fit(x: &[Vec<f64>], y: &[f64]) -> Self {
        let d = x.first().map_or(0, |w| w.len());
        let n = x.len().max(1) as f64;
        let mut model = Logistic {
            weights: vec![0.0; d],
            bias: 0.0,
        };
        for _ in 0..ITERATIONS {
            let mut grad = vec![0.0; d];
            let mut grad_b = 0.0;
            for (w, &label) in x.iter().zip(y) {
                let err = sigmoid(model.log_odds(w)) - label;
                for (g, v) in grad.iter_mut().zip(w) {
                    *g += err * v / n;
                }
                grad_b += err / n;
            }
            for (weight, g) in model.weights.iter_mut().zip(&grad) {
                *weight -= RATE * (g + L2 * *weight);
            }
            model.bias -= RATE * grad_b;
        }
        model
    }

    fn log_odds(&self, x: &[f64]) -> f64 {
        self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triads_have_roots() {
        let set = |pcs: &[u8]| pcs.iter().fold(0u16, |c, p| c | 1 << p);
        assert_eq!(triad_root(set(&[0, 4, 7]), 0), Some(0));
        assert_eq!(triad_root(set(&[9, 0, 4]), 1), Some(9));
        assert_eq!(triad_root(set(&[11, 2, 5]), 2), Some(11));
        assert_eq!(triad_root(set(&[0, 4, 8]), 3), Some(0));
        assert_eq!(triad_root(set(&[7, 11, 2, 5]), 4), None, "a seventh");
    }

    #[test]
    fn features_name_every_slot_and_read_a_root_position_chord() {
        // Four beats of C major, C3 G3 E4 C5, held.
        let chord = vec![Some(72), Some(64), Some(55), Some(48)];
        let steps = vec![chord; 16];
        let mut onsets = vec![[false; 4]; 16];
        onsets[0] = [true; 4];
        let on_beat: Vec<bool> = (0..16).map(|t| t % 4 == 0).collect();
        let f = window_features(&steps, &onsets, &on_beat, 0);
        let names = feature_names();
        assert_eq!(f.len(), names.len());
        let get = |name: &str| f[names.iter().position(|n| n == name).unwrap()];
        assert_eq!(get("chord on beats: major triad"), 0.25);
        assert_eq!(get("triads on beats: root in the bass"), 0.25);
        assert_eq!(get("bass on beats: 0 above the tonic"), 0.25);
        assert_eq!(get("spacing S-A 6th-octave"), 1.0);
        assert_eq!(get("crossings"), 0.0);
        assert_eq!(get("A onsets"), 1.0 / 16.0);
        assert_eq!(get("major triad over a bass 0 above the tonic"), 0.25);
        assert_eq!(FEATURES, names.len());
    }

    #[test]
    fn groups_cover_every_feature_once_and_hold_what_they_name() {
        let names = feature_names();
        let mut next = 0;
        for (_, columns) in &GROUPS {
            assert_eq!(columns.start, next, "groups are contiguous, in order");
            next = columns.end;
        }
        assert_eq!(next, names.len());
        let group = |name: &str| {
            names[GROUPS
                .iter()
                .find(|(g, _)| g.starts_with(name))
                .unwrap()
                .1
                .clone()]
            .to_vec()
        };
        assert!(group("voicing")
            .iter()
            .all(|n| n.starts_with("spacing") || n == "crossings"));
        assert!(group("chords")
            .iter()
            .all(|n| n.contains("on beats") || n.contains("over a bass")));
        assert!(group("outer").iter().all(|n| n.starts_with("S-B motion")));
        assert!(group("A, T, B")
            .iter()
            .all(|n| n.ends_with("onsets") || n.contains("leaps")));
    }

    /// A classifier seeing one column ranks the pairs by that column alone:
    /// all of them where only it differs, none where it says nothing.
    #[test]
    fn a_group_alone_is_judged_by_its_own_columns() {
        // Column 0 tells Bach (1) from ours (0); column 1 is the same for
        // both versions of a piece.
        let piece = |i: usize| {
            let noise = (i % 7) as f64;
            let bach = vec![vec![1.0, noise]; 3];
            let ours = vec![vec![0.0, noise]; 3];
            (bach, ours)
        };
        let judged: Vec<(Split, Judged)> = [Split::Train, Split::Valid, Split::Test]
            .into_iter()
            .map(|split| {
                let pieces = (0..20).map(piece).collect();
                let seed_of = vec![0; 20];
                (split, Judged { pieces, seed_of })
            })
            .collect();
        let telling = fit_and_score(&judged, 0..1);
        assert!(telling.pairs_ranked_right.iter().all(|(_, p)| *p == 1.0));
        assert!(telling.window_accuracy.iter().all(|(_, w)| *w == 1.0));
        let silent = fit_and_score(&judged, 1..2);
        assert!(
            silent.pairs_ranked_right.iter().all(|(_, p)| *p == 0.0),
            "a tie is not ranked right"
        );
    }

    /// Each seed's pairs are counted on their own as well as pooled.
    #[test]
    fn pairs_are_counted_by_seed_and_pooled() {
        // Seed 0 writes unlike Bach (column 0 is 0), seed 1 exactly like
        // him: a tie, which is not ranked right.
        let judged: Vec<(Split, Judged)> = [Split::Train, Split::Valid, Split::Test]
            .into_iter()
            .map(|split| {
                let pieces = (0..20)
                    .map(|i| {
                        let ours = if i % 2 == 0 { 0.0 } else { 1.0 };
                        (vec![vec![1.0]; 3], vec![vec![ours]; 3])
                    })
                    .collect();
                let seed_of = (0..20).map(|i| i % 2).collect();
                (split, Judged { pieces, seed_of })
            })
            .collect();
        let scored = fit_and_score(&judged, 0..1);
        for ((_, pooled), (_, by_seed)) in
            scored.pairs_ranked_right.iter().zip(&scored.pairs_by_seed)
        {
            assert_eq!(*pooled, 0.5);
            assert_eq!(by_seed, &vec![1.0, 0.0]);
        }
    }

    /// The regression separates what can be separated and leans on the
    /// feature that does it.
    #[test]
    fn the_regression_finds_the_telling_feature() {
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                vec![
                    if i % 2 == 0 { 1.0 } else { -1.0 },
                    ((i * 7) % 5) as f64 - 2.0,
                ]
            })
            .collect();
        let y: Vec<f64> = (0..200).map(|i| (i % 2 == 0) as u8 as f64).collect();
        let m = Logistic::fit(&x, &y);
        assert!(m.weights[0] > 2.0 * m.weights[1].abs(), "{:?}", m.weights);
        assert!(x
            .iter()
            .zip(&y)
            .all(|(w, &l)| (m.log_odds(w) > 0.0) == (l == 1.0)));
    }
}
