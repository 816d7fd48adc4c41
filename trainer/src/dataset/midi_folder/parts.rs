//! Which parts of a file are the voices, top down, and whether each sings
//! one note at a time.
//!
//! A file's parts are as the engine reads them: one per track with notes,
//! or one per channel of a track that holds several (a type-0 file), a lone
//! chordal part split by pitch. Parts named for the four voices (Soprano,
//! Alto, Tenor, Bass, or S, A, T, B, in any order and case) are put in that
//! order; other parts by mean pitch, highest first. `--voices` names them
//! instead ([`VoiceMap`]).

use std::str::FromStr;

use bach_engine::score::{Part, Score};
use bach_engine::token::MAX_VOICES;
use bach_engine::MeterRegion;

/// One voice of `--voices`: a part's 1-based number or its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoicePick {
    Number(usize),
    Name(String),
}

/// The user's choice of voices, top down (`--voices "Soprano,Alto,Tenor,Bass"`
/// or `--voices 1,2,3,4`): names match part names ignoring case, numbers
/// count the parts with notes in file order from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceMap(pub Vec<VoicePick>);

impl FromStr for VoiceMap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let picks: Vec<VoicePick> = s
            .split(',')
            .map(str::trim)
            .map(|item| match item.parse::<usize>() {
                Ok(0) => Err("part numbers count from 1".to_string()),
                Ok(n) => Ok(VoicePick::Number(n)),
                Err(_) if item.is_empty() => Err(format!("an empty voice in {s:?}")),
                Err(_) => Ok(VoicePick::Name(item.to_string())),
            })
            .collect::<Result<_, _>>()?;
        if picks.len() > MAX_VOICES {
            return Err(format!(
                "{} voices; a model has at most {MAX_VOICES}",
                picks.len()
            ));
        }
        Ok(VoiceMap(picks))
    }
}

/// The place of a voice named `name` in SATB order, if its first word names one.
fn satb_place(name: &str) -> Option<usize> {
    let word = name
        .split(|c: char| !c.is_alphabetic())
        .find(|w| !w.is_empty())?
        .to_lowercase();
    match word.as_str() {
        "soprano" | "sopran" | "s" | "cantus" | "discantus" => Some(0),
        "alto" | "alt" | "a" | "altus" => Some(1),
        "tenor" | "tenore" | "t" => Some(2),
        "bass" | "basso" | "bassus" | "b" => Some(3),
        _ => None,
    }
}

fn mean_pitch(part: &Part) -> f64 {
    part.notes.iter().map(|n| n.pitch as f64).sum::<f64>() / part.notes.len().max(1) as f64
}

/// The parts with notes as `names` for a message: "Soprano, Alto, Bass".
pub fn names(score: &Score, parts: &[usize]) -> String {
    let names: Vec<&str> = parts
        .iter()
        .map(|&p| score.parts[p].name.as_str())
        .collect();
    names.join(", ")
}

/// The indices into `score.parts` of the voices, top down; the error says
/// why a user's `map` does not fit this file.
pub fn voices(score: &Score, map: Option<&VoiceMap>) -> Result<Vec<usize>, String> {
    let sounding: Vec<usize> = (0..score.parts.len())
        .filter(|&p| !score.parts[p].notes.is_empty())
        .collect();
    if let Some(VoiceMap(picks)) = map {
        return picks
            .iter()
            .map(|pick| match pick {
                VoicePick::Number(n) => sounding.get(n - 1).copied().ok_or_else(|| {
                    format!(
                        "no part {n}: {} parts with notes ({})",
                        sounding.len(),
                        names(score, &sounding)
                    )
                }),
                VoicePick::Name(name) => sounding
                    .iter()
                    .copied()
                    .find(|&p| score.parts[p].name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        format!("no part named {name:?} among {}", names(score, &sounding))
                    }),
            })
            .collect();
    }
    let places: Vec<Option<usize>> = sounding
        .iter()
        .map(|&p| satb_place(&score.parts[p].name))
        .collect();
    let mut order = sounding.clone();
    let all_named = sounding.len() == 4 && (0..4).all(|v| places.contains(&Some(v)));
    if all_named {
        order.sort_by_key(|&p| satb_place(&score.parts[p].name));
    } else {
        order.sort_by(|&a, &b| mean_pitch(&score.parts[b]).total_cmp(&mean_pitch(&score.parts[a])));
    }
    Ok(order)
}

/// Where `part` first sings two notes at once, as "bar 3, beat 2", or
/// `None`. Notes starting together are a chord; so is a note starting a
/// quarter note or more before the previous one ends. A shorter overlap is
/// legato playing, cut as the voice's tokens cut it.
pub fn first_chord(score: &Score, part: &Part) -> Option<String> {
    let quarter = (1.0 / score.step_beats).round().max(1.0) as u32;
    let mut previous: Option<(u32, u32)> = None;
    let mut notes: Vec<(u32, u32)> = part.notes.iter().map(|n| (n.start, n.end())).collect();
    notes.sort_unstable();
    for (start, end) in notes {
        if let Some((s, e)) = previous {
            if start == s || e >= start.saturating_add(quarter) {
                return Some(bar_and_beat(score, start));
            }
        }
        previous = Some((start, end.max(previous.map_or(0, |p| p.1))));
    }
    None
}

/// A step as a musician counts it: "bar 3, beat 2" (a pickup is bar 0, the
/// first full bar is bar 1), with the 16ths past the beat when off it.
pub fn bar_and_beat(score: &Score, step: u32) -> String {
    let regions = score.meter_regions();
    // Every step 0 of a bar at or before `step` begins a bar; a pickup
    // comes before the first, so it is bar 0.
    let positions = MeterRegion::bar_positions(&regions, score.step_beats, step.saturating_add(1));
    let bar = positions.iter().filter(|p| p.step == 0).count();
    let p = positions.last().copied().unwrap_or_default();
    let beat = p.step / p.beat_steps.max(1) + 1;
    let off = p.step % p.beat_steps.max(1);
    let sixteenths = (off as f64 * score.step_beats * 4.0).round();
    if off == 0 {
        format!("bar {bar}, beat {beat}")
    } else {
        format!("bar {bar}, beat {beat} + {sixteenths} 16ths")
    }
}
