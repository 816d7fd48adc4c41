//! The preview voice: a small polyphonic organ, so what Bach plays can be
//! heard with no instrument after it. The Bach Instrument plays it in
//! `process()`; `bach --wav` renders files with it, so both sound alike.
//!
//! Realtime rules: a fixed array of pipes, no allocation, no locks; every
//! sample is computed one at a time from the pipes' state, so the sound is
//! the same whatever the block size. No clicks: a note starts and ends on
//! an envelope, and a stolen pipe keeps its phase and level and glides from
//! that level to the new note's attack.

use std::f64::consts::TAU;

/// Pipes sounding at once. Four voices plus the melody rarely hold more
/// than a few notes each; past this the oldest pipe is taken.
pub const POLYPHONY: usize = 16;

/// Seconds to full level, to the sustain level, and from any level to silence.
const ATTACK: f64 = 0.01;
const DECAY: f64 = 0.12;
const SUSTAIN: f32 = 0.6;
const RELEASE: f64 = 0.15;
/// Partial amplitudes (fundamental, octave, twelfth): a soft flute stop.
const PARTIALS: [f64; 3] = [1.0, 0.35, 0.15];
/// A note at full velocity, before the volume: four of them sum below 1.
const PEAK: f32 = 0.15;

/// Where part `index` of `count` sits between left (0) and right (1):
/// spread as a choir stands, soprano on the left, bass on the right.
pub fn pan(index: usize, count: usize) -> f32 {
    if count <= 1 {
        0.5
    } else {
        0.2 + 0.6 * index.min(count - 1) as f32 / (count - 1) as f32
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    Attack,
    Decay,
    Sustain,
    Release,
}

/// One sounding note.
#[derive(Clone, Copy, Debug)]
struct Pipe {
    stage: Stage,
    part: u8,
    pitch: u8,
    /// Phase in cycles of the fundamental, kept in [0, 1).
    phase: f64,
    /// Cycles per sample.
    step: f64,
    /// Partials at or above Nyquist are left out.
    partials: usize,
    level: f32,
    /// Level change per sample in the current stage.
    rate: f32,
    amp: f32,
    gain_l: f32,
    gain_r: f32,
    /// When the note started (in notes played), to find the oldest.
    started: u64,
}

impl Pipe {
    const IDLE: Pipe = Pipe {
        stage: Stage::Idle,
        part: 0,
        pitch: 0,
        phase: 0.0,
        step: 0.0,
        partials: 0,
        level: 0.0,
        rate: 0.0,
        amp: 0.0,
        gain_l: 0.0,
        gain_r: 0.0,
        started: 0,
    };

    /// The envelope's next level, moving to the next stage at its end.
    fn advance(&mut self, sample_rate: f64) {
        match self.stage {
            Stage::Attack => {
                self.level += self.rate;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                    self.rate = (1.0 - SUSTAIN) / (DECAY * sample_rate) as f32;
                }
            }
            Stage::Decay => {
                self.level -= self.rate;
                if self.level <= SUSTAIN {
                    self.level = SUSTAIN;
                    self.stage = Stage::Sustain;
                }
            }
            Stage::Release => {
                self.level -= self.rate;
                if self.level <= 0.0 {
                    *self = Pipe::IDLE;
                }
            }
            Stage::Sustain | Stage::Idle => {}
        }
    }
}

/// A small organ: note on, note off, render.
#[derive(Clone, Debug)]
pub struct Organ {
    pipes: [Pipe; POLYPHONY],
    sample_rate: f64,
    notes_played: u64,
}

