//! Standard MIDI files in and out of a [`Score`], through midly.
//!
//! Reading takes format 0 or 1 at any resolution, with tempo and time-signature
//! changes, running status and note-on velocity 0 as note-off, and snaps every
//! note start and end to the nearest grid step (a note shorter than a step lasts
//! one step). Each track, and within a track each channel, becomes a part; when
//! that gives a single polyphonic part it is split into monophonic voices by
//! pitch order ([`Part::split_by_pitch`]). Channel 10 (index 9) is drums and is
//! ignored. Parts are given their own channels in order ([`channel_for`]).
//!
//! Writing gives a format-1 file at [`WRITE_PPQ`] ticks per quarter: a
//! conductor track with tempo and meter, then one named track per part on the
//! part's channel. Reading back what was written gives the same score.
//!
//! Files come from users and the internet, so reading is bounded: at most
//! [`MAX_STEPS`] steps, [`MAX_NOTES`] notes and [`MAX_FILE_BYTES`] bytes; past
//! that, and for anything unreadable, it returns an error, never panics.

use std::path::{Path, PathBuf};

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::meter::Meter;
use crate::score::{channel_for, MeterChange, Note, Part, Score, TempoChange};

/// Most grid steps a score read from a file may have (about 18 hours of 16ths at 120 bpm).
pub const MAX_STEPS: u32 = 1 << 20;
/// Most notes a score read from a file may have, before and after splitting voices.
pub const MAX_NOTES: usize = 1 << 21;
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

/// Converts absolute ticks to grid steps, rounding to the nearest step.
struct Grid {
    ticks_per_step: f64,
}

impl Grid {
    fn step(&self, tick: u64) -> Result<u32, MidiError> {
        let step = (tick as f64 / self.ticks_per_step).round();
        if step > MAX_STEPS as f64 {
            return Err(MidiError::TooLong {
                step: step.min(u64::MAX as f64) as u64,
                max: MAX_STEPS,
            });
        }
        Ok(step as u32)
    }
}

/// A note as read, in ticks, before snapping.
struct RawNote {
    start: u64,
    end: u64,
    pitch: u8,
    velocity: u8,
}

/// One track's notes on one channel, before snapping.
struct RawPart {
    track: usize,
    channel: u8,
    name: Option<String>,
    notes: Vec<RawNote>,
}

/// The division word of the file's `MThd` chunk, found the way midly finds it:
/// inside an optional RIFF/RMID wrapper, after any chunks before the header.
fn smf_division(bytes: &[u8]) -> Option<u16> {
    let mut smf = bytes;
    if bytes.starts_with(b"RIFF") {
        let mut rest = bytes.get(12..)?;
        smf = loop {
            let len = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
            let data = &rest[8..];
            let (chunk, after) = data.split_at(len.min(data.len()));
            if &rest[..4] == b"data" {
                break chunk;
            }
            rest = after.get(len % 2..)?;
        };
    }
    let mut rest = smf;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes(rest[4..8].try_into().ok()?) as usize;
        let data = &rest[8..];
        let (chunk, after) = data.split_at(len.min(data.len()));
        match &rest[..4] {
            b"MThd" => return chunk.get(4..6).map(|d| u16::from_be_bytes([d[0], d[1]])),
            b"MTrk" => return None,
            _ => rest = after,
        }
    }
    None
}

/// The part of `track` that holds `channel`'s notes: made on the channel's
/// first note, as a file's parts are read (a track per part, or a channel
/// per part in a type-0 file).
fn part_for(
    parts: &mut Vec<RawPart>,
    part_of: &mut [Option<usize>; 16],
    track: usize,
    channel: u8,
) -> usize {
    *part_of[channel as usize].get_or_insert_with(|| {
        parts.push(RawPart {
            track,
            channel,
            name: None,
            notes: Vec::new(),
        });
        parts.len() - 1
    })
}

