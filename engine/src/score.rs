//! A score on the step grid: what a MIDI file becomes once it is read, and what
//! generated voices become before they are written.
//!
//! Time is counted in grid steps of `step_beats` quarter notes (0.25 for 16ths).
//! A [`Part`] is a list of notes; the models see a part either as one voice of
//! tokens ([`Part::to_tokens`]) or, all parts together, as piano-roll frames
//! ([`Score::to_frames`]).

use crate::key::Key;
use crate::meter::{Meter, MeterRegion};
use crate::pianoroll::KeyFrame;
use crate::token::Token;

mod part;

pub use part::{channel_for, Note, Part};

/// Velocity given to notes that come from tokens or frames, which carry none.
pub const DEFAULT_VELOCITY: u8 = 80;
/// A tempo that holds from `step` on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TempoChange {
    pub step: u32,
    /// Quarter notes per minute.
    pub bpm: f64,
}

/// A time signature that holds from `step` on; `step` is taken as a bar line.
/// The meter is as the file wrote it (checked only when written again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterChange {
    pub step: u32,
    pub meter: Meter,
}

/// A key signature that holds from `step` on, as a file wrote it (major or
/// minor as its flag says; nothing checks it against the notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyChange {
    pub step: u32,
    pub key: Key,
}

/// A text event of a file at its step: a text, marker, cue point or lyric
/// (a chord name, a rehearsal letter, a "fermata"), from any track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub step: u32,
    pub text: String,
}

/// A whole piece on the grid.
///
/// Empty `tempos` means MIDI's default of 120 bpm; empty `meters` means 4/4.
/// Both are sorted by step, with at most one change per step; so are `keys`.
/// `keys` and `markers` are what a file said (the reader fills them); the
/// writer leaves them out (markers go through
/// [`crate::midi::write_with_markers`]), so harmonizing a file never
/// repeats its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// Length of one step in quarter notes.
    pub step_beats: f64,
    pub parts: Vec<Part>,
    pub tempos: Vec<TempoChange>,
    pub meters: Vec<MeterChange>,
    /// Key signatures, sorted by step.
    pub keys: Vec<KeyChange>,
    /// Text events in file order at each step, sorted by step.
    pub markers: Vec<Marker>,
    /// Length in steps; every note ends at or before it.
    pub len: u32,
}

impl Score {
    /// An empty score: no parts, default tempo and meter.
    pub fn new(step_beats: f64) -> Self {
        Self {
            step_beats,
            parts: Vec::new(),
            tempos: Vec::new(),
            meters: Vec::new(),
            keys: Vec::new(),
            markers: Vec::new(),
            len: 0,
        }
    }

    /// A score from voices of tokens (all the same length, or the longest
    /// counts), one part per voice on channels from [`channel_for`].
    pub fn from_voices(step_beats: f64, voices: &[(&str, &[Token])], velocity: u8) -> Self {
        let mut score = Self::new(step_beats);
        score.len = voices.iter().map(|(_, t)| t.len()).max().unwrap_or(0) as u32;
        score.parts = voices
            .iter()
            .enumerate()
            .map(|(v, (name, tokens))| Part::from_tokens(*name, channel_for(v), tokens, velocity))
            .collect();
        score
    }

    /// A one-part score from piano-roll frames. The roll cannot tell a held note
    /// from a repeated one, so a key sounding on consecutive frames is one note.
    pub fn from_frames(step_beats: f64, name: &str, frames: &[KeyFrame], velocity: u8) -> Self {
        let mut notes = Vec::new();
        let mut open: [Option<u32>; 128] = [None; 128];
        for (step, frame) in frames.iter().chain([&KeyFrame::EMPTY]).enumerate() {
            let step = step as u32;
            for (pitch, start) in open.iter_mut().enumerate() {
                let sounding = frame.contains(pitch as u8);
                match (*start, sounding) {
                    (None, true) => *start = Some(step),
                    (Some(s), false) => {
                        notes.push(Note {
                            start: s,
                            len: step - s,
                            pitch: pitch as u8,
                            velocity,
                        });
                        *start = None;
                    }
                    _ => {}
                }
            }
        }
        let mut score = Self::new(step_beats);
        score.len = frames.len() as u32;
        score.parts = vec![Part::new(name, channel_for(0), notes)];
        score
    }

