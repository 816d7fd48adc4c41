//! Standard MIDI files in and out of a [`Score`], through midly.
//!
//! Reading takes format 0 or 1 at any resolution, with tempo, time-signature
//! and key-signature changes and text events (text, marker, cue point, lyric:
//! [`Score::markers`]), running status and note-on velocity 0 as note-off, and snaps every
//! note start and end to the nearest grid step (a note shorter than a step lasts
//! one step). Each track, and within a track each channel, becomes a part; when
//! that gives a single polyphonic part it is split into monophonic voices by
//! pitch order ([`Part::split_by_pitch`]). Channel 10 (index 9) is drums and is
//! ignored. Parts are given their own channels in order ([`channel_for`]).
//!
//! Writing gives a format-1 file at [`WRITE_PPQ`] ticks per quarter: a
//! conductor track with tempo and meter, then one named track per part on the
//! part's channel. Reading back what was written gives the same score (key
//! signatures and markers are not written; markers given to
//! [`write_with_markers`] read back as the score's markers).
//!
//! Files come from users and the internet, so reading is bounded: at most
//! [`MAX_STEPS`] steps, [`MAX_NOTES`] notes and [`MAX_FILE_BYTES`] bytes; past
//! that, and for anything unreadable, it returns an error, never panics.

use std::path::{Path, PathBuf};

use crate::score::Score;

mod parse;
mod read;
mod write;

pub use read::{read, read_played, PlayedNote};
pub use write::{write, write_file, write_file_with_markers, write_with_markers};

/// Most grid steps a score read from a file may have (about 18 hours of 16ths at 120 bpm).
pub const MAX_STEPS: u32 = 1 << 20;
/// Most notes a score read from a file may have, before and after splitting voices.
pub const MAX_NOTES: usize = 1 << 21;
/// Most key signatures, and most text events, a score read from a file keeps
/// (the first ones; the rest are dropped, as annotations need not refuse a file).
pub const MAX_MARKERS: usize = 1 << 16;
/// Longest text event kept, in bytes (longer ones are cut there).
pub const MAX_MARKER_BYTES: usize = 256;
/// Largest file [`read_file`] will load.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Ticks per quarter note of written files; divisible by 2, 3, 4, 5, 8, 16, 32.
pub const WRITE_PPQ: u16 = 480;
/// Grid steps accepted by [`read`] and [`write()`], in quarter notes.
pub const STEP_BEATS_RANGE: std::ops::RangeInclusive<f64> = (1.0 / 64.0)..=64.0;

/// The MIDI channel General MIDI reserves for drums (channel 10, counted from 1).
pub const DRUM_CHANNEL: u8 = 9;

