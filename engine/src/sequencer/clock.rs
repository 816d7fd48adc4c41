//! The step grid in samples: where beat positions land on the sample timeline.
//!
//! A step boundary is found from an *anchor* (an absolute sample and the beat
//! it sits on, at one tempo), never from the start of the current buffer. The
//! anchor only moves when the tempo changes or the position jumps, so cutting a
//! session into buffers of any size gives the very same boundary samples.
//!
//! [`Clock::sync`] is the one place that compares a block's transport with
//! the running clock and decides what happens to the grid: kept, bent (a new
//! tempo from here, same steps), or restarted (a seek, a start or stop, a new
//! sample rate); [`Clock::loop_wrap`] finds a loop end inside a block.

use super::Transport;

/// A position jump (in beats) smaller than this is host rounding, not a seek.
const MAX_DRIFT_BEATS: f64 = 0.01;

/// A drift from the running clock smaller than this (in beats) is the host's
/// rounding of its position, and the grid keeps its anchor. Hosts count
/// positions in ticks: Ardour sends its 1,920 a quarter note (12.5 samples
/// at 120 bpm), and others use 960 or 480. Re-anchoring on that rounding
/// moved the whole grid a few samples off the host's own notes, every few
/// buffers. A larger drift (a host whose clock runs at another speed than
/// its tempo says) bends the grid, so it never strays further than this.
const BEND_DRIFT_BEATS: f64 = 1.0 / 480.0;

/// Slack for rounding: a boundary computed as 6000.000000001 samples is
/// 6000. CLAP sends song positions in fixed point (2^-31 of a beat), which
/// can put a boundary up to about 6e-6 samples past the true one at 120 bpm
/// (1.4e-4 at 1 bpm); 1e-3 covers every tempo a host may send.
const EPSILON_SAMPLES: f64 = 1e-3;

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

/// What drives the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockSource {
    /// Steps follow the host's beat position.
    Host,
    /// Transport stopped: a free-running grid at the host tempo.
    Internal,
}

/// The running grid: where beats fall on the sample timeline, and what the
/// next block's transport should say if nothing jumps.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub source: ClockSource,
    pub anchor: Anchor,
    pub tempo: f64,
    pub sample_rate: f64,
    /// The host position expected at the next block's start if nothing jumps.
    pub expected_pos: f64,
}

/// What a block's transport does to the clock.
#[derive(Clone, Copy, Debug)]
pub enum Sync {
    /// Nothing changed: the grid runs on.
    Keep,
    /// Same position, new tempo: the grid bends here; the step count goes on.
    Bend(Clock),
    /// A jump, a start or stop, a new sample rate, or no clock yet: every
    /// note ends and the music restarts on this new grid.
    Restart(Clock),
}

impl Clock {
    pub fn new(source: ClockSource, anchor: Anchor, tempo: f64) -> Self {
        Self {
            source,
            anchor,
            tempo,
            sample_rate: anchor.samples_per_beat * tempo / 60.0,
            expected_pos: anchor.beat,
        }
    }

    /// Compares the transport at absolute sample `start` with the running
    /// clock (`None`: none yet, or it was dropped) and decides.
    pub fn sync(current: Option<Clock>, t: &Transport, sample_rate: f64, start: i64) -> Sync {
        let tempo = sanitize_tempo(t.tempo);
        let sr = sample_rate;
        let same_rate = |c: &Clock| (c.sample_rate - sr).abs() < 1e-6;
        let at = |source, beat| Clock::new(source, Anchor::new(start, beat, sr, tempo), tempo);
        match (t.playing, t.pos_beats.filter(|p| p.is_finite())) {
            (true, Some(pos)) => match current {
                Some(c) if c.source == ClockSource::Host && same_rate(&c) => {
                    let drift = (pos - c.expected_pos).abs();
                    if drift > MAX_DRIFT_BEATS {
                        Sync::Restart(at(ClockSource::Host, pos))
                    } else if c.tempo != tempo
                        || drift > BEND_DRIFT_BEATS.max(1.5 / c.anchor.samples_per_beat)
                    {
                        Sync::Bend(at(ClockSource::Host, pos))
                    } else {
                        Sync::Keep
                    }
                }
                _ => Sync::Restart(at(ClockSource::Host, pos)),
            },
            _ => match current {
                Some(c) if c.source == ClockSource::Internal && same_rate(&c) => {
                    if c.tempo != tempo {
                        Sync::Bend(at(ClockSource::Internal, c.anchor.beat_at(start)))
                    } else {
                        Sync::Keep
                    }
                }
                _ => Sync::Restart(at(ClockSource::Internal, 0.0)),
            },
        }
    }

    /// A loop end inside the block of `frames` starting at absolute sample
    /// `start`: its offset and the clock that starts at the loop start
    /// there. The host will jump back; doing it at the exact sample keeps the
    /// wrap independent of where the host cut its buffers.
    pub fn loop_wrap(&self, t: &Transport, start: i64, frames: u32) -> Option<(u32, Clock)> {
        if self.source != ClockSource::Host {
            return None;
        }
        let (loop_start, loop_end) = t.loop_range?;
        if loop_end <= loop_start + 1e-6
            || loop_end.is_nan()
            || self.anchor.beat_at(start) >= loop_end
        {
            return None;
        }
        let at = self.anchor.sample_of(loop_end) - start;
        if at <= 0 || at >= frames as i64 {
            return None;
        }
        let anchor = Anchor::new(start + at, loop_start, self.sample_rate, self.tempo);
        Some((at as u32, Clock::new(ClockSource::Host, anchor, self.tempo)))
    }
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
