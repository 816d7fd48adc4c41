//! Roman numerals on beats and the cadences at phrase ends, read from four
//! voices by the engine's chord analysis (`bach_engine::chord`), so our
//! harmonizations and Bach's are named by the same code.
//!
//! A beat's chord is named from the notes of the whole beat
//! ([`analyze_window`]: a suspension resolving within it is heard as the
//! chord it resolves into), in the piece's key (the data's analysed key).
//! The numeral histogram counts root-position forms (`V7` for `V6/5`), so
//! it shows which chords are used, not how they are voiced. A cadence is
//! read at each fermata from the chord there and the last different chord
//! on a beat before it: *authentic* V or vii° to I, *half* ending on V,
//! *plagal* IV to I, *deceptive* V to vi, *other* anything else (a close
//! in another key among them).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bach_engine::chord::{analyze_window, Function, Numeral, Quality};
use serde::Serialize;

use crate::dataset::PieceContext;

/// The cadence types, in [`RomanStats::cadences`] order.
pub const CADENCES: [&str; 5] = ["authentic", "half", "plagal", "deceptive", "other"];

/// Beats looked back from a fermata for the chord before the close.
const LOOK_BACK_BEATS: usize = 2;

/// Counts over pieces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RomanStats {
    /// Beats on which all four voices sound, and their numerals (root
    /// position forms; `?` for a chromatic chord the analysis does not
    /// name, `N.C.` where no chord forms).
    pub beats: usize,
    pub numerals: BTreeMap<String, usize>,
    /// Fermatas read, by [`CADENCES`] type.
    pub cadences: [usize; 5],
}

/// Rates for the report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RomanSummary {
    /// Each numeral's share of the beats, commonest first.
    pub numerals: Vec<(String, f64)>,
    /// Each cadence type's share of the fermatas ([`CADENCES`] order);
    /// `None` when the data mark no fermatas.
    pub cadences: Option<[f64; 5]>,
}

/// The numeral of the chord on the beat that starts at step `t` (every
/// voice sounding), heard over the rest of the beat.
fn numeral_at(steps: &[Vec<Option<u8>>], t: usize, c: &PieceContext) -> Option<Numeral> {
    let bar = *c.bars.get(t)?;
    let len = bar.beat_steps.max(1) - bar.in_beat();
    let window: Vec<[Option<u8>; 4]> = steps[t..(t + len).min(steps.len())]
        .iter()
        .map(|s| [s[0], s[1], s[2], s[3]])
        .collect();
    if window.first()?.iter().any(Option::is_none) {
        return None;
    }
    analyze_window(&window, c.key, Some(bar)).numeral
}

/// A numeral in root position, as the histogram counts it.
fn family(n: Numeral) -> String {
    let mut root = n;
    root.inversion = 0;
    root.cadential = false;
    let mut s = String::new();
    let _ = write!(s, "{root}");
    s
}

/// Whether `n` is the key's tonic triad (a Picardy third in minor too).
fn tonic(n: &Numeral) -> bool {
    n.degree == 0 && matches!(n.function, Function::Diatonic | Function::Mixture)
}

/// Whether `n` is the key's dominant: V, V7, or the leading-tone chord.
fn dominant(n: &Numeral) -> bool {
    n.function == Function::Diatonic
        && (n.degree == 4
            || (n.degree == 6
                && matches!(
                    n.quality,
                    Quality::Diminished | Quality::Diminished7 | Quality::HalfDiminished7
                )))
}

/// The cadence type ([`CADENCES`] index) of a close on `last` after `before`.
pub fn cadence_type(before: Option<Numeral>, last: Numeral) -> usize {
    let is = |f: fn(&Numeral) -> bool| before.as_ref().is_some_and(f);
    if tonic(&last) && is(dominant) {
        0
    } else if last.function == Function::Diatonic && last.degree == 4 {
        1
    } else if tonic(&last)
        && is(|n| n.degree == 3 && matches!(n.function, Function::Diatonic | Function::Mixture))
    {
        2
    } else if last.function == Function::Diatonic && last.degree == 5 && is(dominant) {
        3
    } else {
        4
    }
}

impl RomanStats {
    /// Adds a four-voice piece: the sounding pitches of each step.
    pub fn add(&mut self, steps: &[Vec<Option<u8>>], c: &PieceContext) {
        if steps.first().is_none_or(|s| s.len() != 4) {
            return;
        }
        for t in 0..steps.len() {
            if c.bars.get(t).is_none_or(|b| b.in_beat() != 0) {
                continue;
            }
            if let Some(n) = numeral_at(steps, t, c) {
                self.beats += 1;
                *self.numerals.entry(family(n)).or_default() += 1;
            } else if steps[t].iter().all(Option::is_some) {
                self.beats += 1;
                *self.numerals.entry("N.C.".into()).or_default() += 1;
            }
        }
        for &f in &c.fermatas {
            let Some(last) = (f < steps.len()).then(|| numeral_at(steps, f, c)).flatten() else {
                continue;
            };
            let beat = c.bars.get(f).map_or(4, |b| b.beat_steps.max(1));
            let before = (1..=LOOK_BACK_BEATS)
                .filter_map(|k| f.checked_sub(k * beat))
                .filter_map(|t| numeral_at(steps, t, c))
                .find(|n| family(*n) != family(last));
            self.cadences[cadence_type(before, last)] += 1;
        }
    }

