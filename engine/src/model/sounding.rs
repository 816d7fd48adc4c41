//! What each voice sounds going into a step, and for how long: the input
//! feature [`Feature::Sounding`](super::context::Feature::Sounding).
//!
//! The previous step's tokens say only "hold" for a held note, so without
//! this the core must remember which pitch is held and since when; with it,
//! a voice's next pitch (mostly a step from the one sounding) and the end of
//! its note (a quarter is four 16ths) are read off the input.
//!
//! Engine and trainer encode it with these same functions.

use super::pairs;
use crate::token::{Token, VoiceRange, REST};

/// Length slots per voice: one for each of 1 to 16 steps (a whole note on
/// the 16th grid); longer notes share the last.
pub const LENGTHS: usize = 16;

/// One voice going into a step: the pitch it sounds (`None`: it rests) and
/// for how many steps it has sounded that pitch (or rested).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sounding {
    pub pitch: Option<u8>,
    pub steps: u16,
}

impl Sounding {
    /// The voice after a step on which it did `token` (onsets folded into
    /// the range, as the previous-step block reads them). A hold while
    /// resting is more rest.
    pub fn after(self, range: &VoiceRange, token: Token) -> Self {
        // What the token sounds, as the pair score reads it.
        let pitch = pairs::sounds(range, token, self.pitch);
        let goes_on = !matches!(token, Token::Onset(_)) && pitch == self.pitch;
        Self {
            pitch,
            steps: match goes_on {
                true => self.steps.saturating_add(1),
                false => 1,
            },
        }
    }
}

/// Size of the block for voices of `ranges`: per voice a one-hot of the
/// pitch sounding (its vocabulary's onset index, or the rest index), then
/// per voice a one-hot of how long.
pub fn block_size(ranges: impl Iterator<Item = VoiceRange>) -> usize {
    ranges.map(|r| r.vocab() + LENGTHS).sum()
}

/// The active indices of the block starting at `offset`: two per voice.
/// Allocation-free (a chain of two maps over the voices).
pub fn indices<'a>(
    ranges: &'a [VoiceRange],
    states: &'a [Sounding],
    offset: usize,
) -> impl Iterator<Item = usize> + 'a {
    let step_size: usize = ranges.iter().map(|r| r.vocab()).sum();
    let pitches = ranges.iter().zip(states).scan(offset, |at, (range, s)| {
        let index = s
            .pitch
            .and_then(|p| range.index(Token::Onset(p)))
            .unwrap_or(REST);
        let i = *at + index;
        *at += range.vocab();
        Some(i)
    });
    let lengths = states.iter().enumerate().map(move |(v, s)| {
        let slot = (s.steps.max(1) as usize).min(LENGTHS) - 1;
        offset + step_size + v * LENGTHS + slot
    });
    pitches.chain(lengths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_note_keeps_its_pitch_and_counts_its_steps() {
        let r = VoiceRange::new(60, 72);
        let s = Sounding::default()
            .after(&r, Token::Onset(64))
            .after(&r, Token::Hold)
            .after(&r, Token::Hold);
        assert_eq!(
            s,
            Sounding {
                pitch: Some(64),
                steps: 3
            }
        );
        let rest = s.after(&r, Token::Rest).after(&r, Token::Hold);
        assert_eq!(
            rest,
            Sounding {
                pitch: None,
                steps: 2
            }
        );
        // Out of range: folded, as the previous-step block folds it.
        assert_eq!(
            Sounding::default().after(&r, Token::Onset(88)).pitch,
            Some(64)
        );
    }

    #[test]
    fn indices_stay_in_each_voice_block() {
        let ranges = [VoiceRange::new(60, 72), VoiceRange::new(48, 60)];
        let states = [
            Sounding {
                pitch: Some(61),
                steps: 40,
            },
            Sounding {
                pitch: None,
                steps: 2,
            },
        ];
        let got: Vec<usize> = indices(&ranges, &states, 100).collect();
        let v0 = ranges[0].vocab();
        let step = v0 + ranges[1].vocab();
        assert_eq!(
            got,
            vec![
                100 + 2 + 1,
                100 + v0 + REST,
                100 + step + LENGTHS - 1,
                100 + step + LENGTHS + 1
            ]
        );
        assert!(got
            .iter()
            .all(|&i| i < 100 + block_size(ranges.into_iter())));
    }
}
