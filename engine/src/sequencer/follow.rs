//! Free playing: with the transport stopped, the grid follows the player.
//!
//! A musician who plays without pressing Play plays at their own pace, not
//! the host's tempo. The [`Follower`] reads that pace from the melody's
//! onsets: each interval between two melody onsets is read as the note
//! value the player most likely meant ([`Follower::meant`]: a prior over the
//! note values of hymn and chorale melodies, weighed against the tempo heard
//! so far), and the grid is re-anchored on every onset at the beat that
//! value puts it on, with the beat length moved towards the one just heard:
//! halfway for an interval of two beats or more, less for shorter ones,
//! whose length is mostly the player's spread. So a tune played 20% slower
//! or faster than the host's tempo still lands on its quarters and eighths,
//! and a player who slows down or hurries is followed within a few notes.
//!
//! Before the first interval of a phrase is heard, the pace is unknown: the
//! sequencer then takes no hold steps under the first note until the
//! second arrives (or the player lets go), so no step is decided on a grid
//! the player has not shown yet.
//!
//! Nor is the bar known: the first note is taken as a one-beat pickup, as
//! two chorales in three begin, until the first long note (two beats or
//! more, on a beat) tells which beats are strong ([`Follower::heard_note`]).

use crate::meter::Meter;

/// Note values a melody interval is read as, in beats, with how often
/// hymn and chorale melodies use them (the rest share what is left).
const VALUES: [(f64, f64); 8] = [
    (1.0, 0.35),
    (0.5, 0.2),
    (2.0, 0.12),
    (1.5, 0.06),
    (0.25, 0.05),
    (3.0, 0.04),
    (0.75, 0.03),
    (4.0, 0.03),
];
/// The prior of any other multiple of a grid step.
const OTHER: f64 = 0.005;
/// How far the player's pace may be from the host's tempo, as the spread
/// of its logarithm: before the first interval, and once one was heard.
const SPREAD_UNHEARD: f64 = 0.15;
const SPREAD_HEARD: f64 = 0.06;
/// How far an interval of [`RELIABLE_BEATS`] or more moves the beat length
/// towards the one heard (a shorter one, in proportion).
const ADAPT: f64 = 0.5;
const RELIABLE_BEATS: f64 = 2.0;
/// The pace followed stays within this factor of the host's tempo.
const MAX_FACTOR: f64 = 2.0;

/// The shortest melody note, in beats, that tells where the bar starts:
/// in the 225 train chorales, 97% of the notes of two beats or more in 4/4
/// begin on its first or third beat, and 87% of those in 3/4 on its first.
const DOWNBEAT_NOTE_BEATS: f64 = 2.0;

/// The player's pace and last melody onset, and where their bar begins.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Follower {
    /// The last melody onset: its sample and the beat it was put on.
    last: Option<(i64, f64)>,
    /// Samples per beat at the player's pace, once an interval was heard.
    beat: Option<f64>,
    /// Beats the bar starts earlier than the first note as a pickup puts
    /// it ([`Self::bar_shift`]), once a long note has told.
    bar_shift: Option<f64>,
}

impl Follower {
    /// Forgets the pace and the last onset (a phrase ended, the grid restarted).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// Whether the player's pace is known (an interval of this phrase heard).
    pub fn knows_pace(&self) -> bool {
        self.beat.is_some()
    }

    /// Whether a phrase's first note was heard and its pace not yet.
    pub fn awaits_pace(&self) -> bool {
        self.last.is_some() && self.beat.is_none()
    }

    /// The phrase's first onset, at `sample` on `beat`.
    pub fn first(&mut self, sample: i64, beat: f64) {
        self.last = Some((sample, beat));
        self.beat = None;
        self.bar_shift = None;
    }

    /// The beat the last melody onset was put on.
    pub fn last_beat(&self) -> Option<f64> {
        self.last.map(|(_, beat)| beat)
    }

