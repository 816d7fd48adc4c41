//! Choosing a step's free voices, together, as a chord.
//!
//! Chosen one at a time, top first, the alto takes its likeliest note
//! without knowing what that leaves the voices below, and a likely alto
//! note can leave the bass only a parallel octave or a doubtful note: most
//! of the network's parallels were the bass's, under three voices that had
//! already moved, with the parallel note about half the bass's odds. So a
//! step is decided in two parts:
//! - the rhythm, voice by voice as before: whether each free voice rests,
//!   holds or strikes, at the model's own odds ([`sample_rhythm`]), read
//!   from the likeliest chord so far;
//! - the notes of the voices that strike, together: a beam of partial
//!   chords, in the model's decision order (top first, or the outer voices
//!   first), each extended by its voice's likeliest notes, and one
//!   complete chord drawn from the sharpened joint distribution of those
//!   notes, `Π p(note | onset, voices decided before)^(1/T)`.
//!
//! At T → 0 that is the likeliest chord rather than each voice's likeliest
//! note in turn; at T = 1 it is the model's own joint distribution (as far
//! as the beam reaches), as voice-by-voice sampling was. Under strict voice
//! leading each partial chord forbids what its own decided voices make
//! parallel. Plain arithmetic on fixed arrays: nothing here allocates.

use crate::model::Heads;
use crate::sampling::{sample_rhythm, Rhythm, Rng, Sampler, TokenMask, ARGMAX_BELOW};
use crate::token::{sounding, Token, VoiceRange, MAX_VOICES};
use crate::voice_leading::{forbidden_onsets, parallels};

use super::cadence::{self, Cadence};
use super::sonority;
use super::Sounding;

/// Partial chords kept from one voice to the next.
pub const BEAM: usize = 16;
/// Notes tried per partial chord and voice.
pub const BRANCH: usize = 6;
/// What a partial chord loses when a voice that was to strike has no note
/// left (strict voice leading forbade them all) and holds or rests instead.
const NO_NOTE: f64 = -1e6;

/// A chord decided down to some voice, with the log of its weight so far.
#[derive(Clone, Copy, Debug)]
struct Partial {
    tokens: [Token; MAX_VOICES],
    score: f64,
}

impl Partial {
    const EMPTY: Self = Self {
        tokens: [Token::Rest; MAX_VOICES],
        score: 0.0,
    };
}

/// What the chord search weighs a complete chord by besides the model's
/// odds (log weights in nats, before the temperature). The default weighs
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// The step's place at a phrase's end ([`cadence::cadence_of`]),
    /// weighed by [`cadence::cadence_bonus`].
    pub cadence: Cadence,
    /// Added to a consonant sonority ([`sonority::consonant`]).
    pub consonance: f64,
    /// While the key is a guess, added per new harmony note by its pitch
    /// class (the model's frame; [`sonority::KEY_DOUBT_WEIGHT`]).
    pub doubt: Option<[f64; 12]>,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            cadence: Cadence::None,
            consonance: 0.0,
            doubt: None,
        }
    }
}

/// Fills the free voices of `chord` (where `clamp[v]` is `None`; the clamped
/// ones already hold their tokens), in the order the heads decide them.
/// `ranges[v]` is voice `v`'s range in the model, `before` what each voice
/// sounded before this step; the complete chords found are weighed by
/// `style` too.
#[allow(clippy::too_many_arguments)]
pub fn choose_chord(
    heads: &mut dyn Heads,
    chord: &mut [Token],
    clamp: &[Option<Token>],
    ranges: &[VoiceRange],
    sampler: &Sampler,
    before: &Sounding,
    style: &Style,
    rng: &mut Rng,
) {
    let Style {
        cadence,
        consonance,
        doubt,
    } = style;
    let (cadence, consonance) = (*cadence, *consonance);
    let mask_of = |v: usize, range: VoiceRange, chord: &[Token], decided: &[usize]| {
        voice_mask(v, range, chord, decided, sampler, before)
    };
    // The lowest voice sounding before: the bass a cadence arrives from.
    let bass_before = before.voices().iter().flatten().copied().min();
    let bonus_of = |chord: &[Token]| {
        // While the key is a guess: each new harmony note weighed by how
        // likely its pitch class is to be in the key.
        let doubt: f64 = doubt.as_ref().map_or(0.0, |weight| {
            chord
                .iter()
                .enumerate()
                .filter(|&(v, _)| clamp.get(v).copied().flatten().is_none())
                .map(|(_, t)| match t {
                    Token::Onset(p) => weight[(p % 12) as usize],
                    _ => 0.0,
                })
                .sum()
        });
        if cadence == Cadence::None && consonance == 0.0 {
            return doubt;
        }
        let mut pitches = [None; MAX_VOICES];
        for (v, (p, &t)) in pitches.iter_mut().zip(chord).enumerate() {
            *p = sounding(before.get(v), t);
        }
        let pitches = &pitches[..chord.len()];
        // A rule of style never rewards parallel fifths or octaves (under
        // strict voice leading the masks have ruled them out already; left
        // free, the network's own odds decide them).
        if parallels(&before.voices()[..chord.len()], pitches)
            .next()
            .is_some()
        {
            return doubt;
        }
        let consonant = if consonance != 0.0 && sonority::consonant(pitches) {
            consonance
        } else {
            0.0
        };
        doubt + consonant + cadence::cadence_bonus(cadence, pitches, bass_before)
    };
    search(
        heads,
        chord,
        clamp,
        ranges,
        sampler.temperature,
        mask_of,
        bonus_of,
        rng,
    );
}

