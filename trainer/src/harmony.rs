//! Harmony figures for four-part writing, to put a model's harmonizations
//! beside Bach's own: parallel fifths and octaves, voice crossings, notes out
//! of range, and how often strong beats sound consonant.
//!
//! Everything works on the sounding pitch of each voice at each 16th step.

use std::path::PathBuf;

use anyhow::{bail, Result};
use bach_engine::perform::cadence::is_root_position_triad;
use bach_engine::perform::line::harmonize_line;
use bach_engine::perform::{user_sampler, KeyChoice, Performer};
use bach_engine::token::sounding;
use bach_engine::voice_leading::{parallels, Parallel};
use bach_engine::{Horizon, Key, ModelKind, Sampler, Token, VoiceRange, VoicesModel};
use serde::Serialize;

use crate::dataset::{Piece, PieceContext, Split};
use crate::roman::{RomanStats, RomanSummary, CADENCES};

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
    /// Onsets of A, T and B in pieces whose key is known, and those of them
    /// outside it (see [`Key::in_scale`]).
    pub keyed_onsets: usize,
    pub out_of_key: usize,
    /// Pitch-class histogram of the sounding notes of voices 1.. (A, T, B).
    pub pitch_classes: [f64; 12],
    /// Fermatas (phrase ends) with every voice sounding; those on a complete
    /// root-position major or minor triad; and those whose bass also came
    /// by a fourth up or a fifth down (V-I).
    pub fermatas: usize,
    pub fermata_root_triads: usize,
    pub fermata_v_i: usize,
    /// A, T, B onsets in the pickup and the first full bar of keyed pieces,
    /// and those outside the key.
    pub opening_onsets: usize,
    pub opening_out_of_key: usize,
    /// Roman numerals on beats and cadences at fermatas (four-voice pieces
    /// with a key).
    pub roman: RomanStats,
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
    /// Share of A, T, B onsets outside the piece's key (the data's key);
    /// `None` when the data name no keys.
    pub out_of_key_share: Option<f64>,
    /// At the fermatas: the share on a complete root-position major or
    /// minor triad, and of those also with the bass arriving V-I (a fourth
    /// up or a fifth down); `None` when the data mark no fermatas.
    pub fermata_root_triad_share: Option<f64>,
    pub fermata_v_i_share: Option<f64>,
    /// A, T, B onsets outside the key in the pickup and the first full bar.
    pub opening_out_of_key_share: Option<f64>,
    /// Numerals on beats and cadence types at fermatas.
    pub roman: RomanSummary,
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
    /// Adds a piece: `tokens[t * voices + v]`, voices ordered from the top
    /// (S) down. `context` (the data's key and bars) sets the strong beats
    /// (the downbeat, and the third beat of a four-beat bar) and the key;
    /// without it a strong beat is every eighth step (4/4 from step 0).
    pub fn add(
        &mut self,
        tokens: &[Token],
        voices: usize,
        ranges: &[VoiceRange],
        context: Option<&PieceContext>,
    ) {
        let steps = sounding_pitches(tokens, voices);
        self.steps += steps.len();
        if let Some(c) = context {
            self.add_phrase_ends(tokens, voices, &steps, c);
            self.roman.add(&steps, c);
        }
        for (t, now) in steps.iter().enumerate() {
            // Onsets, ranges and the key.
            for (v, token) in tokens[t * voices..(t + 1) * voices].iter().enumerate() {
                if let Token::Onset(p) = token {
                    self.onsets += 1;
                    if ranges.get(v).is_some_and(|r| !r.contains(*p)) {
                        self.out_of_range += 1;
                    }
                    if let (Some(c), true) = (context, v > 0) {
                        self.keyed_onsets += 1;
                        self.out_of_key += !c.key.in_scale(p % 12) as usize;
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
            let strong = match context.and_then(|c| c.bars.get(t)) {
                Some(bar) => bar.is_strong(),
                None => t % 8 == 0,
            };
            if strong && now.iter().all(Option::is_some) && voices > 1 {
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

    /// The fermata and first-bar figures of one piece (see the fields).
    fn add_phrase_ends(
        &mut self,
        tokens: &[Token],
        voices: usize,
        steps: &[Vec<Option<u8>>],
        c: &PieceContext,
    ) {
        let bass = voices - 1;
        for &f in &c.fermatas {
            let Some(now) = steps.get(f) else { continue };
            if voices < 2 || now.iter().any(Option::is_none) {
                continue;
            }
            self.fermatas += 1;
            let low = now[bass].unwrap_or(0);
            if !is_root_position_triad(now.iter().flatten().copied(), low) {
                continue;
            }
            self.fermata_root_triads += 1;
            // The bass note sounding before the fermata's bass note began.
            let mut start = f;
            while start > 0 && tokens[start * voices + bass] == Token::Hold {
                start -= 1;
            }
            let before = start.checked_sub(1).and_then(|t| steps[t][bass]);
            if let Some(b) = before {
                let step = low as i32 - b as i32;
                self.fermata_v_i += (step == 5 || step == -7) as usize;
            }
        }
        // The pickup (steps before the first downbeat) and the first full bar.
        let downbeats: Vec<usize> = (0..steps.len())
            .filter(|&t| c.bars.get(t).is_some_and(|b| b.step == 0))
            .take(2)
            .collect();
        // With a pickup the first downbeat ends it; either way the second
        // ends the first full bar.
        let end = downbeats.get(1).copied().unwrap_or(steps.len());
        for t in 0..end.min(steps.len()) {
            for token in &tokens[t * voices + 1..(t + 1) * voices] {
                if let Token::Onset(p) = token {
                    self.opening_onsets += 1;
                    self.opening_out_of_key += !c.key.in_scale(p % 12) as usize;
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
            out_of_key_share: (self.keyed_onsets > 0)
                .then(|| self.out_of_key as f64 / self.keyed_onsets as f64),
            fermata_root_triad_share: (self.fermatas > 0)
                .then(|| self.fermata_root_triads as f64 / self.fermatas as f64),
            fermata_v_i_share: (self.fermatas > 0)
                .then(|| self.fermata_v_i as f64 / self.fermatas as f64),
            opening_out_of_key_share: (self.opening_onsets > 0)
                .then(|| self.opening_out_of_key as f64 / self.opening_onsets as f64),
            roman: self.roman.summary(),
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

/// Where each piece's key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// As the plugin's Auto: followed from the melody as far as it is known
    /// (the whole melody's key when the whole melody is known).
    Auto,
    /// The data's key (the piece's analysed key).
    Data,
    /// One key for every piece.
    Fixed(Key),
}

impl std::str::FromStr for KeySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(KeySource::Auto),
            "data" => Ok(KeySource::Data),
            _ => Key::parse(s).map(KeySource::Fixed).ok_or_else(|| {
                format!("{s:?} is not auto, data or a key such as \"D major\" or \"f# minor\"")
            }),
        }
    }
}

impl KeySource {
    pub fn name(self) -> String {
        match self {
            KeySource::Auto => "auto".into(),
            KeySource::Data => "the data's".into(),
            KeySource::Fixed(k) => k.name().into(),
        }
    }
}

/// Harmonizes a piece's soprano (voice 0) through the plugin's performer
/// ([`harmonize_line`]): the soprano is clamped, the other voices are
/// sampled step by step in the piece's meter (4/4 for pieces without one),
/// in the key `key` gives, with the melody known `horizon` ahead; they rest
/// while the soprano rests, and a phrase after a rest starts from a fresh
/// state. Returns the whole score in the same layout.
pub fn harmonize(
    model: &mut VoicesModel,
    piece: &Piece,
    sampler: &Sampler,
    seed: u64,
    key: KeySource,
    horizon: Horizon,
) -> Vec<Token> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return Vec::new();
    };
    let melody: Vec<Token> = tokens.iter().step_by((*voices).max(1)).copied().collect();
    let context = piece.context();
    let choice = match key {
        KeySource::Fixed(k) => KeyChoice::Fixed(k),
        KeySource::Data => context.map_or(KeyChoice::Auto, |c| KeyChoice::Fixed(c.key)),
        KeySource::Auto => KeyChoice::Auto,
    };
    // Pieces without meters are harmonized as the old models were: 4/4 from
    // the first step, and nothing ahead.
    let (bars, horizon) = match context {
        Some(c) => (c.bars.as_slice(), horizon),
        None => (&[][..], Horizon::Off),
    };
    let mut performer = Performer::new(*sampler, seed);
    performer.restart(model, seed);
    harmonize_line(model, &mut performer, &melody, bars, choice, horizon)
}

/// `bach-trainer harmony`: harmonize every soprano of a split and set the
/// harmony figures beside those of the original chorales.
#[derive(clap::Args, Debug)]
pub struct HarmonyArgs {
    /// A four-voice (SATB) voices model.
    #[arg(long)]
    pub model: PathBuf,
    /// A voices dataset: the annotated chorales (chorales.json, with keys and
    /// meters) or a voice-separated file such as Jsb16thSeparated.json.
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
    /// Seeds to harmonize with; the figures pool them (the mean).
    #[arg(long = "seed", value_delimiter = ',', default_values_t = [1u64])]
    pub seeds: Vec<u64>,
    /// The key: auto (followed from the melody, as the plugin's Auto), data
    /// (each piece's own key from the dataset), or a key such as "D major".
    #[arg(long, default_value = "auto")]
    pub key: KeySource,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl HarmonyArgs {
    /// The command's own defaults (split, temperature, seed, key, strict
    /// voice leading) for `model` on `dataset`, read from its arguments
    /// above, so callers cannot drift from what `bach-trainer harmony` does.
    pub fn defaults(model: PathBuf, dataset: PathBuf) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Command {
            #[command(flatten)]
            args: HarmonyArgs,
        }
        let mut args = Command::parse_from(["harmony", "--model", "-", "--dataset", "-"]).args;
        args.model = model;
        args.dataset = dataset;
        args
    }
}

/// The figures for one lookahead and one group of meters.
#[derive(Debug, Serialize)]
pub struct HarmonyRow {
    pub lookahead: String,
    /// "all", or the first bar's meter ("4/4", "3/4", "other").
    pub meter: String,
    pub pieces: usize,
    /// NLL per step of alto, tenor and bass given the soprano (and the past).
    pub atb_given_s_nll: f64,
    pub model: HarmonySummary,
    pub bach: HarmonySummary,
    /// Model parallels per 100 steps over Bach's.
    pub parallels_ratio: f64,
    /// Half the L1 distance of the numeral mixes on beats, ours and Bach's
    /// (0 to 1; [`RomanStats::distance`]).
    pub numeral_distance: f64,
}

/// The figures for one split: the model's harmonizations and Bach's.
#[derive(Debug, Serialize)]
pub struct HarmonyReport {
    /// NLL per step of alto, tenor and bass given the soprano (and the
    /// past), with no lookahead, over all pieces.
    pub atb_given_s_nll: f64,
    pub per_voice_nll: Vec<(String, f64)>,
    pub pieces: usize,
    /// No lookahead, all pieces.
    pub model: HarmonySummary,
    pub bach: HarmonySummary,
    /// Model parallels per 100 steps over Bach's (no lookahead, all pieces).
    pub parallels_ratio: f64,
    /// Half the L1 distance of the A, T, B pitch-class distributions (0 to 1).
    pub pitch_class_distance: f64,
    pub key: String,
    pub seeds: Vec<u64>,
    /// Every lookahead the model can use, by group of meters.
    pub rows: Vec<HarmonyRow>,
}

/// Runs `bach-trainer harmony`.
pub fn run(args: HarmonyArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{} pieces; key {}; seeds {:?}; NLL of A, T, B given S, no lookahead: {:.4} nats per step ({})",
        report.pieces,
        report.key,
        report.seeds,
        report.atb_given_s_nll,
        report
            .per_voice_nll
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:<13} {:<5} {:>6} {:>8} {:>10} {:>8} {:>10} {:>9} {:>9} {:>7} {:>7} {:>8} {:>6} {:>9}",
        "lookahead",
        "meter",
        "pieces",
        "NLL ATB",
        "consonant",
        "off-key",
        "parallels",
        "x Bach",
        "crossings",
        "onsets",
        "range",
        "fermata",
        "V-I",
        "opening"
    );
    let percent = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
    for r in &report.rows {
        let rows = [
            ("", &r.model, Some(r.atb_given_s_nll)),
            (" Bach", &r.bach, None),
        ];
        for (who, h, nll) in rows {
            if !who.is_empty() && r.lookahead != "off" {
                continue;
            }
            println!(
                "{:<13} {:<5} {:>6} {:>8} {:>10} {:>8} {:>10.3} {:>9} {:>9.3} {:>7.2} {:>7} {:>8} {:>6} {:>9}",
                if who.is_empty() {
                    r.lookahead.clone()
                } else {
                    "Bach".into()
                },
                r.meter,
                r.pieces,
                nll.map_or("-".into(), |n| format!("{n:.4}")),
                percent(Some(h.consonant_strong_beats)),
                percent(h.out_of_key_share),
                h.parallels_per_100,
                if who.is_empty() {
                    format!("{:.2}", r.parallels_ratio)
                } else {
                    "-".into()
                },
                h.crossings_per_100,
                h.onsets_per_100,
                percent(Some(h.out_of_range_share)),
                percent(h.fermata_root_triad_share),
                percent(h.fermata_v_i_share),
                percent(h.opening_out_of_key_share),
            );
        }
    }
    println!(
        "per 100 steps: parallels, crossings, onsets; consonant: share of strong beats; \
         off-key: A, T, B onsets outside the piece's key; fermata: phrase ends on a complete \
         root-position triad; V-I: those with the bass a fourth up or fifth down; opening: \
         A, T, B onsets outside the key in the pickup and first full bar; pitch-class \
         distance {:.4}",
        report.pitch_class_distance
    );
    print_roman(&report);
    Ok(())
}

/// The cadences at fermatas and the Roman numerals on beats, each
/// lookahead (all meters) beside Bach (`roman.rs`).
fn print_roman(report: &HarmonyReport) {
    let rows: Vec<&HarmonyRow> = report.rows.iter().filter(|r| r.meter == "all").collect();
    let Some(first) = rows.first() else { return };
    if first.bach.roman.numerals.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<13} {:>9} {:>6} {:>7} {:>9} {:>6} {:>9}  commonest numerals on beats, share \
         (Bach's eight commonest)",
        "cadences", CADENCES[0], CADENCES[1], CADENCES[2], CADENCES[3], CADENCES[4], "numerals",
    );
    // Bach's eight commonest numerals, the columns every row is read in.
    let names: Vec<&str> = first
        .bach
        .roman
        .numerals
        .iter()
        .take(8)
        .map(|(n, _)| n.as_str())
        .collect();
    let share = |s: &RomanSummary, n: &str| {
        s.numerals
            .iter()
            .find(|(m, _)| m == n)
            .map_or(0.0, |(_, x)| *x)
    };
    let bach = ("Bach", &first.bach.roman, None);
    let ours = rows.iter().map(|r| {
        (
            r.lookahead.as_str(),
            &r.model.roman,
            Some(r.numeral_distance),
        )
    });
    for (who, s, distance) in std::iter::once(bach).chain(ours) {
        let c = s
            .cadences
            .unwrap_or([0.0; 5])
            .map(|x| format!("{:.1}%", 100.0 * x));
        let mix: Vec<String> = names
            .iter()
            .map(|n| format!("{n} {:.1}%", 100.0 * share(s, n)))
            .collect();
        println!(
            "{:<13} {:>9} {:>6} {:>7} {:>9} {:>6} {:>9}  {}",
            who,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            distance.map_or("-".into(), |d| format!("{d:.3}")),
            mix.join(", ")
        );
    }
    println!(
        "cadences: at the fermatas, the chord there and the last different one on a beat \
         before it; numerals: distance of the mix of numerals on beats from Bach's (0 to 1), \
         root-position forms, in the data's key (bach_engine::chord)"
    );
}

/// The meter group of a piece: its first bar's meter ("4/4", "3/4",
/// "other"; "all" for a piece without meters).
pub fn meter_group(piece: &Piece) -> &'static str {
    match piece.context().and_then(|c| c.bars.first()) {
        None => "all",
        Some(b) if b.bar_steps == 16 && b.beat_steps == 4 => "4/4",
        Some(b) if b.bar_steps == 12 && b.beat_steps == 4 => "3/4",
        Some(_) => "other",
    }
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
    if args.seeds.is_empty() {
        bail!("--seed needs at least one seed");
    }
    let mut model = VoicesModel::load(&args.model)?;
    let sampler = user_sampler(args.temperature, !args.free_voice_leading);
    // A model told nothing ahead plays the same at every lookahead.
    let horizons: &[Horizon] = if net.meta.ahead_notes() > 0 && pieces[0].context().is_some() {
        &Horizon::ALL
    } else {
        &[Horizon::Off]
    };
    let mut groups: Vec<&'static str> = vec!["all"];
    for p in pieces {
        let g = meter_group(p);
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    groups[1..].sort();
    let mut rows = Vec::new();
    let mut headline = None;
    for &horizon in horizons {
        let mut per_group: Vec<(HarmonyStats, HarmonyStats)> =
            vec![Default::default(); groups.len()];
        for (i, piece) in pieces.iter().enumerate() {
            let Piece::Voices { voices, tokens, .. } = piece else {
                continue;
            };
            let g = groups
                .iter()
                .position(|&g| g == meter_group(piece))
                .unwrap_or(0);
            // Every piece counts in "all" (group 0) and in its meter's group.
            let targets: &[usize] = if g == 0 { &[0] } else { &[0, g] };
            for &seed in &args.seeds {
                let harmony = harmonize(
                    &mut model,
                    piece,
                    &sampler,
                    seed.wrapping_add(i as u64),
                    args.key,
                    horizon,
                );
                for &at in targets {
                    per_group[at]
                        .0
                        .add(&harmony, *voices, &BACH_RANGES, piece.context());
                }
            }
            for &at in targets {
                per_group[at]
                    .1
                    .add(tokens, *voices, &BACH_RANGES, piece.context());
            }
        }
        for (gi, group) in groups.iter().enumerate() {
            let members: Vec<Piece> = pieces
                .iter()
                .filter(|p| gi == 0 || meter_group(p) == *group)
                .map(|p| p.with_horizon(horizon))
                .collect();
            if members.is_empty() {
                continue;
            }
            let nll = crate::eval::evaluate(&net, &members)?;
            let atb: f64 = nll.per_voice.iter().skip(1).map(|(_, v)| v).sum();
            let (ours, bach) = &per_group[gi];
            let (m, b) = (ours.summary(), bach.summary());
            if gi == 0 && horizon == Horizon::Off {
                headline = Some((
                    atb,
                    nll.per_voice.clone(),
                    m.clone(),
                    b.clone(),
                    ours.pitch_class_distance(bach),
                ));
            }
            rows.push(HarmonyRow {
                lookahead: horizon.name().into(),
                meter: (*group).into(),
                pieces: members.len(),
                atb_given_s_nll: atb,
                parallels_ratio: m.parallels_per_100 / b.parallels_per_100.max(1e-9),
                numeral_distance: ours.roman.distance(&bach.roman),
                model: m,
                bach: b,
            });
        }
    }
    let (atb_given_s_nll, per_voice_nll, model_summary, bach_summary, pitch_class_distance) =
        headline.expect("the first lookahead is off");
    Ok(HarmonyReport {
        atb_given_s_nll,
        per_voice_nll,
        pieces: pieces.len(),
        parallels_ratio: model_summary.parallels_per_100 / bach_summary.parallels_per_100.max(1e-9),
        pitch_class_distance,
        model: model_summary,
        bach: bach_summary,
        key: args.key.name(),
        seeds: args.seeds.clone(),
        rows,
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
        s.add(&tokens, 4, &BACH_RANGES, None);
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
        s.add(&tokens, 4, &BACH_RANGES, None);
        assert_eq!(s.strong_beats, 2);
        assert_eq!(s.consonant_strong_beats, 1);
        assert_eq!(s.crossing_steps, 1);
        assert_eq!(s.onsets, 8);
        assert_eq!(s.out_of_range, 1, "the bass's 35 is below 36");
    }

    #[test]
    fn fermatas_and_the_first_bar_are_counted() {
        use bach_engine::{BarPosition, Meter};
        // In 2/4 (bars of 8 steps) after a one-beat pickup (G major): C
        // major over a bass falling a fifth (V-I) with a fermata, C over E
        // with an F sharp and a fermata, and the F sharp again after the
        // first full bar (steps 4 to 11).
        let chord = |s, a, t, b| [O(s), O(a), O(t), O(b), H, H, H, H, H, H, H, H, H, H, H, H];
        let mut tokens = Vec::new();
        tokens.extend(chord(74, 71, 67, 55));
        tokens.extend(chord(72, 67, 64, 48));
        tokens.extend(chord(72, 66, 60, 52));
        tokens.extend(chord(72, 66, 60, 48));
        let context = PieceContext {
            key: Key {
                tonic: 0,
                mode: bach_engine::Mode::Major,
            },
            bars: (0..16)
                .map(|t| BarPosition::new((t + 4) % 8, Meter::new(2, 4), 0.25))
                .collect(),
            horizon: Horizon::Off,
            fermatas: vec![4, 8],
        };
        let mut h = HarmonyStats::default();
        h.add(&tokens, 4, &BACH_RANGES, Some(&context));
        assert_eq!(
            (h.fermatas, h.fermata_root_triads, h.fermata_v_i),
            (2, 1, 1)
        );
        assert_eq!((h.opening_onsets, h.opening_out_of_key), (9, 1));
        let s = h.summary();
        assert_eq!(s.fermata_root_triad_share, Some(0.5));
        assert_eq!(s.fermata_v_i_share, Some(0.5));
        assert_eq!(s.opening_out_of_key_share, Some(1.0 / 9.0));
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
