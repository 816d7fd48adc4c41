//! The figures: parallel fifths and octaves, voice crossings, notes out of
//! range, how often strong beats sound consonant, and the cadences and
//! numerals, counted over pieces and turned into rates.
//!
//! Everything works on the sounding pitch of each voice at each 16th step.

use bach_engine::perform::cadence::is_root_position_triad;
use bach_engine::token::sounding;
use bach_engine::voice_leading::{parallels, Parallel};
use bach_engine::{Token, VoiceRange};
use serde::Serialize;

use crate::dataset::PieceContext;
use crate::roman::{RomanStats, RomanSummary};

/// The four voices' ranges in the JSB chorales (S, A, T, B), as in the data's README.
pub const BACH_RANGES: [VoiceRange; 4] = [
    VoiceRange::new(60, 81),
    VoiceRange::new(52, 74),
    VoiceRange::new(46, 69),
    VoiceRange::new(36, 66),
];

/// Counts gathered over pieces; [`HarmonyStats::summary`] turns them into rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HarmonyStats {
    pub steps: usize,
    pub parallel_fifths: usize,
    pub parallel_octaves: usize,
    /// Steps on which some lower voice sounds above a higher one.
    pub crossing_steps: usize,
    pub onsets: usize,
    pub out_of_range: usize,
    pub strong_beats: usize,
    pub consonant_strong_beats: usize,
    /// Onsets of A, T and B in pieces whose key is known, and those of them
    /// outside it (see [`bach_engine::Key::in_scale`]).
    pub keyed_onsets: usize,
    pub out_of_key: usize,
    /// Pitch-class histogram of the sounding notes of voices 1.. (A, T, B).
    pub pitch_classes: [f64; 12],
    /// Fermatas (phrase ends) with every voice sounding; those on a complete
    /// root-position major or minor triad; and those whose bass also came
    /// by a fourth up or a fifth down (V-I).
    pub fermatas: usize,
    pub fermata_root_triads: usize,
    pub fermata_v_i: usize,
    /// A, T, B onsets in the pickup and the first full bar of keyed pieces,
    /// and those outside the key.
    pub opening_onsets: usize,
    pub opening_out_of_key: usize,
    /// Roman numerals on beats and cadences at fermatas (four-voice pieces
    /// with a key).
    pub roman: RomanStats,
}

/// Rates, as reported in BENCHMARKS.md.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HarmonySummary {
    pub steps: usize,
    pub parallel_fifths_per_100: f64,
    pub parallel_octaves_per_100: f64,
    pub parallels_per_100: f64,
    pub crossings_per_100: f64,
    /// Note onsets per 100 steps, all voices together (how busy the texture is).
    pub onsets_per_100: f64,
    pub out_of_range_share: f64,
    pub consonant_strong_beats: f64,
    /// Share of A, T, B onsets outside the piece's key (the data's key);
    /// `None` when the data name no keys.
    pub out_of_key_share: Option<f64>,
    /// At the fermatas: the share on a complete root-position major or
    /// minor triad, and of those also with the bass arriving V-I (a fourth
    /// up or a fifth down); `None` when the data mark no fermatas.
    pub fermata_root_triad_share: Option<f64>,
    pub fermata_v_i_share: Option<f64>,
    /// A, T, B onsets outside the key in the pickup and the first full bar.
    pub opening_out_of_key_share: Option<f64>,
    /// Numerals on beats and cadence types at fermatas.
    pub roman: RomanSummary,
}

/// Sounding pitches of each voice at each step of a token sequence laid out
/// `tokens[t * voices + v]`.
pub fn sounding_pitches(tokens: &[Token], voices: usize) -> Vec<Vec<Option<u8>>> {
    let mut now = vec![None; voices];
    tokens
        .chunks_exact(voices)
        .map(|step| {
            for (v, t) in step.iter().enumerate() {
                now[v] = sounding(now[v], *t);
            }
            now.clone()
        })
        .collect()
}

/// True when the interval (in semitones, any octave) is consonant: unisons
/// and octaves, thirds, sixths and fifths; a fourth only between upper voices.
fn consonant(interval: u8, against_bass: bool) -> bool {
    match interval % 12 {
        0 | 3 | 4 | 7 | 8 | 9 => true,
        5 => !against_bass,
        _ => false,
    }
}