    /// Beats to move the bar lines earlier by: the phrase's first note was
    /// taken as a one-beat pickup, and two chorales in three begin so; a
    /// long note then heard on a weak beat (see [`Self::heard_note`]) says
    /// the melody began on a downbeat instead, and the bar moves a beat.
    pub fn bar_shift(&self) -> f64 {
        self.bar_shift.unwrap_or(0.0)
    }

    /// A melody note on `beat` lasted `beats` (its next onset came): the
    /// phrase's first note of [`DOWNBEAT_NOTE_BEATS`] or more, on a beat,
    /// fixes the bar ([`Self::bar_shift`]). `bar_origin` is a beat where a
    /// bar of `meter` begins as the pickup put it; only 3/4 and 4/4 are
    /// read, where the counts hold.
    pub fn heard_note(&mut self, beat: f64, beats: f64, bar_origin: f64, meter: Meter) {
        if self.bar_shift.is_some() || beats < DOWNBEAT_NOTE_BEATS || beat.fract().abs() > 1e-9 {
            return;
        }
        if meter.denominator != 4 {
            return;
        }
        let shift = match meter.numerator {
            // Beats 1 and 3 strong: a long note on 2 or 4 moves the bar.
            4 => ((beat - bar_origin).rem_euclid(2.0) as u32 == 1) as u32,
            // Only the downbeat: the third beat's long note is the next
            // bar's first, as it is when a one-beat pickup was wrong.
            3 => ((beat - bar_origin).rem_euclid(3.0) as u32 == 2) as u32,
            _ => return,
        };
        self.bar_shift = Some(shift as f64);
    }

    /// A melody onset at `sample`. Returns the beat the player meant it on
    /// and the samples per beat of the pace from here; `None` without an
    /// earlier onset. `host_beat` is the host tempo's samples per beat,
    /// `step_beats` the grid step. The beat may be one the grid has already
    /// decided (the player slower than the grid thought): the sequencer
    /// then gives the note the next step, and anchoring the grid at the
    /// beat meant lets it fall back in step with the player.
    pub fn onset(&mut self, sample: i64, host_beat: f64, step_beats: f64) -> Option<(f64, f64)> {
        let (last_sample, last_beat) = self.last?;
        let elapsed = (sample - last_sample) as f64;
        if elapsed <= 0.0 || !host_beat.is_finite() || host_beat <= 0.0 {
            return None;
        }
        let pace = self.beat.unwrap_or(host_beat);
        let spread = if self.beat.is_some() {
            SPREAD_HEARD
        } else {
            SPREAD_UNHEARD
        };
        let value = Self::meant(elapsed / pace, step_beats, spread);
        let beat = last_beat + value;
        let heard = elapsed / value;
        // A short note's length is mostly the player's spread, not their
        // pace: an interval moves the pace by its share of two beats.
        let new = match self.beat {
            None => heard,
            Some(b) => b * (heard / b).powf(ADAPT * (value / RELIABLE_BEATS).min(1.0)),
        };
        let new = new.clamp(host_beat / MAX_FACTOR, host_beat * MAX_FACTOR);
        self.beat = Some(new);
        self.last = Some((sample, beat));
        Some((beat, new))
    }

