//! The voice-pair score: what a harmonizer's head adds to a candidate for
//! the interval it makes with each voice above, learned from the data.
//!
//! A head is linear in its inputs (the state and the one-hot tokens above),
//! so it cannot say "this alto note makes the same fifth with the soprano as
//! the last step did": that depends on the candidate, the soprano's pitch
//! now and both voices' pitches before, at once. Nor whether *holding* a
//! note is consonant with a soprano that just moved: a hold names no pitch.
//! This score reads those relations directly: for a candidate of voice `v`
//! and each voice `u` decided before it (above it, or the bass when the
//! outer voices are decided first), a few features of the two pitches now
//! and before, each with a learned weight per voice pair. The features are
//! read by register, the lower voice against the upper, whichever was
//! decided first. No rule is imposed: the weights say how much Bach avoids
//! (or likes) each relation.
//!
//! Pitches are the ones a token sounds: an onset's (folded into the voice's
//! range, as the model reads it), a hold's the pitch sounding before, a
//! rest none. The engine and the trainer both call [`features`], so they
//! score the same thing.

use super::sounding::Sounding;
use crate::token::{Token, VoiceRange};

/// Features per voice pair (see [`features`]).
pub const PAIR_FEATURES: usize = 28;
/// The interval classes (0 = unison or octave, 7 = fifth) take the first 12,
/// the same again on a beat the next 12: Bach lets passing notes clash
/// between beats, rarely on them.
const ON_BEAT: usize = 12;
pub const PARALLEL_FIFTH: usize = 24;
pub const PARALLEL_OCTAVE: usize = 25;
const CROSSED: usize = 26;
const WIDE: usize = 27;

/// The pitch `token` sounds in `range`, given the pitch sounding before it.
pub fn sounds(range: &VoiceRange, token: Token, before: Option<u8>) -> Option<u8> {
    match token {
        Token::Onset(p) => Some(range.fold(p)),
        Token::Hold => before,
        Token::Rest => None,
    }
}

/// The active features of a lower voice at `low` (sounding `low_before`
/// before this step) against an upper voice at `high` (`high_before`), as
/// indices below [`PAIR_FEATURES`]: the interval class (and, when the step
/// starts a beat, the interval class on a beat); a fifth or an octave
/// (unison) reached in parallel, both voices having moved from the same
/// interval class; the two voices crossed; more than an octave apart.
/// `by_size` reads an interval by its size, so crossed voices a fifth
/// apart make a fifth ([`crate::ModelMeta::intervals_by_size`]); without it
/// the class is counted down from the upper voice, as version 4 files were
/// trained.
pub fn features(
    low: u8,
    low_before: Option<u8>,
    high: u8,
    high_before: Option<u8>,
    on_beat: bool,
    by_size: bool,
    mut push: impl FnMut(usize),
) {
    let interval = high as i32 - low as i32;
    let class_of = |interval: i32| match by_size {
        true => (interval.abs() % 12) as usize,
        false => interval.rem_euclid(12) as usize,
    };
    let class = class_of(interval);
    push(class);
    if on_beat {
        push(ON_BEAT + class);
    }
    if let (Some(lb), Some(hb)) = (low_before, high_before) {
        let was = class_of(hb as i32 - lb as i32);
        if was == class && low != lb && high != hb {
            match class {
                7 => push(PARALLEL_FIFTH),
                0 => push(PARALLEL_OCTAVE),
                _ => {}
            }
        }
    }
    if interval < 0 {
        push(CROSSED);
    }
    if interval > 12 || (by_size && interval < -12) {
        push(WIDE);
    }
}

/// How one voice's pair score is laid out: the voices decided before it
/// (`earlier`, in decision order; the `j`-th one's weights at `j *
/// PAIR_FEATURES`), and how intervals are read.
#[derive(Clone, Copy, Debug)]
pub struct Pairing<'a> {
    pub earlier: &'a [usize],
    pub by_size: bool,
}

impl Pairing<'_> {
    /// The active features of voice `v` sounding `pitch` against each
    /// earlier voice sounding now (`now[u]`), as `push(j, feature)` with `j`
    /// the earlier voice's place; `before[w]` is what voice `w` sounded
    /// going into the step. Each pair is read lower voice against upper, by
    /// register (voice index), whichever was decided first.
    pub fn each_feature(
        &self,
        v: usize,
        pitch: u8,
        now: &[Option<u8>],
        before: &[Sounding],
        on_beat: bool,
        mut push: impl FnMut(usize, usize),
    ) {
        for (j, &u) in self.earlier.iter().enumerate() {
            let Some(q) = now.get(u).copied().flatten() else {
                continue;
            };
            let push = |f| push(j, f);
            let (was, was_u) = (before[v].pitch, before[u].pitch);
            match u < v {
                true => features(pitch, was, q, was_u, on_beat, self.by_size, push),
                false => features(q, was_u, pitch, was, on_beat, self.by_size, push),
            }
        }
    }
}

