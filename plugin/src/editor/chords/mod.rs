//! Chord labels over the piano roll, named on the GUI thread.
//!
//! The audio thread only publishes the notes it played (the roll's ring,
//! each note stamped with the key in use). Here they are put on the 16th
//! grid of the host's beats, each finished step is named once by the
//! engine's [`ChordFollower`] and a [`Label`] kept where the harmony
//! changes, as `bach harmonize --chords` marks them: the key changes, the
//! symbol changes on a beat, or the chord (root and quality) changes off
//! the beat, so a passing 16th keeps its chord's label. How the labels are
//! laid out and drawn over the roll is [`strip`]'s.

use std::collections::VecDeque;

use bach_engine::chord::{ChangeFinder, Text};
use bach_engine::{BarPosition, Key, Meter};

mod strip;
#[cfg(test)]
mod tests;

pub use strip::{draw, Show, STRIP};

/// The grid chords are named on: 16ths, the chorale model's.
pub const STEP_BEATS: f64 = 0.25;
/// Labels kept: more than the roll's four bars ever show.
const KEPT: usize = 256;

/// One grid step of what was played.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Sounding pitches, soprano, alto, tenor, bass; `None` resting.
    pub pitches: [Option<u8>; 4],
    /// The key the notes were played in (`None` before one is known).
    pub key: Option<Key>,
    pub position: BarPosition,
}

/// A harmony change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    /// The grid step it starts on.
    pub step: i64,
    /// Where on the roll it starts, in the plugin's samples.
    pub sample: i64,
    /// The key, where it differs from the label before's.
    pub key: Option<Key>,
    pub symbol: Text,
    pub numeral: Text,
}

/// Names steps one by one and says where the harmony changes (the engine's
/// [`ChangeFinder`], as the CLI's `--chords` finds them).
#[derive(Clone, Copy, Debug, Default)]
pub struct Namer {
    finder: ChangeFinder,
}

impl Namer {
    /// Forgets what came before (a loop or seek in the host).
    pub fn reset(&mut self) {
        self.finder.reset();
    }

    /// Names step `step`; a label where the harmony changes there.
    pub fn step(&mut self, step: i64, s: &Step) -> Option<Label> {
        let Some(key) = s.key else {
            self.reset();
            return None;
        };
        if s.pitches.iter().all(Option::is_none) {
            // A rest: the next chord is labelled even if it is the same.
            self.finder.silence();
            return None;
        }
        let (analysis, new_key) = self.finder.step(&s.pitches, key, s.position)?;
        Some(Label {
            step,
            sample: 0,
            key: new_key.then_some(key),
            symbol: analysis.symbol(),
            numeral: analysis.numeral_text(),
        })
    }
}

/// The labels of consecutive steps from `first`: the whole of the GUI's
/// naming as a pure function, for the tests (the window runs [`Namer`]
/// step by step as the steps are played).
#[cfg(test)]
pub fn labels(first: i64, steps: &[Step]) -> Vec<Label> {
    let mut namer = Namer::default();
    (first..)
        .zip(steps)
        .filter_map(|(t, s)| namer.step(t, s))
        .collect()
}

/// A note as the roll holds it: samples, pitch, voice (0..4, 255 for the
/// melody as played) and the key index it was played in (-1 for none).
#[derive(Clone, Copy, Debug)]
pub struct Played {
    pub start: i64,
    pub end: Option<i64>,
    pub pitch: u8,
    pub voice: u8,
    pub key: i8,
}

/// The sounding pitches at `sample`: each voice's highest, the melody as
/// played standing in for a silent soprano; and the key of the latest
/// note begun.
pub fn sounding<'a>(notes: impl IntoIterator<Item = &'a Played>, sample: i64) -> Step {
    let mut pitches = [None; 4];
    let mut melody = None;
    let mut key = (i64::MIN, -1i8);
    for n in notes {
        if n.start > sample || n.end.is_some_and(|e| e <= sample) {
            continue;
        }
        let slot = match n.voice {
            v @ 0..4 => &mut pitches[v as usize],
            _ => &mut melody,
        };
        *slot = (*slot).max(Some(n.pitch));
        if n.start >= key.0 {
            key = (n.start, n.key);
        }
    }
    if pitches[0].is_none() {
        pitches[0] = melody;
    }
    Step {
        pitches,
        key: usize::try_from(key.1).ok().and_then(Key::from_index),
        position: BarPosition::default(),
    }
}

