//! Template matching: which root and quality explain a sonority best.
//!
//! Every root × quality is scored by the sounding pitch classes it
//! explains, less the ones it leaves unexplained (which cost more, so a
//! chord never grows to swallow a passing tone), less the tones it lacks
//! (a missing fifth costs little, a missing third more; a missing root,
//! seventh or suspended fourth rules the reading out). Small bonuses break
//! the ties: the simpler chord, the bass as root, and readings that belong
//! to the key (diatonic, then secondary, then borrowed) over chromatic ones.

use super::numeral::{classify, Function};
use super::symbol::{Quality, Role};
use crate::key::Key;

/// Score units: a sounding pitch class the chord explains.
const EXPLAINED: i32 = 20;
/// A sounding pitch class outside the chord.
const UNEXPLAINED: i32 = 25;
const MISSING_THIRD: i32 = 15;
const MISSING_PERFECT_FIFTH: i32 = 5;
/// A diminished or augmented fifth is what makes the chord; without it
/// the chord is hard to tell from a major or minor one.
const MISSING_ALTERED_FIFTH: i32 = 10;
const SEVENTH_COST: i32 = 3;
const SUS4_COST: i32 = 5;
const AUGMENTED_COST: i32 = 3;
const BASS_IS_ROOT: i32 = 6;
/// Any note of a diminished seventh may be its root; its function, not
/// the bass, decides, so the bass only breaks ties.
const BASS_IS_DIMINISHED_ROOT: i32 = 1;
const DIATONIC: i32 = 8;
const SECONDARY: i32 = 4;
/// V/V and viio7/V are the commonest secondary chords.
const OF_THE_DOMINANT: i32 = 1;
const BORROWED: i32 = 1;

/// The sounding pitch classes of a sonority and its bass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sonority {
    /// Bit `pc` is set when pitch class `pc` sounds.
    pub pitch_classes: u16,
    /// The lowest sounding pitch's class.
    pub bass: Option<u8>,
}

impl Sonority {
    /// From the voices' MIDI pitches, highest voice first (S A T B;
    /// `None` rests). The bass is the last voice's note, as analysts read
    /// it when the tenor crosses below; while that voice rests, the lowest
    /// pitch.
    pub fn new(pitches: &[Option<u8>]) -> Sonority {
        let mut pitch_classes = 0;
        let mut lowest: Option<u8> = None;
        for &p in pitches.iter().flatten() {
            pitch_classes |= 1 << (p % 12);
            lowest = Some(lowest.map_or(p, |l| l.min(p)));
        }
        let bass = pitches.last().copied().flatten().or(lowest);
        Sonority {
            pitch_classes,
            bass: bass.map(|p| p % 12),
        }
    }

    /// How many pitch classes sound.
    pub fn distinct(self) -> u32 {
        self.pitch_classes.count_ones()
    }
}

/// One reading of a sonority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    pub root: u8,
    pub quality: Quality,
    pub function: Function,
    pub degree: u8,
    pub score: i32,
}

/// The score of reading `sonority` as `quality` on `root` in `key`, or
/// `None` when a tone the chord cannot do without is missing.
pub(crate) fn read(sonority: Sonority, key: Key, root: u8, quality: Quality) -> Option<Reading> {
    let set = quality.pitch_classes(root);
    let mut score = 0;
    for &(interval, role) in quality.tones() {
        if sonority.pitch_classes & (1 << ((root + interval) % 12)) != 0 {
            continue;
        }
        score -= match role {
            Role::Root | Role::Seventh | Role::Fourth => return None,
            Role::Third => MISSING_THIRD,
            Role::Fifth if interval == 7 => MISSING_PERFECT_FIFTH,
            Role::Fifth => MISSING_ALTERED_FIFTH,
        };
    }
    let explained = (sonority.pitch_classes & set).count_ones() as i32;
    let unexplained = (sonority.pitch_classes & !set).count_ones() as i32;
    score += EXPLAINED * explained - UNEXPLAINED * unexplained;
    score -= match quality {
        Quality::Sus4 => SUS4_COST,
        Quality::Augmented => AUGMENTED_COST,
        q if q.is_seventh() => SEVENTH_COST,
        _ => 0,
    };
    if sonority.bass == Some(root) {
        score += match quality {
            Quality::Diminished7 => BASS_IS_DIMINISHED_ROOT,
            _ => BASS_IS_ROOT,
        };
    }
    let (function, degree) = classify(key, root, quality);
    score += match function {
        Function::Diatonic => DIATONIC,
        Function::Secondary { target: 4 } => SECONDARY + OF_THE_DOMINANT,
        Function::Secondary { .. } => SECONDARY,
        Function::Mixture | Function::Neapolitan => BORROWED,
        Function::Other => 0,
    };
    Some(Reading {
        root,
        quality,
        function,
        degree,
        score,
    })
}

/// The best reading of a sonority, or `None` where nothing forms a chord:
/// fewer than two pitch classes, or no template explaining two of them
/// with a positive score.
pub(crate) fn best(sonority: Sonority, key: Key) -> Option<Reading> {
    if sonority.distinct() < 2 {
        return None;
    }
    let mut best: Option<Reading> = None;
    for root in 0..12 {
        if sonority.pitch_classes & (1 << root) == 0 {
            continue;
        }
        for quality in Quality::ALL {
            let Some(r) = read(sonority, key, root, quality) else {
                continue;
            };
            if best.is_none_or(|b| r.score > b.score) {
                best = Some(r);
            }
        }
    }
    best.filter(|b| b.score > 0)
}
