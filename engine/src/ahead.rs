//! Lookahead: the melody notes a harmonizer may know before it decides.
//!
//! Played live, the melody's future is unknown; with a beat or a bar of
//! added latency (or offline, with the whole melody) the model is told the
//! next few melody onsets: their pitch and how many steps away they are. A
//! rest in the melody ends the scan, since a phrase ends there. The notes
//! are few and fixed in number, so this is a `Copy` value the audio thread
//! fills without allocating.

use crate::token::Token;

/// Most upcoming melody notes a model is told.
pub const MAX_AHEAD: usize = 4;

/// How far ahead the melody is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Horizon {
    /// Nothing ahead: no added latency, for live playing.
    #[default]
    Off,
    /// One beat.
    Beat,
    /// One bar.
    Bar,
    /// The whole melody (offline).
    Whole,
}

impl Horizon {
    pub const ALL: [Horizon; 4] = [Horizon::Off, Horizon::Beat, Horizon::Bar, Horizon::Whole];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Horizon::Off => "off",
            Horizon::Beat => "1 beat",
            Horizon::Bar => "1 bar",
            Horizon::Whole => "whole melody",
        }
    }

    /// Steps of melody known beyond the current one, for a bar of
    /// `bar_steps` and a beat of `beat_steps` (`usize::MAX` for the whole).
    pub fn steps(self, beat_steps: usize, bar_steps: usize) -> usize {
        match self {
            Horizon::Off => 0,
            Horizon::Beat => beat_steps,
            Horizon::Bar => bar_steps,
            Horizon::Whole => usize::MAX,
        }
    }
}

/// A melody onset ahead: its pitch and its distance in steps (at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Upcoming {
    pub pitch: u8,
    pub steps: u16,
}

/// What is known of the melody after the current step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ahead {
    pub horizon: Horizon,
    /// The melody pitch on the current step, which the first upcoming
    /// note's contour is measured from (set by whoever knows it).
    pub current: Option<u8>,
    /// The next onsets, nearest first; `None` past the last one known.
    pub notes: [Option<Upcoming>; MAX_AHEAD],
}

impl Ahead {
    /// Nothing known ahead.
    pub fn off() -> Self {
        Self::default()
    }

    /// Scans the melody after step `now`: `melody(k)` is the melody's token
    /// `k` steps after `now` (`None` where the melody is not known, which
    /// ends the scan like a rest does). At most `limit` steps are looked at.
    pub fn scan(horizon: Horizon, limit: usize, melody: impl Fn(usize) -> Option<Token>) -> Self {
        let mut ahead = Ahead {
            horizon,
            ..Ahead::default()
        };
        let mut found = 0;
        let mut k = 1;
        while found < MAX_AHEAD && k <= limit {
            match melody(k) {
                None | Some(Token::Rest) => break,
                Some(Token::Hold) => {}
                Some(Token::Onset(pitch)) => {
                    ahead.notes[found] = Some(Upcoming {
                        pitch,
                        steps: k.min(u16::MAX as usize) as u16,
                    });
                    found += 1;
                }
            }
            k += 1;
        }
        ahead
    }

    /// The same notes moved by `semitones` (into a key-normalised frame).
    pub fn transposed(mut self, semitones: i32) -> Self {
        let shift = |p: u8| (p as i32 + semitones).clamp(0, 127) as u8;
        for n in self.notes.iter_mut().flatten() {
            n.pitch = shift(n.pitch);
        }
        self.current = self.current.map(shift);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Token::{Hold as H, Onset as O, Rest as R};

    #[test]
    fn scan_finds_onsets_within_the_limit_and_stops_at_a_rest() {
        let melody = [O(60), H, O(62), H, H, O(64), R, O(65)];
        let at = |now: usize| move |k: usize| melody.get(now + k).copied();
        let a = Ahead::scan(Horizon::Whole, usize::MAX, at(0));
        assert_eq!(
            a.notes,
            [
                Some(Upcoming {
                    pitch: 62,
                    steps: 2
                }),
                Some(Upcoming {
                    pitch: 64,
                    steps: 5
                }),
                None,
                None
            ]
        );
        let a = Ahead::scan(Horizon::Beat, 4, at(0));
        assert_eq!(
            a.notes[0],
            Some(Upcoming {
                pitch: 62,
                steps: 2
            })
        );
        assert_eq!(a.notes[1], None, "64 is five steps away, past a beat");
        assert_eq!(Ahead::scan(Horizon::Off, 0, at(0)).notes, [None; 4]);
        assert_eq!(a.transposed(-2).notes[0].unwrap().pitch, 60);
    }
}
