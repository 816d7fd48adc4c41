//! A simple synthesizer: each note a few sine partials under an ADSR
//! envelope, each part panned to its own place, to 16-bit stereo WAV.

use std::io::Cursor;

use bach_engine::score::Score;

use super::{end_step, seconds_at};

pub const SAMPLE_RATE: u32 = 44_100;
/// Silence after the last note ends, for the release to die away.
pub const TAIL_SECONDS: f64 = 0.5;

const ATTACK: f64 = 0.01;
const DECAY: f64 = 0.12;
const SUSTAIN: f64 = 0.6;
const RELEASE: f64 = 0.15;
/// Partial amplitudes (fundamental, octave, twelfth): a soft organ-like tone.
const PARTIALS: [f64; 3] = [1.0, 0.35, 0.15];

/// The score as a WAV file's bytes, `TAIL_SECONDS` longer than its last note.
pub fn render(score: &Score) -> Result<Vec<u8>, hound::Error> {
    let sr = SAMPLE_RATE as f64;
    let frames = ((seconds_at(score, end_step(score)) + TAIL_SECONDS) * sr).ceil() as usize;
    let mut left = vec![0f32; frames];
    let mut right = vec![0f32; frames];
    let parts = score.parts.len().max(1);
    for (i, part) in score.parts.iter().enumerate() {
        // Parts spread from left to right; one part sits in the middle.
        let pan = if parts == 1 {
            0.5
        } else {
            0.2 + 0.6 * i as f64 / (parts - 1) as f64
        };
        let (gain_l, gain_r) = ((1.0 - pan).sqrt(), pan.sqrt());
        for note in &part.notes {
            let on = seconds_at(score, note.start);
            let off = seconds_at(score, note.end());
            let freq = 440.0 * 2f64.powf((note.pitch as f64 - 69.0) / 12.0);
            let amp = 0.25 * note.velocity as f64 / 127.0;
            let first = (on * sr).round() as usize;
            let last = (((off + RELEASE) * sr).ceil() as usize).min(frames);
            for (k, frame) in (first..last).enumerate() {
                let t = k as f64 / sr;
                let env = envelope(t, off - on);
                if env <= 0.0 {
                    continue;
                }
                let phase = std::f64::consts::TAU * freq * t;
                let tone: f64 = PARTIALS
                    .iter()
                    .enumerate()
                    .filter(|(h, _)| freq * (*h as f64 + 1.0) < sr / 2.0)
                    .map(|(h, a)| a * (phase * (h as f64 + 1.0)).sin())
                    .sum();
                let s = amp * env * tone;
                left[frame] += (s * gain_l) as f32;
                right[frame] += (s * gain_r) as f32;
            }
        }
    }
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

/// Attack, decay to sustain while held (`held` seconds), then release.
fn envelope(t: f64, held: f64) -> f64 {
    let level = |t: f64| {
        if t < ATTACK {
            t / ATTACK
        } else if t < ATTACK + DECAY {
            1.0 - (1.0 - SUSTAIN) * (t - ATTACK) / DECAY
        } else {
            SUSTAIN
        }
    };
    if t < held {
        level(t)
    } else {
        level(held) * (1.0 - (t - held) / RELEASE).max(0.0)
    }
}

fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_rises_holds_and_dies() {
        assert_eq!(envelope(0.0, 1.0), 0.0);
        assert!((envelope(ATTACK, 1.0) - 1.0).abs() < 1e-9);
        assert!((envelope(0.5, 1.0) - SUSTAIN).abs() < 1e-9);
        assert!(envelope(1.0 + RELEASE, 1.0).abs() < 1e-9);
        assert_eq!(envelope(2.0, 1.0), 0.0);
    }
}
