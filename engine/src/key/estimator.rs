//! Estimating a key from a melody: the live [`KeyEstimator`], which hears it
//! step by step, and [`estimate_key`] for a whole melody. Both correlate a
//! duration-weighted pitch-class histogram with the Aarden–Essen profiles,
//! plus the bonuses for the first note and the phrase-final notes
//! (the parent module's notes).

use super::{Key, Mode};

/// Aarden–Essen key profiles (C major, C minor): how often each pitch class
/// sounds in folk melodies of each mode, relative to the tonic.
pub(super) const PROFILES: [[f32; 12]; 2] = [
    [
        17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
        8.15494, 0.232998, 4.95122,
    ],
    [
        18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
        1.93186, 7.37619, 1.75623,
    ],
];

/// Bonus, in units of correlation, for a key whose tonic, fifth or third
/// ends phrases (shares of the weighted phrase-final notes), and for a first
/// note on the tonic or the fifth. Tuned on the train sopranos.
const CADENCE_TONIC: f32 = 0.2;
const CADENCE_FIFTH: f32 = 0.1;
const CADENCE_THIRD: f32 = 0.05;
const FIRST_NOTE: f32 = 0.1;

/// Everything the score of a key looks at.
#[derive(Clone, Copy)]
pub(super) struct Evidence {
    /// Duration-weighted pitch classes.
    pub(super) histogram: [f32; 12],
    /// Weighted pitch classes of phrase-final notes.
    cadences: [f32; 12],
    first: Option<u8>,
    /// How much the first note still counts (0..=1): it fades with the
    /// histogram, so a piece that has long moved to another key is not held
    /// back by its opening.
    first_weight: f32,
}

impl Evidence {
    pub(super) const EMPTY: Evidence = Evidence {
        histogram: [0.0; 12],
        cadences: [0.0; 12],
        first: None,
        first_weight: 1.0,
    };

    /// Each key's score, in [`Key::ALL`] order, or `None` while the
    /// histogram is flat (nothing, or every pitch class equally, heard).
    pub(super) fn scores(&self, profiles: &[[f32; 12]; 2]) -> Option<[f32; 24]> {
        let mean = self.histogram.iter().sum::<f32>() / 12.0;
        let norm = self
            .histogram
            .iter()
            .map(|h| (h - mean) * (h - mean))
            .sum::<f32>()
            .sqrt();
        // NaN too: a histogram overflowed by absurd durations names no key.
        if norm.is_nan() || norm <= 1e-6 {
            return None;
        }
        let cadence_total: f32 = self.cadences.iter().sum();
        let mut scores = [0.0; 24];
        for (i, key) in Key::ALL.iter().enumerate() {
            let tonic = key.tonic as usize;
            let profile = &profiles[(key.mode == Mode::Minor) as usize];
            let mut r = 0.0;
            for (degree, p) in profile.iter().enumerate() {
                r += self.histogram[(tonic + degree) % 12] * p;
            }
            r /= norm;
            if cadence_total > 0.0 {
                let third = if key.mode == Mode::Major { 4 } else { 3 };
                r += (CADENCE_TONIC * self.cadences[tonic]
                    + CADENCE_FIFTH * self.cadences[(tonic + 7) % 12]
                    + CADENCE_THIRD * self.cadences[(tonic + third) % 12])
                    / cadence_total;
            }
            if let Some(first) = self.first {
                let degree = (first as usize + 12 - tonic) % 12;
                if degree == 0 || degree == 7 {
                    r += FIRST_NOTE * self.first_weight;
                }
            }
            scores[i] = r;
        }
        Some(scores)
    }
}

/// The profiles centred and scaled to unit length, so that a dot product
/// with a histogram divided by the histogram's centred length is Pearson's
/// correlation.
pub(super) fn normalised_profiles() -> [[f32; 12]; 2] {
    let mut out = PROFILES;
    for profile in &mut out {
        let mean = profile.iter().sum::<f32>() / 12.0;
        let norm = profile
            .iter()
            .map(|p| (p - mean) * (p - mean))
            .sum::<f32>()
            .sqrt();
        for p in profile.iter_mut() {
            *p = (*p - mean) / norm;
        }
    }
    out
}

