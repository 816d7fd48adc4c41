//! Harmony figures for four-part writing, to put a model's harmonizations
//! beside Bach's own: parallel fifths and octaves, voice crossings, notes out
//! of range, and how often strong beats sound consonant.
//!
//! Everything works on the sounding pitch of each voice at each 16th step.

use std::path::PathBuf;

use anyhow::{bail, Result};
use bach_engine::perform::{user_sampler, HarmonizeStep, Performer};
use bach_engine::token::sounding;
use bach_engine::voice_leading::{parallels, Parallel};
use bach_engine::{ModelKind, Sampler, StepContext, Token, VoiceRange, VoicesModel};
use serde::Serialize;

use crate::dataset::{Piece, Split};

/// The four voices' ranges in the JSB chorales (S, A, T, B), as in the data's README.
pub const BACH_RANGES: [VoiceRange; 4] = [
    VoiceRange::new(60, 81),
    VoiceRange::new(52, 74),
    VoiceRange::new(46, 69),
    VoiceRange::new(36, 66),
];

/// Counts gathered over pieces; [`HarmonyStats::summary`] turns them into rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HarmonyStats {
    pub steps: usize,
    pub parallel_fifths: usize,
    pub parallel_octaves: usize,
    /// Steps on which some lower voice sounds above a higher one.
    pub crossing_steps: usize,
    pub onsets: usize,
    pub out_of_range: usize,
    pub strong_beats: usize,
    pub consonant_strong_beats: usize,
    /// Pitch-class histogram of the sounding notes of voices 1.. (A, T, B).
    pub pitch_classes: [f64; 12],
}

/// Rates, as reported in BENCHMARKS.md.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HarmonySummary {
    pub steps: usize,
    pub parallel_fifths_per_100: f64,
    pub parallel_octaves_per_100: f64,
    pub parallels_per_100: f64,
    pub crossings_per_100: f64,
    /// Note onsets per 100 steps, all voices together (how busy the texture is).
    pub onsets_per_100: f64,
    pub out_of_range_share: f64,
    pub consonant_strong_beats: f64,
}

/// Sounding pitches of each voice at each step of a token sequence laid out
/// `tokens[t * voices + v]`.
pub fn sounding_pitches(tokens: &[Token], voices: usize) -> Vec<Vec<Option<u8>>> {
    let mut now = vec![None; voices];
    tokens
        .chunks_exact(voices)
        .map(|step| {
            for (v, t) in step.iter().enumerate() {
                now[v] = sounding(now[v], *t);
            }
            now.clone()
        })
        .collect()
}

/// True when the interval (in semitones, any octave) is consonant: unisons
/// and octaves, thirds, sixths and fifths; a fourth only between upper voices.
fn consonant(interval: u8, against_bass: bool) -> bool {
    match interval % 12 {
        0 | 3 | 4 | 7 | 8 | 9 => true,
        5 => !against_bass,
        _ => false,
    }
}

impl HarmonyStats {
    /// Adds a piece: `steps[t][v]`, voices ordered from the top (S) down.
    /// `onset[t][v]` says whether voice `v` starts a note at `t`.
    pub fn add(&mut self, tokens: &[Token], voices: usize, ranges: &[VoiceRange]) {
        let steps = sounding_pitches(tokens, voices);
        self.steps += steps.len();
        for (t, now) in steps.iter().enumerate() {
            // Onsets and ranges.
            for (v, token) in tokens[t * voices..(t + 1) * voices].iter().enumerate() {
                if let Token::Onset(p) = token {
                    self.onsets += 1;
                    if ranges.get(v).is_some_and(|r| !r.contains(*p)) {
                        self.out_of_range += 1;
                    }
                }
            }
            for p in now.iter().skip(1).flatten() {
                self.pitch_classes[(*p % 12) as usize] += 1.0;
            }
            // Crossings: a lower voice above a higher one.
            let crossing = (0..voices).any(|u| {
                (u + 1..voices).any(|l| matches!((now[u], now[l]), (Some(a), Some(b)) if b > a))
            });
            self.crossing_steps += crossing as usize;
            // Strong beats: the first and third beats of a 4/4 bar of 16ths.
            if t % 8 == 0 && now.iter().all(Option::is_some) && voices > 1 {
                self.strong_beats += 1;
                let p: Vec<u8> = now.iter().flatten().copied().collect();
                let bass = p[voices - 1];
                let ok = (0..voices).all(|u| {
                    (u + 1..voices).all(|l| {
                        let (hi, lo) = (p[u].max(p[l]), p[u].min(p[l]));
                        consonant(hi - lo, l == voices - 1 && lo == bass)
                    })
                });
                self.consonant_strong_beats += ok as usize;
            }
            // Parallels: both voices move, the same way, between two perfect
            // intervals of the same kind (the rule the sampler's strict mode enforces).
            if t == 0 {
                continue;
            }
            for p in parallels(&steps[t - 1], now) {
                match p {
                    Parallel::Fifth => self.parallel_fifths += 1,
                    Parallel::Octave => self.parallel_octaves += 1,
                }
            }
        }
    }

