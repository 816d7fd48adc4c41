//! Input timing as a musician means it: how long a grid step waits for a
//! melody note that is a little late.
//!
//! A person never plays on the sample: keyboard notes land 5–30 ms early or
//! late. A melody onset within the *Timing* tolerance of a grid step belongs
//! to that step. An early or on-time onset runs its step at once (zero added
//! latency); for a late one to be heard in time, a step with no onset yet
//! is not decided at its boundary but up to [`Feel::wait`] samples after it,
//! or the moment the late note comes, whichever is first. Every step is
//! decided once, so a late note never makes a chord that is struck and then
//! taken back: within the tolerance the notes are exactly those of the same
//! melody played on the grid.
//!
//! The price is that voices moving on their own while the melody holds
//! sound up to the wait after their boundary. So the wait follows how the
//! input has been timed, from the last [`RECENT`] melody onsets: notes
//! sequenced on the exact sample (a DAW's quantized clip) wait nothing and
//! play exactly as they always did; a host that delivers its sequence a few
//! samples off the grid (Ardour's region playback) waits [`GRACE_MS`]; a
//! player waits the whole tolerance. With the transport stopped the player
//! leads, and every step waits the tolerance.

/// The default tolerance: a keyboard player's spread, and inside the 30–50
/// ms within which ensemble players hear onsets as together.
pub const DEFAULT_TIMING_MS: f64 = 40.0;
/// The most a step ever waits: a third of a step, so an early note for the
/// next step can never arrive while this one still waits.
pub const MAX_STEP_FRACTION: f64 = 1.0 / 3.0;
/// Input off the grid by at most this much is a host's rounding, not a player.
pub const GRACE_MS: f64 = 1.0;
/// Melody onsets remembered to tell sequenced input from a player: enough
/// that a player never lands this many in a row within a millisecond of
/// the grid (with 20 ms of spread, each does so about one time in 25).
pub const RECENT: usize = 16;
/// The shortest note a taken-back decision may leave (see [`min_note`]).
pub const MIN_NOTE_MS: f64 = 30.0;

/// How the last [`RECENT`] melody onsets were timed against their steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feel {
    /// Distance in samples of each recent onset from its step's boundary.
    off_by: [i64; RECENT],
    next: usize,
}

impl Default for Feel {
    /// Until the input shows otherwise, it is taken as sequenced: exact.
    fn default() -> Self {
        Self {
            off_by: [0; RECENT],
            next: 0,
        }
    }
}

impl Feel {
    /// A melody onset `off_by` samples from its step's boundary (early or late).
    pub fn heard(&mut self, off_by: i64) {
        self.off_by[self.next] = off_by.saturating_abs();
        self.next = (self.next + 1) % RECENT;
    }

    /// Samples a step with no melody onset yet waits after its boundary:
    /// nothing for sample-exact input, the grace for a host's rounding, the
    /// tolerance for a player (`free`: the transport is stopped and the
    /// player leads). `tolerance` and `grace` are in samples.
    pub fn wait(&self, tolerance: i64, grace: i64, free: bool) -> i64 {
        let worst = self.off_by.iter().copied().max().unwrap_or(0);
        if free {
            tolerance
        } else if worst <= 1 || tolerance == 0 {
            // One sample covers the rounding of a host's fixed-point position.
            0
        } else if worst <= grace {
            grace.min(tolerance)
        } else {
            tolerance
        }
    }
}

/// The tolerance in samples: `timing_ms`, at most a third of a step of
/// `step_samples`.
pub fn tolerance(timing_ms: f64, sample_rate: f64, step_samples: f64) -> i64 {
    let ms = if timing_ms.is_finite() {
        timing_ms.max(0.0)
    } else {
        0.0
    };
    (ms * 1e-3 * sample_rate)
        .min(step_samples * MAX_STEP_FRACTION)
        .max(0.0)
        .round() as i64
}

/// [`GRACE_MS`] in samples.
pub fn grace(sample_rate: f64) -> i64 {
    (GRACE_MS * 1e-3 * sample_rate).round() as i64
}

/// The shortest a voice may sound before a later decision cuts it: 30 ms,
/// or less than a step where a step is shorter (a very fast tempo, whose
/// on-grid notes are that short anyway).
pub fn min_note(sample_rate: f64, step_samples: f64) -> i64 {
    (MIN_NOTE_MS * 1e-3 * sample_rate)
        .min(0.9 * step_samples)
        .max(0.0)
        .round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_input_waits_nothing_a_player_waits_the_tolerance() {
        let mut feel = Feel::default();
        assert_eq!(
            feel.wait(1920, 48, false),
            0,
            "sequenced until shown otherwise"
        );
        feel.heard(1);
        assert_eq!(
            feel.wait(1920, 48, false),
            0,
            "a sample of rounding is exact"
        );
        feel.heard(-5);
        assert_eq!(
            feel.wait(1920, 48, false),
            48,
            "a host's few samples: the grace"
        );
        feel.heard(-700);
        assert_eq!(
            feel.wait(1920, 48, false),
            1920,
            "a player early: the tolerance"
        );
        for _ in 0..RECENT - 1 {
            feel.heard(0);
        }
        assert_eq!(
            feel.wait(1920, 48, false),
            1920,
            "remembered for {RECENT} onsets"
        );
        feel.heard(0);
        assert_eq!(feel.wait(1920, 48, false), 0, "then exact again");
        assert_eq!(
            feel.wait(1920, 48, true),
            1920,
            "the stopped transport always waits"
        );
        assert_eq!(Feel::default().wait(0, 48, false), 0);
    }

    #[test]
    fn the_tolerance_is_at_most_a_third_of_a_step() {
        // 40 ms at 48 kHz is 1920 samples; a 16th at 80 bpm is 9000.
        assert_eq!(tolerance(40.0, 48_000.0, 9000.0), 1920);
        // At 240 bpm a 16th is 3000 samples: a third is 1000.
        assert_eq!(tolerance(40.0, 48_000.0, 3000.0), 1000);
        assert_eq!(tolerance(f64::NAN, 48_000.0, 3000.0), 0);
        assert_eq!(tolerance(-3.0, 48_000.0, 3000.0), 0);
        assert_eq!(min_note(48_000.0, 9000.0), 1440);
        assert_eq!(min_note(48_000.0, 1000.0), 900);
        assert_eq!(grace(48_000.0), 48);
    }
}
