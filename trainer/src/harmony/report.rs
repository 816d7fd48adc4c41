//! `bach-trainer harmony`'s arguments and the figures it computes: every
//! soprano of a split harmonized at each lookahead, beside Bach's own, for
//! all pieces and by meter.

use std::path::PathBuf;

use anyhow::{bail, Result};
use bach_engine::perform::user_sampler;
use bach_engine::{Horizon, ModelKind, VoicesModel};
use serde::Serialize;

use super::{harmonize, HarmonyStats, HarmonySummary, KeySource, BACH_RANGES};
use crate::dataset::{Dataset, Piece, Split};

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

/// Whose harmonizations the model's are set beside: Bach's (the chorale
/// datasets, files) or the pieces' own (a folder of the user's MIDI files).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reference {
    #[default]
    Bach,
    Files,
}

impl Reference {
    /// A folder of MIDI files is the user's music; a file is a chorale dataset.
    pub fn of(dataset: &std::path::Path) -> Self {
        if dataset.is_dir() {
            Reference::Files
        } else {
            Reference::Bach
        }
    }

    /// The reference's rows in the tables ("Bach", "files").
    pub fn row(self) -> &'static str {
        match self {
            Reference::Bach => "Bach",
            Reference::Files => "files",
        }
    }

    /// Whose, in a sentence ("Bach's", "the files' own").
    pub fn whose(self) -> &'static str {
        match self {
            Reference::Bach => "Bach's",
            Reference::Files => "the files' own",
        }
    }
}

/// The figures for one split: the model's harmonizations and Bach's.
#[derive(Debug, Serialize)]
pub struct HarmonyReport {
    /// Whose the `bach` figures are; the JSON keeps its field names.
    #[serde(skip)]
    pub reference: Reference,
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

/// Computes the figures of [`super::run`].
pub fn report(args: &HarmonyArgs) -> Result<HarmonyReport> {
    check_model(&args.model)?;
    let data = crate::load::load_dataset(&args.dataset, Some(ModelKind::Voices), None)?;
    report_on(args, &data)
}

/// Fails unless `model` is a four-voice (SATB) voices model.
pub fn check_model(model: &std::path::Path) -> Result<()> {
    let net = crate::load::load_network(model)?;
    if net.meta.kind != ModelKind::Voices || net.meta.voices.len() != 4 {
        bail!("harmony figures need a four-voice (SATB) voices model");
    }
    Ok(())
}

/// The figures on `data`, read already (as `train` read it: with its
/// `--voices`, fitted to the model it started from); `args.dataset` only
/// names whose the reference is.
pub fn report_on(args: &HarmonyArgs, data: &Dataset) -> Result<HarmonyReport> {
    let net = crate::load::load_network(&args.model)?;
    if net.meta.kind != ModelKind::Voices || net.meta.voices.len() != 4 {
        bail!("harmony figures need a four-voice (SATB) voices model");
    }
    crate::load::check_fit(&net.meta, data)?;
    let reference = Reference::of(&args.dataset);
    // The user's own voices are the ranges their model learned; the
    // chorales' are Bach's.
    let model_ranges: Vec<_> = net.meta.voices.iter().map(|v| v.range()).collect();
    let ranges: &[bach_engine::VoiceRange] = match reference {
        Reference::Bach => &BACH_RANGES,
        Reference::Files => &model_ranges,
    };
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
                        .add(&harmony, *voices, ranges, piece.context());
                }
            }
            for &at in targets {
                per_group[at]
                    .1
                    .add(tokens, *voices, ranges, piece.context());
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
        reference,
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