    pub fn summary(&self) -> HarmonySummary {
        let per_100 = |n: usize| 100.0 * n as f64 / self.steps.max(1) as f64;
        HarmonySummary {
            steps: self.steps,
            parallel_fifths_per_100: per_100(self.parallel_fifths),
            parallel_octaves_per_100: per_100(self.parallel_octaves),
            parallels_per_100: per_100(self.parallel_fifths + self.parallel_octaves),
            crossings_per_100: per_100(self.crossing_steps),
            onsets_per_100: per_100(self.onsets),
            out_of_range_share: self.out_of_range as f64 / self.onsets.max(1) as f64,
            consonant_strong_beats: self.consonant_strong_beats as f64
                / self.strong_beats.max(1) as f64,
        }
    }

    /// Half the L1 distance between two pitch-class distributions (0: equal, 1: disjoint).
    pub fn pitch_class_distance(&self, other: &HarmonyStats) -> f64 {
        let norm = |h: &[f64; 12]| {
            let s: f64 = h.iter().sum::<f64>().max(1e-12);
            h.map(|x| x / s)
        };
        let (a, b) = (norm(&self.pitch_classes), norm(&other.pitch_classes));
        0.5 * a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>()
    }
}

/// Harmonizes a soprano line (voice 0 of `tokens`) through the plugin's
/// performer, so by the plugin's rules: the soprano is clamped, the other
/// voices are sampled step by step with the bar position `t % 16`; they rest
/// while the soprano rests, and a phrase after a rest starts from a fresh
/// state. Returns the whole score in the same layout.
pub fn harmonize(
    model: &mut VoicesModel,
    tokens: &[Token],
    voices: usize,
    sampler: &Sampler,
    seed: u64,
) -> Vec<Token> {
    let mut performer = Performer::new(*sampler, seed);
    performer.restart(model, seed);
    let mut out = Vec::with_capacity(tokens.len());
    for (t, step) in tokens.chunks_exact(voices).enumerate() {
        match performer.harmonize_token(model, &StepContext::common(t), step[0]) {
            HarmonizeStep::Rest => out.extend(std::iter::repeat_n(Token::Rest, voices)),
            HarmonizeStep::Voices(voiced) => out.extend_from_slice(voiced),
        }
    }
    out
}

