//! Sampling tokens and key frames from logits: temperature, range masks, a
//! cap on sounding notes, and a seeded PRNG that gives the same stream on
//! every platform (PCG32; floats are built from its integers by hand, not by
//! a library's distribution code, so nothing can change them underneath us).

use rand_core::{Rng as _, SeedableRng};
use rand_pcg::Pcg32;

use crate::pianoroll::KEYS;
use crate::token::{Token, VoiceRange, HOLD, MAX_VOICES, REST};

/// Below this temperature sampling is argmax: the most likely choice, always.
pub const ARGMAX_BELOW: f32 = 1e-3;

/// The seeded random stream behind every sampled note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng(Pcg32);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(Pcg32::seed_from_u64(seed))
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in [0, 1), 24 bits of resolution.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in [0, 1), 53 bits of resolution.
    pub fn next_f64(&mut self) -> f64 {
        let hi = (self.next_u32() >> 5) as u64; // 27 bits
        let lo = (self.next_u32() >> 6) as u64; // 26 bits
        ((hi << 26) | lo) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// How to turn logits into choices. `Copy` and fixed-size, so the plugin can
/// keep one per block without allocating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    /// Divides the logits; below [`ARGMAX_BELOW`] the most likely choice wins.
    pub temperature: f32,
    /// Piano rolls: at most this many keys sound on a frame (the likeliest are kept).
    pub max_notes: usize,
    /// Per voice, a narrower range for onsets than the model's own (user setting).
    pub ranges: [Option<VoiceRange>; MAX_VOICES],
    /// Strict voice leading: a sampled voice never moves in parallel fifths
    /// or octaves with a voice above it (see [`crate::voice_leading`]).
    pub strict: bool,
}

impl Default for Sampler {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            max_notes: 8,
            ranges: [None; MAX_VOICES],
            strict: true,
        }
    }
}

impl Sampler {
    pub fn with_temperature(temperature: f32) -> Self {
        Self {
            temperature,
            ..Self::default()
        }
    }
}

/// Which tokens a voice may take on this step.
#[derive(Clone, Copy, Debug)]
pub struct TokenMask {
    /// Onsets allowed from `low` to `high` inclusive (MIDI pitches).
    pub low: u8,
    pub high: u8,
    /// A hold needs a sounding note.
    pub hold: bool,
    /// Onset pitches ruled out (bit `p` for MIDI pitch `p`), by voice leading.
    pub forbidden: u128,
}

impl TokenMask {
    /// The mask for a voice of range `model`, narrowed by `user`, given whether
    /// the voice is sounding now. An empty intersection allows no onset.
    pub fn new(model: VoiceRange, user: Option<VoiceRange>, sounding: bool) -> Self {
        let (mut low, mut high) = (model.low, model.high);
        if let Some(u) = user {
            low = low.max(u.low);
            high = high.min(u.high);
        }
        Self {
            low,
            high,
            hold: sounding,
            forbidden: 0,
        }
    }

    /// The same mask with `pitches` (a bit set over MIDI pitches) ruled out too.
    pub fn forbid(self, pitches: u128) -> Self {
        Self {
            forbidden: self.forbidden | pitches,
            ..self
        }
    }

    /// Whether token `index` of `range` may be taken.
    pub fn allows(&self, range: VoiceRange, index: usize) -> bool {
        match range.token(index) {
            Token::Rest => true,
            Token::Hold => self.hold,
            Token::Onset(p) => {
                index >= 2
                    && p >= self.low
                    && p <= self.high
                    && (p > 127 || self.forbidden & (1u128 << p) == 0)
            }
        }
    }
}

/// Whether a voice rests, holds or strikes a note on a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rhythm {
    Rest,
    Hold,
    Onset,
}

