//! Reading a file's events in ticks, before anything is snapped to the grid:
//! every track and channel's notes, the tempo, meter and key changes and the
//! text events, bounded against hostile files.

use midly::{Format, MetaMessage, MidiMessage, Timing, TrackEventKind};

use super::{
    check_step_beats, MidiError, DRUM_CHANNEL, MAX_MARKERS, MAX_MARKER_BYTES, MAX_NOTES, MAX_STEPS,
};

/// Converts absolute ticks to grid steps, rounding to the nearest step.
pub(super) struct Grid {
    pub(super) ticks_per_step: f64,
}

impl Grid {
    pub(super) fn step(&self, tick: u64) -> Result<u32, MidiError> {
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
pub(super) struct RawNote {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) pitch: u8,
    pub(super) velocity: u8,
}

/// One track's notes on one channel, before snapping.
pub(super) struct RawPart {
    pub(super) track: usize,
    pub(super) channel: u8,
    pub(super) name: Option<String>,
    pub(super) notes: Vec<RawNote>,
}

/// The division word of the file's `MThd` chunk, found the way midly finds it:
/// inside an optional RIFF/RMID wrapper, after any chunks before the header.
pub(super) fn smf_division(bytes: &[u8]) -> Option<u16> {
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
pub(super) fn part_for(
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
pub(super) fn parse(bytes: &[u8], step_beats: f64) -> Result<Parsed, MidiError> {
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
    // Annotations, not music: past MAX_MARKERS of each the rest are dropped,
    // so a file of a million lyrics still reads (and stays small in memory).
    let mut keys: Vec<(u64, usize, i8, bool)> = Vec::new();
    let mut texts: Vec<(u64, usize, String)> = Vec::new();
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
                    MetaMessage::KeySignature(sharps, minor) if keys.len() < MAX_MARKERS => {
                        grid.step(tick)?;
                        keys.push((tick, order, sharps, minor));
                    }
                    MetaMessage::Text(text)
                    | MetaMessage::Marker(text)
                    | MetaMessage::CuePoint(text)
                    | MetaMessage::Lyric(text)
                        if texts.len() < MAX_MARKERS =>
                    {
                        grid.step(tick)?;
                        texts.push((tick, order, clean_text(text)));
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
        keys,
        texts,
        end_tick,
    })
}

/// A file's contents as read, in ticks, before snapping to the grid.
pub(super) struct Parsed {
    pub(super) ppq: u16,
    pub(super) grid: Grid,
    pub(super) parts: Vec<RawPart>,
    /// (tick, order, bpm) and (tick, order, numerator, denominator).
    pub(super) tempos: Vec<(u64, usize, f64)>,
    pub(super) meters: Vec<(u64, usize, u8, u8)>,
    /// (tick, order, sharps, minor) of each key signature, as written.
    pub(super) keys: Vec<(u64, usize, i8, bool)>,
    /// (tick, order, text) of each text, marker, cue point and lyric event.
    pub(super) texts: Vec<(u64, usize, String)>,
    pub(super) end_tick: u64,
}

/// Quarter notes per minute from MIDI's microseconds per quarter note. Files
/// store whole microseconds, so 90 bpm is stored as 666,667 µs; the roundest
/// bpm (fewest decimals, up to 3) that gives back the same microseconds is
/// reported, so a file written at 90 reads as 90 and writing it again stores
/// the same microseconds.
pub(super) fn bpm_from_micros(us: u32) -> f64 {
    let exact = 60e6 / us as f64;
    [1.0, 10.0, 100.0, 1000.0]
        .into_iter()
        .map(|scale| (exact * scale).round() / scale)
        .find(|&bpm| bpm > 0.0 && (60e6 / bpm).round() == us as f64)
        .unwrap_or(exact)
}

/// A track name as text: invalid UTF-8 replaced, padding trimmed.
pub(super) fn clean_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}

/// A text event as text: at most [`MAX_MARKER_BYTES`] bytes of it, invalid
/// UTF-8 replaced, cut at a character boundary, then trimmed as a name is
/// (so reading the text again gives the same text).
pub(super) fn clean_text(bytes: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_MARKER_BYTES)]);
    let mut end = lossy.len().min(MAX_MARKER_BYTES);
    while !lossy.is_char_boundary(end) {
        end -= 1;
    }
    lossy[..end]
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}
