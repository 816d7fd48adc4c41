//! The key of a melody's first bars, before a key estimate can be trusted.
//!
//! Step by step, each of the 24 keys is scored by how likely it makes what
//! was heard: the Aarden–Essen profiles read as each key's pitch-class
//! probabilities (a naive-Bayes log-likelihood, every step of a sounding
//! note counting, a note struck on a downbeat twice), plus how often a
//! chorale melody begins on each degree of its key, told apart by whether
//! the first note is a pickup. The best key may change at every step: the
//! caller ([`crate::perform::KeyFollower`]) uses it until the opening is over
//! and then holds it as [`super::KeyEstimator`]'s key.
//!
//! Why not the estimator's correlation: with a note or two heard it names
//! the key whose profile peaks on them (a lone G reads as C major), while a
//! chorale's first note is most often its tonic. On the valid sopranos this
//! names the data's key at 47% of the pickup-and-first-bar steps, against
//! 32% for "the first note is a major tonic" (the figures of the harmony it
//! gives: `BENCHMARKS.md`, "The first bar"). Fixed-size state, no
//! allocation: [`Opening::hear`] is 24 additions a step.

use super::estimator::PROFILES;
use super::{Key, Mode};
use crate::meter::BarPosition;

/// How often the 225 train chorale melodies begin on each degree of their
/// key (semitones above the tonic), by whether the first note is a pickup
/// and by mode (from `chorales.json`, the keys as analysed there).
const FIRST_DEGREE: [[[u16; 12]; 2]; 2] = [
    // On a downbeat: major, minor.
    [
        [12, 0, 0, 0, 11, 1, 0, 9, 0, 1, 0, 0],
        [19, 0, 1, 2, 0, 1, 0, 13, 0, 0, 0, 0],
    ],
    // A pickup: major, minor.
    [
        [47, 0, 0, 0, 14, 2, 0, 17, 0, 3, 0, 1],
        [35, 0, 2, 5, 0, 0, 0, 29, 0, 0, 0, 0],
    ],
];
/// Added to every count of [`FIRST_DEGREE`], so an unseen degree is
/// unlikely, not impossible.
const SMOOTHING: f32 = 0.5;
/// A note struck on a downbeat counts this many times its length: the
/// first downbeat's note, and the bar lines' notes after it, name the key
/// more often than passing notes do. Chosen on the valid sopranos (1, 1.5
/// and 2 tried).
const DOWNBEAT_WEIGHT: f32 = 2.0;
/// Each 16th step a note sounds adds this share of a note's evidence: a
/// quarter note counts once.
const STEP_WEIGHT: f32 = 0.25;

/// Scores the keys of the notes heard so far.
#[derive(Clone, Debug)]
pub struct Opening {
    /// Log-probability of each pitch class in each mode, tonic C.
    profile: [[f32; 12]; 2],
    /// Each key's score so far, in [`Key::ALL`] order.
    score: [f32; 24],
    /// The pitch sounding at the last step heard, to tell a new note.
    last: Option<u8>,
    /// The weight of the note sounding: [`DOWNBEAT_WEIGHT`] when it was
    /// struck on a downbeat.
    weight: f32,
    /// Steps of melody heard.
    heard: u32,
}

impl Default for Opening {
    fn default() -> Self {
        Self::new()
    }
}

impl Opening {
    pub fn new() -> Self {
        let mut profile = [[0.0; 12]; 2];
        for (mode, p) in PROFILES.iter().enumerate() {
            let total: f32 = p.iter().sum();
            for (degree, v) in p.iter().enumerate() {
                profile[mode][degree] = (v / total).ln();
            }
        }
        Self {
            profile,
            score: [0.0; 24],
            last: None,
            weight: 1.0,
            heard: 0,
        }
    }

    /// Forgets what was heard.
    pub fn reset(&mut self) {
        self.score = [0.0; 24];
        self.last = None;
        self.weight = 1.0;
        self.heard = 0;
    }

    /// One grid step of melody: `pitch` sounds at `bar`. A pitch unlike the
    /// last step's is a new note (a repeated note is heard as held, which
    /// only changes its weight).
    pub fn hear(&mut self, pitch: u8, bar: BarPosition) {
        let pc = (pitch % 12) as usize;
        if self.last != Some(pitch) {
            self.weight = if bar.is_downbeat() {
                DOWNBEAT_WEIGHT
            } else {
                1.0
            };
            if self.heard == 0 {
                let pickup = !bar.is_downbeat() as usize;
                for (i, key) in Key::ALL.iter().enumerate() {
                    let counts = &FIRST_DEGREE[pickup][mode_index(key.mode)];
                    let total: f32 = counts.iter().map(|&c| c as f32 + SMOOTHING).sum();
                    let degree = (pc + 12 - key.tonic as usize) % 12;
                    self.score[i] += ((counts[degree] as f32 + SMOOTHING) / total).ln();
                }
            }
        }
        for (i, key) in Key::ALL.iter().enumerate() {
            let degree = (pc + 12 - key.tonic as usize) % 12;
            self.score[i] += STEP_WEIGHT * self.weight * self.profile[mode_index(key.mode)][degree];
        }
        self.last = Some(pitch);
        self.heard += 1;
    }

