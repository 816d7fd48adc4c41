//! Chord labels over the piano roll, named on the GUI thread.
//!
//! The audio thread only publishes the notes it played (the roll's ring,
//! each note stamped with the key in use). Here they are put on the 16th
//! grid of the host's beats, each finished step is named once by the
//! engine's [`ChordFollower`] and a [`Label`] kept where the harmony
//! changes, as `bach harmonize --chords` marks them: the key changes, the
//! symbol changes on a beat, or the chord (root and quality) changes off
//! the beat, so a passing 16th keeps its chord's label.

use std::collections::VecDeque;

use bach_engine::chord::{labels_to_write, ChangeFinder, Text};
use bach_engine::{BarPosition, Key, Meter};
use egui::{Align2, Color32, FontId, Painter, Pos2, Rect};

/// The grid chords are named on: 16ths, the chorale model's.
pub const STEP_BEATS: f64 = 0.25;
/// Labels kept: more than the roll's four bars ever show.
const KEPT: usize = 256;
/// The height of the labels' strip above the roll: a row for the key, one
/// for the symbol, one for the numeral.
pub const STRIP: f32 = 44.0;
/// The least room between two labels; a label closer to the one before is
/// left out rather than drawn over it.
const GAP: f32 = 6.0;
/// The key's colour (the window's accent for notices).
const KEY_COLOUR: Color32 = Color32::from_rgb(240, 180, 60);

/// What the labels above the roll show (the window's switch, saved with
/// the project as a `u8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    Symbols = 0,
    Numerals = 1,
    Both = 2,
}

