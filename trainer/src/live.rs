//! `bach-trainer live`: the harmony figures of melodies played as people
//! play them, through the plugin's own sequencer, beside the same melodies
//! played on the grid and beside Bach.
//!
//! Each soprano of a split is played through the engine's pretend host
//! (`bach_engine::sequencer::session`) as the plugin hears it: on the
//! grid, every note 15 ms late or early, with human timing (each note-on
//! and note-off off by a Gaussian of 20 ms, at most 40), and freely with the
//! transport stopped, 20% slower and faster than the host's tempo. The
//! voices the plugin plays are read back onto the melody's grid (each event
//! to its nearest step; for free playing, the player's own grid) and
//! measured with [`crate::harmony`]'s figures, plus what timing alone can
//! spoil: harmony notes shorter than 30 ms, and how many voice-steps differ
//! from the on-grid performance.

use std::path::PathBuf;

use anyhow::{bail, Result};
use bach_engine::meter::Meter;
use bach_engine::perform::KeyChoice;
use bach_engine::score::{Note, Part};
use bach_engine::sequencer::session::{
    host_notes, humanize, stop, voice_notes, MeterRegion, Session, Timeline, Touch, VoiceEvent,
    SAMPLE_RATE,
};
use bach_engine::sequencer::Settings;
use bach_engine::token::sounding;
use bach_engine::{Token, VoicesModel};
use serde::Serialize;

use crate::dataset::{Piece, PieceContext, Split};
use crate::harmony::{HarmonyStats, HarmonySummary, BACH_RANGES};

/// How a soprano is played to the plugin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Playing {
    /// With the host's transport running, with this touch.
    Host(Touch),
    /// Transport stopped, at this factor of the host's tempo.
    Free(f64),
}

impl Playing {
    /// The ways the table plays a melody.
    pub const ALL: [Playing; 6] = [
        Playing::Host(Touch::OnGrid),
        Playing::Host(Touch::Shifted(15.0)),
        Playing::Host(Touch::Shifted(-15.0)),
        Playing::Host(Touch::Human {
            sigma_ms: 20.0,
            max_ms: 40.0,
        }),
        Playing::Free(0.8),
        Playing::Free(1.2),
    ];

