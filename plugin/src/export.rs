//! "Save as MIDI": the last bars of what Bach played, melody and harmony,
//! as a type-1 MIDI file with one track per voice, the tempo and the meter.
//!
//! The audio thread writes each note it sends into a fixed-size ring
//! ([`Capture`]: a lock-free queue that drops its oldest note when full);
//! the window keeps what it drains; the file is made and written on a
//! thread of its own, atomically (the engine's `midi::write_file`).

use std::path::Path;

use bach_engine::chord::{score_changes, Text};
use bach_engine::key::estimate_key;
use bach_engine::midi::{self, MidiError};
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use bach_engine::sequencer::Source;
use bach_engine::{BarPosition, Key, Meter, Mode};
use crossbeam::queue::ArrayQueue;

/// Notes the ring holds while no window drains it: a few minutes of four voices.
pub const CAPACITY: usize = 8192;
/// The grid notes are written on: the melody as played is not on the 16th
/// grid, so 1/64 of a quarter note (about 8 ms at 120 bpm; MIDI's finest here).
const STEP_BEATS: f64 = 1.0 / 64.0;

/// A note start or end as Bach sent it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CapturedNote {
    /// Quarter notes played since the plugin started, counting every block
    /// at its tempo: always increasing, through loops and seeks.
    pub beats: f64,
    /// Where in the host's bar the note falls (the delay of the lookahead
    /// taken off), in quarter notes; 0 without a transport.
    pub bar_phase: f64,
    pub on: bool,
    pub pitch: u8,
    pub velocity: u8,
    pub channel: u8,
    pub source: Source,
}

/// The audio thread's side: a bounded queue, written without allocation.
pub struct Capture {
    queue: ArrayQueue<CapturedNote>,
}

impl Default for Capture {
    fn default() -> Self {
        Self {
            queue: ArrayQueue::new(CAPACITY),
        }
    }
}

impl Capture {
    /// Records a note (audio thread). Lock-free; when full the oldest note
    /// goes, so the ring always holds the latest.
    pub fn record(&self, note: CapturedNote) {
        let _ = self.queue.force_push(note);
    }

    /// Moves what was recorded into `history`, keeping its last [`CAPACITY`] notes.
    pub fn drain_into(&self, history: &mut std::collections::VecDeque<CapturedNote>) {
        while let Some(n) = self.queue.pop() {
            if history.len() == CAPACITY {
                history.pop_front();
            }
            history.push_back(n);
        }
    }
}

/// What to call each track, and the order they are written in.
fn track(source: Source) -> (usize, &'static str) {
    match source {
        Source::Input => (0, "Melody"),
        Source::Voice(0) => (1, "Soprano"),
        Source::Voice(1) => (2, "Alto"),
        Source::Voice(2) => (3, "Tenor"),
        Source::Voice(_) => (4, "Bass"),
    }
}

/// The last `bars` bars of `notes` (in the order played) as a score: from
/// the bar line before the first note started in that span, in `meter` at
/// `bpm`. Notes still sounding at the end are ended there. `None` when no
/// note started in the span.
pub fn score(notes: &[CapturedNote], bars: u32, meter: Meter, bpm: f64) -> Option<Score> {
    let bar = meter.bar_beats();
    let last = notes.last()?.beats;
    let span_start = last - bars.max(1) as f64 * bar;
    let first = notes.iter().find(|n| n.on && n.beats >= span_start)?;
    // The bar line at or before the first note, so bars in the file are the host's.
    let phase = if first.bar_phase.is_finite() {
        first.bar_phase.rem_euclid(bar)
    } else {
        0.0
    };
    let origin = first.beats - phase;
    let step = |beats: f64| ((beats - origin) / STEP_BEATS).round().max(0.0) as u32;

    let mut parts: Vec<Option<Part>> = vec![None; 5];
    // Sounding notes by (track, channel, pitch): start step and velocity.
    // Notes sounding, by (track, channel, pitch): their note-on and its step.
    let mut sounding: Vec<((usize, u8, u8), &CapturedNote, u32)> = Vec::new();
    let mut end = 0u32;
    let add = |parts: &mut Vec<Option<Part>>, on: &CapturedNote, start: u32, end: u32| {
        let (index, name) = track(on.source);
        let note = Note {
            start,
            len: end.saturating_sub(start).max(1),
            pitch: on.pitch,
            velocity: on.velocity,
        };
        parts[index]
            .get_or_insert_with(|| Part::new(name, on.channel, Vec::new()))
            .notes
            .push(note);
    };
    for n in notes.iter().filter(|n| n.beats >= origin) {
        let at = step(n.beats);
        end = end.max(at);
        let id = (track(n.source).0, n.channel, n.pitch);
        if let Some(i) = sounding.iter().position(|(k, ..)| *k == id) {
            // A note-on for a sounding key ends it, as on an instrument.
            let (_, on, start) = sounding.swap_remove(i);
            add(&mut parts, on, start, at);
        }
        if n.on {
            sounding.push((id, n, at));
        }
    }
    for (_, on, start) in sounding {
        add(&mut parts, on, start, end);
    }
    let mut parts: Vec<Part> = parts.into_iter().flatten().collect();
    for p in &mut parts {
        p.normalize();
    }
    let len = parts.iter().map(Part::end).max().unwrap_or(0);
    // Whole bars, so the file loops cleanly in a DAW.
    let bar_steps = (bar / STEP_BEATS).round().max(1.0) as u32;
    let len = len.div_ceil(bar_steps) * bar_steps;
    Some(Score {
        step_beats: STEP_BEATS,
        parts,
        tempos: vec![TempoChange {
            step: 0,
            bpm: if bpm.is_finite() && bpm > 0.0 {
                bpm
            } else {
                120.0
            },
        }],
        meters: vec![MeterChange { step: 0, meter }],
        keys: Vec::new(),
        markers: Vec::new(),
        len,
    })
}

