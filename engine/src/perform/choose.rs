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
mod tests {
    use super::*;
    use crate::token::{HOLD, REST};

    /// Heads given by a function of the voice and the chord decided so far,
    /// top first unless `order` says otherwise.
    struct Scripted<F: FnMut(usize, &[Token]) -> Vec<f32>> {
        logits: F,
        out: Vec<f32>,
        order: &'static [usize],
    }

    impl<F: FnMut(usize, &[Token]) -> Vec<f32>> Scripted<F> {
        fn new(logits: F) -> Self {
            Self {
                logits,
                out: Vec::new(),
                order: &[0, 1, 2, 3],
            }
        }
    }

    impl<F: FnMut(usize, &[Token]) -> Vec<f32>> Heads for Scripted<F> {
        fn order(&self) -> &[usize] {
            self.order
        }

        fn voice_logits(&mut self, voice: usize, chord: &[Token]) -> &[f32] {
            self.out = (self.logits)(voice, chord);
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
        let mut heads = Scripted::new(|voice: usize, above: &[Token]| match voice {
            // The alto slightly prefers 60 to 61, and always strikes.
            1 => vec![NO, NO, 1.0, 0.8, NO],
            // Under 60 the bass is lost among three notes; under 61 it is sure of 60.
            _ if above[1] == Token::Onset(60) => vec![NO, NO, 0.0, 0.0, 0.0],
            _ => vec![NO, NO, 5.0, 0.0, 0.0],
        });
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
            &Style::default(),
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
        let mut heads = Scripted::new(|_: usize, _: &[Token]| vec![NO, hold, note, note, NO]);
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
                &Style::default(),
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
        let mut heads = Scripted::new(move |_: usize, _: &[Token]| {
            let mut l = vec![NO; range.vocab()];
            l[g4] = 10.0;
            l[2 + (66 - 64)] = 0.0;
            l
        });
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
                &Style::default(),
                &mut rng,
            );
            assert_eq!(chord[1], Token::Onset(want), "strict {strict}");
        }
    }

    /// The bass the search takes, at temperature 0 and free voice
    /// leading, under soprano `soprano` (struck) with the alto and tenor
    /// sure of `alto` and `tenor` and the bass torn between `likelier` and
    /// `other`, `gap` nats less likely, after `before`, weighed by `style`.
    fn bass_taken(
        soprano: u8,
        [alto, tenor]: [u8; 2],
        [likelier, other]: [u8; 2],
        gap: f32,
        before: [u8; 4],
        style: Style,
    ) -> Token {
        let range = VoiceRange::new(36, 80);
        let at = |p: u8| 2 + (p - 36) as usize;
        let mut heads = Scripted::new(|voice: usize, _: &[Token]| {
            let mut l = vec![NO; range.vocab()];
            match voice {
                1 => l[at(alto)] = 10.0,
                2 => l[at(tenor)] = 10.0,
                _ => {
                    l[at(likelier)] = 10.0;
                    l[at(other)] = 10.0 - gap;
                }
            }
            l
        });
        let clamp = [Some(Token::Onset(soprano)), None, None, None];
        let mut chord = [Token::Onset(soprano), Token::Rest, Token::Rest, Token::Rest];
        choose_chord(
            &mut heads,
            &mut chord,
            &clamp,
            &[range; 4],
            &sampler(0.0, false),
            &sounding(&before),
            &style,
            &mut Rng::new(5),
        );
        chord[3]
    }

    /// While the key is a guess, a harmony note its likely keys do not
    /// share gives way to one they do, though the model likes it a little
    /// more; a note they share is taken as the model likes it.
    #[test]
    fn a_key_in_doubt_prefers_notes_the_likely_keys_share() {
        // G major or C major: F sharp is in one only (belief 0.5), G in both.
        let mut doubt = [0.0; 12];
        doubt[6] = sonority::KEY_DOUBT_WEIGHT * 0.5f64.ln();
        doubt[5] = sonority::KEY_DOUBT_WEIGHT * 0.5f64.ln();
        let before = [74, 67, 59, 43];
        let take = |doubt| {
            let style = Style {
                doubt,
                ..Style::default()
            };
            bass_taken(74, [62, 57], [54, 55], 1.0, before, style)
        };
        assert_eq!(take(None), Token::Onset(54), "the model's F sharp");
        assert_eq!(take(Some(doubt)), Token::Onset(55), "G, in both keys");
        // Both candidates shared: the model's choice stands.
        assert_eq!(take(Some([0.0; 12])), Token::Onset(54));
    }

    /// At a phrase's close the search prefers a complete root-position
    /// triad the model finds a little less likely than an inversion; at
    /// any other step it takes the model's likeliest chord.
    #[test]
    fn a_closing_step_prefers_a_root_position_triad() {
        // Soprano E5; alto and tenor sure of G4 and C4; the bass likes E3
        // (a first inversion) a little more than C3.
        for (cadence, bass) in [(Cadence::None, 52), (Cadence::Close, 48)] {
            let style = Style {
                cadence,
                ..Style::default()
            };
            let taken = bass_taken(76, [67, 60], [52, 48], 1.0, [74, 67, 59, 43], style);
            assert_eq!(taken, Token::Onset(bass), "{cadence:?}");
        }
    }

    /// A consonance bonus takes a consonant chord over a slightly likelier
    /// six-four (a fourth above the bass); without it the model's choice
    /// stands.
    #[test]
    fn a_consonance_bonus_prefers_a_consonant_sonority() {
        for (consonance, bass) in [(0.0, 43), (1.0, 48)] {
            let style = Style {
                consonance,
                ..Style::default()
            };
            let taken = bass_taken(72, [64, 60], [43, 48], 0.5, [74, 65, 59, 43], style);
            assert_eq!(taken, Token::Onset(bass), "consonance {consonance}");
        }
    }

    #[test]
    fn outer_voices_first_decides_the_bass_before_the_alto() {
        // Soprano, alto, bass (range 48..=72), decided S, B, A. The bass
        // sounded C3 and the alto G3 (a fifth above it). The bass is sure
        // of D3; the alto, asked after it, wants A3 (a fifth above D3:
        // parallel fifths with the bass that was decided first).
        let range = VoiceRange::new(48, 72);
        let ranges = [VoiceRange::new(60, 80), range, range];
        let at = |p: u8| 2 + (p - 48) as usize;
        let mut asked = Vec::new();
        let mut heads = Scripted::new(|voice: usize, chord: &[Token]| {
            asked.push((voice, chord[2]));
            let mut l = vec![NO; range.vocab()];
            match voice {
                2 => l[at(50)] = 10.0,
                _ => {
                    l[at(57)] = 10.0;
                    l[at(53)] = 0.0;
                }
            }
            l
        });
        heads.order = &[0, 2, 1];
        // The soprano steps down, against the bass.
        let clamp = [Some(Token::Onset(71)), None, None];
        let before = sounding(&[72, 55, 48]);
        for (strict, want) in [(false, 57), (true, 53)] {
            let mut chord = [Token::Onset(71), Token::Rest, Token::Rest];
            let mut rng = Rng::new(3);
            choose_chord(
                &mut heads,
                &mut chord,
                &clamp,
                &ranges,
                &sampler(0.0, strict),
                &before,
                &Style::default(),
                &mut rng,
            );
            assert_eq!(chord[2], Token::Onset(50), "the bass takes its note");
            assert_eq!(chord[1], Token::Onset(want), "strict {strict}");
        }
        // The bass was asked first, before any bass note was chosen; the
        // alto only with a bass note in the chord.
        drop(heads);
        assert_eq!(asked[0], (2, Token::Rest));
        assert!(asked
            .iter()
            .filter(|(v, _)| *v == 1)
            .all(|&(_, bass)| matches!(bass, Token::Onset(_))));
    }

    /// One free voice (voice 1, of `range`, under `mask`) chosen by the
    /// search at `temperature`, as its token's index in `range`.
    fn one_voice(
        logits: &[f32],
        range: VoiceRange,
        mask: TokenMask,
        temperature: f32,
        rng: &mut Rng,
    ) -> usize {
        let mut heads = Scripted::new(|_: usize, _: &[Token]| logits.to_vec());
        let mut chord = [Token::Hold, Token::Rest];
        let clamp = [Some(Token::Hold), None];
        search(
            &mut heads,
            &mut chord,
            &clamp,
            &[range; 2],
            temperature,
            |_, _, _, _| mask,
            |_| 0.0,
            rng,
        );
        match chord[1] {
            Token::Rest => REST,
            Token::Hold => HOLD,
            Token::Onset(p) => 2 + (p - range.low) as usize,
        }
    }

    #[test]
    fn argmax_picks_the_likeliest_allowed_note() {
        let range = VoiceRange::new(60, 63); // rest, hold, 60, 61, 62, 63
        let logits = [f32::NEG_INFINITY, 9.0, 1.0, 2.0, 8.0, 3.0];
        let mut rng = Rng::new(1);
        // Not sounding: no hold, and the rest is impossible here, so a note starts.
        let silent = TokenMask::new(range, None, false);
        assert_eq!(one_voice(&logits, range, silent, 0.0, &mut rng), 4);
        let narrow = TokenMask::new(range, Some(VoiceRange::new(60, 61)), false);
        assert_eq!(one_voice(&logits, range, narrow, 0.0, &mut rng), 3);
        let ruled_out = silent.forbid(1 << 62);
        assert_eq!(one_voice(&logits, range, ruled_out, 0.0, &mut rng), 5);
        for _ in 0..100 {
            assert_ne!(one_voice(&logits, range, ruled_out, 5.0, &mut rng), 4);
        }
        // Nothing allowed at all still gives an answer: the rest.
        let empty = TokenMask::new(range, Some(VoiceRange::new(70, 80)), false);
        assert_eq!(one_voice(&logits, range, empty, 0.0, &mut rng), REST);
    }

    #[test]
    fn a_ruled_out_note_gives_way_to_the_next_note_not_to_a_hold() {
        // Hold and note 60 equally likely, note 61 far less: with 60 ruled
        // out, the voice still moves half the time, to 61.
        let range = VoiceRange::new(60, 61);
        let logits = [f32::NEG_INFINITY, 0.0, 0.0, -6.0];
        let mask = TokenMask::new(range, None, true).forbid(1 << 60);
        let mut rng = Rng::new(5);
        let n = 20_000;
        let picks: Vec<usize> = (0..n)
            .map(|_| one_voice(&logits, range, mask, 1.0, &mut rng))
            .collect();
        assert!(!picks.contains(&2), "the ruled-out note never sounds");
        let moves = picks.iter().filter(|&&i| i == 3).count() as f64 / n as f64;
        let expected = (1.0 + (-6.0f64).exp()) / (2.0 + (-6.0f64).exp());
        assert!((moves - expected).abs() < 0.02, "{moves} vs {expected}");
    }

    #[test]
    fn rhythm_keeps_the_model_odds_at_any_temperature() {
        // Hold 3 : note 1 : note 1, so the voice holds 3/5 of the time
        // whatever the temperature; the temperature only picks the note.
        let range = VoiceRange::new(60, 61);
        let logits = [f32::NEG_INFINITY, (3.0f32).ln(), 0.0, -0.5];
        let mask = TokenMask::new(range, None, true);
        let mut rng = Rng::new(3);
        let n = 20_000;
        for t in [0.0, 0.5, 1.0] {
            let picks: Vec<usize> = (0..n)
                .map(|_| one_voice(&logits, range, mask, t, &mut rng))
                .collect();
            let holds = picks.iter().filter(|&&i| i == HOLD).count() as f64 / n as f64;
            let onsets = n as f64 * (1.0 - holds);
            let first = picks.iter().filter(|&&i| i == 2).count() as f64 / onsets;
            assert!(
                (holds - 3.0 / (4.0 + (-0.5f64).exp())).abs() < 0.02,
                "T={t}: {holds}"
            );
            // The likelier note wins more often as the temperature falls.
            let expected = match t {
                0.0 => 1.0,
                0.5 => 1.0 / (1.0 + (-1.0f64).exp()),
                _ => 1.0 / (1.0 + (-0.5f64).exp()),
            };
            assert!(
                (first - expected).abs() < 0.03,
                "T={t}: {first} vs {expected}"
            );
        }
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let range = VoiceRange::new(60, 61); // rest, hold, 60, 61
        let logits = [f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0, (3.0f32).ln()];
        let mask = TokenMask::new(range, None, true);
        let mut rng = Rng::new(9);
        let n = 20_000;
        let hits = (0..n)
            .filter(|_| one_voice(&logits, range, mask, 1.0, &mut rng) == 3)
            .count();
        let share = hits as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
        // A high temperature flattens the distribution towards one half.
        let hot = (0..n)
            .filter(|_| one_voice(&logits, range, mask, 100.0, &mut rng) == 3)
            .count() as f64
            / n as f64;
        assert!((hot - 0.5).abs() < 0.03, "hot share {hot}");
    }
}
