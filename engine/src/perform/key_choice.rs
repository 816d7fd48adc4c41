//! Which key the harmony is in: set by hand, or followed from the melody.
//!
//! The one rule the plugin, the `bach` command and `bach-trainer harmony`
//! share: with Auto, the melody is heard step by step as it is harmonized
//! (not the lookahead: the key is the melody's so far, so the plugin and the
//! offline harmonizer follow it alike). Through the opening (the first
//! [`OPENING_STEPS`] steps of melody, or up to its first rest) the key is
//! [`Opening`]'s, which weighs the first note as a pickup or a downbeat and
//! the downbeats' notes most, and may change at any step; then it is held
//! and followed by a [`KeyEstimator`], where a melody rest ends a phrase
//! (where the key may change). Offline, with the
//! whole melody known, the key is the whole melody's ([`crate::key::estimate_key`])
//! except in passages clearly in a closely related key
//! ([`crate::key::key_track`]), decided before the first note. Fixed-size
//! state, no allocation.

use crate::key::{Key, KeyEstimator, Opening};
use crate::meter::BarPosition;

/// Steps of melody (16ths) the opening lasts at most: a pickup and the
/// first full bar of 4/4. Chosen on the valid sopranos (`docs/key.md`).
pub const OPENING_STEPS: u32 = 20;

/// The user's choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyChoice {
    /// Follow the melody.
    #[default]
    Auto,
    /// This key throughout.
    Fixed(Key),
}

/// Follows the key of a melody heard step by step.
#[derive(Clone, Debug, Default)]
pub struct KeyFollower {
    choice: KeyChoice,
    estimator: KeyEstimator,
    /// The key of the first bars, used until the opening is over.
    opening: Opening,
    /// The opening is over: the estimator holds its key.
    settled: bool,
    /// A melody note was heard since the last rest.
    in_phrase: bool,
}

impl KeyFollower {
    pub fn new(choice: KeyChoice) -> Self {
        Self {
            choice,
            ..Self::default()
        }
    }

    pub fn choice(&self) -> KeyChoice {
        self.choice
    }

    /// A new choice; what was heard is kept, so switching back to Auto
    /// picks up where the melody is.
    pub fn set_choice(&mut self, choice: KeyChoice) {
        self.choice = choice;
    }

    /// Forgets the melody: a new piece (a seek, a restart).
    pub fn reset(&mut self) {
        self.estimator.reset();
        self.opening.reset();
        self.settled = false;
        self.in_phrase = false;
    }

    /// One grid step of the newest melody known, at `bar`: its pitch, or
    /// `None` for a rest (a phrase end, heard once).
    pub fn hear(&mut self, melody: Option<u8>, bar: BarPosition) {
        match melody {
            Some(p) => {
                self.estimator.hear(p, 1.0);
                if !self.settled {
                    self.opening.hear(p, bar);
                    if self.opening.heard() >= OPENING_STEPS {
                        self.settle();
                    }
                }
                self.in_phrase = true;
            }
            None if self.in_phrase => {
                if !self.settled {
                    self.settle();
                }
                self.estimator.phrase_end();
                self.in_phrase = false;
            }
            None => {}
        }
    }

    /// The opening is over: its key is held from here.
    fn settle(&mut self) {
        if let Some(key) = self.opening.key() {
            self.estimator.hold(key);
        }
        self.settled = true;
    }

    /// The key in use: the fixed one, or the melody's as heard so far
    /// (`None` before any melody).
    pub fn key(&self) -> Option<Key> {
        match self.choice {
            KeyChoice::Fixed(k) => Some(k),
            KeyChoice::Auto if self.settled => self.estimator.key(),
            KeyChoice::Auto => self.opening.key(),
        }
    }

    /// While Auto's opening guess is in use (the key not yet settled), how
    /// likely each pitch class is to be in the key ([`crate::key::Opening::scale_belief`]);
    /// `None` once the key is settled or fixed.
    pub fn doubt(&self) -> Option<[f32; 12]> {
        (self.choice == KeyChoice::Auto && !self.settled && self.opening.heard() > 0)
            .then(|| self.opening.scale_belief())
    }

    /// Whether the key in use is followed from the melody and settled (not
    /// the opening's guess, nor a fixed key).
    pub fn is_estimated(&self) -> bool {
        self.choice == KeyChoice::Auto && self.settled && self.estimator.key().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::key::Mode;

    fn at(step: usize) -> BarPosition {
        BarPosition::common(step)
    }

    #[test]
    fn fixed_keys_stay_and_auto_starts_from_the_first_note() {
        let d = Key {
            tonic: 2,
            mode: Mode::Major,
        };
        let mut fixed = KeyFollower::new(KeyChoice::Fixed(d));
        fixed.hear(Some(61), at(0));
        assert_eq!(fixed.key(), Some(d));
        let mut auto = KeyFollower::new(KeyChoice::Auto);
        assert_eq!(auto.key(), None);
        assert_eq!(auto.doubt(), None, "nothing heard");
        auto.hear(Some(64), at(0));
        assert_eq!(
            auto.key().map(|k| k.tonic),
            Some(4),
            "the first note, a tonic"
        );
        assert!(!auto.is_estimated());
        // The opening's guess is in doubt; a fixed key never is.
        assert!(auto.doubt().is_some_and(|b| b[4] > 0.9 && b[8] < 0.9));
        assert_eq!(fixed.doubt(), None);
        auto.reset();
        // A C major scale, long enough for the estimator.
        for (i, p) in [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 60]
            .into_iter()
            .enumerate()
        {
            auto.hear(Some(p), at(2 * i));
            auto.hear(Some(p), at(2 * i + 1));
        }
        auto.hear(None, at(0));
        assert!(auto.is_estimated());
        assert_eq!(auto.doubt(), None, "settled");
        assert_eq!(
            auto.key(),
            Some(Key {
                tonic: 0,
                mode: Mode::Major
            })
        );
        auto.reset();
        assert_eq!(auto.key(), None);
    }

    /// Through the opening the key may change at any step; after it, it is
    /// held as the estimator holds a key: one bar of another key's notes
    /// does not move it.
    #[test]
    fn the_opening_may_change_its_mind_then_the_key_is_held() {
        let mut auto = KeyFollower::new(KeyChoice::Auto);
        let mut step = 0;
        let mut play = |auto: &mut KeyFollower, pitch: u8, steps: usize| {
            for _ in 0..steps {
                auto.hear(Some(pitch), at(step));
                step += 1;
            }
        };
        // C on a downbeat (in the data, most often a minor key's tonic),
        // then E and G: C major within the first bar.
        play(&mut auto, 60, 4);
        let first = auto.key().unwrap();
        play(&mut auto, 64, 4);
        play(&mut auto, 67, 4);
        play(&mut auto, 60, 8);
        let major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        assert_ne!(first, major);
        assert_eq!(auto.key(), Some(major));
        assert!(auto.is_estimated(), "20 steps: the opening is over");
        // A bar of E♭ major's notes: held.
        for p in [63, 67, 70, 67] {
            play(&mut auto, p, 4);
        }
        assert_eq!(auto.key(), Some(major));
    }
}