/// `bach-trainer harmony`: harmonize every soprano of a split and set the
/// harmony figures beside those of the original chorales.
#[derive(clap::Args, Debug)]
pub struct HarmonyArgs {
    /// A four-voice (SATB) voices model.
    #[arg(long)]
    pub model: PathBuf,
    /// A voice-separated dataset, such as Jsb16thSeparated.json.
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Sampling temperature for alto, tenor and bass (0: most likely).
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    /// Let voices move in parallel fifths and octaves (the plugin's strict
    /// voice leading off), to measure the model alone.
    #[arg(long)]
    pub free_voice_leading: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The figures for one split: the model's harmonizations and Bach's.
#[derive(Debug, Serialize)]
pub struct HarmonyReport {
    /// NLL per step of alto, tenor and bass given the soprano (and the past).
    pub atb_given_s_nll: f64,
    pub per_voice_nll: Vec<(String, f64)>,
    pub pieces: usize,
    pub model: HarmonySummary,
    pub bach: HarmonySummary,
    /// Model parallels per 100 steps over Bach's.
    pub parallels_ratio: f64,
    /// Half the L1 distance of the A, T, B pitch-class distributions (0 to 1).
    pub pitch_class_distance: f64,
}

/// Runs `bach-trainer harmony`.
pub fn run(args: HarmonyArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let row = |name: &str, h: &HarmonySummary| {
        format!(
            "{name:<6} {:>9.3} {:>9.3} {:>9.3} {:>10.3} {:>8.2} {:>11.4} {:>13.3}",
            h.parallel_fifths_per_100,
            h.parallel_octaves_per_100,
            h.parallels_per_100,
            h.crossings_per_100,
            h.onsets_per_100,
            h.out_of_range_share,
            h.consonant_strong_beats
        )
    };
    println!(
        "{} pieces; NLL of A, T, B given S: {:.4} nats per step ({})",
        report.pieces,
        report.atb_given_s_nll,
        report
            .per_voice_nll
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "per 100 steps: fifths   octaves  parallels  crossings  onsets  out-of-range  consonant-strong"
    );
    println!("{}", row("model", &report.model));
    println!("{}", row("Bach", &report.bach));
    println!(
        "parallels, model over Bach: {:.2}; pitch-class distance: {:.4}",
        report.parallels_ratio, report.pitch_class_distance
    );
    Ok(())
}

/// Computes the figures of [`run`].
pub fn report(args: &HarmonyArgs) -> Result<HarmonyReport> {
    let net = crate::load::load_network(&args.model)?;
    if net.meta.kind != ModelKind::Voices || net.meta.voices.len() != 4 {
        bail!("harmony figures need a four-voice (SATB) voices model");
    }
    let data = crate::load::load_dataset(&args.dataset, Some(ModelKind::Voices), None)?;
    crate::load::check_fit(&net.meta, &data)?;
    let pieces = data.split(args.split);
    if pieces.is_empty() {
        bail!("the {} split of {} is empty", args.split.name(), data.name);
    }
    let nll = crate::eval::evaluate(&net, pieces)?;
    let atb_given_s_nll = nll.per_voice.iter().skip(1).map(|(_, v)| v).sum();

    let mut model = VoicesModel::load(&args.model)?;
    let sampler = user_sampler(args.temperature, !args.free_voice_leading);
    let (mut ours, mut bach) = (HarmonyStats::default(), HarmonyStats::default());
    for (i, piece) in pieces.iter().enumerate() {
        let Piece::Voices { voices, tokens } = piece else {
            continue;
        };
        bach.add(tokens, *voices, &BACH_RANGES);
        let seed = args.seed.wrapping_add(i as u64);
        let harmony = harmonize(&mut model, tokens, *voices, &sampler, seed);
        ours.add(&harmony, *voices, &BACH_RANGES);
    }
    let (model_summary, bach_summary) = (ours.summary(), bach.summary());
    Ok(HarmonyReport {
        atb_given_s_nll,
        per_voice_nll: nll.per_voice,
        pieces: pieces.len(),
        parallels_ratio: model_summary.parallels_per_100 / bach_summary.parallels_per_100.max(1e-9),
        pitch_class_distance: ours.pitch_class_distance(&bach),
        model: model_summary,
        bach: bach_summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Token::{Hold as H, Onset as O, Rest as R};

    #[test]
    fn parallel_fifths_and_octaves_are_counted_once_each() {
        // S and B move up a step together a fifth apart, then an octave apart
        // moving down together, then in contrary motion.
        let tokens = [
            O(67),
            O(64),
            O(55),
            O(48), //
            O(69),
            H,
            H,
            O(50), // S-B: 67/48 = fifth+8ve -> 69/50: parallel fifth
            O(62),
            H,
            H,
            O(50), // S-B: 62/50 octave (from fifth): nothing
            O(60),
            H,
            O(52),
            O(48), // S-B 60/48 octave to octave, both down: parallel octave
            O(62),
            H,
            H,
            O(47), // contrary motion: nothing
        ];
        let mut s = HarmonyStats::default();
        s.add(&tokens, 4, &BACH_RANGES);
        assert_eq!(s.parallel_fifths, 1);
        assert_eq!(s.parallel_octaves, 1);
        assert_eq!(s.steps, 5);
        assert_eq!(s.summary().parallels_per_100, 40.0);
    }

    #[test]
    fn crossings_ranges_and_consonance() {
        // Step 0: C major (consonant). Step 8: a tritone against the bass, and
        // the tenor above the alto.
        let mut tokens = vec![O(72), O(67), O(64), O(48)];
        for _ in 1..8 {
            tokens.extend([H, H, H, H]);
        }
        tokens.extend([O(71), O(62), O(65), O(35)]);
        let mut s = HarmonyStats::default();
        s.add(&tokens, 4, &BACH_RANGES);
        assert_eq!(s.strong_beats, 2);
        assert_eq!(s.consonant_strong_beats, 1);
        assert_eq!(s.crossing_steps, 1);
        assert_eq!(s.onsets, 8);
        assert_eq!(s.out_of_range, 1, "the bass's 35 is below 36");
    }

    #[test]
    fn rests_silence_voices() {
        let tokens = [O(60), R, H, O(40), H, H, H, R];
        let p = sounding_pitches(&tokens, 4);
        assert_eq!(p[0], vec![Some(60), None, None, Some(40)]);
        assert_eq!(p[1], vec![Some(60), None, None, None]);
    }

    #[test]
    fn distance_of_equal_histograms_is_zero() {
        let mut a = HarmonyStats::default();
        a.pitch_classes[0] = 2.0;
        a.pitch_classes[7] = 2.0;
        let mut b = a.clone();
        assert_eq!(a.pitch_class_distance(&b), 0.0);
        b.pitch_classes = [0.0; 12];
        b.pitch_classes[1] = 1.0;
        assert!((a.pitch_class_distance(&b) - 1.0).abs() < 1e-12);
    }
}