    /// The note value (in beats, a whole number of grid steps) most likely
    /// meant by an interval that lasted `beats` at the pace heard so far:
    /// the value's prior against how far the pace would have to be off for
    /// it, on a log scale with `spread`.
    pub fn meant(beats: f64, step_beats: f64, spread: f64) -> f64 {
        let mut best = (f64::NEG_INFINITY, step_beats);
        let most = ((beats * 2.0) / step_beats).ceil().max(1.0) as i64;
        for steps in 1..=most {
            let value = steps as f64 * step_beats;
            let prior = VALUES
                .iter()
                .find(|(v, _)| (v - value).abs() < 1e-9)
                .map_or(OTHER, |&(_, p)| p);
            let off = (beats / value).ln();
            let score = prior.ln() - off * off / (2.0 * spread * spread);
            if score > best.0 {
                best = (score, value);
            }
        }
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_is_read_as_the_likeliest_note_value() {
        let m = |beats| Follower::meant(beats, 0.25, SPREAD_UNHEARD);
        // A quarter played 20% slower or faster than the host's tempo.
        assert_eq!(m(1.25), 1.0);
        assert_eq!(m(1.0 / 1.2), 1.0);
        assert_eq!(m(0.5 * 1.2), 0.5);
        // At the host's tempo, dotted values stay dotted.
        assert_eq!(m(1.5), 1.5);
        assert_eq!(m(2.0), 2.0);
        let h = |beats| Follower::meant(beats, 0.25, SPREAD_HEARD);
        assert_eq!(h(0.27), 0.25);
        assert_eq!(h(1.04), 1.0);
        assert_eq!(h(2.9), 3.0);
        assert_eq!(h(0.8), 0.75, "at a known pace, a dotted eighth is one");
    }

    #[test]
    fn a_slower_player_is_followed_from_the_first_interval() {
        let host = 24_000.0; // 120 bpm at 48 kHz
        let player = host * 1.25; // 96 bpm
        let mut f = Follower::default();
        f.first(1000, 4.0);
        assert!(!f.knows_pace());
        let at = |beats: f64| 1000 + (beats * player) as i64;
        let (beat, pace) = f.onset(at(1.0), host, 0.25).unwrap();
        assert_eq!(beat, 5.0);
        assert!((pace - player).abs() < 1.0);
        // An eighth and a half note at that pace land where they should.
        assert_eq!(f.onset(at(1.5), host, 0.25).unwrap().0, 5.5);
        assert_eq!(f.onset(at(3.5), host, 0.25).unwrap().0, 7.5);
        assert!(f.knows_pace());
        f.forget();
        assert_eq!(f.onset(at(4.0), host, 0.25), None);
    }

    #[test]
    fn a_long_note_on_a_weak_beat_moves_the_bar_a_beat() {
        // 4/4, bars from beat 0; the first note was put on beat 3 as a
        // pickup. A half note on beat 5 (the second beat of a bar as
        // guessed) says the melody began on a downbeat.
        let mut f = Follower::default();
        f.first(0, 3.0);
        assert_eq!(f.bar_shift(), 0.0);
        f.heard_note(4.0, 1.0, 0.0, Meter::COMMON);
        assert_eq!(f.bar_shift(), 0.0, "a quarter tells nothing");
        f.heard_note(5.0, 2.0, 0.0, Meter::COMMON);
        assert_eq!(f.bar_shift(), 1.0);
        f.heard_note(8.0, 2.0, 0.0, Meter::COMMON);
        assert_eq!(f.bar_shift(), 1.0, "the first long note decides");
        // On the third beat: the pickup was right, and stays.
        f.first(0, 3.0);
        f.heard_note(6.0, 2.0, 0.0, Meter::COMMON);
        assert_eq!(f.bar_shift(), 0.0);
        f.heard_note(7.0, 2.0, 0.0, Meter::COMMON);
        assert_eq!(f.bar_shift(), 0.0);
        // Off the beat, or in 6/8: nothing.
        f.first(0, 3.0);
        f.heard_note(5.5, 2.0, 0.0, Meter::COMMON);
        f.heard_note(5.0, 3.0, 0.0, Meter::new(6, 8));
        assert_eq!(f.bar_shift, None);
        // 3/4: a dotted half on the bar's third beat as guessed is the
        // next bar's first; on its second, the pickup stands.
        f.heard_note(5.0, 3.0, 0.0, Meter::new(3, 4));
        assert_eq!(f.bar_shift(), 1.0);
        f.first(0, 2.0);
        f.heard_note(4.0, 2.0, 0.0, Meter::new(3, 4));
        assert_eq!(f.bar_shift(), 0.0);
    }
}
