//! The chords of a result, for `--chords`, the MIDI file's markers and the
//! piano roll: the engine's chord changes of the score
//! ([`score_changes`]: wherever the key changes, the chord symbol changes
//! on a beat, or the chord changes off the beat), placed in bars and beats
//! as the piano roll numbers them.

use std::fmt::{self, Write as _};

use bach_engine::chord::{score_changes, Analysis, Text};
use bach_engine::meter::MeterRegion;
use bach_engine::score::Score;
use bach_engine::Key;

use super::keys;
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
/// step `t` (where it is `None` or missing, the nearest key known), by the
/// engine's [`score_changes`].
pub fn changes(score: &Score, keys: &[Option<Key>]) -> Vec<Change> {
    let len = end_step(score);
    let keys = keys::filled(keys, len as usize);
    let positions = MeterRegion::bar_positions(&score.meter_regions(), score.step_beats, len);
    let lines = png::bar_lines(score, len);
    let first_bar = png::first_bar_number(&lines);
    score_changes(score, &keys, &positions, len)
        .into_iter()
        .map(|c| {
            let t = c.step;
            let position = positions[t as usize];
            let bar = lines.partition_point(|&l| l <= t).saturating_sub(1) + first_bar;
            let beat_steps = position.beat_steps.max(1);
            Change {
                step: t,
                at: Position {
                    bar,
                    beat: position.step / beat_steps + 1,
                    step: position.in_beat() + 1,
                },
                key: c.new_key.then_some(c.key),
                analysis: c.analysis,
                symbol: c.analysis.symbol(),
                numeral: c.analysis.numeral_text(),
            }
        })
        .collect()
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