/// Reads the whole file, checking it as [`read`] does on a grid of `step_beats`.
fn parse(bytes: &[u8], step_beats: f64) -> Result<Parsed, MidiError> {
    check_step_beats(step_beats)?;
    // The lazy parser allocates nothing itself; we keep only notes, so memory is
    // bounded by the file size.
    // midly 0.5 overflows (a panic with overflow checks) on SMPTE divisions
    // whose frame byte is 0x80; SMPTE is refused anyway, so look first.
    if smf_division(bytes).is_some_and(|d| d & 0x8000 != 0) {
        return Err(MidiError::SmpteTiming);
    }
    let (header, tracks) = midly::parse(bytes)?;
    let ppq = match header.timing {
        Timing::Metrical(ppq) => ppq.as_int(),
        Timing::Timecode(..) => return Err(MidiError::SmpteTiming),
    };
    if ppq == 0 {
        return Err(MidiError::ZeroPpq);
    }
    if header.format == Format::Sequential {
        return Err(MidiError::SequentialFormat);
    }
    let grid = Grid {
        ticks_per_step: ppq as f64 * step_beats,
    };

    let mut parts: Vec<RawPart> = Vec::new();
    // (tick, order, bpm) and (tick, order, meter): order keeps file order at equal ticks.
    let mut tempos: Vec<(u64, usize, f64)> = Vec::new();
    let mut meters: Vec<(u64, usize, u8, u8)> = Vec::new();
    let mut end_tick = 0u64;
    let mut note_count = 0usize;
    let mut drum_notes = 0usize;
    let mut order = 0usize;

    // Open notes per channel and pitch: (start tick, velocity). Shared by all
    // tracks, as a file may hold thousands of tiny ones.
    let mut open: Vec<Option<(u64, u8)>> = vec![None; 16 * 128];
    for (track_index, track) in tracks.enumerate() {
        let events = track?;
        let first_part = parts.len();
        let mut name: Option<String> = None;
        // `open` is empty again here: every track closes its notes at its end.
        let mut sounding = 0usize;
        // Part of this track for each channel, created on its first note.
        let mut part_of: [Option<usize>; 16] = [None; 16];
        let mut tick = 0u64;
        for event in events {
            let event = event?;
            tick += event.delta.as_int() as u64;
            order += 1;
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    let (pitch, velocity) = match message {
                        MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int()),
                        MidiMessage::NoteOff { key, .. } => (key.as_int(), 0),
                        _ => continue,
                    };
                    if channel == DRUM_CHANNEL {
                        drum_notes += (velocity > 0) as usize;
                        continue;
                    }
                    let slot = &mut open[channel as usize * 128 + pitch as usize];
                    // A note-on on a sounding key ends the earlier note there.
                    if let Some((start, vel)) = slot.take() {
                        sounding -= 1;
                        let p = part_for(&mut parts, &mut part_of, track_index, channel);
                        note_count += 1;
                        if note_count > MAX_NOTES {
                            return Err(MidiError::TooManyNotes { max: MAX_NOTES });
                        }
                        grid.step(tick)?;
                        parts[p].notes.push(RawNote {
                            start,
                            end: tick,
                            pitch,
                            velocity: vel,
                        });
                    }
                    if velocity > 0 {
                        *slot = Some((tick, velocity));
                        sounding += 1;
                    }
                }
                TrackEventKind::Meta(meta) => match meta {
                    MetaMessage::TrackName(text) if name.is_none() => {
                        name = Some(clean_name(text));
                    }
                    MetaMessage::Tempo(us) => {
                        let us = us.as_int();
                        if us == 0 {
                            return Err(MidiError::ZeroTempo);
                        }
                        grid.step(tick)?;
                        tempos.push((tick, order, bpm_from_micros(us)));
                    }
                    MetaMessage::TimeSignature(numerator, power, ..) => {
                        if numerator == 0 || power > 6 {
                            return Err(MidiError::BadMeter {
                                numerator: numerator as u32,
                                denominator: 1u32.checked_shl(power as u32).unwrap_or(0),
                            });
                        }
                        grid.step(tick)?;
                        meters.push((tick, order, numerator, 1 << power));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        // The track end (its end-of-track event, or its last event when
        // truncated) closes the notes still sounding and bounds the score.
        grid.step(tick)?;
        end_tick = end_tick.max(tick);
        let slots = if sounding > 0 { open.len() } else { 0 };
        for (slot, open) in open.iter_mut().enumerate().take(slots) {
            if let Some((start, velocity)) = open.take() {
                let channel = (slot / 128) as u8;
                let p = part_for(&mut parts, &mut part_of, track_index, channel);
                note_count += 1;
                if note_count > MAX_NOTES {
                    return Err(MidiError::TooManyNotes { max: MAX_NOTES });
                }
                parts[p].notes.push(RawNote {
                    start,
                    end: tick,
                    pitch: (slot % 128) as u8,
                    velocity,
                });
            }
        }
        for part in &mut parts[first_part..] {
            part.name = name.clone();
        }
    }

    if note_count == 0 {
        return Err(if drum_notes > 0 {
            MidiError::DrumsOnly
        } else {
            MidiError::NoNotes
        });
    }
    Ok(Parsed {
        ppq,
        grid,
        parts,
        tempos,
        meters,
        end_tick,
    })
}

/// A file's contents as read, in ticks, before snapping to the grid.
struct Parsed {
    ppq: u16,
    grid: Grid,
    parts: Vec<RawPart>,
    /// (tick, order, bpm) and (tick, order, numerator, denominator).
    tempos: Vec<(u64, usize, f64)>,
    meters: Vec<(u64, usize, u8, u8)>,
    end_tick: u64,
}

/// Reads a standard MIDI file into a score on a grid of `step_beats` quarter notes.
pub fn read(bytes: &[u8], step_beats: f64) -> Result<Score, MidiError> {
    let Parsed {
        grid,
        parts,
        mut tempos,
        mut meters,
        end_tick,
        ..
    } = parse(bytes, step_beats)?;
    let mut score = Score::new(step_beats);
    score.len = grid.step(end_tick)?;
    let several_channels = |track: usize| parts.iter().filter(|p| p.track == track).count() > 1;
    let names: Vec<String> = parts
        .iter()
        .map(|p| {
            let base = p
                .name
                .clone()
                .unwrap_or_else(|| format!("Track {}", p.track + 1));
            if several_channels(p.track) {
                format!("{base} ch {}", p.channel + 1)
            } else {
                base
            }
        })
        .collect();
    for (index, (raw, name)) in parts.into_iter().zip(names).enumerate() {
        let mut notes = Vec::with_capacity(raw.notes.len());
        for n in raw.notes {
            let start = grid.step(n.start)?;
            let end = grid.step(n.end)?.max(start + 1);
            score.len = score.len.max(end);
            notes.push(Note {
                start,
                len: end - start,
                pitch: n.pitch,
                velocity: n.velocity,
            });
        }
        score.parts.push(Part::new(name, channel_for(index), notes));
    }
    if score.len > MAX_STEPS {
        return Err(MidiError::TooLong {
            step: score.len as u64,
            max: MAX_STEPS,
        });
    }

    if let [part] = score.parts.as_slice() {
        if part.is_polyphonic() {
            let voices = part
                .split_by_pitch_capped(MAX_NOTES)
                .ok_or(MidiError::TooManyNotes { max: MAX_NOTES })?;
            score.parts = voices;
        }
    }

    tempos.sort_by_key(|&(tick, order, _)| (tick, order));
    for (tick, _, bpm) in tempos {
        let step = grid.step(tick)?;
        match score.tempos.last_mut() {
            Some(last) if last.step == step => last.bpm = bpm,
            _ => score.tempos.push(TempoChange { step, bpm }),
        }
    }
    meters.sort_by_key(|&(tick, order, ..)| (tick, order));
    for (tick, _, numerator, denominator) in meters {
        let step = grid.step(tick)?;
        let meter = MeterChange {
            step,
            meter: Meter::new(numerator, denominator),
        };
        match score.meters.last_mut() {
            Some(last) if last.step == step => *last = meter,
            _ => score.meters.push(meter),
        }
    }
    Ok(score)
}

/// Quarter notes per minute from MIDI's microseconds per quarter note. Files
/// store whole microseconds, so 90 bpm is stored as 666,667 µs; the roundest
/// bpm (fewest decimals, up to 3) that gives back the same microseconds is
/// reported, so a file written at 90 reads as 90 and writing it again stores
/// the same microseconds.
fn bpm_from_micros(us: u32) -> f64 {
    let exact = 60e6 / us as f64;
    [1.0, 10.0, 100.0, 1000.0]
        .into_iter()
        .map(|scale| (exact * scale).round() / scale)
        .find(|&bpm| bpm > 0.0 && (60e6 / bpm).round() == us as f64)
        .unwrap_or(exact)
}

/// A track name as text: invalid UTF-8 replaced, padding trimmed.
fn clean_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}

