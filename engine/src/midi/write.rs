//! A [`Score`] out as a format-1 file: a conductor track, then a named track
//! per part, with chord symbols as markers where asked.

use std::path::{Path, PathBuf};

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::{check_step_beats, MidiError, WRITE_PPQ};
use crate::score::Score;

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
pub(super) fn delta(ticks: u64) -> Result<u28, MidiError> {
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