impl HarmonyStats {
    /// Adds a piece: `tokens[t * voices + v]`, voices ordered from the top
    /// (S) down. `context` (the data's key and bars) sets the strong beats
    /// (the downbeat, and the third beat of a four-beat bar) and the key;
    /// without it a strong beat is every eighth step (4/4 from step 0).
    pub fn add(
        &mut self,
        tokens: &[Token],
        voices: usize,
        ranges: &[VoiceRange],
        context: Option<&PieceContext>,
    ) {
        let steps = sounding_pitches(tokens, voices);
        self.steps += steps.len();
        if let Some(c) = context {
            self.add_phrase_ends(tokens, voices, &steps, c);
            self.roman.add(&steps, c);
        }
        for (t, now) in steps.iter().enumerate() {
            // Onsets, ranges and the key.
            for (v, token) in tokens[t * voices..(t + 1) * voices].iter().enumerate() {
                if let Token::Onset(p) = token {
                    self.onsets += 1;
                    if ranges.get(v).is_some_and(|r| !r.contains(*p)) {
                        self.out_of_range += 1;
                    }
                    if let (Some(c), true) = (context, v > 0) {
                        self.keyed_onsets += 1;
                        self.out_of_key += !c.key.in_scale(p % 12) as usize;
                    }
                }
            }
            for p in now.iter().skip(1).flatten() {
                self.pitch_classes[(*p % 12) as usize] += 1.0;
            }
            // Crossings: a lower voice above a higher one.
            let crossing = (0..voices).any(|u| {
                (u + 1..voices).any(|l| matches!((now[u], now[l]), (Some(a), Some(b)) if b > a))
            });
            self.crossing_steps += crossing as usize;
            let strong = match context.and_then(|c| c.bars.get(t)) {
                Some(bar) => bar.is_strong(),
                None => t % 8 == 0,
            };
            if strong && now.iter().all(Option::is_some) && voices > 1 {
                self.strong_beats += 1;
                let p: Vec<u8> = now.iter().flatten().copied().collect();
                let bass = p[voices - 1];
                let ok = (0..voices).all(|u| {
                    (u + 1..voices).all(|l| {
                        let (hi, lo) = (p[u].max(p[l]), p[u].min(p[l]));
                        consonant(hi - lo, l == voices - 1 && lo == bass)
                    })
                });
                self.consonant_strong_beats += ok as usize;
            }
            // Parallels: both voices move, the same way, between two perfect
            // intervals of the same kind (the rule the sampler's strict mode enforces).
            if t == 0 {
                continue;
            }
            for p in parallels(&steps[t - 1], now) {
                match p {
                    Parallel::Fifth => self.parallel_fifths += 1,
                    Parallel::Octave => self.parallel_octaves += 1,
                }
            }
        }
    }

    /// The fermata and first-bar figures of one piece (see the fields).
    fn add_phrase_ends(
        &mut self,
        tokens: &[Token],
        voices: usize,
        steps: &[Vec<Option<u8>>],
        c: &PieceContext,
    ) {
        let bass = voices - 1;
        for &f in &c.fermatas {
            let Some(now) = steps.get(f) else { continue };
            if voices < 2 || now.iter().any(Option::is_none) {
                continue;
            }
            self.fermatas += 1;
            let low = now[bass].unwrap_or(0);
            if !is_root_position_triad(now.iter().flatten().copied(), low) {
                continue;
            }
            self.fermata_root_triads += 1;
            // The bass note sounding before the fermata's bass note began.
            let mut start = f;
            while start > 0 && tokens[start * voices + bass] == Token::Hold {
                start -= 1;
            }
            let before = start.checked_sub(1).and_then(|t| steps[t][bass]);
            if let Some(b) = before {
                let step = low as i32 - b as i32;
                self.fermata_v_i += (step == 5 || step == -7) as usize;
            }
        }
        // The pickup (steps before the first downbeat) and the first full bar.
        let downbeats: Vec<usize> = (0..steps.len())
            .filter(|&t| c.bars.get(t).is_some_and(|b| b.step == 0))
            .take(2)
            .collect();
        // With a pickup the first downbeat ends it; either way the second
        // ends the first full bar.
        let end = downbeats.get(1).copied().unwrap_or(steps.len());
        for t in 0..end.min(steps.len()) {
            for token in &tokens[t * voices + 1..(t + 1) * voices] {
                if let Token::Onset(p) = token {
                    self.opening_onsets += 1;
                    self.opening_out_of_key += !c.key.in_scale(p % 12) as usize;
                }
            }
        }
    }

    pub fn summary(&self) -> HarmonySummary {
        let per_100 = |n: usize| 100.0 * n as f64 / self.steps.max(1) as f64;
        HarmonySummary {
            steps: self.steps,
            parallel_fifths_per_100: per_100(self.parallel_fifths),
            parallel_octaves_per_100: per_100(self.parallel_octaves),
            parallels_per_100: per_100(self.parallel_fifths + self.parallel_octaves),
            crossings_per_100: per_100(self.crossing_steps),
            onsets_per_100: per_100(self.onsets),
            out_of_range_share: self.out_of_range as f64 / self.onsets.max(1) as f64,
            consonant_strong_beats: self.consonant_strong_beats as f64
                / self.strong_beats.max(1) as f64,
            out_of_key_share: (self.keyed_onsets > 0)
                .then(|| self.out_of_key as f64 / self.keyed_onsets as f64),
            fermata_root_triad_share: (self.fermatas > 0)
                .then(|| self.fermata_root_triads as f64 / self.fermatas as f64),
            fermata_v_i_share: (self.fermatas > 0)
                .then(|| self.fermata_v_i as f64 / self.fermatas as f64),
            opening_out_of_key_share: (self.opening_onsets > 0)
                .then(|| self.opening_out_of_key as f64 / self.opening_onsets as f64),
            roman: self.roman.summary(),
        }
    }

