//! Voice tokens: what one voice does on one grid step.
//!
//! A voice model predicts, per voice and step, one of: a rest, a hold (the note
//! sounding at the previous step goes on), or the onset of a pitch inside the
//! voice's range. Index 0 is the rest, 1 the hold, `2 + k` the onset of
//! `low + k`; the model's output heads use exactly these indices.

use serde::{Deserialize, Serialize};

/// Index of [`Token::Rest`] in a voice's vocabulary.
pub const REST: usize = 0;
/// Index of [`Token::Hold`] in a voice's vocabulary.
pub const HOLD: usize = 1;
/// Most voices a model may have; fixed-size buffers on the audio thread use it.
pub const MAX_VOICES: usize = 8;

/// One voice on one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Token {
    /// Silence.
    #[default]
    Rest,
    /// The previous step's note sounds on.
    Hold,
    /// A new note starts at this MIDI pitch.
    Onset(u8),
}

impl Token {
    /// The pitch started by this token, if it is an onset.
    pub fn onset(self) -> Option<u8> {
        match self {
            Token::Onset(p) => Some(p),
            _ => None,
        }
    }
}

/// The pitches a voice may start, inclusive at both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceRange {
    pub low: u8,
    pub high: u8,
}

impl VoiceRange {
    pub const fn new(low: u8, high: u8) -> Self {
        Self { low, high }
    }

    /// Number of tokens: rest, hold and one onset per pitch in range.
    pub fn vocab(&self) -> usize {
        2 + (self.high as usize).saturating_sub(self.low as usize) + 1
    }

    pub fn contains(&self, pitch: u8) -> bool {
        (self.low..=self.high).contains(&pitch)
    }

    /// The vocabulary index of `token`, or `None` for an onset out of range.
    pub fn index(&self, token: Token) -> Option<usize> {
        match token {
            Token::Rest => Some(REST),
            Token::Hold => Some(HOLD),
            Token::Onset(p) if self.contains(p) => Some(2 + (p - self.low) as usize),
            Token::Onset(_) => None,
        }
    }

    /// The vocabulary index of `token`, moving an onset out of range by whole
    /// octaves until it fits (or to the nearest end when the range is narrower
    /// than an octave). A melody played above the soprano's range is still
    /// seen by the model as the same pitch class.
    pub fn index_folded(&self, token: Token) -> usize {
        match token {
            Token::Onset(p) => 2 + (self.fold(p) - self.low) as usize,
            other => self.index(other).unwrap_or(REST),
        }
    }

    /// `pitch` moved by octaves into the range, or clamped when that cannot work.
    pub fn fold(&self, pitch: u8) -> u8 {
        let mut p = pitch as i32;
        let (low, high) = (self.low as i32, self.high as i32);
        while p > high && p - 12 >= low {
            p -= 12;
        }
        while p < low && p + 12 <= high {
            p += 12;
        }
        p.clamp(low, high) as u8
    }

    /// The token at vocabulary index `index` (indices past the end are onsets
    /// of the highest pitch).
    pub fn token(&self, index: usize) -> Token {
        match index {
            REST => Token::Rest,
            HOLD => Token::Hold,
            i => Token::Onset(self.low.saturating_add((i - 2) as u8).min(self.high)),
        }
    }
}

/// A named voice of a model, with its range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSpec {
    pub name: String,
    pub low: u8,
    pub high: u8,
}

impl VoiceSpec {
    pub fn range(&self) -> VoiceRange {
        VoiceRange::new(self.low, self.high)
    }
}

/// The sounding pitch of every voice after a step, given what sounded before.
/// A hold after a rest is read as a rest: nothing is there to hold.
pub fn sounding(previous: Option<u8>, token: Token) -> Option<u8> {
    match token {
        Token::Rest => None,
        Token::Hold => previous,
        Token::Onset(p) => Some(p),
    }
}

/// What one voice sounds at each step of its token line.
pub fn sounding_line(tokens: impl IntoIterator<Item = Token>) -> Vec<Option<u8>> {
    let mut now = None;
    tokens
        .into_iter()
        .map(|t| {
            now = sounding(now, t);
            now
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_round_trip() {
        let r = VoiceRange::new(60, 81);
        assert_eq!(r.vocab(), 24);
        for i in 0..r.vocab() {
            assert_eq!(r.index(r.token(i)), Some(i));
        }
        assert_eq!(r.index(Token::Onset(59)), None);
        assert_eq!(r.index(Token::Onset(82)), None);
    }

    #[test]
    fn folding_keeps_pitch_class() {
        let r = VoiceRange::new(60, 81);
        assert_eq!(r.fold(84), 72);
        assert_eq!(r.fold(40), 64);
        assert_eq!(r.fold(70), 70);
        let narrow = VoiceRange::new(60, 64);
        assert_eq!(narrow.fold(90), 64);
        assert_eq!(r.index_folded(Token::Onset(96)), 2 + 12);
    }

    #[test]
    fn hold_after_rest_is_silence() {
        assert_eq!(sounding(None, Token::Hold), None);
        assert_eq!(sounding(Some(60), Token::Hold), Some(60));
        assert_eq!(sounding(Some(60), Token::Onset(62)), Some(62));
        assert_eq!(sounding(Some(60), Token::Rest), None);
    }
}
