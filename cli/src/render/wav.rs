//! The score as a WAV file, played by the engine's organ (the Bach
//! Instrument's preview voice, so a file sounds as the plugin does), each
//! part panned to its own place, 16-bit stereo.

use std::io::Cursor;

use bach_engine::organ::{pan, Organ};
use bach_engine::score::Score;

use super::{end_step, seconds_at};

pub const SAMPLE_RATE: u32 = 44_100;
/// Silence after the last note ends, for the release to die away.
pub const TAIL_SECONDS: f64 = 0.5;

/// The score as a WAV file's bytes, `TAIL_SECONDS` longer than its last note.
pub fn render(score: &Score) -> Result<Vec<u8>, hound::Error> {
    let sr = SAMPLE_RATE as f64;
    let frames = ((seconds_at(score, end_step(score)) + TAIL_SECONDS) * sr).ceil() as usize;
    // Every note's start and end as (frame, is-on, part, pitch, velocity);
    // ends first on a frame, so a repeated note is struck again.
    let mut events = Vec::new();
    let parts = score.parts.len();
    for (i, part) in score.parts.iter().enumerate() {
        for note in &part.notes {
            let at = |step| (seconds_at(score, step) * sr).round() as usize;
            events.push((at(note.start), true, i, note.pitch, note.velocity));
            events.push((at(note.end()), false, i, note.pitch, 0));
        }
    }
    events.sort_by_key(|&(frame, on, ..)| (frame, on));
    let mut organ = Organ::new(sr);
    let mut left = vec![0f32; frames];
    let mut right = vec![0f32; frames];
    let mut done = 0;
    for (frame, on, part, pitch, velocity) in events {
        let frame = frame.min(frames);
        organ.render(&mut left[done..frame], &mut right[done..frame]);
        done = frame;
        // Parts past the organ's 256 share the last one's pipes.
        let id = part.min(u8::MAX as usize) as u8;
        if on {
            organ.note_on(id, pitch, velocity, pan(part, parts));
        } else {
            organ.note_off(id, pitch);
        }
    }
    organ.render(&mut left[done..], &mut right[done..]);
    // Loud chords are scaled down as a whole rather than clipped.
    let peak = left.iter().chain(&right).fold(0f32, |m, s| m.max(s.abs()));
    let scale = if peak > 0.9 { 0.9 / peak } else { 1.0 };
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
        for (l, r) in left.iter().zip(&right) {
            writer.write_sample(to_i16(l * scale))?;
            writer.write_sample(to_i16(r * scale))?;
        }
        writer.finalize()?;
    }
    Ok(bytes.into_inner())
}

fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}
