//! The chords of a result, for `--chords`, the MIDI file's markers and the
//! piano roll: every part's sounding notes step by step, named by the
//! engine's [`ChordFollower`] in the key of each step (so passing notes on
//! weak 16ths keep the chord they decorate), one [`Change`] wherever the
//! key changes, the chord symbol changes on a beat, or the chord (root and
//! quality) changes off the beat.

use std::fmt::{self, Write as _};

use bach_engine::chord::{Analysis, ChordFollower, Text};
use bach_engine::score::Score;
use bach_engine::Key;

use super::{keys, meters};
use crate::render::{end_step, png};

/// Where a chord changes, as DAWs count bar.beat.sixteenth: the bar as the
/// piano roll numbers it (0 for a pickup), the beat from 1 and the step in
/// the beat from 1 (1 on the beat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub bar: usize,
    pub beat: usize,
    pub step: usize,
}

impl fmt::Display for Position {
    /// `12.3` on a beat; `12.3.3` for the third step (16th) of beat 3.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.bar, self.beat)?;
        if self.step > 1 {
            write!(f, ".{}", self.step)?;
        }
        Ok(())
    }
}

/// A chord change.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    /// The grid step it starts on.
    pub step: u32,
    pub at: Position,
    /// The key, at the first change and wherever it differs from the one before.
    pub key: Option<Key>,
    pub analysis: Analysis,
    pub symbol: Text,
    pub numeral: Text,
}

/// The chord changes of `score` up to its last note, named in `keys[t]` at
/// step `t` (where it is `None` or missing, the nearest key known).
pub fn changes(score: &Score, keys: &[Option<Key>]) -> Vec<Change> {
    let len = end_step(score);
    let keys = keys::filled(keys, len as usize);
    let positions = meters::bar_positions(&meters::regions(score), score.step_beats, len);
    let lines = png::bar_lines(score, len);
    let first_bar = png::first_bar_number(&lines);
    let voices = Voices::new(score, len);
    let mut follower = ChordFollower::new();
    let mut out: Vec<Change> = Vec::new();
    let mut pitches = Vec::with_capacity(voices.slots);
    let mut last_key = None;
    for t in 0..len {
        let key = keys[t as usize];
        let position = positions[t as usize];
        if last_key != Some(key) {
            // The follower's held chord was named in the old key.
            follower.reset();
        }
        voices.at(t, &mut pitches);
        let analysis = follower.step(&pitches, key, position);
        let symbol = analysis.symbol();
        let key_changed = last_key != Some(key);
        // On a beat a new bass is a new line (I to I6); off the beat only a
        // new chord is, not a passing note in the bass under the same one.
        let changed = out.last().is_none_or(|c| {
            if position.in_beat() == 0 {
                c.symbol != symbol
            } else {
                !c.analysis.same_chord(&analysis)
            }
        });
        if key_changed || changed {
            let bar = lines.partition_point(|&l| l <= t).saturating_sub(1) + first_bar;
            let beat_steps = position.beat_steps.max(1);
            out.push(Change {
                step: t,
                at: Position {
                    bar,
                    beat: position.step / beat_steps + 1,
                    step: position.in_beat() + 1,
                },
                key: key_changed.then_some(key),
                analysis,
                symbol,
                numeral: analysis.numeral_text(),
            });
        }
        last_key = Some(key);
    }
    out
}

/// The `--chords` file: `key<TAB>name` where the key changes, then
/// `position<TAB>symbol<TAB>numeral` per change.
pub fn text(changes: &[Change]) -> String {
    let mut out = String::new();
    for c in changes {
        if let Some(key) = c.key {
            let _ = writeln!(out, "key\t{}", key.name());
        }
        let _ = writeln!(out, "{}\t{}\t{}", c.at, c.symbol, c.numeral);
    }
    out
}

/// Each change's symbol at its step, for [`bach_engine::midi::write_with_markers`].
pub fn markers(changes: &[Change]) -> Vec<(u32, &str)> {
    changes
        .iter()
        .map(|c| (c.step, c.symbol.as_str()))
        .collect()
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
