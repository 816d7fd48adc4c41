//! The step grid in samples: where beat positions land on the sample timeline.
//!
//! A step boundary is found from an *anchor* (an absolute sample and the beat
//! it sits on, at one tempo), never from the start of the current buffer. The
//! anchor only moves when the tempo changes or the position jumps, so cutting a
//! session into buffers of any size gives the very same boundary samples.

/// Slack for float noise: a boundary computed as 6000.000000001 samples is 6000.
const EPSILON_SAMPLES: f64 = 1e-6;

/// One stretch of constant tempo on the absolute sample timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Anchor {
    /// Absolute sample (samples since the sequencer started).
    pub sample: i64,
    /// Beat position (quarter notes) at `sample`.
    pub beat: f64,
    /// Samples per quarter note: `60 * sample_rate / bpm`.
    pub samples_per_beat: f64,
}

impl Anchor {
    pub fn new(sample: i64, beat: f64, sample_rate: f64, bpm: f64) -> Self {
        Self {
            sample,
            beat,
            samples_per_beat: samples_per_beat(sample_rate, bpm),
        }
    }

    /// The beat position at an absolute sample.
    pub fn beat_at(&self, sample: i64) -> f64 {
        self.beat + (sample - self.sample) as f64 / self.samples_per_beat
    }

    /// The first absolute sample at which `beat` has been reached.
    pub fn sample_of(&self, beat: f64) -> i64 {
        let offset = (beat - self.beat) * self.samples_per_beat;
        self.sample + (offset - EPSILON_SAMPLES).ceil() as i64
    }
}

/// Samples per quarter note; unusable tempi fall back to 120 bpm.
pub fn samples_per_beat(sample_rate: f64, bpm: f64) -> f64 {
    let bpm = sanitize_tempo(Some(bpm));
    let sr = if sample_rate.is_finite() && sample_rate > 0.0 {
        sample_rate
    } else {
        48_000.0
    };
    60.0 * sr / bpm
}

/// The host's tempo if it is a usable number, else 120 bpm.
pub fn sanitize_tempo(bpm: Option<f64>) -> f64 {
    match bpm {
        Some(t) if t.is_finite() && (1.0..=1000.0).contains(&t) => t,
        _ => 120.0,
    }
}

/// Index of the first step boundary at or after `beat` on a grid of `step_beats`.
pub fn first_step_at_or_after(beat: f64, step_beats: f64) -> i64 {
    (beat / step_beats - 1e-9).ceil() as i64
}

/// Index of the step whose boundary is nearest to `beat` (ties go to the later step).
pub fn nearest_step(beat: f64, step_beats: f64) -> i64 {
    (beat / step_beats + 0.5 + 1e-9).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_do_not_depend_on_where_the_anchor_is_read() {
        let a = Anchor::new(0, 0.0, 48_000.0, 120.0);
        assert_eq!(a.sample_of(0.25), 6000);
        assert_eq!(a.sample_of(1.0), 24_000);
        let b = Anchor::new(100, 0.0, 44_100.0, 133.0);
        // 0.25 beats at 133 bpm and 44.1 kHz is 4973.68... samples: the next whole sample.
        assert_eq!(b.sample_of(0.25), 100 + 4974);
        assert!((b.beat_at(b.sample_of(1.0)) - 1.0).abs() < 1.0 / b.samples_per_beat);
    }

    #[test]
    fn step_indices() {
        assert_eq!(first_step_at_or_after(0.0, 0.25), 0);
        assert_eq!(first_step_at_or_after(0.01, 0.25), 1);
        assert_eq!(first_step_at_or_after(0.5, 0.25), 2);
        assert_eq!(nearest_step(0.37, 0.25), 1);
        assert_eq!(nearest_step(0.375, 0.25), 2);
        assert_eq!(sanitize_tempo(Some(f64::NAN)), 120.0);
        assert_eq!(sanitize_tempo(None), 120.0);
    }
}