    /// Steps of melody heard so far.
    pub fn heard(&self) -> u32 {
        self.heard
    }

    /// How likely each pitch class is to be in the melody's key, given what
    /// was heard: the keys' scores read as a posterior (each key's share of
    /// the total, `exp` of its score) and summed over the keys whose scale
    /// holds it ([`Key::in_scale`]). All ones before any note.
    pub fn scale_belief(&self) -> [f32; 12] {
        if self.heard == 0 {
            return [1.0; 12];
        }
        let best = self.score.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut belief = [0.0f32; 12];
        let mut total = 0.0;
        for (key, &score) in Key::ALL.iter().zip(&self.score) {
            let p = (score - best).exp();
            total += p;
            for (pc, b) in belief.iter_mut().enumerate() {
                if key.in_scale(pc as u8) {
                    *b += p;
                }
            }
        }
        belief.map(|b| b / total)
    }

    /// The likeliest key, or `None` before any note.
    pub fn key(&self) -> Option<Key> {
        if self.heard == 0 {
            return None;
        }
        let mut best = 0;
        for i in 1..24 {
            if self.score[i] > self.score[best] {
                best = i;
            }
        }
        Some(Key::ALL[best])
    }
}

fn mode_index(mode: Mode) -> usize {
    (mode == Mode::Minor) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Meter;

    fn at(step: usize) -> BarPosition {
        BarPosition::new(step, Meter::COMMON, 0.25)
    }

    /// The first step of a one-beat pickup bar.
    fn pickup() -> BarPosition {
        BarPosition::new(0, Meter::new(1, 4), 0.25)
    }

    #[test]
    fn the_scale_is_doubted_where_the_likely_keys_differ() {
        let mut o = Opening::new();
        assert_eq!(o.scale_belief(), [1.0; 12], "nothing heard");
        // A lone G: G major and C major (and their minors) are likely, so
        // G and D are surely in the key, F and F sharp each only maybe.
        o.hear(67, pickup());
        let b = o.scale_belief();
        assert!(b[7] > 0.95 && b[2] > 0.8, "{b:?}");
        assert!(
            b[6] < 0.9 && b[6] > 0.05 && b[5] < 0.9 && b[5] > 0.05,
            "{b:?}"
        );
        // A C major scale, two bars from a downbeat: no doubt left.
        o.reset();
        for (i, p) in [60, 62, 64, 65, 67, 69, 71, 72].iter().enumerate() {
            for s in 0..4 {
                o.hear(*p, at(i * 4 + s));
            }
        }
        let b = o.scale_belief();
        assert!(b[5] > 0.9 && b[0] > 0.99, "{b:?}");
        assert!(b[6] < 0.1 && b[1] < 0.1, "{b:?}");
    }

    #[test]
    fn a_first_note_alone_is_most_likely_the_tonic() {
        let mut o = Opening::new();
        assert_eq!(o.key(), None);
        o.hear(67, pickup());
        assert_eq!(
            o.key().map(|k| k.tonic),
            Some(7),
            "G, not C (G's profile peak)"
        );
    }

    /// Amazing Grace in B♭: a pickup F, then B♭ on the downbeat held long,
    /// then D. The first note names F; the downbeat's long B♭ overrules it.
    #[test]
    fn a_pickup_on_the_fifth_gives_way_to_the_downbeat() {
        let mut o = Opening::new();
        for s in 0..4 {
            o.hear(65, BarPosition::new(s, Meter::new(1, 4), 0.25));
        }
        for s in 0..8 {
            o.hear(70, BarPosition::new(s, Meter::new(3, 4), 0.25));
        }
        for s in 8..10 {
            o.hear(74, BarPosition::new(s, Meter::new(3, 4), 0.25));
        }
        assert_eq!(
            o.key(),
            Some(Key {
                tonic: 10,
                mode: Mode::Major
            })
        );
    }

    #[test]
    fn a_minor_third_turns_the_key_minor() {
        let mut o = Opening::new();
        let tune = [(60, 0), (62, 4), (63, 8), (65, 12), (67, 16)];
        for (pitch, start) in tune {
            for s in start..start + 4 {
                o.hear(pitch, at(s));
            }
        }
        assert_eq!(
            o.key(),
            Some(Key {
                tonic: 0,
                mode: Mode::Minor
            })
        );
        o.reset();
        assert_eq!(o.key(), None);
        assert_eq!(o.heard(), 0);
        o.hear(64, at(0));
        assert_eq!(
            o.key().map(|k| k.tonic),
            Some(4),
            "the profile survives a reset"
        );
    }
}