    /// Half the L1 distance between two pitch-class distributions (0: equal, 1: disjoint).
    pub fn pitch_class_distance(&self, other: &HarmonyStats) -> f64 {
        let norm = |h: &[f64; 12]| {
            let s: f64 = h.iter().sum::<f64>().max(1e-12);
            h.map(|x| x / s)
        };
        let (a, b) = (norm(&self.pitch_classes), norm(&other.pitch_classes));
        0.5 * a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use bach_engine::{Horizon, Key};

    use super::*;
    use Token::{Hold as H, Onset as O, Rest as R};

    #[test]
    fn parallel_fifths_and_octaves_are_counted_once_each() {
        // S and B move up a step together a fifth apart, then an octave apart
        // moving down together, then in contrary motion.
        let tokens = [
            O(67),
            O(64),
            O(55),
            O(48), //
            O(69),
            H,
            H,
            O(50), // S-B: 67/48 = fifth+8ve -> 69/50: parallel fifth
            O(62),
            H,
            H,
            O(50), // S-B: 62/50 octave (from fifth): nothing
            O(60),
            H,
            O(52),
            O(48), // S-B 60/48 octave to octave, both down: parallel octave
            O(62),
            H,
            H,
            O(47), // contrary motion: nothing
        ];
        let mut s = HarmonyStats::default();
        s.add(&tokens, 4, &BACH_RANGES, None);
        assert_eq!(s.parallel_fifths, 1);
        assert_eq!(s.parallel_octaves, 1);
        assert_eq!(s.steps, 5);
        assert_eq!(s.summary().parallels_per_100, 40.0);
    }

    #[test]
    fn crossings_ranges_and_consonance() {
        // Step 0: C major (consonant). Step 8: a tritone against the bass, and
        // the tenor above the alto.
        let mut tokens = vec![O(72), O(67), O(64), O(48)];
        for _ in 1..8 {
            tokens.extend([H, H, H, H]);
        }
        tokens.extend([O(71), O(62), O(65), O(35)]);
        let mut s = HarmonyStats::default();
        s.add(&tokens, 4, &BACH_RANGES, None);
        assert_eq!(s.strong_beats, 2);
        assert_eq!(s.consonant_strong_beats, 1);
        assert_eq!(s.crossing_steps, 1);
        assert_eq!(s.onsets, 8);
        assert_eq!(s.out_of_range, 1, "the bass's 35 is below 36");
    }

    #[test]
    fn fermatas_and_the_first_bar_are_counted() {
        use bach_engine::{BarPosition, Meter};
        // In 2/4 (bars of 8 steps) after a one-beat pickup (G major): C
        // major over a bass falling a fifth (V-I) with a fermata, C over E
        // with an F sharp and a fermata, and the F sharp again after the
        // first full bar (steps 4 to 11).
        let chord = |s, a, t, b| [O(s), O(a), O(t), O(b), H, H, H, H, H, H, H, H, H, H, H, H];
        let mut tokens = Vec::new();
        tokens.extend(chord(74, 71, 67, 55));
        tokens.extend(chord(72, 67, 64, 48));
        tokens.extend(chord(72, 66, 60, 52));
        tokens.extend(chord(72, 66, 60, 48));
        let context = PieceContext {
            key: Key {
                tonic: 0,
                mode: bach_engine::Mode::Major,
            },
            bars: (0..16)
                .map(|t| BarPosition::new((t + 4) % 8, Meter::new(2, 4), 0.25))
                .collect(),
            meters: Vec::new(),
            horizon: Horizon::Off,
            fermatas: vec![4, 8],
        };
        let mut h = HarmonyStats::default();
        h.add(&tokens, 4, &BACH_RANGES, Some(&context));
        assert_eq!(
            (h.fermatas, h.fermata_root_triads, h.fermata_v_i),
            (2, 1, 1)
        );
        assert_eq!((h.opening_onsets, h.opening_out_of_key), (9, 1));
        let s = h.summary();
        assert_eq!(s.fermata_root_triad_share, Some(0.5));
        assert_eq!(s.fermata_v_i_share, Some(0.5));
        assert_eq!(s.opening_out_of_key_share, Some(1.0 / 9.0));
    }

    #[test]
    fn rests_silence_voices() {
        let tokens = [O(60), R, H, O(40), H, H, H, R];
        let p = sounding_pitches(&tokens, 4);
        assert_eq!(p[0], vec![Some(60), None, None, Some(40)]);
        assert_eq!(p[1], vec![Some(60), None, None, None]);
    }

    #[test]
    fn distance_of_equal_histograms_is_zero() {
        let mut a = HarmonyStats::default();
        a.pitch_classes[0] = 2.0;
        a.pitch_classes[7] = 2.0;
        let mut b = a.clone();
        assert_eq!(a.pitch_class_distance(&b), 0.0);
        b.pitch_classes = [0.0; 12];
        b.pitch_classes[1] = 1.0;
        assert!((a.pitch_class_distance(&b) - 1.0).abs() < 1e-12);
    }
}
