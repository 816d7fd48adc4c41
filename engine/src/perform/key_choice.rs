//! Which key the harmony is in: set by hand, or followed from the melody.
//!
//! The one rule the plugin, the `bach` command and `bach-trainer harmony`
//! share: with Auto, a [`KeyEstimator`] hears the melody step by step as it
//! is harmonized (not the lookahead: the key is the melody's so far, so the
//! plugin and the offline harmonizer follow it alike), a melody rest ends a
//! phrase (where the key may change), and until the estimator has heard
//! enough the melody's first note stands in as the tonic of a major key, so
//! the first bar is not harmonized in C whatever the tune. Offline, with the
//! whole melody known, the key is the whole melody's ([`crate::key::estimate_key`])
//! except in passages clearly in a closely related key
//! ([`crate::key::key_track`]), decided before the first note. Fixed-size
//! state, no allocation.

use crate::key::{Key, KeyEstimator, Mode};

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
    /// The first melody note of the piece, the stand-in tonic.
    first: Option<u8>,
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
        self.first = None;
        self.in_phrase = false;
    }

    /// One grid step of the newest melody known: its pitch, or `None` for a
    /// rest (a phrase end, heard once).
    pub fn hear(&mut self, melody: Option<u8>) {
        match melody {
            Some(p) => {
                self.estimator.hear(p, 1.0);
                self.first.get_or_insert(p % 12);
                self.in_phrase = true;
            }
            None if self.in_phrase => {
                self.estimator.phrase_end();
                self.in_phrase = false;
            }
            None => {}
        }
    }

    /// The key in use: the fixed one, or the melody's as heard so far
    /// (`None` before any melody).
    pub fn key(&self) -> Option<Key> {
        match self.choice {
            KeyChoice::Fixed(k) => Some(k),
            KeyChoice::Auto => self.estimator.key().or(self.first.map(|tonic| Key {
                tonic,
                mode: Mode::Major,
            })),
        }
    }

    /// Whether the key in use is the estimator's (not a stand-in or a fixed key).
    pub fn is_estimated(&self) -> bool {
        self.choice == KeyChoice::Auto && self.estimator.key().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keys_stay_and_auto_starts_from_the_first_note() {
        let d = Key {
            tonic: 2,
            mode: Mode::Major,
        };
        let mut fixed = KeyFollower::new(KeyChoice::Fixed(d));
        fixed.hear(Some(61));
        assert_eq!(fixed.key(), Some(d));
        let mut auto = KeyFollower::new(KeyChoice::Auto);
        assert_eq!(auto.key(), None);
        auto.hear(Some(64));
        assert_eq!(auto.key().map(|k| k.tonic), Some(4), "the stand-in tonic");
        assert!(!auto.is_estimated());
        auto.reset();
        // A C major scale, long enough for the estimator.
        for p in [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 60] {
            auto.hear(Some(p));
            auto.hear(Some(p));
        }
        auto.hear(None);
        assert!(auto.is_estimated());
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
}