/// Adds voice `v`'s pair score to `logits` (one per token of `range`):
/// `weights[j * PAIR_FEATURES + f]` for the `j`-th voice `u` of
/// `pairing.earlier` sounding now (`now[u]`) and each active feature `f` of
/// the candidate's pitch against it. `before[w]` is what voice `w` sounded
/// going into this step; `on_beat` whether the step starts a beat. A candidate
/// that sounds nothing (a rest, a hold after a rest) scores nothing.
#[allow(clippy::too_many_arguments)]
pub fn add_scores(
    range: &VoiceRange,
    v: usize,
    pairing: Pairing,
    now: &[Option<u8>],
    before: &[Sounding],
    on_beat: bool,
    weights: &[f32],
    logits: &mut [f32],
) {
    for (i, logit) in logits.iter_mut().enumerate().take(range.vocab()) {
        let Some(p) = sounds(range, range.token(i), before[v].pitch) else {
            continue;
        };
        pairing.each_feature(v, p, now, before, on_beat, |j, f| {
            *logit += weights[j * PAIR_FEATURES + f]
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(low: u8, lb: Option<u8>, high: u8, hb: Option<u8>) -> Vec<usize> {
        let mut out = Vec::new();
        features(low, lb, high, hb, false, false, |f| out.push(f));
        out
    }

    #[test]
    fn intervals_parallels_crossings_and_spacing() {
        // C4 under G4: a fifth, nothing else.
        assert_eq!(active(60, None, 67, None), [7]);
        // D4–A4 after C4–G4: parallel fifths.
        assert_eq!(active(62, Some(60), 69, Some(67)), [7, PARALLEL_FIFTH]);
        // The upper voice held: a fifth again, but not by parallel motion.
        assert_eq!(active(62, Some(55), 69, Some(69)), [7]);
        // Octaves in contrary motion are consecutive octaves too.
        assert_eq!(active(55, Some(60), 67, Some(72)), [0, PARALLEL_OCTAVE]);
        // Crossed, and wide.
        assert_eq!(active(70, None, 65, None), [7, CROSSED]);
        assert_eq!(active(48, None, 64, None), [4, WIDE]);
        // On a beat the interval counts twice: once as itself, once as on the beat.
        let mut on = Vec::new();
        features(60, None, 71, None, true, false, |f| on.push(f));
        assert_eq!(on, [11, ON_BEAT + 11]);
    }

    #[test]
    fn by_size_a_crossed_fifth_is_a_fifth() {
        let by_size = |low, lb, high, hb| {
            let mut out = Vec::new();
            features(low, lb, high, hb, false, true, |f| out.push(f));
            out
        };
        // The lower voice a fifth above the upper one: counted down from
        // the upper voice that is a fourth, by size a fifth.
        assert_eq!(active(67, None, 60, None), [5, CROSSED]);
        assert_eq!(by_size(67, None, 60, None), [7, CROSSED]);
        // Crossed parallel fifths are parallel fifths by size only.
        assert_eq!(active(69, Some(67), 62, Some(60)), [5, CROSSED]);
        assert_eq!(
            by_size(69, Some(67), 62, Some(60)),
            [7, PARALLEL_FIFTH, CROSSED]
        );
        // Uncrossed, the two readings agree.
        assert_eq!(
            by_size(62, Some(60), 69, Some(67)),
            active(62, Some(60), 69, Some(67))
        );
        assert_eq!(by_size(48, None, 64, None), [4, WIDE]);
    }

    #[test]
    fn a_voice_decided_after_one_below_it_is_read_as_the_upper_voice() {
        // The alto (1) decided after the soprano (0) and the bass (3).
        let pairing = Pairing {
            earlier: &[0, 3],
            by_size: true,
        };
        let now = [Some(72), None, None, Some(48)];
        let before = [Sounding::default(); 4];
        let mut got = Vec::new();
        pairing.each_feature(1, 67, &now, &before, false, |j, f| got.push((j, f)));
        // A fourth below the soprano; a twelfth (a fifth, wide) above the bass.
        assert_eq!(got, [(0, 5), (1, 7), (1, WIDE)]);
    }

    #[test]
    fn a_hold_sounds_what_sounded_and_onsets_fold_into_the_range() {
        let range = VoiceRange::new(50, 70);
        assert_eq!(sounds(&range, Token::Hold, Some(55)), Some(55));
        assert_eq!(sounds(&range, Token::Rest, Some(55)), None);
        assert_eq!(sounds(&range, Token::Onset(80), None), Some(68));
    }

    #[test]
    fn scores_add_the_weights_of_the_active_features() {
        let range = VoiceRange::new(55, 60);
        let mut weights = vec![0.0; 2 * PAIR_FEATURES];
        weights[7] = 1.0; // a fifth below voice 0
        weights[PAIR_FEATURES + PARALLEL_FIFTH] = -5.0; // parallel fifths with voice 1
        let now = [Some(67), Some(64)];
        let before = [Some(65), Some(62), Some(55)].map(|pitch| Sounding { pitch, steps: 1 });
        let mut logits = vec![0.0; range.vocab()];
        let pairing = Pairing {
            earlier: &[0, 1],
            by_size: false,
        };
        add_scores(
            &range,
            2,
            pairing,
            &now,
            &before,
            false,
            &weights,
            &mut logits,
        );
        // C4 (index 2 + 5): a fifth below the G4 soprano.
        assert_eq!(logits[2 + 5], 1.0);
        // A hold keeps G3 (55), an octave below G4: no fifth weight.
        assert_eq!(logits[1], 0.0);
        // Rest: nothing.
        assert_eq!(logits[0], 0.0);
        // G3 → A3 (57) under D4 → E4 (62 → 64): a fifth both times with voice 1.
        assert_eq!(logits[2 + 2], -5.0);
        // On a beat the on-beat fifth's weight joins in.
        weights[ON_BEAT + 7] = 0.5;
        let mut on_beat = vec![0.0; range.vocab()];
        add_scores(
            &range,
            2,
            pairing,
            &now,
            &before,
            true,
            &weights,
            &mut on_beat,
        );
        assert_eq!(on_beat[2 + 5], 1.5);
    }
}