/// [`choose_chord`] with each partial chord's mask for voice `v` given by
/// `mask_of(v, range, partial chord, voices decided before v)`, and each
/// complete chord's log weight raised by `bonus_of(chord)` (before the
/// temperature, as the model's log-probabilities are).
#[allow(clippy::too_many_arguments)]
fn search(
    heads: &mut dyn Heads,
    chord: &mut [Token],
    clamp: &[Option<Token>],
    ranges: &[VoiceRange],
    temperature: f32,
    mask_of: impl Fn(usize, VoiceRange, &[Token], &[usize]) -> TokenMask,
    bonus_of: impl Fn(&[Token]) -> f64,
    rng: &mut Rng,
) {
    let n = chord.len().min(MAX_VOICES).min(ranges.len());
    // The decision order, copied out of the heads (they are lent mutably below).
    let mut order = [0usize; MAX_VOICES];
    let mut count = 0;
    for &v in heads.order().iter().filter(|&&v| v < n) {
        if count < MAX_VOICES {
            order[count] = v;
            count += 1;
        }
    }
    let order = &order[..count];
    // Two fixed arrays on the stack (a few kB): the beam and its extensions.
    let mut beam = [Partial::EMPTY; BEAM];
    let mut next = [Partial::EMPTY; BEAM * BRANCH];
    beam[0].tokens[..n].copy_from_slice(&chord[..n]);
    let mut kept = 1;
    // Scores are log weights; a temperature of 0 ranks by likelihood and
    // takes the first.
    let inv_t = 1.0 / temperature.max(ARGMAX_BELOW) as f64;
    'voices: for (at, &v) in order.iter().enumerate() {
        if clamp.get(v).copied().flatten().is_some() {
            continue;
        }
        let range = ranges[v];
        let decided = &order[..at];
        let mut extended = 0;
        for k in 0..kept {
            let partial = beam[k];
            let logits = heads.voice_logits(v, &partial.tokens[..n]);
            if logits.len() < range.vocab() {
                continue 'voices; // A voice the model lacks rests.
            }
            let mask = mask_of(v, range, &partial.tokens[..n], decided);
            // The rhythm, read from the likeliest partial chord (the first).
            if k == 0 {
                let token = match sample_rhythm(logits, range, mask, rng) {
                    Rhythm::Onset => None,
                    Rhythm::Hold => Some(Token::Hold),
                    Rhythm::Rest => Some(Token::Rest),
                };
                if let Some(token) = token {
                    for partial in &mut beam[..kept] {
                        partial.tokens[v] = token;
                    }
                    continue 'voices;
                }
            }
            extended += extend(
                &partial,
                v,
                range,
                logits,
                mask,
                inv_t,
                &mut next[extended..],
            );
        }
        kept = keep_best(&next[..extended], &mut beam);
    }
    let mut rescored = false;
    for partial in &mut beam[..kept] {
        let bonus = bonus_of(&partial.tokens[..n]);
        if bonus != 0.0 {
            partial.score += bonus * inv_t;
            rescored = true;
        }
    }
    if rescored {
        // Best first again (the beam is copied out first: `keep_best`
        // writes into it; a fixed array, no allocation).
        let scored = beam;
        kept = keep_best(&scored[..kept], &mut beam);
    }
    let pick = if temperature >= ARGMAX_BELOW {
        draw(&beam[..kept], rng)
    } else {
        0
    };
    chord[..n].copy_from_slice(&beam[pick].tokens[..n]);
}

