//! Hearing and seeing a score without a DAW: a small synthesizer to WAV and
//! a piano-roll picture to PNG. Both render into memory, so the caller can
//! write every output atomically only once all of them have succeeded.

pub mod glyphs;
pub mod png;
pub mod wav;

use bach_engine::score::Score;

/// Seconds from the start of the score to the start of grid step `step`,
/// through its tempo map.
pub fn seconds_at(score: &Score, step: u32) -> f64 {
    let mut seconds = 0.0;
    let mut from = 0u32;
    let mut bpm = score
        .tempos
        .first()
        .filter(|t| t.step == 0)
        .map_or(120.0, |t| t.bpm);
    for t in score.tempos.iter().filter(|t| t.step > 0) {
        if t.step >= step {
            break;
        }
        seconds += (t.step - from) as f64 * score.step_beats * 60.0 / bpm;
        from = t.step;
        bpm = t.bpm;
    }
    seconds + (step - from) as f64 * score.step_beats * 60.0 / bpm
}

/// The step after the last note of any part.
pub fn end_step(score: &Score) -> u32 {
    score.parts.iter().map(|p| p.end()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::score::TempoChange;

    #[test]
    fn seconds_follow_the_tempo_map() {
        let mut s = Score::new(0.25);
        assert_eq!(seconds_at(&s, 8), 1.0);
        s.tempos = vec![
            TempoChange { step: 0, bpm: 60.0 },
            TempoChange {
                step: 4,
                bpm: 120.0,
            },
        ];
        assert_eq!(seconds_at(&s, 4), 1.0);
        assert_eq!(seconds_at(&s, 8), 1.5);
    }
}