fn best(scores: &[f32; 24]) -> Key {
    let mut best = 0;
    for i in 1..24 {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    Key::ALL[best]
}

/// A duration as both estimators count it: `None` when it is not a positive
/// finite number (bad input is skipped, never a panic).
fn weight(steps: f32) -> Option<f32> {
    (steps.is_finite() && steps > 0.0).then_some(steps)
}

/// Steps of melody (16ths) heard before the first estimate: half a 4/4 bar,
/// because the harmony starts at once. Measured on the train sopranos, a
/// first guess this early is right about as often as one a bar later, and
/// wrong ones are corrected at the first phrase end.
const FIRST_ESTIMATE_STEPS: f32 = 8.0;
/// Per-step factor of the histogram's decay: a half-life of 256 steps (16
/// bars of 4/4), so a long modulation is followed while the piece's key still
/// outweighs a passing excursion.
const DECAY_HALF_LIFE: f32 = 256.0;
/// Each phrase end multiplies the earlier phrase-final notes by this, so
/// recent cadences count most.
const CADENCE_MEMORY: f32 = 0.5;
/// At a phrase end, a new key must beat the held one by this much.
const PHRASE_END_MARGIN: f32 = 0.2;
/// Or it must be best at this many phrase ends running, by any margin: a
/// clear margin is rare between close keys (a key and its relative), and
/// without this the estimator could stay in one when the melody has moved to
/// the other.
const PHRASE_ENDS_LED: u32 = 2;
/// Within a phrase, a new key must beat the held one by this much for
/// `SUSTAINED_STEPS` steps running: a melody with no rests still gets
/// corrected, a single chromatic note does not flip the key.
const SUSTAINED_MARGIN: f32 = 0.2;
const SUSTAINED_STEPS: f32 = 8.0;

/// Estimates the key of a melody as it is heard, without allocating: fixed
/// arrays only, so it may run on the audio thread.
///
/// The first estimate comes once 8 16th steps of melody have been heard
/// (half a bar of 4/4). After that the key changes only at a phrase end
/// ([`KeyEstimator::phrase_end`]) when another key scores better by a
/// margin or is the best at two phrase ends running, or within a phrase when
/// one scores better by a margin for 8 steps running. On the 225 train
/// chorale sopranos that is about one change per piece.
#[derive(Clone, Debug)]
pub struct KeyEstimator {
    profiles: [[f32; 12]; 2],
    histogram: [f32; 12],
    cadences: [f32; 12],
    first: Option<u8>,
    first_weight: f32,
    last: Option<u8>,
    heard: f32,
    key: Option<Key>,
    challenger: Option<Key>,
    challenger_steps: f32,
    /// The key that was best at the last phrase ends while another was held,
    /// and at how many of them running.
    phrase_leader: Option<Key>,
    phrase_leads: u32,
}

impl Default for KeyEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyEstimator {
    pub fn new() -> Self {
        KeyEstimator {
            profiles: normalised_profiles(),
            histogram: [0.0; 12],
            cadences: [0.0; 12],
            first: None,
            first_weight: 1.0,
            last: None,
            heard: 0.0,
            key: None,
            challenger: None,
            challenger_steps: 0.0,
            phrase_leader: None,
            phrase_leads: 0,
        }
    }

    /// Forgets everything heard: a new piece.
    pub fn reset(&mut self) {
        self.histogram = [0.0; 12];
        self.cadences = [0.0; 12];
        self.first = None;
        self.first_weight = 1.0;
        self.last = None;
        self.heard = 0.0;
        self.key = None;
        self.challenger = None;
        self.challenger_steps = 0.0;
        self.phrase_leader = None;
        self.phrase_leads = 0;
    }

    fn evidence(&self) -> Evidence {
        Evidence {
            histogram: self.histogram,
            cadences: self.cadences,
            first: self.first,
            first_weight: self.first_weight,
        }
    }

    /// The melody sounded `pitch` (MIDI) for `steps` 16th steps: called once
    /// per grid step with 1.0 while a note sounds, or once per note with its
    /// duration. A duration that is not a positive finite number is ignored.
    pub fn hear(&mut self, pitch: u8, steps: f32) {
        let Some(steps) = weight(steps) else { return };
        let pc = pitch % 12;
        let decay = 0.5f32.powf(steps / DECAY_HALF_LIFE);
        for h in &mut self.histogram {
            *h *= decay;
        }
        if self.first.is_some() {
            self.first_weight *= decay;
        }
        self.histogram[pc as usize] += steps;
        self.first.get_or_insert(pc);
        self.last = Some(pc);
        self.heard += steps;
        let Some(scores) = self.evidence().scores(&self.profiles) else {
            return;
        };
        let best = best(&scores);
        match self.key {
            None => {
                if self.heard >= FIRST_ESTIMATE_STEPS {
                    self.key = Some(best);
                }
            }
            Some(held) => {
                if best != held && scores[best.index()] - scores[held.index()] > SUSTAINED_MARGIN {
                    if self.challenger == Some(best) {
                        self.challenger_steps += steps;
                    } else {
                        self.challenger = Some(best);
                        self.challenger_steps = steps;
                    }
                    if self.challenger_steps >= SUSTAINED_STEPS {
                        self.key = Some(best);
                        self.challenger = None;
                        self.challenger_steps = 0.0;
                    }
                } else {
                    self.challenger = None;
                    self.challenger_steps = 0.0;
                }
            }
        }
    }

    /// A rest or phrase boundary after the last note heard, which counts as
    /// phrase-final. The key may change here; the first estimate may come
    /// here too, if a phrase was shorter than the usual wait.
    pub fn phrase_end(&mut self) {
        let Some(last) = self.last else { return };
        for c in &mut self.cadences {
            *c *= CADENCE_MEMORY;
        }
        self.cadences[last as usize] += 1.0;
        self.challenger = None;
        self.challenger_steps = 0.0;
        let Some(scores) = self.evidence().scores(&self.profiles) else {
            return;
        };
        let best = best(&scores);
        match self.key {
            None => self.key = Some(best),
            Some(held) if best == held => self.phrase_leader = None,
            Some(held) => {
                if self.phrase_leader == Some(best) {
                    self.phrase_leads += 1;
                } else {
                    self.phrase_leader = Some(best);
                    self.phrase_leads = 1;
                }
                if scores[best.index()] - scores[held.index()] > PHRASE_END_MARGIN
                    || self.phrase_leads >= PHRASE_ENDS_LED
                {
                    self.key = Some(best);
                    self.phrase_leader = None;
                }
            }
        }
    }

    /// Takes `key` as the key in use, as if it had been estimated (the
    /// opening's key, handed over when the opening is over): it changes
    /// from here by the usual margins.
    pub fn hold(&mut self, key: Key) {
        self.key = Some(key);
        self.challenger = None;
        self.challenger_steps = 0.0;
        self.phrase_leader = None;
        self.phrase_leads = 0;
    }

    /// The key in use: `None` until 8 steps of melody (or a phrase end) were
    /// heard, then stable within a phrase unless another key wins clearly
    /// for 8 steps running.
    pub fn key(&self) -> Option<Key> {
        self.key
    }
}

/// The key of a whole melody from its notes as (MIDI pitch, duration in 16th
/// steps), for offline use (the command line and the harmony report). Its
/// last note counts as the final cadence. `None` for an empty melody, or one
/// that sounds all 12 pitch classes equally long.
pub fn estimate_key(notes: impl IntoIterator<Item = (u8, f32)>) -> Option<Key> {
    let mut evidence = Evidence::EMPTY;
    let mut last = None;
    for (pitch, steps) in notes {
        let Some(steps) = weight(steps) else { continue };
        let pc = pitch % 12;
        evidence.histogram[pc as usize] += steps;
        evidence.first.get_or_insert(pc);
        last = Some(pc);
    }
    evidence.cadences[last? as usize] = 1.0;
    evidence.scores(&normalised_profiles()).map(|s| best(&s))
}

#[cfg(test)]
mod tests;