/// Writes `partial` extended by voice `v`'s likeliest notes under `mask`
/// into `out` (room for [`BRANCH`]), each scored by `log p(note | onset) /
/// T` (`inv_t` = 1/T); returns how many. With every note forbidden, the
/// voice holds (or rests) at the price [`NO_NOTE`].
fn extend(
    partial: &Partial,
    v: usize,
    range: VoiceRange,
    logits: &[f32],
    mask: TokenMask,
    inv_t: f64,
    out: &mut [Partial],
) -> usize {
    let allowed = |i: usize| mask.allows(range, i) && logits[i].is_finite();
    let top = (2..logits.len())
        .filter(|&i| allowed(i))
        .map(|i| logits[i])
        .fold(f32::NEG_INFINITY, f32::max);
    let mut best = [(0usize, f32::NEG_INFINITY); BRANCH];
    let mut total = 0.0f64;
    for (i, &logit) in logits.iter().enumerate().skip(2) {
        if !allowed(i) {
            continue;
        }
        total += ((logit - top) as f64).exp();
        // Insert into the best few, kept in falling order (ties: lower index first).
        if logit > best[BRANCH - 1].1 {
            let mut j = BRANCH - 1;
            while j > 0 && logit > best[j - 1].1 {
                best[j] = best[j - 1];
                j -= 1;
            }
            best[j] = (i, logit);
        }
    }
    if total == 0.0 {
        out[0] = *partial;
        out[0].tokens[v] = if mask.hold { Token::Hold } else { Token::Rest };
        out[0].score += NO_NOTE;
        return 1;
    }
    // log p(note | onset) = logit - top - ln(total).
    let log_total = total.ln();
    let mut written = 0;
    for &(i, logit) in best.iter().take_while(|b| b.1.is_finite()) {
        out[written] = *partial;
        out[written].tokens[v] = range.token(i);
        out[written].score += ((logit - top) as f64 - log_total) * inv_t;
        written += 1;
    }
    written
}

/// Keeps the best of `extended` in `beam`, best first; returns how many.
/// Equal scores keep their order, so the search is the same on every run (a
/// stable sort could allocate; this cannot).
fn keep_best(extended: &[Partial], beam: &mut [Partial; BEAM]) -> usize {
    let mut order = [0u16; BEAM * BRANCH];
    for (k, o) in order.iter_mut().enumerate().take(extended.len()) {
        *o = k as u16;
    }
    let order = &mut order[..extended.len()];
    order.sort_unstable_by(|&a, &b| {
        extended[b as usize]
            .score
            .total_cmp(&extended[a as usize].score)
            .then(a.cmp(&b))
    });
    let kept = extended.len().min(BEAM);
    for (slot, &k) in beam.iter_mut().zip(&order[..kept]) {
        *slot = extended[k as usize];
    }
    kept
}

/// One of `chords` (best first), drawn by weight.
fn draw(chords: &[Partial], rng: &mut Rng) -> usize {
    if chords.len() < 2 {
        return 0;
    }
    let top = chords[0].score;
    let total: f64 = chords.iter().map(|p| (p.score - top).exp()).sum();
    let mut u = rng.next_f64() * total;
    for (k, p) in chords.iter().enumerate() {
        let w = (p.score - top).exp();
        if u < w {
            return k;
        }
        u -= w;
    }
    // Rounding left a sliver past the last weight.
    chords.len() - 1
}

/// The tokens voice `v` may take in `chord`, where the voices `decided`
/// hold their tokens: the model's range narrowed by the user's, holds only
/// on a sounding voice, and under strict voice leading no parallel fifths
/// or octaves with the voices decided before it.
fn voice_mask(
    v: usize,
    range: VoiceRange,
    chord: &[Token],
    decided: &[usize],
    sampler: &Sampler,
    before: &Sounding,
) -> TokenMask {
    let user = sampler.ranges.get(v).copied().flatten();
    let mask = TokenMask::new(range, user, before.get(v).is_some());
    if !sampler.strict {
        return mask;
    }
    let decided = decided
        .iter()
        .map(|&u| (before.get(u), sounding(before.get(u), chord[u])));
    mask.forbid(forbidden_onsets(before.get(v), decided))
}

#[cfg(test)]
mod tests;
