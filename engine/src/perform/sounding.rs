//! What each voice is sounding: one tracker for voice leading, the melody's
//! hold-or-strike decision and the listening clamp.

use crate::token::{sounding, Token, MAX_VOICES};

/// The pitch each voice sounds after the last step (`None` while resting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sounding([Option<u8>; MAX_VOICES]);

impl Sounding {
    /// Voice `v`'s pitch (`None` for a voice past [`MAX_VOICES`]).
    pub fn get(&self, v: usize) -> Option<u8> {
        self.0.get(v).copied().flatten()
    }

    /// Voice `v` took `token` on a step: an onset sounds its pitch, a hold
    /// keeps what sounded, a rest silences it.
    pub fn update(&mut self, v: usize, token: Token) {
        if let Some(p) = self.0.get_mut(v) {
            *p = sounding(*p, token);
        }
    }

    /// Every sounding pitch moved by `semitones` (into another key's frame).
    pub fn transpose(&mut self, semitones: i32) {
        for p in self.0.iter_mut().flatten() {
            *p = (*p as i32 + semitones).clamp(0, 127) as u8;
        }
    }

    pub fn clear(&mut self) {
        self.0 = [None; MAX_VOICES];
    }

    pub fn voices(&self) -> &[Option<u8>; MAX_VOICES] {
        &self.0
    }
}