/// Whether a voice rests, holds or strikes, drawn at the model's own odds
/// (temperature 1, so rhythm keeps its learned density at any temperature:
/// one temperature over the whole vocabulary would starve onsets, since
/// holding is the likeliest token on most 16ths, and cooling it makes every
/// note hang on; the temperature only picks the note, `perform::choose`).
/// The rhythm is decided before voice leading has its say: a forbidden note
/// turns into the next-best note, not into a held one (holding under a
/// moving melody is how dissonance happens). Only when every note is
/// forbidden does an onset turn into a hold (or a rest). An onset is only
/// drawn when `mask` allows one.
pub fn sample_rhythm(logits: &[f32], range: VoiceRange, mask: TokenMask, rng: &mut Rng) -> Rhythm {
    let allowed = |i: usize| mask.allows(range, i) && logits[i].is_finite();
    let rhythm = TokenMask {
        forbidden: 0,
        ..mask
    };
    let allowed_in_rhythm = |i: usize| rhythm.allows(range, i) && logits[i].is_finite();
    let top = (0..logits.len())
        .filter(|&i| allowed_in_rhythm(i))
        .map(|i| logits[i])
        .fold(f32::NEG_INFINITY, f32::max);
    if top == f32::NEG_INFINITY {
        return Rhythm::Rest;
    }
    let weight = |i: usize| ((logits[i] - top) as f64).exp();
    let rest = if allowed(REST) { weight(REST) } else { 0.0 };
    let hold = if logits.len() > HOLD && allowed(HOLD) {
        weight(HOLD)
    } else {
        0.0
    };
    let onsets: f64 = (2..logits.len())
        .filter(|&i| allowed_in_rhythm(i))
        .map(weight)
        .sum();
    let any_onset = (2..logits.len()).any(allowed);
    let u = rng.next_f64() * (rest + hold + onsets);
    if u < rest || (hold == 0.0 && !any_onset) {
        return Rhythm::Rest;
    }
    if u < rest + hold || !any_onset {
        return Rhythm::Hold;
    }
    Rhythm::Onset
}

/// Draws a piano-roll frame from 88 logits: each key independently with
/// probability `sigmoid(logit / T)` (at T = 0, the keys above one half), then
/// only the `max_notes` likeliest of the drawn keys are kept.
pub fn sample_keys(logits: &[f32], sampler: &Sampler, rng: &mut Rng) -> crate::KeyFrame {
    let mut drawn = crate::KeyFrame::EMPTY;
    for (k, &l) in logits.iter().enumerate().take(KEYS) {
        if draw_key(l, sampler.temperature, rng) {
            drawn.insert_key(k);
        }
    }
    keep_likeliest(drawn, logits, sampler.max_notes)
}

/// Whether a key of logit `l` sounds at temperature `t`: with probability
/// `sigmoid(l / t)`, or when `l > 0` below [`ARGMAX_BELOW`].
pub fn draw_key(l: f32, t: f32, rng: &mut Rng) -> bool {
    let on = if t < ARGMAX_BELOW {
        l > 0.0
    } else {
        let p = 1.0 / (1.0 + (-(l / t) as f64).exp());
        rng.next_f64() < p
    };
    on && l.is_finite()
}

/// The `max_notes` keys of `drawn` with the highest logits.
pub fn keep_likeliest(drawn: crate::KeyFrame, logits: &[f32], max_notes: usize) -> crate::KeyFrame {
    if drawn.len() <= max_notes {
        return drawn;
    }
    // The cap is small, so repeated maximum is cheap.
    let mut kept = crate::KeyFrame::EMPTY;
    for _ in 0..max_notes {
        let mut best: Option<usize> = None;
        for k in drawn.keys() {
            if !kept.contains_key(k) && best.is_none_or(|b| logits[k] > logits[b]) {
                best = Some(k);
            }
        }
        match best {
            Some(k) => kept.insert_key(k),
            None => break,
        }
    }
    kept
}

/// The sampler made from a user's settings (the plugin's parameters, the
/// command line's flags): the one place that decides what a temperature
/// means. The sampler for a user's `temperature` and strict voice leading. A
/// temperature that is not a number plays at 1; a negative one is argmax.
pub fn user_sampler(temperature: f32, strict: bool) -> Sampler {
    Sampler {
        temperature: if temperature.is_finite() {
            temperature.max(0.0)
        } else {
            1.0
        },
        strict,
        ..Sampler::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_fixed() {
        // The PCG32 stream for seed 42 must never change: bounces depend on it
        // (tests/golden.rs pins its values across builds).
        let mut rng = Rng::new(42);
        let first: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u32()).collect::<Vec<_>>());
        let mut other = Rng::new(43);
        assert_ne!(first[0], other.next_u32());
        let x = Rng::new(7).next_f32();
        assert!((0.0..1.0).contains(&x));
    }

    #[test]
    fn key_cap_keeps_the_likeliest() {
        let mut logits = [-20.0f32; KEYS];
        for (k, l) in [(10, 5.0), (20, 9.0), (30, 7.0), (40, 6.0)] {
            logits[k] = l;
        }
        let sampler = Sampler {
            temperature: 0.0,
            max_notes: 2,
            ..Sampler::default()
        };
        let frame = sample_keys(&logits, &sampler, &mut Rng::new(0));
        assert_eq!(frame.keys().collect::<Vec<_>>(), vec![20, 30]);
    }

    #[test]
    fn unusable_temperatures_are_tamed() {
        assert_eq!(user_sampler(0.3, true).temperature, 0.3);
        assert_eq!(user_sampler(-2.0, true).temperature, 0.0);
        assert_eq!(user_sampler(f32::NAN, false).temperature, 1.0);
        assert!(!user_sampler(f32::INFINITY, false).strict);
    }
}