/// The host's clock as the window last read it: where `now` (samples) is
/// in beats, to put samples on the grid.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub now: i64,
    /// The host's position in beats at `now`; NaN without a transport
    /// (then the grid counts from the plugin's start).
    pub beats: f64,
    pub samples_per_beat: f64,
    pub meter: Meter,
}

impl Clock {
    fn beat_at(&self, sample: i64) -> f64 {
        let spb = self.samples_per_beat.max(1.0);
        if self.beats.is_finite() {
            self.beats - (self.now - sample) as f64 / spb
        } else {
            sample as f64 / spb
        }
    }

    fn sample_at(&self, beat: f64) -> i64 {
        let spb = self.samples_per_beat.max(1.0);
        if self.beats.is_finite() {
            self.now - ((self.beats - beat) * spb).round() as i64
        } else {
            (beat * spb).round() as i64
        }
    }

    /// The grid step `sample` falls in.
    fn step_at(&self, sample: i64) -> i64 {
        (self.beat_at(sample) / STEP_BEATS + 1e-6).floor() as i64
    }
}

/// The window's labels: each step named once, when it has been played,
/// and kept (with the sample it starts at) until it scrolls away.
#[derive(Default)]
pub struct Chords {
    namer: Namer,
    /// The next step to name.
    next: Option<i64>,
    labels: VecDeque<Label>,
    /// The clock's `now` and host beats when last read, and whether the
    /// transport stood still then: stopped, a host's beats stand still
    /// while the plugin plays on, so the grid counts samples instead.
    read: Option<(i64, f64)>,
    stopped: bool,
}

impl Chords {
    /// Names the steps finished since the last call.
    pub fn update<'a, I>(&mut self, notes: impl Fn() -> I, clock: &Clock, window: i64)
    where
        I: IntoIterator<Item = &'a Played>,
    {
        let mut clock = *clock;
        if let Some((now, beats)) = self.read {
            if clock.now != now {
                self.stopped = clock.beats == beats;
            }
        }
        self.read = Some((clock.now, clock.beats));
        if self.stopped {
            clock.beats = f64::NAN;
        }
        let now_step = clock.step_at(clock.now);
        let oldest = clock.step_at(clock.now - window) - 1;
        let next = match self.next {
            Some(n) if n <= now_step && n >= oldest => n,
            // The window just opened, the host jumped (a loop) or the
            // transport started or stopped: name what the roll shows
            // afresh, on the grid as it is now.
            _ => {
                self.namer.reset();
                let from = clock.sample_at(oldest as f64 * STEP_BEATS);
                while self.labels.back().is_some_and(|l| l.sample >= from) {
                    self.labels.pop_back();
                }
                oldest
            }
        };
        for t in next..now_step {
            let start = clock.sample_at(t as f64 * STEP_BEATS);
            // Heard in the middle of the step, so a note a little late
            // or a little short still counts.
            let middle = clock.sample_at((t as f64 + 0.5) * STEP_BEATS);
            let mut step = sounding(notes(), middle);
            let bar_step = t.rem_euclid(clock.meter.bar_steps(STEP_BEATS).max(1) as i64);
            step.position = BarPosition::new(bar_step as usize, clock.meter, STEP_BEATS);
            if let Some(mut label) = self.namer.step(t, &step) {
                label.sample = start;
                if self.labels.len() == KEPT {
                    self.labels.pop_front();
                }
                self.labels.push_back(label);
            }
        }
        self.next = Some(now_step);
        while self
            .labels
            .front()
            .is_some_and(|l| l.sample < clock.now - 2 * window)
        {
            self.labels.pop_front();
        }
    }

    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter()
    }
}
