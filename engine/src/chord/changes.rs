//! Where the harmony changes ([`ChangeFinder`]), for the plugin window's
//! labels and the files Bach writes (the command line's `--chords` and MIDI
//! markers, the plugin's Save as MIDI).
//!
//! Every part's sounding notes are read step by step as voices and named by
//! a [`ChordFollower`] in the key of each step (so passing notes on weak
//! 16ths keep the chord they decorate). A change is wherever the key
//! changes, the chord symbol changes on a beat (a new bass counts: `C` to
//! `C/E`), or the chord (root and quality) changes off the beat (a passing
//! note in the bass under the same chord does not). [`score_changes`]
//! allocates the score's steps: not for the audio thread.

use super::{Analysis, ChordFollower};
use crate::key::Key;
use crate::meter::BarPosition;
use crate::score::Score;

/// A chord change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChordChange {
    /// The grid step it starts on.
    pub step: u32,
    /// The key it is named in, and whether that key is new here (the first
    /// change, or a key unlike the step before's).
    pub key: Key,
    pub new_key: bool,
    pub analysis: Analysis,
}

/// Finds where the harmony changes, step by step: the one rule behind the
/// files' chord changes ([`score_changes`]) and the plugin window's labels.
/// Fixed state, no allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChangeFinder {
    follower: ChordFollower,
    /// The key of the step before; `None` at the start.
    key: Option<Key>,
    /// The chord of the last change; `None` at the start or after a silence.
    last: Option<Analysis>,
}

impl ChangeFinder {
    /// Forgets everything: the next step is a change in a new key.
    pub fn reset(&mut self) {
        *self = ChangeFinder::default();
    }

    /// A silence: the next chord is a change even if it is the one before.
    pub fn silence(&mut self) {
        self.follower.reset();
        self.last = None;
    }

    /// Names the step sounding `pitches` in `key` at `position`: its chord
    /// and whether the key is new, where the harmony changes there.
    pub fn step(
        &mut self,
        pitches: &[Option<u8>],
        key: Key,
        position: BarPosition,
    ) -> Option<(Analysis, bool)> {
        let new_key = self.key != Some(key);
        if new_key {
            // The follower's held chord was named in the old key.
            self.follower.reset();
        }
        self.key = Some(key);
        let analysis = self.follower.step(pitches, key, position);
        let changed = self.last.is_none_or(|last| {
            if position.in_beat() == 0 {
                last.symbol() != analysis.symbol()
            } else {
                !last.same_chord(&analysis)
            }
        });
        if !(new_key || changed) {
            return None;
        }
        self.last = Some(analysis);
        Some((analysis, new_key))
    }
}

/// The chord changes of `score` over its first `len` steps, step `t` named
/// in `keys[t]` at `positions[t]` (a step past either is not read).
pub fn score_changes(
    score: &Score,
    keys: &[Key],
    positions: &[BarPosition],
    len: u32,
) -> Vec<ChordChange> {
    let len = len.min(keys.len() as u32).min(positions.len() as u32);
    let voices = Voices::new(score, len);
    let mut finder = ChangeFinder::default();
    let mut pitches = Vec::with_capacity(voices.slots);
    (0..len)
        .filter_map(|t| {
            voices.at(t, &mut pitches);
            let key = keys[t as usize];
            let (analysis, new_key) = finder.step(&pitches, key, positions[t as usize])?;
            Some(ChordChange {
                step: t,
                key,
                new_key,
                analysis,
            })
        })
        .collect()
}

/// Which chord labels to write where they would overlap, each spanning
/// `spans[i]` (from, to along the time axis, the space after it included):
/// the changes on a beat first, left to right, each where it overlaps none
/// already kept, then those off the beat where room is left, so the chords
/// a musician reads the harmony by are never hidden by passing ones (the
/// piano-roll picture and the plugin's window).
pub fn labels_to_write(spans: &[(f32, f32)], on_beat: &[bool]) -> Vec<bool> {
    let mut keep = vec![false; spans.len()];
    for beat in [true, false] {
        for (i, &(from, to)) in spans.iter().enumerate() {
            let clear = !spans
                .iter()
                .zip(&keep)
                .any(|(&(a, b), &kept)| kept && a < to && from < b);
            if on_beat.get(i) == Some(&beat) && clear {
                keep[i] = true;
            }
        }
    }
    keep
}

/// The parts' notes as voices: each part takes as many slots as it ever
/// sounds notes at once (one for a voice), highest first, so a voice keeps
/// its slot and the follower can tell a passing note from a leap.
struct Voices {
    /// Per part, per step, the sounding pitches, highest first.
    sounding: Vec<Vec<Vec<u8>>>,
    /// Per part, its slots.
    widths: Vec<usize>,
    slots: usize,
}

impl Voices {
    fn new(score: &Score, len: u32) -> Voices {
        let mut sounding = Vec::with_capacity(score.parts.len());
        let mut widths = Vec::with_capacity(score.parts.len());
        for part in &score.parts {
            let mut steps = vec![Vec::new(); len as usize];
            for n in &part.notes {
                for t in n.start..n.end().min(len) {
                    steps[t as usize].push(n.pitch);
                }
            }
            for s in &mut steps {
                s.sort_unstable_by(|a, b| b.cmp(a));
                s.dedup();
            }
            widths.push(steps.iter().map(Vec::len).max().unwrap_or(0).max(1));
            sounding.push(steps);
        }
        let slots = widths.iter().sum();
        Voices {
            sounding,
            widths,
            slots,
        }
    }

    /// The pitches at step `t`, one per slot, `None` for a silent slot.
    fn at(&self, t: u32, out: &mut Vec<Option<u8>>) {
        out.clear();
        for (part, &width) in self.sounding.iter().zip(&self.widths) {
            let now = &part[t as usize];
            out.extend((0..width).map(|i| now.get(i).copied()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_on_the_beat_are_written_before_passing_ones() {
        // D on a beat, D7 off it too close to the G on the next beat, then
        // a last off-beat chord with room.
        let spans = [(0.0, 30.0), (20.0, 50.0), (40.0, 70.0), (80.0, 110.0)];
        let on_beat = [true, false, true, false];
        assert_eq!(labels_to_write(&spans, &on_beat), [true, false, true, true]);
        // Two beats too close: the first stays.
        assert_eq!(
            labels_to_write(&[(0.0, 30.0), (10.0, 40.0)], &[true, true]),
            [true, false]
        );
    }
}