impl Show {
    pub const ALL: [(Show, &'static str); 3] = [
        (Show::Symbols, "Symbols"),
        (Show::Numerals, "Numerals"),
        (Show::Both, "Both"),
    ];

    /// From the saved value; anything unknown shows both.
    pub fn from_u8(v: u8) -> Show {
        match v {
            0 => Show::Symbols,
            1 => Show::Numerals,
            _ => Show::Both,
        }
    }

    pub fn symbols(self) -> bool {
        self != Show::Numerals
    }

    pub fn numerals(self) -> bool {
        self != Show::Symbols
    }
}

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

/// Draws `labels` (oldest first) in `strip`, each at `x(label.sample)`:
/// the key where it changes, then the symbol and the numeral as `show`
/// asks. Labels scrolled off the left are left out; where labels would
/// overlap, those on a beat (a quarter note, on the host's 16th grid) are
/// written first and one off the beat only where room is left, so the
/// chords a musician reads the harmony by are never hidden by passing ones.
/// A key is drawn even when its label is left out.
pub fn draw<'a>(
    painter: &Painter,
    strip: Rect,
    x: impl Fn(i64) -> f32,
    labels: impl Iterator<Item = &'a Label>,
    show: Show,
) {
    let symbol_font = FontId::proportional(14.0);
    let numeral_font = FontId::proportional(12.0);
    let key_font = FontId::proportional(11.0);
    let symbol_colour = Color32::from_gray(230);
    let numeral_colour = Color32::from_gray(160);
    // The labels on screen, laid out first (the GUI thread's, not the
    // audio thread's, allocations) to know their widths.
    let mut shown = Vec::new();
    let mut key_end = f32::NEG_INFINITY;
    for label in labels {
        let left = x(label.sample);
        if left < strip.left() || left > strip.right() {
            continue;
        }
        if let Some(key) = label.key {
            if left >= key_end + GAP {
                let r = painter.text(
                    Pos2::new(left, strip.top()),
                    Align2::LEFT_TOP,
                    key.name(),
                    key_font.clone(),
                    KEY_COLOUR,
                );
                key_end = r.right();
            }
        }
        let symbol = show.symbols().then(|| {
            painter.layout_no_wrap(
                label.symbol.as_str().to_owned(),
                symbol_font.clone(),
                symbol_colour,
            )
        });
        let numeral = show.numerals().then(|| {
            painter.layout_no_wrap(
                label.numeral.as_str().to_owned(),
                numeral_font.clone(),
                numeral_colour,
            )
        });
        let wide = [&symbol, &numeral]
            .into_iter()
            .flatten()
            .map(|g| g.size().x)
            .fold(0.0, f32::max);
        shown.push((
            left,
            left + wide + GAP,
            label.step % 4 == 0,
            symbol,
            numeral,
        ));
    }
    let spans: Vec<(f32, f32)> = shown.iter().map(|s| (s.0, s.1)).collect();
    let on_beat: Vec<bool> = shown.iter().map(|s| s.2).collect();
    let keep = labels_to_write(&spans, &on_beat);
    for ((left, _, _, symbol, numeral), kept) in shown.into_iter().zip(keep) {
        if !kept {
            continue;
        }
        if let Some(g) = symbol {
            painter.galley(Pos2::new(left, strip.top() + 13.0), g, symbol_colour);
        }
        if let Some(g) = numeral {
            // Under the symbol, or in its place when only numerals show.
            let y = if show.symbols() { 29.0 } else { 13.0 };
            painter.galley(Pos2::new(left, strip.top() + y), g, numeral_colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_major() -> Key {
        Key::parse("C major").unwrap()
    }

    /// A chord held for a beat (four 16ths) from step `at` in 4/4.
    fn beat(at: usize, satb: [u8; 4]) -> Vec<Step> {
        (at..at + 4)
            .map(|t| Step {
                pitches: satb.map(Some),
                key: Some(c_major()),
                position: BarPosition::common(t),
            })
            .collect()
    }

    fn names(labels: &[Label]) -> Vec<(i64, String, String)> {
        labels
            .iter()
            .map(|l| (l.step, l.symbol.to_string(), l.numeral.to_string()))
            .collect()
    }

    #[test]
    fn a_cadence_in_c_is_labelled_chord_by_chord() {
        let mut steps = beat(0, [72, 67, 64, 48]);
        steps.extend(beat(4, [72, 69, 65, 53]));
        steps.extend(beat(8, [71, 67, 65, 55]));
        steps.extend(beat(12, [72, 67, 64, 48]));
        let labels = labels(0, &steps);
        assert_eq!(
            names(&labels),
            [
                (0, "C".into(), "I".into()),
                (4, "F".into(), "IV".into()),
                (8, "G7".into(), "V7".into()),
                (12, "C".into(), "I".into()),
            ]
        );
        // The key is shown at the first label only.
        assert_eq!(labels[0].key, Some(c_major()));
        assert!(labels[1..].iter().all(|l| l.key.is_none()));
    }

    #[test]
    fn a_passing_sixteenth_keeps_the_label() {
        // C major, the soprano's E a dotted 8th, then D passing to C.
        let mut steps = beat(0, [76, 67, 60, 48]);
        steps[3].pitches[0] = Some(74);
        steps.extend(beat(4, [72, 67, 64, 48]));
        assert_eq!(names(&labels(0, &steps)), [(0, "C".into(), "I".into())]);
    }

    #[test]
    fn a_key_change_labels_again_and_names_the_key() {
        let mut steps = beat(0, [74, 67, 62, 55]);
        let g_major = Key::parse("G major").unwrap();
        let mut in_g = beat(4, [74, 67, 62, 55]);
        in_g.iter_mut().for_each(|s| s.key = Some(g_major));
        steps.extend(in_g);
        let labels = labels(0, &steps);
        assert_eq!(
            names(&labels),
            [(0, "G".into(), "V".into()), (4, "G".into(), "I".into())]
        );
        assert_eq!(labels[1].key, Some(g_major));
    }

    #[test]
    fn rests_and_unknown_keys_have_no_label() {
        let mut steps = beat(0, [72, 67, 64, 48]);
        steps[3].pitches = [None; 4];
        steps[2].key = None;
        // After the rest the same chord is labelled again, with its key.
        let labels = labels(0, &steps);
        assert_eq!(names(&labels), [(0, "C".into(), "I".into())]);
        let again = super::labels(0, &[steps[2], steps[3], steps[0]]);
        assert_eq!(names(&again), [(2, "C".into(), "I".into())]);
        assert_eq!(again[0].key, Some(c_major()));
    }

    #[test]
    fn the_window_names_played_notes_on_the_host_grid() {
        // 120 bpm at 48 kHz: a beat is 24,000 samples, a 16th 6,000.
        let note = |start: i64, end: i64, pitch: u8, voice: u8| Played {
            start,
            end: Some(end),
            pitch,
            voice,
            key: c_major().index() as i8,
        };
        let mut notes = Vec::new();
        for (beat, satb) in [
            (0, [72, 67, 64, 48]),
            (1, [72, 69, 65, 53]),
            (2, [71, 67, 65, 55]),
            (3, [72, 67, 64, 48]),
        ] {
            for (v, p) in satb.into_iter().enumerate() {
                notes.push(note(beat * 24_000, (beat + 1) * 24_000, p, v as u8));
            }
        }
        let window = 4 * 4 * 24_000;
        let cadence = [
            (0, "C".to_string(), "I".to_string()),
            (24_000, "F".into(), "IV".into()),
            (48_000, "G7".into(), "V7".into()),
            (72_000, "C".into(), "I".into()),
        ];
        // The transport playing from 0, stopped at beat 8 (its beats stand
        // still), and none; each step is named once whatever the frames.
        let playing: fn(i64) -> f64 = |now| now as f64 / 24_000.0;
        let stopped: fn(i64) -> f64 = |_| 8.0;
        let none: fn(i64) -> f64 = |_| f64::NAN;
        for beats in [playing, stopped, none] {
            let mut chords = Chords::default();
            // The window draws every 800 samples or so.
            for now in (800..=96_000).step_by(800) {
                let clock = Clock {
                    now,
                    beats: beats(now),
                    samples_per_beat: 24_000.0,
                    meter: Meter::COMMON,
                };
                chords.update(|| notes.iter(), &clock, window);
            }
            let got: Vec<_> = chords
                .labels()
                .map(|l| (l.sample, l.symbol.to_string(), l.numeral.to_string()))
                .collect();
            assert_eq!(got, cadence);
        }
    }

    #[test]
    fn a_loop_names_the_roll_afresh_without_doubling_labels() {
        let notes: Vec<Played> = [72, 67, 64, 48]
            .into_iter()
            .enumerate()
            .map(|(v, pitch)| Played {
                start: 0,
                end: None,
                pitch,
                voice: v as u8,
                key: c_major().index() as i8,
            })
            .collect();
        let mut chords = Chords::default();
        let clock = |now: i64, beats: f64| Clock {
            now,
            beats,
            samples_per_beat: 24_000.0,
            meter: Meter::COMMON,
        };
        let window = 4 * 4 * 24_000;
        chords.update(|| notes.iter(), &clock(48_000, 2.0), window);
        chords.update(|| notes.iter(), &clock(49_000, 2.0 + 1.0 / 24.0), window);
        // Back to beat 0 (a loop): the roll is named again on the new grid.
        chords.update(|| notes.iter(), &clock(50_000, 0.0), window);
        let got: Vec<_> = chords.labels().map(|l| l.symbol.to_string()).collect();
        assert_eq!(got, ["C"], "{:?}", chords.labels().collect::<Vec<_>>());
    }
}
