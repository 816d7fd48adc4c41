//! Following chords step by step, so that passing notes on the weak 16ths
//! do not each get a chord of their own.
//!
//! On a step that falls on a beat the sonority is named afresh. Off the
//! beat, the chord named before is kept when the new sonority only
//! decorates it: every voice either sings a tone of that chord or moved to
//! its note by step (a passing or neighbour note, at most two voices at
//! once), and the fresh reading fits no better than the held chord did.

use super::matching::Sonority;
use super::{analyze_sonority, Analysis};
use crate::key::Key;
use crate::meter::BarPosition;

/// The most voices a follower remembers; more are ignored.
const VOICES: usize = 8;
/// Voices that may carry non-chord tones at once (passing notes in
/// thirds or sixths).
const MAX_DECORATIONS: usize = 2;

/// Names a sequence of sonorities, holding a chord through its decorations.
/// Fixed state, no allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChordFollower {
    held: Option<Analysis>,
    previous: [Option<u8>; VOICES],
}

impl ChordFollower {
    /// A follower with no chord held.
    pub const fn new() -> ChordFollower {
        ChordFollower {
            held: None,
            previous: [None; VOICES],
        }
    }

    /// Forgets the held chord (after a jump or a key change).
    pub fn reset(&mut self) {
        *self = ChordFollower::new();
    }

    /// Names one step's sonority (voices' MIDI pitches, `None` resting) at
    /// `position` in the bar, and remembers it for the next step.
    pub fn step(&mut self, pitches: &[Option<u8>], key: Key, position: BarPosition) -> Analysis {
        let fresh = analyze_sonority(Sonority::new(pitches), key, Some(position));
        let keep = position.in_beat() != 0
            && self
                .held
                .is_some_and(|held| self.decorates(held, &fresh, pitches));
        let label = if keep {
            self.held.unwrap_or(fresh)
        } else {
            fresh
        };
        self.held = Some(label);
        self.previous = [None; VOICES];
        for (slot, &p) in self.previous.iter_mut().zip(pitches) {
            *slot = p;
        }
        label
    }

    /// Whether `pitches` (read as `fresh`) only decorates the held chord.
    fn decorates(&self, held: Analysis, fresh: &Analysis, pitches: &[Option<u8>]) -> bool {
        let Some(chord) = held.chord else {
            return false;
        };
        if fresh.same_chord(&held) || fresh.score > held.score {
            return false;
        }
        let tones = chord.quality.pitch_classes(chord.root);
        let mut decorations = 0;
        for (voice, &pitch) in pitches.iter().enumerate().take(VOICES) {
            let Some(p) = pitch else { continue };
            if tones & (1 << (p % 12)) != 0 {
                continue;
            }
            let by_step = self.previous[voice].is_some_and(|q| matches!(p.abs_diff(q), 1 | 2));
            if !by_step {
                return false;
            }
            decorations += 1;
        }
        decorations <= MAX_DECORATIONS
    }
}