#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    #[error("not a readable MIDI file: {0}")]
    Parse(#[from] midly::Error),
    #[error("SMPTE (frames per second) timing is not supported; only ticks per quarter note")]
    SmpteTiming,
    #[error("the header gives 0 ticks per quarter note")]
    ZeroPpq,
    #[error("format 2 files (independent sequences) are not supported; only formats 0 and 1")]
    SequentialFormat,
    #[error("step length {0} quarter notes is outside 1/64..=64")]
    BadStepBeats(f64),
    #[error(
        "the music is longer than the limit of {max} grid steps (an event falls on step {step})"
    )]
    TooLong { step: u64, max: u32 },
    #[error("the file has more than the limit of {max} notes")]
    TooManyNotes { max: usize },
    #[error("a tempo event gives 0 microseconds per quarter note")]
    ZeroTempo,
    #[error("invalid tempo {0} bpm: it must be finite and between about 3.58 and 60,000,000")]
    BadBpm(f64),
    #[error("invalid time signature {numerator}/{denominator}: the numerator must be at least 1 and the denominator a power of two up to 64")]
    BadMeter { numerator: u32, denominator: u32 },
    #[error("invalid pitch {0} in part {1:?}: MIDI pitches are 0..=127")]
    BadPitch(u8, String),
    #[error("invalid channel {0} for part {1:?}: MIDI channels are 0..=15")]
    BadChannel(u8, String),
    #[error("a note in part {0:?} ends past the limit of {max} steps", max = MAX_STEPS)]
    NoteTooLong(String),
    #[error("a gap of {0} ticks between events is too long for a MIDI file (at most 2^28 - 1)")]
    GapTooLong(u64),
    #[error("the file has no notes")]
    NoNotes,
    #[error("the file has only drum notes (channel 10), which are ignored")]
    DrumsOnly,
    #[error("{path}: file is {size} bytes, over the limit of {max} bytes", max = MAX_FILE_BYTES)]
    FileTooLarge { path: PathBuf, size: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn check_step_beats(step_beats: f64) -> Result<(), MidiError> {
    if STEP_BEATS_RANGE.contains(&step_beats) {
        Ok(())
    } else {
        Err(MidiError::BadStepBeats(step_beats))
    }
}

/// A file's bytes, refused when too large to be a MIDI file.
fn load(path: &Path) -> Result<Vec<u8>, MidiError> {
    let io = |source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(MidiError::FileTooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    std::fs::read(path).map_err(io)
}

/// Reads a MIDI file from disk; see [`read`].
pub fn read_file(path: &Path, step_beats: f64) -> Result<Score, MidiError> {
    read(&load(path)?, step_beats)
}

/// Reads a MIDI file's notes as played; see [`read_played`].
pub fn read_played_file(path: &Path, step_beats: f64) -> Result<Vec<Vec<PlayedNote>>, MidiError> {
    read_played(&load(path)?, step_beats)
}

#[cfg(test)]
mod tests {
    use super::parse::{bpm_from_micros, clean_name, clean_text, Grid};
    use super::write::delta;
    use super::*;

    #[test]
    fn grid_snaps_to_the_nearest_step_and_caps_length() {
        let grid = Grid {
            ticks_per_step: 120.0,
        };
        assert_eq!(grid.step(59).unwrap(), 0);
        assert_eq!(grid.step(61).unwrap(), 1);
        assert_eq!(grid.step(120 * MAX_STEPS as u64).unwrap(), MAX_STEPS);
        assert!(matches!(
            grid.step(120 * (MAX_STEPS as u64 + 1)),
            Err(MidiError::TooLong { .. })
        ));
        assert!(grid.step(u64::MAX).is_err());
    }

    #[test]
    fn tempos_read_as_round_bpm_that_write_back_identically() {
        assert_eq!(bpm_from_micros(500_000), 120.0);
        assert_eq!(bpm_from_micros(666_667), 90.0);
        assert_eq!(bpm_from_micros(428_571), 140.0);
        assert_eq!(bpm_from_micros(666_666), 60e6 / 666_666.0);
        for us in (1..16_777_215u32)
            .step_by(9_973)
            .chain([1, 2, 3, 16_777_215])
        {
            let bpm = bpm_from_micros(us);
            assert_eq!((60e6 / bpm).round() as u32, us, "{us}");
        }
    }

    #[test]
    fn texts_are_cut_to_whole_characters_and_read_the_same_again() {
        let invalid = [0xffu8; 300];
        let text = clean_text(&invalid);
        assert!(text.len() <= MAX_MARKER_BYTES && text.chars().all(|c| c == '\u{fffd}'));
        assert_eq!(clean_text(text.as_bytes()), text);
        let spaced = [b"x".repeat(255), b" y".to_vec()].concat();
        assert_eq!(clean_text(&spaced), "x".repeat(255));
        assert_eq!(clean_text(b" fermata \0"), "fermata");
    }

    #[test]
    fn names_are_trimmed_and_lossy() {
        assert_eq!(clean_name(b"  Soprano\0\0"), "Soprano");
        assert_eq!(clean_name(b"Alt\xffo"), "Alt\u{fffd}o");
    }

    #[test]
    fn written_deltas_must_fit_28_bits() {
        assert!(delta((1 << 28) - 1).is_ok());
        assert!(delta(1 << 28).is_err());
    }
}