/// Writes `score` to `path` atomically: all of it, or nothing and an error.
/// Each chord change's symbol is a marker on the first track
/// ([`chord_markers`]), which DAWs that import markers show.
pub fn save(path: &Path, score: &Score) -> Result<(), MidiError> {
    let markers = chord_markers(score);
    let markers: Vec<(u32, &str)> = markers.iter().map(|(t, s)| (*t, s.as_str())).collect();
    midi::write_file_with_markers(path, score, &markers)
}

/// The chord changes of a saved score (the engine's
/// [`score_changes`]) as `(step, symbol)`: named in the key of the melody
/// (the first part) as a whole, C major when it has none, in the score's
/// first meter from its first step, a bar line, as [`score`] cuts it.
pub fn chord_markers(score: &Score) -> Vec<(u32, Text)> {
    let melody = score.parts.first().map_or(&[][..], |p| &p.notes[..]);
    let key = estimate_key(melody.iter().map(|n| (n.pitch, n.len as f32))).unwrap_or(Key {
        tonic: 0,
        mode: Mode::Major,
    });
    let meter = score
        .meters
        .first()
        .map_or(Meter::COMMON, |m| m.meter.or_common());
    let len = score.parts.iter().map(Part::end).max().unwrap_or(0);
    let positions: Vec<BarPosition> = (0..len as usize)
        .map(|t| BarPosition::new(t, meter, score.step_beats))
        .collect();
    score_changes(score, &vec![key; len as usize], &positions, len)
        .into_iter()
        .map(|c| (c.step, c.analysis.symbol()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(beats: f64, on: bool, pitch: u8, source: Source) -> CapturedNote {
        CapturedNote {
            beats,
            bar_phase: beats.rem_euclid(4.0),
            on,
            pitch,
            velocity: 90,
            channel: match source {
                Source::Input => 0,
                Source::Voice(v) => v,
            },
            source,
        }
    }

    /// Ten bars of a melody note and a bass note per bar.
    fn played() -> Vec<CapturedNote> {
        let mut out = Vec::new();
        for bar in 0..10 {
            let b = bar as f64 * 4.0;
            out.push(note(b, true, 72, Source::Input));
            out.push(note(b, true, 48, Source::Voice(3)));
            out.push(note(b + 2.0, false, 72, Source::Input));
            out.push(note(b + 4.0, false, 48, Source::Voice(3)));
        }
        out
    }

    #[test]
    fn the_last_bars_from_a_bar_line_one_track_per_voice() {
        let score = score(&played(), 2, Meter::COMMON, 96.0).unwrap();
        assert_eq!(score.meters[0].meter.numerator, 4);
        assert_eq!(score.tempos[0].bpm, 96.0);
        let names: Vec<_> = score.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Melody", "Bass"]);
        // Bars 8 and 9 and the bar line at 10 (the last note-off): the
        // span starts at the first note on or after beat 32.
        let melody = &score.parts[0].notes;
        assert_eq!(melody.len(), 2);
        assert_eq!(melody[0].start, 0, "starts on a bar line");
        assert_eq!(melody[0].len, 128, "two beats");
        assert_eq!(melody[1].start, 256, "a bar later");
        assert_eq!(score.len % 256, 0, "whole bars");
        assert_eq!(score.parts[1].channel, 3);
    }

    #[test]
    fn a_span_starting_mid_bar_begins_at_the_bar_line_before() {
        let mut notes = played();
        // A last note two beats into bar 10: the span reaches back into bar 9.
        notes.push(note(42.0, true, 74, Source::Input));
        let score = score(&notes, 1, Meter::COMMON, 120.0).unwrap();
        // The first note-on in [38, 42] is the one at 42, in the bar starting at 40.
        let melody = &score.parts[0].notes;
        assert_eq!(melody[0].start, 128, "two beats after the bar line");
        // Still sounding at the end: ended there, at least a step long.
        assert_eq!(melody[0].len, 1);
    }

    #[test]
    fn notes_whose_start_was_cut_off_are_left_out_and_nothing_played_is_none() {
        let notes = [
            note(0.0, true, 60, Source::Voice(1)),
            note(20.0, true, 62, Source::Voice(2)),
            note(21.0, false, 60, Source::Voice(1)),
            note(22.0, false, 62, Source::Voice(2)),
        ];
        let score = score(&notes, 1, Meter::COMMON, 120.0).unwrap();
        let names: Vec<_> = score.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Tenor"], "the alto began before the span");
        assert!(super::score(&[], 4, Meter::COMMON, 120.0).is_none());
        let only_offs = [note(1.0, false, 60, Source::Input)];
        assert!(super::score(&only_offs, 4, Meter::COMMON, 120.0).is_none());
    }

    #[test]
    fn the_file_reads_back_and_a_bad_folder_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("bach-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = score(&played(), 4, Meter::new(3, 4), 100.0).unwrap();
        let path = dir.join("out.mid");
        save(&path, &s).unwrap();
        let back = midi::read_file(&path, STEP_BEATS).unwrap();
        assert_eq!(back.parts.len(), 2);
        assert_eq!(back.meters[0].meter.numerator, 3);
        assert_eq!(back.parts[0].notes, s.parts[0].notes);
        // A "folder" that is a file: an error, and no file made.
        let blocked = path.join("inside.mid");
        assert!(save(&blocked, &s).is_err());
        assert!(!blocked.exists());
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(entries, 1, "no temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_saved_file_names_its_chords_in_markers() {
        // C, G7, C: a bar each, the melody on the input, three voices.
        let chords = [[72, 64, 55, 48], [71, 65, 62, 43], [72, 64, 55, 48]];
        let mut notes = Vec::new();
        for (bar, chord) in chords.iter().enumerate() {
            let b = bar as f64 * 4.0;
            for (v, &pitch) in chord.iter().enumerate() {
                let source = if v == 0 {
                    Source::Input
                } else {
                    Source::Voice(v as u8)
                };
                notes.push(note(b, true, pitch, source));
                notes.push(note(b + 4.0, false, pitch, source));
            }
        }
        notes.sort_by(|a, b| a.beats.total_cmp(&b.beats).then(a.on.cmp(&b.on)));
        let s = score(&notes, 3, Meter::COMMON, 100.0).unwrap();
        let markers = chord_markers(&s);
        let names: Vec<(u32, &str)> = markers.iter().map(|(t, m)| (*t, m.as_str())).collect();
        assert_eq!(names, [(0, "C"), (256, "G7"), (512, "C")]);
        let dir = std::env::temp_dir().join(format!("bach-chords-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("chords.mid");
        save(&path, &s).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // A marker meta event (FF 06, length 2) reading "G7".
        let g7 = [0xFF, 0x06, 2, b'G', b'7'];
        assert!(bytes.windows(g7.len()).any(|w| w == g7));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_ring_keeps_the_latest_notes() {
        let capture = Capture::default();
        for i in 0..CAPACITY + 10 {
            capture.record(note(i as f64, true, 60, Source::Input));
        }
        let mut history = Default::default();
        capture.drain_into(&mut history);
        assert_eq!(history.len(), CAPACITY);
        assert_eq!(history.front().unwrap().beats, 10.0);
    }
}
