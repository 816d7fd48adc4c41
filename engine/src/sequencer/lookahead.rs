//! The lookahead: the melody still in the delay line, read onto the grid.

use super::clock::nearest_step;
use super::{InputKind, Sequencer};
use crate::ahead::{Ahead, Horizon, Upcoming, MAX_AHEAD};
use crate::meter::BarPosition;

impl Sequencer {
    /// The melody after step `k` as far as the delay line knows it: the
    /// input waiting to be played, read onto the grid (each note-on owned by
    /// the nearest step), at most `limit` steps ahead. A moment with no key
    /// held ends the scan, as a rest ends a phrase.
    ///
    /// Only input the host had sent by `now` (the step's absolute sample)
    /// counts: what else sits in the delay line came in the same buffer, so
    /// reading it would make the harmony depend on the buffer size.
    pub(super) fn ahead(
        &self,
        k: i64,
        step_beats: f64,
        limit: usize,
        horizon: Horizon,
        now: i64,
    ) -> Ahead {
        let mut ahead = Ahead {
            horizon,
            ..Ahead::default()
        };
        let Some(clock) = self.clock else {
            return ahead;
        };
        let top = |keys: u128| (keys != 0).then(|| 127 - keys.leading_zeros() as u8);
        let mut held = self.input.held();
        let mut found: usize = 0;
        let mut silent_at: Option<i64> = None;
        let arrived_by = now + self.latency as i64;
        for (due, ev) in self.delay.input.iter() {
            if due > arrived_by {
                break;
            }
            let j = nearest_step(clock.anchor.beat_at(due), step_beats);
            if let Some(at) = silent_at {
                if j > at {
                    break;
                }
            }
            if j > k + limit as i64 {
                break;
            }
            let before = top(held);
            let bit = |p: u8| 1u128 << (p & 127);
            match ev.kind {
                InputKind::NoteOn { pitch, velocity } if velocity > 0 => held |= bit(pitch),
                InputKind::NoteOn { pitch, .. } | InputKind::NoteOff { pitch } => {
                    held &= !bit(pitch)
                }
                InputKind::AllNotesOff => held = 0,
            }
            let now = top(held);
            silent_at = if held == 0 { Some(j) } else { None };
            let struck = match ev.kind {
                InputKind::NoteOn { pitch, velocity } if velocity > 0 => Some(pitch & 127),
                _ => None,
            };
            // A new melody note: the struck key became the top one, or the
            // top key was let go and a lower one sounds on.
            let Some(pitch) = now.filter(|&p| struck == Some(p) || now != before) else {
                continue;
            };
            if j <= k {
                continue;
            }
            let steps = (j - k).min(u16::MAX as i64) as u16;
            match found.checked_sub(1).and_then(|i| ahead.notes[i]) {
                // A chord's notes on one step: the top one is the melody.
                Some(n) if n.steps == steps => {
                    ahead.notes[found - 1] = Some(Upcoming { pitch, steps })
                }
                _ if found < MAX_AHEAD => {
                    ahead.notes[found] = Some(Upcoming { pitch, steps });
                    found += 1;
                }
                _ => break,
            }
        }
        ahead
    }
}

/// Steps of melody the lookahead holds back in a bar like `bar`: a beat or a
/// bar (the whole melody is for offline use; live it is a bar).
pub(super) fn lookahead_steps(horizon: Horizon, bar: BarPosition) -> usize {
    horizon
        .steps(bar.beat_steps, bar.bar_steps)
        .min(bar.bar_steps)
}
