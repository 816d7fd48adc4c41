//! The meter as a model hears it: where a grid step falls in its bar and beat.
//!
//! The host (or a MIDI file) gives a time signature and where the bar began;
//! a model wants to know whether a step is a downbeat, where it sits in its
//! beat and how many beats are left before the bar line (cadences land on
//! strong beats). Everything here is plain integer arithmetic on `Copy`
//! values, so the audio thread may call it freely.

/// The longest bar a model may be told of, in grid steps (a bound that keeps
/// a hostile file from asking for absurd buffers).
pub const MAX_BAR_STEPS: usize = 256;

/// A time signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Meter {
    pub numerator: u8,
    /// A power of two: 2 for half notes, 4 for quarters, 8 for eighths.
    pub denominator: u8,
}

impl Default for Meter {
    fn default() -> Self {
        Meter::COMMON
    }
}

impl Meter {
    /// 4/4.
    pub const COMMON: Meter = Meter {
        numerator: 4,
        denominator: 4,
    };

    pub const fn new(numerator: u8, denominator: u8) -> Self {
        Self {
            numerator,
            denominator,
        }
    }

    /// A meter a host or file may send, or `None` for nonsense (a zero, a
    /// denominator that is not a power of two up to 64).
    pub fn checked(numerator: i64, denominator: i64) -> Option<Self> {
        let ok = (1..=64).contains(&numerator)
            && (1..=64).contains(&denominator)
            && (denominator as u64).is_power_of_two();
        ok.then(|| Meter::new(numerator as u8, denominator as u8))
    }

    /// This meter if a host or file could mean it ([`Meter::checked`]),
    /// else 4/4: how a meter read from a file is heard.
    pub fn or_common(self) -> Self {
        Meter::checked(self.numerator as i64, self.denominator as i64).unwrap_or(Meter::COMMON)
    }

    /// Length of a bar in quarter notes.
    pub fn bar_beats(self) -> f64 {
        self.numerator as f64 * 4.0 / self.denominator.max(1) as f64
    }

    /// Compound meters (6/8, 9/8, 12/8, 6/4...) beat in dotted notes of
    /// three denominator units.
    pub fn is_compound(self) -> bool {
        self.numerator > 3 && self.numerator.is_multiple_of(3) && self.denominator >= 4
    }

    /// Length of the felt beat in quarter notes. The chorales' models learned
    /// their rhythm from quarter-note beats, so half-note meters (2/2, 3/2)
    /// are felt in quarters too; compound meters in dotted notes; other
    /// eighth-note meters (5/8, 7/8) in eighths.
    pub fn beat_beats(self) -> f64 {
        let unit = 4.0 / self.denominator.max(1) as f64;
        if self.is_compound() {
            3.0 * unit
        } else {
            unit.min(1.0)
        }
    }

    /// A bar's length in grid steps of `step_beats` quarter notes (at least 1).
    pub fn bar_steps(self, step_beats: f64) -> usize {
        steps(self.bar_beats(), step_beats)
    }

    /// A beat's length in grid steps of `step_beats` quarter notes (at least 1).
    pub fn beat_steps(self, step_beats: f64) -> usize {
        steps(self.beat_beats(), step_beats)
    }
}

fn steps(beats: f64, step_beats: f64) -> usize {
    let n = (beats / step_beats).round();
    if n.is_finite() && n >= 1.0 {
        (n as usize).min(MAX_BAR_STEPS)
    } else {
        1
    }
}

/// Where a step falls: its index in the bar and the bar's and beat's lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarPosition {
    /// Steps since the bar line (0 on the downbeat).
    pub step: usize,
    /// Steps in this bar.
    pub bar_steps: usize,
    /// Steps in one beat.
    pub beat_steps: usize,
}

impl Default for BarPosition {
    fn default() -> Self {
        BarPosition::common(0)
    }
}

impl BarPosition {
    /// Step `step` of a bar of `meter` on a grid of `step_beats` quarter notes
    /// (`step` is taken modulo the bar).
    pub fn new(step: usize, meter: Meter, step_beats: f64) -> Self {
        let bar_steps = meter.bar_steps(step_beats);
        let beat_steps = meter.beat_steps(step_beats).min(bar_steps);
        Self {
            step: step % bar_steps,
            bar_steps,
            beat_steps,
        }
    }

    /// Step `step` of a 4/4 bar of 16ths: the only meter older models knew.
    pub fn common(step: usize) -> Self {
        Self::new(step, Meter::COMMON, 0.25)
    }

    /// The first step of a bar of two beats or more. A bar of one beat (a
    /// 1/4 bar) is a pickup, as DAWs write a partial first bar: the model
    /// hears its notes as the last beat of a bar, as `bach harmonize` places
    /// a pickup, not as a downbeat.
    pub fn is_downbeat(self) -> bool {
        self.step == 0 && self.bar_steps > self.beat_steps
    }

    /// Steps since the beat began.
    pub fn in_beat(self) -> usize {
        self.step % self.beat_steps.max(1)
    }