    /// The piano roll of all parts, `len` frames; pitches off the 88 keys are dropped.
    pub fn to_frames(&self) -> Vec<KeyFrame> {
        // Sweep over note starts and ends with a count per pitch, so overlapping
        // notes cost nothing extra.
        let mut events: Vec<(u32, bool, u8)> = Vec::new();
        for n in self.parts.iter().flat_map(|p| &p.notes) {
            events.push((n.start, true, n.pitch));
            events.push((n.end(), false, n.pitch));
        }
        events.sort_unstable();
        let mut counts = [0u32; 128];
        let mut frame = KeyFrame::EMPTY;
        let mut frames = Vec::with_capacity(self.len as usize);
        let mut e = 0;
        for step in 0..self.len {
            while e < events.len() && events[e].0 == step {
                let (_, on, pitch) = events[e];
                let c = &mut counts[pitch as usize & 127];
                if on {
                    *c += 1;
                    frame.insert(pitch);
                } else {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        frame.remove(pitch);
                    }
                }
                e += 1;
            }
            frames.push(frame);
        }
        frames
    }

    /// Splits every polyphonic part into monophonic voices ([`Part::split_by_pitch`]).
    pub fn split_by_pitch(&mut self) {
        let parts = std::mem::take(&mut self.parts);
        for part in parts {
            if part.is_polyphonic() {
                self.parts.extend(part.split_by_pitch());
            } else {
                self.parts.push(part);
            }
        }
    }

    /// The meter in force at `step` (4/4 before the first change).
    pub fn meter_at(&self, step: u32) -> MeterChange {
        self.meters
            .iter()
            .take_while(|m| m.step <= step)
            .last()
            .copied()
            .unwrap_or(MeterChange {
                step: 0,
                meter: Meter::new(4, 4),
            })
    }

    /// The tempo in force at `step` in bpm (120 before the first change).
    pub fn bpm_at(&self, step: u32) -> f64 {
        self.tempos
            .iter()
            .take_while(|t| t.step <= step)
            .last()
            .map_or(120.0, |t| t.bpm)
    }

    /// Length of a bar of `meter` in steps (may be fractional, e.g. 7/8 on a quarter grid).
    pub fn bar_steps(&self, meter: &MeterChange) -> f64 {
        meter.meter.bar_beats() / self.step_beats
    }

    /// The score's meters as a host would report them: one region per meter
    /// change with its bar line, from step 0 (4/4 before the first meter
    /// event). A pickup (a first region shorter than a bar of the meter
    /// after it) is in that next meter, its bar line where the first full
    /// bar starts: so a file and the plugin in a host place each step in its
    /// bar alike.
    pub fn meter_regions(&self) -> Vec<MeterRegion> {
        let mut out = Vec::new();
        let meters = &self.meters;
        if meters.first().is_none_or(|m| m.step > 0) {
            out.push(MeterRegion {
                step: 0,
                meter: Meter::COMMON,
                bar_step: -(self.position_in_bar(0) as i64),
            });
        }
        for (i, change) in meters.iter().enumerate() {
            let pickup = match meters.as_slice() {
                [first, second, ..] if i == 0 && first.step == 0 => {
                    (second.step as f64) < self.bar_steps(second)
                }
                _ => false,
            };
            let meter = if pickup {
                meters[1].meter.or_common()
            } else {
                change.meter.or_common()
            };
            out.push(MeterRegion {
                step: change.step,
                meter,
                bar_step: change.step as i64 - self.position_in_bar(change.step) as i64,
            });
        }
        out
    }

    /// Which step of its bar `step` is, counted from 0 at the bar line; this is
    /// the position-in-bar feature of the voice models.
    ///
    /// Every meter change is a bar line. A pickup is a first meter region that is
    /// shorter than a bar of the meter that follows it (a 1/4 bar before 4/4, or
    /// 4/4 restated after one beat): its steps are counted back from the next bar
    /// line, so a one-beat pickup in 4/4 on 16ths sits on steps 12..16.
    pub fn position_in_bar(&self, step: u32) -> usize {
        let meter = self.meter_at(step);
        let bar = self.bar_steps(&meter);
        if !(bar.is_finite() && bar > 0.0) {
            return 0;
        }
        let mut offset = (step - meter.step) as f64;
        if let [first, second, ..] = self.meters.as_slice() {
            if first.step == 0 && step < second.step {
                let next_bar = self.bar_steps(second);
                let region = second.step as f64;
                if region < next_bar {
                    return (next_bar - region + offset).floor() as usize;
                }
            }
        }
        // A small epsilon so fractional bar lengths do not round 15.999 down.
        offset = offset.rem_euclid(bar);
        let pos = (offset + 1e-9).floor();
        if pos >= bar.ceil() {
            0
        } else {
            pos as usize
        }
    }
}

#[cfg(test)]
mod tests;