impl Organ {
    pub fn new(sample_rate: f64) -> Self {
        Self {
            pipes: [Pipe::IDLE; POLYPHONY],
            sample_rate: if sample_rate.is_finite() && sample_rate > 0.0 {
                sample_rate
            } else {
                48_000.0
            },
            notes_played: 0,
        }
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Starts `pitch` for `part` (a voice, or the melody), panned to `pan`
    /// (0 left, 1 right). A note already sounding at that pitch in that part
    /// is struck again; with every pipe busy, the oldest releasing pipe, or
    /// else the oldest of all, is taken.
    pub fn note_on(&mut self, part: u8, pitch: u8, velocity: u8, pan: f32) {
        let index = self
            .pipes
            .iter()
            .position(|p| p.stage != Stage::Idle && p.part == part && p.pitch == pitch)
            .or_else(|| self.pipes.iter().position(|p| p.stage == Stage::Idle))
            .unwrap_or_else(|| self.oldest());
        let sr = self.sample_rate;
        let freq = 440.0 * 2f64.powf((pitch as f64 - 69.0) / 12.0);
        let pan = pan.clamp(0.0, 1.0);
        let pipe = &mut self.pipes[index];
        // A taken pipe keeps its phase and level: the wave stays continuous
        // and the new attack starts where the old note was.
        let level = if pipe.stage == Stage::Idle {
            0.0
        } else {
            pipe.level
        };
        *pipe = Pipe {
            stage: Stage::Attack,
            part,
            pitch,
            phase: pipe.phase,
            step: freq / sr,
            partials: PARTIALS
                .iter()
                .enumerate()
                .take_while(|(h, _)| freq * (*h as f64 + 1.0) < sr / 2.0)
                .count(),
            level,
            rate: (1.0 / (ATTACK * sr)) as f32,
            amp: PEAK * velocity.clamp(1, 127) as f32 / 127.0,
            gain_l: (1.0 - pan).sqrt(),
            gain_r: pan.sqrt(),
            started: self.notes_played,
        };
        self.notes_played += 1;
    }

    /// Releases `pitch` in `part` (nothing if it is not sounding).
    pub fn note_off(&mut self, part: u8, pitch: u8) {
        let release = (1.0 / (RELEASE * self.sample_rate)) as f32;
        for pipe in &mut self.pipes {
            let held = !matches!(pipe.stage, Stage::Idle | Stage::Release);
            if held && pipe.part == part && pipe.pitch == pitch {
                pipe.stage = Stage::Release;
                // From any level to silence in RELEASE seconds at most.
                pipe.rate = release;
            }
        }
    }

    /// Releases every note (a stop, a seek, all notes off).
    pub fn release_all(&mut self) {
        let release = (1.0 / (RELEASE * self.sample_rate)) as f32;
        for pipe in &mut self.pipes {
            if pipe.stage != Stage::Idle {
                pipe.stage = Stage::Release;
                pipe.rate = release;
            }
        }
    }

    /// Silences everything at once (only where no one listens: the volume is
    /// already at zero, or the plugin is deactivated).
    pub fn silence(&mut self) {
        self.pipes = [Pipe::IDLE; POLYPHONY];
    }

    /// Pipes sounding (held or dying away).
    pub fn sounding(&self) -> usize {
        self.pipes.iter().filter(|p| p.stage != Stage::Idle).count()
    }

    /// Writes the next samples into `left` and `right` (as many as the
    /// shorter holds), replacing what was there.
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let (mut sum_l, mut sum_r) = (0f32, 0f32);
            for pipe in &mut self.pipes {
                if pipe.stage == Stage::Idle {
                    continue;
                }
                let phase = TAU * pipe.phase;
                let mut tone = 0f64;
                for (h, a) in PARTIALS.iter().enumerate().take(pipe.partials) {
                    tone += a * (phase * (h as f64 + 1.0)).sin();
                }
                let s = tone as f32 * pipe.amp * pipe.level;
                sum_l += s * pipe.gain_l;
                sum_r += s * pipe.gain_r;
                pipe.phase = (pipe.phase + pipe.step).fract();
                pipe.advance(self.sample_rate);
            }
            *l = sum_l;
            *r = sum_r;
        }
    }

    fn oldest(&self) -> usize {
        let age = |p: &Pipe| (p.stage != Stage::Release, p.started);
        (0..POLYPHONY)
            .min_by_key(|&i| age(&self.pipes[i]))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn run(organ: &mut Organ, frames: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
        organ.render(&mut l, &mut r);
        (l, r)
    }

    fn peak(x: &[f32]) -> f32 {
        x.iter().fold(0.0, |m, s| m.max(s.abs()))
    }

    /// Largest jump between neighbouring samples: a click shows as a jump
    /// far above what the tone's own slope gives.
    fn largest_step(x: &[f32]) -> f32 {
        x.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn silent_until_a_note_then_silent_again_after_its_release() {
        let mut organ = Organ::new(SR);
        let (l, r) = run(&mut organ, 256);
        assert_eq!(peak(&l) + peak(&r), 0.0);
        organ.note_on(0, 69, 100, 0.5);
        let (l, _) = run(&mut organ, 4800);
        assert!(peak(&l) > 0.05, "a held note sounds: {}", peak(&l));
        organ.note_off(0, 69);
        let (l, _) = run(&mut organ, (RELEASE * SR) as usize + 2);
        assert!(peak(&l) > 0.0, "the release is heard");
        assert_eq!(organ.sounding(), 0);
        let (l, r) = run(&mut organ, 256);
        assert_eq!(peak(&l) + peak(&r), 0.0, "exact silence after the release");
    }

    #[test]
    fn soprano_sits_left_and_bass_right() {
        let mut organ = Organ::new(SR);
        organ.note_on(0, 72, 100, pan(0, 4));
        let (l, r) = run(&mut organ, 2400);
        assert!(peak(&l) > 1.5 * peak(&r));
        let mut organ = Organ::new(SR);
        organ.note_on(3, 48, 100, pan(3, 4));
        let (l, r) = run(&mut organ, 2400);
        assert!(peak(&r) > 1.5 * peak(&l));
    }

    #[test]
    fn notes_start_end_and_are_stolen_without_clicks() {
        let mut organ = Organ::new(SR);
        let mut all = Vec::new();
        // More notes than pipes, ended and restarted mid-wave.
        for k in 0..(POLYPHONY as u8 + 8) {
            organ.note_on(k % 4, 48 + k, 127, pan((k % 4) as usize, 4));
            all.extend(run(&mut organ, 331).0);
            if k % 3 == 0 {
                organ.note_off(k % 4, 48 + k);
            }
        }
        organ.release_all();
        all.extend(run(&mut organ, 9000).0);
        assert!(organ.sounding() == 0);
        // A full-scale wave of the highest partial at the highest pitch used
        // moves at most 2π·f/sr per sample; a click would be far larger.
        let top = 440.0 * 2f64.powf((48.0 + 23.0 - 69.0) / 12.0) * 3.0;
        let slope = (TAU * top / SR) as f32 * PEAK * 1.5 * POLYPHONY as f32;
        assert!(largest_step(&all) < slope, "{}", largest_step(&all));
        assert!(organ.sounding() <= POLYPHONY);
    }

    #[test]
    fn the_sound_does_not_depend_on_the_block_size() {
        let play = |block: usize| {
            let mut organ = Organ::new(SR);
            let mut out = Vec::new();
            for (i, pitch) in [60u8, 64, 67, 72].into_iter().enumerate() {
                organ.note_on(i as u8, pitch, 90, pan(i, 4));
            }
            let mut left = vec![0.0; 3000];
            let mut right = vec![0.0; 3000];
            for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
                organ.render(l, r);
            }
            out.extend(left);
            organ.release_all();
            out.extend(run(&mut organ, 1000).0);
            out
        };
        let reference = play(4096);
        for block in [1, 37, 512] {
            assert_eq!(play(block), reference, "block of {block}");
        }
    }

    #[test]
    fn a_struck_again_note_keeps_one_pipe() {
        let mut organ = Organ::new(SR);
        organ.note_on(1, 60, 90, 0.4);
        organ.note_on(1, 60, 90, 0.4);
        assert_eq!(organ.sounding(), 1);
        // The same pitch in another part is another pipe.
        organ.note_on(2, 60, 90, 0.6);
        assert_eq!(organ.sounding(), 2);
    }
}