/// A note as played, in quarter notes from the file's start, off the grid
/// wherever the file has it so (a melody recorded by hand).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlayedNote {
    pub start: f64,
    pub end: f64,
    pub pitch: u8,
    pub velocity: u8,
}

/// Every note of each part exactly as timed in the file, parts in the order
/// [`read`] gives them before it splits a lone chordal part into voices
/// (so a part's index is the same in both unless that split happened).
/// Checked as [`read`] checks on a grid of `step_beats`.
pub fn read_played(bytes: &[u8], step_beats: f64) -> Result<Vec<Vec<PlayedNote>>, MidiError> {
    let parsed = parse(bytes, step_beats)?;
    let beats = |tick: u64| tick as f64 / parsed.ppq as f64;
    Ok(parsed
        .parts
        .iter()
        .map(|part| {
            part.notes
                .iter()
                .map(|n| PlayedNote {
                    start: beats(n.start),
                    end: beats(n.end),
                    pitch: n.pitch,
                    velocity: n.velocity,
                })
                .collect()
        })
        .collect())
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

/// Writes a score as a format-1 MIDI file: a conductor track with the tempo
/// and meter changes, then one track per part, named after it, on its channel.
/// Notes are normalised first ([`Part::normalize`]) so each has its own
/// note-on/note-off pair; velocities are clamped to 1..=127.
pub fn write(score: &Score) -> Result<Vec<u8>, MidiError> {
    write_with_markers(score, &[])
}

/// [`write`] with marker meta events (FF 06), such as chord names, each
/// `(step, text)` at its grid step on the first part's track (the
/// conductor track when there are no parts): DAWs that import markers show
/// them on the timeline, and tools that read the melody track see them
/// beside its notes. A marker at a step repeats in the order given.
pub fn write_with_markers(score: &Score, markers: &[(u32, &str)]) -> Result<Vec<u8>, MidiError> {
    check_step_beats(score.step_beats)?;
    let ticks_per_step = WRITE_PPQ as f64 * score.step_beats;
    // Steps are at most u32::MAX and ticks_per_step at most 480 * 64, so this fits u64.
    let tick = |step: u32| (step as f64 * ticks_per_step).round() as u64;
    let mut tracks: Vec<Vec<(u64, TrackEventKind<'_>)>> = Vec::new();

    let mut conductor = Vec::new();
    for t in &score.tempos {
        // Microseconds per quarter note, which MIDI stores in 24 bits.
        let us = (60e6 / t.bpm).round();
        if !(t.bpm.is_finite() && (1.0..=16_777_215.0).contains(&us)) {
            return Err(MidiError::BadBpm(t.bpm));
        }
        let us = u24::new(us as u32);
        conductor.push((tick(t.step), TrackEventKind::Meta(MetaMessage::Tempo(us))));
    }
    for change in &score.meters {
        let m = change.meter;
        let power = m.denominator.trailing_zeros();
        if m.numerator == 0 || !m.denominator.is_power_of_two() || power > 6 {
            return Err(MidiError::BadMeter {
                numerator: m.numerator as u32,
                denominator: m.denominator as u32,
            });
        }
        // 24 MIDI clocks per click and 8 32nds per quarter: the usual defaults.
        let meta = MetaMessage::TimeSignature(m.numerator, power as u8, 24, 8);
        conductor.push((tick(change.step), TrackEventKind::Meta(meta)));
    }
    tracks.push(conductor);

    let mut parts = Vec::with_capacity(score.parts.len());
    for part in &score.parts {
        let mut part = part.clone();
        part.normalize();
        parts.push(part);
    }
    for part in &parts {
        let channel = u4::try_from(part.channel)
            .ok_or_else(|| MidiError::BadChannel(part.channel, part.name.clone()))?;
        let mut events = vec![(
            0,
            TrackEventKind::Meta(MetaMessage::TrackName(part.name.as_bytes())),
        )];
        for n in &part.notes {
            let key = u7::try_from(n.pitch)
                .ok_or_else(|| MidiError::BadPitch(n.pitch, part.name.clone()))?;
            let vel = u7::new(n.velocity.clamp(1, 127));
            let end = n
                .start
                .checked_add(n.len)
                .ok_or_else(|| MidiError::NoteTooLong(part.name.clone()))?;
            let on = MidiMessage::NoteOn { key, vel };
            let off = MidiMessage::NoteOff {
                key,
                vel: u7::new(0),
            };
            events.push((
                tick(n.start),
                TrackEventKind::Midi {
                    channel,
                    message: on,
                },
            ));
            events.push((
                tick(end),
                TrackEventKind::Midi {
                    channel,
                    message: off,
                },
            ));
        }
        tracks.push(events);
    }
    // The melody's track, so a marker lines up with the part it names.
    let marked = if tracks.len() > 1 { 1 } else { 0 };
    for &(step, text) in markers {
        let meta = MetaMessage::Marker(text.as_bytes());
        tracks[marked].push((tick(step), TrackEventKind::Meta(meta)));
    }

    let end = tick(score.len);
    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(WRITE_PPQ)),
    ));
    for mut events in tracks {
        // Offs before ons at the same tick, so a repeated note is not cut by its predecessor's off.
        events.sort_by_key(|(tick, kind)| (*tick, event_rank(kind)));
        let mut track = Vec::with_capacity(events.len() + 1);
        let mut now = 0u64;
        for (at, kind) in events {
            track.push(TrackEvent {
                delta: delta(at - now)?,
                kind,
            });
            now = at;
        }
        track.push(TrackEvent {
            delta: delta(end.saturating_sub(now))?,
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        smf.tracks.push(track);
    }
    let mut out = Vec::new();
    smf.write_std(&mut out).map_err(|source| MidiError::Io {
        path: PathBuf::from("<memory>"),
        source,
    })?;
    Ok(out)
}

/// Order of events on one tick: meta events first, then note-offs, then note-ons.
fn event_rank(kind: &TrackEventKind) -> u8 {
    match kind {
        TrackEventKind::Meta(_) => 0,
        TrackEventKind::Midi {
            message: MidiMessage::NoteOff { .. },
            ..
        } => 1,
        _ => 2,
    }
}

/// A delta time, which MIDI stores in 28 bits.
fn delta(ticks: u64) -> Result<u28, MidiError> {
    u32::try_from(ticks)
        .ok()
        .and_then(u28::try_from)
        .ok_or(MidiError::GapTooLong(ticks))
}

/// Writes a score to `path` atomically: a temporary file in the same directory,
/// synced, then renamed over the target, so a crash never leaves half a file.
pub fn write_file(path: &Path, score: &Score) -> Result<(), MidiError> {
    write_file_with_markers(path, score, &[])
}

/// [`write_file`] with markers, as [`write_with_markers`] writes them.
pub fn write_file_with_markers(
    path: &Path,
    score: &Score,
    markers: &[(u32, &str)],
) -> Result<(), MidiError> {
    let bytes = write_with_markers(score, markers)?;
    let io = |source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.file_name().is_none() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        )));
    }
    crate::file::write_atomic(path, &bytes).map_err(io)
}

#[cfg(test)]
mod tests {
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
