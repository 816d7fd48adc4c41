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
//!   chords, top voice first, each extended by its voice's likeliest
//!   notes, and one complete chord drawn from the sharpened joint
//!   distribution of those notes, `Π p(note | onset, voices above)^(1/T)`.
//!
//! At T → 0 that is the likeliest chord rather than each voice's likeliest
//! note in turn; at T = 1 it is the model's own joint distribution (as far
//! as the beam reaches), as voice-by-voice sampling was. Under strict voice
//! leading each partial chord forbids what its own upper voices make
//! parallel. Plain arithmetic on fixed arrays: nothing here allocates.

use crate::model::Heads;
use crate::sampling::{sample_rhythm, Rhythm, Rng, Sampler, TokenMask, ARGMAX_BELOW};
use crate::token::{sounding, Token, VoiceRange, MAX_VOICES};
use crate::voice_leading::forbidden_onsets;

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

/// Fills the free voices of `chord` (where `clamp[v]` is `None`; the clamped
/// ones already hold their tokens). `ranges[v]` is voice `v`'s range in
/// the model, `before` what each voice sounded before this step.
pub fn choose_chord(
    heads: &mut dyn Heads,
    chord: &mut [Token],
    clamp: &[Option<Token>],
    ranges: &[VoiceRange],
    sampler: &Sampler,
    before: &Sounding,
    rng: &mut Rng,
) {
    let n = chord.len().min(MAX_VOICES).min(ranges.len());
    // Two fixed arrays on the stack (a few kB): the beam and its extensions.
    let mut beam = [Partial::EMPTY; BEAM];
    let mut next = [Partial::EMPTY; BEAM * BRANCH];
    beam[0].tokens[..n].copy_from_slice(&chord[..n]);
    let mut kept = 1;
    // Scores are log weights; a temperature of 0 ranks by likelihood and
    // takes the first.
    let inv_t = 1.0 / sampler.temperature.max(ARGMAX_BELOW) as f64;
    for v in 0..n {
        if clamp.get(v).copied().flatten().is_some() {
            continue;
        }
        let range = ranges[v];
        // The rhythm, read from the likeliest partial chord.
        let lead = beam[0].tokens;
        let logits = heads.voice_logits(v, &lead[..v]);
        if logits.len() < range.vocab() {
            continue; // A voice the model lacks rests.
        }
        let mask = voice_mask(v, range, &lead[..v], sampler, before);
        let rhythm = sample_rhythm(logits, range, mask, rng);
        if rhythm != Rhythm::Onset {
            let token = if rhythm == Rhythm::Hold {
                Token::Hold
            } else {
                Token::Rest
            };
            for partial in &mut beam[..kept] {
                partial.tokens[v] = token;
            }
            continue;
        }
        // The notes: each partial chord extended by its likeliest notes.
        let mut extended = 0;
        for partial in &beam[..kept] {
            let logits = heads.voice_logits(v, &partial.tokens[..v]);
            let mask = voice_mask(v, range, &partial.tokens[..v], sampler, before);
            let mut best = [(0usize, f32::NEG_INFINITY); BRANCH];
            let mut total = 0.0f64;
            let top = (2..logits.len())
                .filter(|&i| mask.allows(range, i) && logits[i].is_finite())
                .map(|i| logits[i])
                .fold(f32::NEG_INFINITY, f32::max);
            for (i, &logit) in logits.iter().enumerate().skip(2) {
                if !(mask.allows(range, i) && logit.is_finite()) {
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
                // Every note forbidden: hold (or rest), at a price.
                let mut out = *partial;
                out.tokens[v] = if mask.hold { Token::Hold } else { Token::Rest };
                out.score += NO_NOTE;
                next[extended] = out;
                extended += 1;
                continue;
            }
            // log p(note | onset) = logit - top - ln(total).
            let log_total = total.ln();
            for &(i, logit) in best.iter().take_while(|b| b.1.is_finite()) {
                let mut out = *partial;
                out.tokens[v] = range.token(i);
                out.score += ((logit - top) as f64 - log_total) * inv_t;
                next[extended] = out;
                extended += 1;
            }
        }
        // Keep the best; equal scores keep their order, so the search is
        // the same on every run (a stable sort could allocate; this cannot).
        let mut order = [0u16; BEAM * BRANCH];
        for (k, o) in order.iter_mut().enumerate().take(extended) {
            *o = k as u16;
        }
        order[..extended].sort_unstable_by(|&a, &b| {
            next[b as usize]
                .score
                .total_cmp(&next[a as usize].score)
                .then(a.cmp(&b))
        });
        kept = extended.min(BEAM);
        for (slot, &k) in beam.iter_mut().zip(&order[..kept]) {
            *slot = next[k as usize];
        }
    }
    // One complete chord, drawn by weight (the likeliest below ARGMAX_BELOW).
    let mut pick = 0;
    if sampler.temperature >= ARGMAX_BELOW && kept > 1 {
        let top = beam[0].score;
        let total: f64 = beam[..kept].iter().map(|p| (p.score - top).exp()).sum();
        let mut u = rng.next_f64() * total;
        pick = kept - 1;
        for (k, p) in beam[..kept].iter().enumerate() {
            let w = (p.score - top).exp();
            if u < w {
                pick = k;
                break;
            }
            u -= w;
        }
    }
    chord[..n].copy_from_slice(&beam[pick].tokens[..n]);
}

/// The tokens voice `v` may take under the voices `above` it: the model's
/// range narrowed by the user's, holds only on a sounding voice, and under
/// strict voice leading no parallel fifths or octaves with the voices above.
fn voice_mask(
    v: usize,
    range: VoiceRange,
    above: &[Token],
    sampler: &Sampler,
    before: &Sounding,
) -> TokenMask {
    let user = sampler.ranges.get(v).copied().flatten();
    let mask = TokenMask::new(range, user, before.get(v).is_some());
    if !sampler.strict {
        return mask;
    }
    let above = above
        .iter()
        .enumerate()
        .map(|(u, &token)| (before.get(u), sounding(before.get(u), token)));
    mask.forbid(forbidden_onsets(before.get(v), above))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heads given by a function of the voice and the tokens above it.
    struct Scripted<F: FnMut(usize, &[Token]) -> Vec<f32>> {
        logits: F,
        out: Vec<f32>,
    }

    impl<F: FnMut(usize, &[Token]) -> Vec<f32>> Heads for Scripted<F> {
        fn voice_logits(&mut self, voice: usize, above: &[Token]) -> &[f32] {
            self.out = (self.logits)(voice, above);
            &self.out
        }
    }

    const NO: f32 = -40.0;

    fn sounding(pitches: &[u8]) -> Sounding {
        let mut s = Sounding::default();
        for (v, &p) in pitches.iter().enumerate() {
            s.update(v, Token::Onset(p));
        }
        s
    }

    fn sampler(temperature: f32, strict: bool) -> Sampler {
        Sampler {
            temperature,
            strict,
            ..Sampler::default()
        }
    }

    #[test]
    fn an_upper_note_that_leaves_the_voice_below_no_good_note_loses() {
        // Range 60..=62: tokens rest, hold, 60, 61, 62.
        let range = VoiceRange::new(60, 62);
        let ranges = [range; 3];
        let mut heads = Scripted {
            out: Vec::new(),
            logits: |voice: usize, above: &[Token]| match voice {
                // The alto slightly prefers 60 to 61, and always strikes.
                1 => vec![NO, NO, 1.0, 0.8, NO],
                // Under 60 the bass is lost among three notes; under 61 it is sure of 60.
                _ if above[1] == Token::Onset(60) => vec![NO, NO, 0.0, 0.0, 0.0],
                _ => vec![NO, NO, 5.0, 0.0, 0.0],
            },
        };
        let clamp = [Some(Token::Onset(72)), None, None];
        let mut chord = [Token::Onset(72), Token::Rest, Token::Rest];
        let before = sounding(&[72, 61, 60]);
        let mut rng = Rng::new(1);
        choose_chord(
            &mut heads,
            &mut chord,
            &clamp,
            &ranges,
            &sampler(0.0, false),
            &before,
            &mut rng,
        );
        // One voice at a time would take 60 and then any bass note; together, 61 over a sure 60.
        assert_eq!(
            chord,
            [Token::Onset(72), Token::Onset(61), Token::Onset(60)]
        );
    }

    #[test]
    fn rhythm_keeps_the_models_odds_at_a_low_temperature() {
        let range = VoiceRange::new(60, 62);
        let ranges = [range; 2];
        // Hold 0.7, strike 0.3 (split over two notes).
        let hold = 0.7f32.ln();
        let note = 0.15f32.ln();
        let mut heads = Scripted {
            out: Vec::new(),
            logits: |_: usize, _: &[Token]| vec![NO, hold, note, note, NO],
        };
        let clamp = [Some(Token::Hold), None];
        let before = sounding(&[72, 61]);
        let mut rng = Rng::new(7);
        let draws = 4000;
        let mut holds = 0;
        for _ in 0..draws {
            let mut chord = [Token::Hold, Token::Rest];
            choose_chord(
                &mut heads,
                &mut chord,
                &clamp,
                &ranges,
                &sampler(0.3, true),
                &before,
                &mut rng,
            );
            holds += (chord[1] == Token::Hold) as usize;
        }
        let share = holds as f64 / draws as f64;
        assert!(
            (share - 0.7).abs() < 0.03,
            "held {share:.3} of the steps, the model says 0.7"
        );
    }

    #[test]
    fn strict_voice_leading_forbids_parallels_in_every_partial_chord() {
        // The soprano moves C5 -> D5; the alto sounded F4 (a fifth below),
        // and strongly wants G4 (a fifth below D5: parallel fifths).
        let range = VoiceRange::new(64, 69);
        let ranges = [VoiceRange::new(60, 80), range];
        let g4 = 2 + (67 - 64);
        let mut heads = Scripted {
            out: Vec::new(),
            logits: move |_: usize, _: &[Token]| {
                let mut l = vec![NO; range.vocab()];
                l[g4] = 10.0;
                l[2 + (66 - 64)] = 0.0;
                l
            },
        };
        let clamp = [Some(Token::Onset(74)), None];
        let before = sounding(&[72, 65]);
        for (strict, want) in [(false, 67), (true, 66)] {
            let mut chord = [Token::Onset(74), Token::Rest];
            let mut rng = Rng::new(3);
            choose_chord(
                &mut heads,
                &mut chord,
                &clamp,
                &ranges,
                &sampler(0.0, strict),
                &before,
                &mut rng,
            );
            assert_eq!(chord[1], Token::Onset(want), "strict {strict}");
        }
    }
}
