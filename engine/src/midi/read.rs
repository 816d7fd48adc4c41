//! A file's events onto the grid: a [`Score`], or the notes as played.

use super::parse::{parse, Parsed};
use super::{MidiError, MAX_NOTES, MAX_STEPS};
use crate::key::Key;
use crate::meter::Meter;
use crate::score::{channel_for, KeyChange, Marker, MeterChange, Note, Part, Score, TempoChange};

/// Reads a standard MIDI file into a score on a grid of `step_beats` quarter notes.
pub fn read(bytes: &[u8], step_beats: f64) -> Result<Score, MidiError> {
    let Parsed {
        grid,
        parts,
        mut tempos,
        mut meters,
        mut keys,
        mut texts,
        end_tick,
        ..
    } = parse(bytes, step_beats)?;
    let mut score = Score::new(step_beats);
    score.len = grid.step(end_tick)?;
    let several_channels = |track: usize| parts.iter().filter(|p| p.track == track).count() > 1;
    let names: Vec<String> = parts
        .iter()
        .map(|p| {
            let base = p
                .name
                .clone()
                .unwrap_or_else(|| format!("Track {}", p.track + 1));
            if several_channels(p.track) {
                format!("{base} ch {}", p.channel + 1)
            } else {
                base
            }
        })
        .collect();
    for (index, (raw, name)) in parts.into_iter().zip(names).enumerate() {
        let mut notes = Vec::with_capacity(raw.notes.len());
        for n in raw.notes {
            let start = grid.step(n.start)?;
            let end = grid.step(n.end)?.max(start + 1);
            score.len = score.len.max(end);
            notes.push(Note {
                start,
                len: end - start,
                pitch: n.pitch,
                velocity: n.velocity,
            });
        }
        score.parts.push(Part::new(name, channel_for(index), notes));
    }
    if score.len > MAX_STEPS {
        return Err(MidiError::TooLong {
            step: score.len as u64,
            max: MAX_STEPS,
        });
    }

    if let [part] = score.parts.as_slice() {
        if part.is_polyphonic() {
            let voices = part
                .split_by_pitch_capped(MAX_NOTES)
                .ok_or(MidiError::TooManyNotes { max: MAX_NOTES })?;
            score.parts = voices;
        }
    }

    tempos.sort_by_key(|&(tick, order, _)| (tick, order));
    for (tick, _, bpm) in tempos {
        let step = grid.step(tick)?;
        match score.tempos.last_mut() {
            Some(last) if last.step == step => last.bpm = bpm,
            _ => score.tempos.push(TempoChange { step, bpm }),
        }
    }
    meters.sort_by_key(|&(tick, order, ..)| (tick, order));
    for (tick, _, numerator, denominator) in meters {
        let step = grid.step(tick)?;
        let meter = MeterChange {
            step,
            meter: Meter::new(numerator, denominator),
        };
        match score.meters.last_mut() {
            Some(last) if last.step == step => *last = meter,
            _ => score.meters.push(meter),
        }
    }
    keys.sort_by_key(|&(tick, order, ..)| (tick, order));
    for (tick, _, sharps, minor) in keys {
        // A count no signature has (beyond 7) says nothing: skipped.
        let Some(key) = Key::from_signature(sharps, minor) else {
            continue;
        };
        let change = KeyChange {
            step: grid.step(tick)?,
            key,
        };
        match score.keys.last_mut() {
            Some(last) if last.step == change.step => *last = change,
            _ => score.keys.push(change),
        }
    }
    texts.sort_by_key(|&(tick, order, _)| (tick, order));
    for (tick, _, text) in texts {
        score.markers.push(Marker {
            step: grid.step(tick)?,
            text,
        });
    }
    Ok(score)
}

/// A note as played, in quarter notes from the file's start, off the grid
/// wherever the file has it so (a melody recorded by hand).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayedNote {
    pub start: f64,
    pub end: f64,
    pub pitch: u8,
    pub velocity: u8,
}

/// Every note of each part exactly as timed in the file, parts in the order
/// [`read`] gives them before it splits a lone chordal part into voices
/// (so a part's index is the same in both unless that split happened).
/// Checked as [`read`] checks on a grid of `step_beats`.
pub fn read_played(bytes: &[u8], step_beats: f64) -> Result<Vec<Vec<PlayedNote>>, MidiError> {
    let parsed = parse(bytes, step_beats)?;
    let beats = |tick: u64| tick as f64 / parsed.ppq as f64;
    Ok(parsed
        .parts
        .iter()
        .map(|part| {
            part.notes
                .iter()
                .map(|n| PlayedNote {
                    start: beats(n.start),
                    end: beats(n.end),
                    pitch: n.pitch,
                    velocity: n.velocity,
                })
                .collect()
        })
        .collect())
}