    /// Whole beats left in the bar after this step's beat: 0 on the last beat.
    pub fn beats_left(self) -> usize {
        let beat = self.beat_steps.max(1);
        let beats = self.bar_steps.div_ceil(beat);
        beats.saturating_sub(1 + self.step / beat)
    }

    /// A strong beat: the downbeat, or the middle of a bar of four beats
    /// (4/4's third beat, 12/8's third); what the harmony figures call strong.
    pub fn is_strong(self) -> bool {
        let beat = self.beat_steps.max(1);
        let beats = self.bar_steps.div_ceil(beat);
        self.step == 0 || (beats == 4 && self.step == 2 * beat)
    }
}

/// A stretch of music in one meter, as a host reports it: from grid step
/// `step` on, with a bar line at grid step `bar_step` (before `step` for a
/// pickup, which is heard in the meter after it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeterRegion {
    pub step: u32,
    pub meter: Meter,
    pub bar_step: i64,
}

impl MeterRegion {
    /// The region of `regions` (sorted by step) in force at step `t`: 4/4
    /// with a bar line at step 0 before the first.
    pub fn at(regions: &[MeterRegion], t: u32) -> MeterRegion {
        regions
            .iter()
            .rev()
            .find(|r| r.step <= t)
            .copied()
            .unwrap_or(MeterRegion {
                step: 0,
                meter: Meter::COMMON,
                bar_step: 0,
            })
    }

    /// Where step `t` falls in this region's bars, on a grid of
    /// `step_beats`: steps since the last bar line, wrapped at the bar.
    pub fn place(self, t: u32, step_beats: f64) -> BarPosition {
        let bar = self.meter.bar_steps(step_beats) as i64;
        let since = (t as i64 - self.bar_step).rem_euclid(bar.max(1));
        BarPosition::new(since as usize, self.meter, step_beats)
    }

    /// Where each of the first `len` steps falls in its bar, on a grid of
    /// `step_beats`, in `regions` (sorted by step; 4/4 from step 0 before
    /// the first): as the sequencer places a step from a host's transport.
    pub fn bar_positions(regions: &[MeterRegion], step_beats: f64, len: u32) -> Vec<BarPosition> {
        (0..len)
            .map(|t| MeterRegion::at(regions, t).place(t, step_beats))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_beats_of_common_meters() {
        let cases = [
            ((4, 4), 16, 4),
            ((3, 4), 12, 4),
            ((2, 2), 16, 4),
            ((3, 2), 24, 4),
            ((6, 8), 12, 6),
            ((12, 8), 24, 6),
            ((7, 8), 14, 2),
            ((2, 4), 8, 4),
        ];
        for ((n, d), bar, beat) in cases {
            let m = Meter::new(n, d);
            assert_eq!(m.bar_steps(0.25), bar, "{n}/{d}");
            assert_eq!(m.beat_steps(0.25), beat, "{n}/{d}");
        }
    }

    #[test]
    fn positions_know_beats_left_and_strength() {
        let p = |s, n, d| BarPosition::new(s, Meter::new(n, d), 0.25);
        assert_eq!(p(0, 4, 4).beats_left(), 3);
        assert_eq!(p(12, 4, 4).beats_left(), 0);
        assert_eq!(p(13, 4, 4).in_beat(), 1);
        assert!(p(8, 4, 4).is_strong());
        assert!(!p(8, 3, 4).is_strong(), "3/4 has one strong beat");
        assert_eq!(p(8, 3, 4).beats_left(), 0);
        assert_eq!(p(6, 6, 8).beats_left(), 0);
        assert_eq!(p(7, 6, 8).in_beat(), 1);
        assert_eq!(p(16, 4, 4).step, 0, "steps wrap at the bar line");
    }

    /// A 1/4 bar, as a DAW writes a one-beat pickup, reads as the pickup
    /// `bach harmonize` places on the last beat of the next meter's bar:
    /// no downbeat, no beats left, the same place in the beat.
    #[test]
    fn a_bar_of_one_beat_is_a_pickup() {
        let p = |s, n, d| BarPosition::new(s, Meter::new(n, d), 0.25);
        for step in 0..4 {
            let pickup = p(step, 1, 4);
            for last_beat in [p(12 + step, 4, 4), p(8 + step, 3, 4)] {
                assert_eq!(pickup.is_downbeat(), last_beat.is_downbeat());
                assert_eq!(pickup.beats_left(), last_beat.beats_left());
                assert_eq!(pickup.in_beat(), last_beat.in_beat());
            }
        }
        assert!(p(0, 2, 4).is_downbeat(), "two beats make a bar");
    }

    #[test]
    fn nonsense_meters_are_refused() {
        assert_eq!(Meter::checked(3, 4), Some(Meter::new(3, 4)));
        assert_eq!(Meter::checked(0, 4), None);
        assert_eq!(Meter::checked(3, 5), None);
        assert_eq!(Meter::checked(3, 0), None);
        assert_eq!(Meter::checked(-3, 4), None);
        assert_eq!(Meter::checked(300, 4), None);
    }
}