    pub fn name(self) -> String {
        match self {
            Playing::Host(touch) => touch.name(),
            Playing::Free(f) => format!("free, {:.0}% of the tempo", 100.0 * f),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct LiveArgs {
    /// A four-voice (SATB) voices model.
    #[arg(long)]
    pub model: PathBuf,
    /// The annotated chorales (chorales.json, with keys and meters).
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// The host's tempo in beats per minute.
    #[arg(long, default_value_t = 80.0)]
    pub bpm: f64,
    /// The plugin's Timing: how late a note may be and still count as on
    /// its beat, in milliseconds.
    #[arg(long, default_value_t = bach_engine::sequencer::feel::DEFAULT_TIMING_MS)]
    pub timing: f64,
    /// Sampling temperature (the plugin's default 0.3).
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    /// Seeds; the figures pool them.
    #[arg(long = "seed", value_delimiter = ',', default_values_t = [1u64])]
    pub seeds: Vec<u64>,
    /// Only the first N pieces of the split (for a quick look).
    #[arg(long)]
    pub pieces: Option<usize>,
    /// Only pieces whose melody starts on a downbeat (no pickup): with the
    /// transport stopped the plugin takes the first note as a one-beat
    /// pickup until a long note tells where the bar starts.
    #[arg(long)]
    pub downbeats: bool,
    /// Only pieces in this meter (by their first bar): 4/4 or 3/4.
    #[arg(long, value_parser = ["4/4", "3/4"])]
    pub meter: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The figures for one way of playing.
#[derive(Debug, Serialize)]
pub struct LiveRow {
    pub playing: String,
    pub harmony: HarmonySummary,
    /// Half the L1 distance between the A, T, B note-length mixes, ours and Bach's.
    pub note_length_distance: f64,
    /// Half the L1 distance between the chord-type mixes on beats.
    pub chord_type_distance: f64,
    /// Generated notes shorter than 30 ms, and all generated notes.
    pub short_notes: usize,
    pub notes: usize,
    /// Share of A, T, B voice-steps sounding other than on the grid.
    pub differs_from_grid: f64,
}

#[derive(Debug, Serialize)]
pub struct LiveReport {
    pub pieces: usize,
    pub bpm: f64,
    pub timing_ms: f64,
    pub seeds: Vec<u64>,
    pub bach: HarmonySummary,
    pub rows: Vec<LiveRow>,
}

/// Runs `bach-trainer live`.
pub fn run(args: LiveArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{} pieces{}{} at {} bpm, Timing {} ms, seeds {:?}",
        report.pieces,
        args.meter
            .as_deref()
            .map_or(String::new(), |m| format!(" in {m}")),
        if args.downbeats {
            " (starting on a downbeat)"
        } else {
            ""
        },
        report.bpm,
        report.timing_ms,
        report.seeds
    );
    println!(
        "{:<32} {:>9} {:>7} {:>7} {:>9} {:>8} {:>14} {:>9}",
        "played",
        "consonant",
        "chords",
        "lengths",
        "crossings",
        "off-key",
        "notes < 30 ms",
        "differs"
    );
    let percent = |x: f64| format!("{:.1}%", 100.0 * x);
    let b = &report.bach;
    println!(
        "{:<32} {:>9} {:>7} {:>7} {:>9.2} {:>8} {:>14} {:>9}",
        "Bach",
        percent(b.consonant_strong_beats),
        "-",
        "-",
        b.crossings_per_100,
        b.out_of_key_share.map_or("-".into(), percent),
        "-",
        "-"
    );
    for r in &report.rows {
        let h = &r.harmony;
        println!(
            "{:<32} {:>9} {:>7.3} {:>7.3} {:>9.2} {:>8} {:>14} {:>9}",
            r.playing,
            percent(h.consonant_strong_beats),
            r.chord_type_distance,
            r.note_length_distance,
            h.crossings_per_100,
            h.out_of_key_share.map_or("-".into(), percent),
            format!(
                "{} ({:.2}%)",
                r.short_notes,
                100.0 * r.short_notes as f64 / r.notes.max(1) as f64
            ),
            percent(r.differs_from_grid),
        );
    }
    println!(
        "consonant: strong beats; chords, lengths: distance of the chord-type and A, T, B \
         note-length mixes from Bach's (0 to 1); crossings per 100 steps; differs: A, T, B \
         voice-steps unlike the on-grid performance"
    );
    Ok(())
}

/// Computes the figures of [`run`].
pub fn report(args: &LiveArgs) -> Result<LiveReport> {
    if !(args.bpm.is_finite() && (20.0..=300.0).contains(&args.bpm)) {
        bail!("--bpm {} is not a playable tempo (20 to 300)", args.bpm);
    }
    // The engine's model alone: these figures need no candle network.
    let (mut model, data) = crate::load::satb_and_data(&args.model, &args.dataset, "live figures")?;
    let mut pieces: Vec<&Piece> = data
        .split(args.split)
        .iter()
        .filter(|p| p.context().is_some())
        .filter(|p| !args.downbeats || starts_on_a_downbeat(p))
        .filter(|p| {
            args.meter
                .as_deref()
                .is_none_or(|m| crate::harmony::meter_group(p) == m)
        })
        .collect();
    if let Some(n) = args.pieces {
        pieces.truncate(n);
    }
    if pieces.is_empty() {
        bail!("live figures need annotated pieces (chorales.json with keys and meters)");
    }
    if args.seeds.is_empty() {
        bail!("--seed needs at least one seed");
    }
    let mut bach = Mix::default();
    let mut ours: Vec<Mix> = Playing::ALL.iter().map(|_| Mix::default()).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let Piece::Voices {
            voices: 4, tokens, ..
        } = piece
        else {
            continue;
        };
        let context = piece.context().expect("annotated");
        bach.add(tokens, context, None, &[]);
        for &seed in &args.seeds {
            let settings = Settings {
                temperature: args.temperature,
                seed: seed.wrapping_add(i as u64),
                key: KeyChoice::Auto,
                timing_ms: args.timing,
                ..Settings::default()
            };
            let mut on_grid = None;
            for (k, &playing) in Playing::ALL.iter().enumerate() {
                let jitter = seed.wrapping_mul(1000).wrapping_add(i as u64);
                let (harmony, events) = perform(
                    &mut model, tokens, context, playing, args.bpm, &settings, jitter,
                )?;
                ours[k].add(&harmony, context, on_grid.as_deref(), &events);
                if k == 0 {
                    on_grid = Some(harmony);
                }
            }
        }
    }
    let bach_summary = bach.stats.summary();
    let rows = Playing::ALL
        .iter()
        .zip(&ours)
        .map(|(playing, mix)| LiveRow {
            playing: playing.name(),
            harmony: mix.stats.summary(),
            note_length_distance: distance(&mix.lengths, &bach.lengths),
            chord_type_distance: distance(&mix.chords, &bach.chords),
            short_notes: mix.short,
            notes: mix.notes,
            differs_from_grid: mix.differs as f64 / mix.compared.max(1) as f64,
        })
        .collect();
    Ok(LiveReport {
        pieces: pieces.len(),
        bpm: args.bpm,
        timing_ms: args.timing,
        seeds: args.seeds.clone(),
        bach: bach_summary,
        rows,
    })
}

/// Whether the piece's first melody note falls on a bar line.
fn starts_on_a_downbeat(piece: &Piece) -> bool {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return false;
    };
    let first = tokens
        .iter()
        .step_by((*voices).max(1))
        .position(|t| matches!(t, Token::Onset(_)));
    match (first, piece.context()) {
        (Some(t), Some(c)) => c.bars.get(t).is_some_and(|b| b.step == 0),
        _ => false,
    }
}

/// Steps of silence before a melody, so early notes fit.
const LEAD: u32 = 16;

/// Plays the soprano of `tokens` to the plugin's sequencer as `playing`
/// says, and reads its voices back onto the melody's grid: the
/// performance's tokens (`[t * 4 + v]`, the soprano as in the data) and the
/// generated events.
fn perform(
    model: &mut VoicesModel,
    tokens: &[Token],
    context: &PieceContext,
    playing: Playing,
    bpm: f64,
    settings: &Settings,
    jitter: u64,
) -> Result<(Vec<Token>, Vec<VoiceEvent>)> {
    let steps = (tokens.len() / 4) as u32;
    let melody = soprano_notes(tokens, LEAD);
    let (session, grid) = match playing {
        Playing::Host(touch) => {
            let timeline = Timeline::constant(0.25, 0.0, bpm);
            let input = humanize(&host_notes(&melody, &timeline), touch, jitter);
            let length = timeline.sample_of_step(LEAD + steps + 8);
            let regions = meter_regions(&context.meters, LEAD);
            (
                timeline.session_in_meters(input, length, &regions),
                timeline,
            )
        }
        Playing::Free(factor) => {
            // The player's own grid; the host's transport is stopped at `bpm`.
            let timeline = Timeline::constant(0.25, 0.0, bpm * factor);
            let input = humanize(
                &host_notes(&melody, &timeline),
                Touch::Human {
                    sigma_ms: 10.0,
                    max_ms: 30.0,
                },
                jitter,
            );
            let length = timeline.sample_of_step(LEAD + steps + 8);
            let mut segment = stop(0, bpm);
            if let Some(first) = context.meters.first() {
                segment.meter = first.meter;
            }
            let session = Session {
                segments: vec![segment],
                notes: input,
                length,
            };
            (session, timeline)
        }
    };
    let events = session.play(model, settings)?;
    let notes = voice_notes(&events, &grid, 4, LEAD + steps);
    let mut out = vec![Token::Rest; tokens.len()];
    for t in 0..steps as usize {
        out[t * 4] = tokens[t * 4];
    }
    for (v, voice) in notes.iter().enumerate().skip(1) {
        for n in voice {
            let Some(start) = n.start.checked_sub(LEAD) else {
                continue;
            };
            for t in start..(start + n.len).min(steps) {
                out[t as usize * 4 + v] = if t == start {
                    Token::Onset(n.pitch)
                } else {
                    Token::Hold
                };
            }
        }
    }
    Ok((out, events))
}

/// The soprano's notes (voice 0 of `tokens`), `lead` steps later.
fn soprano_notes(tokens: &[Token], lead: u32) -> Vec<Note> {
    let soprano: Vec<Token> = tokens.iter().step_by(4).copied().collect();
    let mut notes = Part::from_tokens("Soprano", 0, &soprano, 90).notes;
    for n in &mut notes {
        n.start += lead;
    }
    notes
}

/// A piece's meters as the host reports them when its first step is played
/// `lead` steps into the session (4/4 where the piece names none).
fn meter_regions(meters: &[MeterRegion], lead: u32) -> Vec<MeterRegion> {
    if meters.is_empty() {
        return vec![MeterRegion {
            step: 0,
            meter: Meter::COMMON,
            bar_step: lead as i64,
        }];
    }
    meters
        .iter()
        .enumerate()
        .map(|(i, m)| MeterRegion {
            // The first meter holds from the session's start, before the lead.
            step: if i == 0 { 0 } else { lead + m.step },
            meter: m.meter,
            bar_step: lead as i64 + m.bar_step,
        })
        .collect()
}

/// Note lengths counted (in 16ths, the last bucket for 16 and longer).
const LENGTHS: usize = 17;
/// Chord types on beats: major, minor, diminished, augmented triads,
/// dominant seventh, other seventh, two pitch classes or fewer, anything else.
const CHORDS: usize = 8;

/// What a group of performances adds up to.
#[derive(Default)]
struct Mix {
    stats: HarmonyStats,
    lengths: [f64; LENGTHS],
    chords: [f64; CHORDS],
    short: usize,
    notes: usize,
    differs: usize,
    compared: usize,
}

impl Mix {
    fn add(
        &mut self,
        tokens: &[Token],
        context: &PieceContext,
        grid: Option<&[Token]>,
        events: &[VoiceEvent],
    ) {
        self.stats.add(tokens, 4, &BACH_RANGES, Some(context));
        let steps = tokens.len() / 4;
        for v in 1..4 {
            let mut len = 0usize;
            for t in 0..=steps {
                let token = if t < steps {
                    tokens[t * 4 + v]
                } else {
                    Token::Rest
                };
                if token != Token::Hold && len > 0 {
                    self.lengths[len.min(LENGTHS) - 1] += 1.0;
                    len = 0;
                }
                if matches!(token, Token::Onset(_)) {
                    len = 1;
                } else if token == Token::Hold && len > 0 {
                    len += 1;
                }
            }
        }
        let mut now = [None; 4];
        for t in 0..steps {
            for (v, sound) in now.iter_mut().enumerate() {
                *sound = sounding(*sound, tokens[t * 4 + v]);
            }
            let on_beat = context
                .bars
                .get(t)
                .is_some_and(|b| b.step % b.beat_steps.max(1) == 0);
            if on_beat && now.iter().all(Option::is_some) {
                self.chords[chord_type(&now)] += 1.0;
            }
        }
        if let Some(grid) = grid {
            let (mut a, mut b) = ([None; 4], [None; 4]);
            for t in 0..steps {
                for v in 1..4 {
                    a[v] = sounding(a[v], tokens[t * 4 + v]);
                    b[v] = sounding(b[v], grid[t * 4 + v]);
                    self.differs += (a[v] != b[v]) as usize;
                    self.compared += 1;
                }
            }
        }
        let short = (0.030 * SAMPLE_RATE) as i64;
        for v in 1..4u8 {
            let mine: Vec<&VoiceEvent> = events.iter().filter(|e| e.voice == v).collect();
            for w in mine.windows(2) {
                if w[0].on {
                    self.notes += 1;
                    self.short += (w[1].sample - w[0].sample < short) as usize;
                }
            }
        }
    }
}

/// The chord type of four sounding pitches (see [`CHORDS`]), by their
/// pitch classes: a complete triad or seventh chord on any root.
pub(crate) fn chord_type(pitches: &[Option<u8>; 4]) -> usize {
    let mut set = 0u16;
    for p in pitches.iter().flatten() {
        set |= 1 << (p % 12);
    }
    let has = |root: u32, i: u32| set & (1 << ((root + i) % 12)) != 0;
    let on_a_root = |f: &dyn Fn(u32) -> bool| (0..12).any(|r| has(r, 0) && f(r));
    match set.count_ones() {
        0..=2 => 6,
        3 => [(4, 7), (3, 7), (3, 6), (4, 8)]
            .iter()
            .position(|&(third, fifth)| on_a_root(&|r| has(r, third) && has(r, fifth)))
            .unwrap_or(7),
        4 if on_a_root(&|r| has(r, 4) && has(r, 7) && has(r, 10)) => 4,
        4 if on_a_root(&|r| {
            (has(r, 3) || has(r, 4))
                && (has(r, 6) || has(r, 7))
                && (has(r, 9) || has(r, 10) || has(r, 11))
        }) =>
        {
            5
        }
        _ => 7,
    }
}

/// Half the L1 distance between two histograms (0 to 1).
fn distance(a: &[f64], b: &[f64]) -> f64 {
    let (sa, sb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    if sa == 0.0 || sb == 0.0 {
        return 1.0;
    }
    0.5 * a
        .iter()
        .zip(b)
        .map(|(x, y)| (x / sa - y / sb).abs())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chord_types_are_named_from_their_pitch_classes() {
        let c = |p: [u8; 4]| chord_type(&p.map(Some));
        assert_eq!(c([72, 67, 64, 48]), 0, "C major");
        assert_eq!(c([69, 64, 60, 45]), 1, "A minor");
        assert_eq!(c([71, 65, 62, 47]), 2, "B diminished");
        assert_eq!(c([71, 65, 62, 43]), 4, "G7");
        assert_eq!(c([72, 67, 64, 45]), 5, "Am7");
        assert_eq!(c([72, 67, 60, 48]), 6, "open fifth");
        assert_eq!(c([71, 65, 62, 55]), 4, "G7 without its root doubled");
        assert_eq!(c([72, 66, 61, 48]), 7);
    }

    #[test]
    fn a_pieces_meters_move_with_the_lead() {
        // A quarter pickup in 3/4 (its bar line 8 steps before step 0),
        // then 4/4 from step 28.
        let three = Meter::new(3, 4);
        let meters = [
            MeterRegion {
                step: 0,
                meter: three,
                bar_step: -8,
            },
            MeterRegion {
                step: 28,
                meter: Meter::COMMON,
                bar_step: 28,
            },
        ];
        let regions = meter_regions(&meters, 16);
        assert_eq!(regions[0].step, 0, "from the session's start");
        assert_eq!(regions[0].meter, three);
        // A bar line falls 4 steps after the melody starts (step 16).
        assert_eq!((16 + 4 - regions[0].bar_step) % 12, 0, "the bar lines");
        assert_eq!((regions[1].step, regions[1].bar_step), (44, 44));
        assert_eq!(meter_regions(&[], 16)[0].meter, Meter::COMMON);
    }

    #[test]
    fn the_soprano_is_read_with_its_holds_and_rests() {
        use Token::{Hold as H, Onset as O, Rest as R};
        let mut tokens = Vec::new();
        for s in [O(72), H, R, O(74), O(74), H] {
            tokens.extend([s, R, R, R]);
        }
        let notes = soprano_notes(&tokens, 16);
        let got: Vec<_> = notes.iter().map(|n| (n.start, n.len, n.pitch)).collect();
        assert_eq!(got, [(16, 2, 72), (19, 1, 74), (20, 2, 74)]);
    }
}