    pub fn summary(&self) -> RomanSummary {
        let mut numerals: Vec<(String, f64)> = self
            .numerals
            .iter()
            .map(|(n, &k)| (n.clone(), k as f64 / self.beats.max(1) as f64))
            .collect();
        numerals.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let closes: usize = self.cadences.iter().sum();
        RomanSummary {
            numerals,
            cadences: (closes > 0).then(|| self.cadences.map(|k| k as f64 / closes as f64)),
        }
    }

    /// Half the L1 distance between two numeral mixes (0: equal, 1: disjoint).
    pub fn distance(&self, other: &RomanStats) -> f64 {
        let share = |s: &RomanStats, n: &str| {
            s.numerals.get(n).copied().unwrap_or(0) as f64 / s.beats.max(1) as f64
        };
        let names: std::collections::BTreeSet<&String> =
            self.numerals.keys().chain(other.numerals.keys()).collect();
        0.5 * names
            .iter()
            .map(|n| (share(self, n) - share(other, n)).abs())
            .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::token::Token;
    use bach_engine::{BarPosition, Horizon, Key, Meter};

    /// Four-voice chords a beat (4 steps) each in 4/4, C major, a fermata
    /// on the beat of each of `fermatas` (chord indices).
    fn piece(chords: &[[u8; 4]], fermatas: &[usize]) -> (Vec<Vec<Option<u8>>>, PieceContext) {
        let mut tokens = Vec::new();
        for c in chords {
            tokens.extend(c.map(Token::Onset));
            for _ in 1..4 {
                tokens.extend([Token::Hold; 4]);
            }
        }
        let steps = crate::harmony::sounding_pitches(&tokens, 4);
        let context = PieceContext {
            key: Key::parse("C").unwrap(),
            bars: (0..steps.len())
                .map(|t| BarPosition::new(t, Meter::new(4, 4), 0.25))
                .collect(),
            meters: Vec::new(),
            horizon: Horizon::Off,
            fermatas: fermatas.iter().map(|i| i * 4).collect(),
        };
        (steps, context)
    }

    const C: [u8; 4] = [72, 67, 64, 48];
    const F: [u8; 4] = [72, 69, 65, 53];
    const G7: [u8; 4] = [74, 71, 65, 55];
    const G: [u8; 4] = [74, 71, 67, 55];
    const AM: [u8; 4] = [72, 69, 64, 57];
    const DM: [u8; 4] = [74, 69, 65, 50];

    #[test]
    fn cadences_are_read_from_the_last_two_chords() {
        // I IV V7 I | IV I | ii V | V vi, a fermata on each close.
        let chords = [C, F, G7, C, F, C, DM, G, G, AM, C, C];
        let (steps, c) = piece(&chords, &[3, 5, 7, 9, 11]);
        let mut r = RomanStats::default();
        r.add(&steps, &c);
        // Authentic, plagal, half, deceptive; the last C, after a C, is
        // read from the chord before that (vi): other.
        assert_eq!(r.cadences, [1, 1, 1, 1, 1]);
        assert_eq!(r.beats, 12);
        assert_eq!(r.numerals["I"], 5);
        assert_eq!(r.numerals["V7"], 1);
        assert_eq!(r.numerals["V"], 2);
        let s = r.summary();
        assert_eq!(s.numerals[0], ("I".to_string(), 5.0 / 12.0));
        assert_eq!(s.cadences.unwrap()[0], 0.2);
    }

    #[test]
    fn inversions_count_as_their_chord_and_the_distance_compares_mixes() {
        let g65 = [74, 67, 65, 59]; // G7 over B
        let (steps, c) = piece(&[C, g65, C, [72, 67, 64, 52]], &[]);
        let mut a = RomanStats::default();
        a.add(&steps, &c);
        assert_eq!((a.numerals["I"], a.numerals["V7"]), (3, 1));
        assert_eq!(a.distance(&a.clone()), 0.0);
        let (steps, c) = piece(&[F, F, F, F], &[]);
        let mut b = RomanStats::default();
        b.add(&steps, &c);
        assert!((a.distance(&b) - 1.0).abs() < 1e-12);
        assert_eq!(b.summary().cadences, None);
    }
}
