//! Held keys: the input notes being held, what was struck since the last
//! step, and which input notes were passed to the output.

use crate::perform::{Heard, MelodyNote};

/// The input notes being held, and what was struck since the last step.
#[derive(Clone, Debug)]
pub struct Input {
    /// Keys held, per channel. A repeated note-on for a held key is a
    /// retrigger, not a second holder, so the key's one note-off ends it.
    pub keys: [u128; 16],
    pub struck: u128,
    /// Input notes passed to the output and not yet ended there, per channel.
    pub passed: [u128; 16],
    /// The latest note-on's velocity.
    pub velocity: u8,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            keys: [0; 16],
            struck: 0,
            passed: [0; 16],
            velocity: 100,
        }
    }
}

impl Input {
    /// Keys held on any channel.
    pub fn held(&self) -> u128 {
        self.keys.iter().fold(0, |a, k| a | k)
    }

    /// The highest held key.
    pub fn top(&self) -> Option<u8> {
        let held = self.held();
        (held != 0).then(|| 127 - held.leading_zeros() as u8)
    }

    /// The melody: the highest held key, struck since the last step or not.
    pub fn melody(&self) -> Option<MelodyNote> {
        self.top().map(|pitch| MelodyNote {
            pitch,
            struck: self.struck & (1u128 << pitch) != 0,
        })
    }

    /// The highest key held or struck since the last step.
    pub fn heard_top(&self) -> Option<u8> {
        let heard = self.heard().keys;
        (heard != 0).then(|| 127 - heard.leading_zeros() as u8)
    }

    /// What a listening step hears: held or struck since the last step.
    pub fn heard(&self) -> Heard {
        Heard {
            keys: self.held() | self.struck,
            struck: self.struck,
        }
    }

    /// Forgets every held key (their note-offs may still come and pass).
    pub fn forget(&mut self) {
        self.keys = [0; 16];
        self.struck = 0;
    }
}
