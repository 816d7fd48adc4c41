//! Performing with a model: the musical rules between time and inference.
//!
//! The [`crate::sequencer`] decides *when* a step happens (host time, the
//! grid, input notes); the model ([`crate::model`]) computes logits.
//! Between them a [`Performer`] decides *what* sounds: it owns the random
//! stream, the sampler and what each voice is sounding, and offers the
//! musical operations — harmonize a melody step ([`harmonize`]), listen to
//! what is played ([`listen`]), play on alone ([`Performer::play`]), play a
//! piano-roll frame ([`frames`]). The plugin's sequencer, `bach-trainer
//! harmony` and the offline commands all make their notes here, so the same
//! seed and input give the same notes everywhere by construction.
//!
//! Nothing here knows about samples or tempo, and nothing allocates after
//! [`Performer::new`]: the state is fixed arrays of [`MAX_VOICES`], the
//! choice of a token is plain arithmetic on the model's logits, and the
//! model's own stepping does not allocate (see [`crate::model`]).

pub mod cadence;
pub mod choose;
pub mod frames;
pub mod harmonize;
pub mod key_choice;
pub mod line;
pub mod listen;
pub mod phrase;
pub mod sonority;
pub mod sounding;

use crate::ahead::Ahead;
use crate::key::Key;
use crate::meter::BarPosition;
use crate::model::context::NO_KEY;
use crate::model::{Heads, StepContext, VoicesModel};
use crate::sampling::{Rng, Sampler};
use crate::token::{Token, VoiceRange, MAX_VOICES};
use crate::Horizon;

use cadence::Cadence;
use phrase::PhraseEar;

pub use crate::sampling::user_sampler;
pub use harmonize::{HarmonizeStep, MelodyNote};
pub use key_choice::{KeyChoice, KeyFollower};
pub use listen::Heard;
pub use sounding::Sounding;

/// What a performer needs from a voices model: the [`VoicesModel`]'s
/// stepping, behind a trait so tests can drive the sequencer's timing with a
/// scripted model.
pub trait VoiceStepper {
    /// Number of voices (a model without any plays nothing).
    fn voice_count(&self) -> usize;
    /// Range of voice `v`.
    fn voice_range(&self, v: usize) -> VoiceRange;
    /// Grid step in quarter notes.
    fn step_beats(&self) -> f64;
    /// Steps per bar for the position feature.
    fn bar_steps(&self) -> usize;
    /// Whether the model harmonizes in a key-normalised frame (tonic moved
    /// to C), so the performer must move what it hears and plays.
    fn knows_key(&self) -> bool {
        false
    }
    /// Whether the model is told the melody ahead (lookahead adds latency only then).
    fn looks_ahead(&self) -> bool {
        false
    }
    /// Forgets the state: the next step starts as a piece does.
    fn reset(&mut self);
    /// Right after a [`VoiceStepper::reset`] in mid-phrase: what each voice
    /// sounds now, in the model's frame (see [`VoicesModel::continue_from`]).
    fn continue_from(&mut self, _sounding: &[Option<u8>]) {}
    /// One step in the model's frame: clamped voices take their clamp;
    /// `choose` is lent the model's heads for the step and the step's
    /// tokens (the clamped ones in place) and decides the others. Returns
    /// the step's tokens.
    fn step(
        &mut self,
        ctx: &StepContext,
        clamp: &[Option<Token>],
        choose: &mut dyn FnMut(&mut dyn Heads, &mut [Token]),
    ) -> &[Token];
}

impl VoiceStepper for VoicesModel {
    fn voice_count(&self) -> usize {
        self.voices()
    }

    fn voice_range(&self, v: usize) -> VoiceRange {
        self.range(v).unwrap_or(VoiceRange::new(0, 127))
    }

    fn step_beats(&self) -> f64 {
        self.meta().step_beats
    }

    fn bar_steps(&self) -> usize {
        self.meta().bar_steps().unwrap_or(16)
    }

    fn knows_key(&self) -> bool {
        self.meta().knows_key()
    }

    fn looks_ahead(&self) -> bool {
        self.meta().ahead_notes() > 0
    }

    fn reset(&mut self) {
        VoicesModel::reset(self)
    }

    fn continue_from(&mut self, sounding: &[Option<u8>]) {
        VoicesModel::continue_from(self, sounding)
    }

    fn step(
        &mut self,
        ctx: &StepContext,
        clamp: &[Option<Token>],
        choose: &mut dyn FnMut(&mut dyn Heads, &mut [Token]),
    ) -> &[Token] {
        self.step_voices(ctx, clamp, choose)
    }
}

/// Plays a model: the random stream, the sampler, what each voice sounds,
/// and the rules of harmonizing, listening and playing on.
#[derive(Clone, Debug)]
pub struct Performer {
    rng: Rng,
    sampler: Sampler,
    /// What each voice sounds after the last step, in the model's frame:
    /// the one tracker behind voice leading, the melody's hold-or-strike and
    /// the listening clamp.
    sounding: Sounding,
    /// Semitones from real pitches to the model's frame (the key's tonic
    /// moved to C for a model that knows keys; 0 otherwise).
    shift: i32,
    /// Harmonize: a melody phrase is under way (no rest since it began).
    phrase: bool,
    /// Continue: the model had the turn since the last listening step, so the
    /// next one hears every played note as struck anew.
    fresh_ears: bool,
    /// The last step's tokens (`voices` of them).
    tokens: [Token; MAX_VOICES],
    voices: usize,
    /// Piano rolls: the last frame, the next frame's input.
    previous_frame: Option<crate::KeyFrame>,
    /// The melody's phrases as heard so far, to hear a close coming.
    ear: PhraseEar,
    /// While the key is a guess, how likely each pitch class (real pitch)
    /// is to be in it ([`Performer::doubt_key`]).
    key_doubt: Option<[f32; 12]>,
}

impl Default for Performer {
    fn default() -> Self {
        Self::new(Sampler::default(), 0)
    }
}

impl Performer {
    /// A performer with `sampler`, its random stream seeded with `seed`.
    pub fn new(sampler: Sampler, seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            sampler,
            sounding: Sounding::default(),
            shift: 0,
            phrase: false,
            fresh_ears: false,
            tokens: [Token::Rest; MAX_VOICES],
            voices: 0,
            previous_frame: None,
            ear: PhraseEar::default(),
            key_doubt: None,
        }
    }

    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// Changes how tokens are chosen from the next step on (the state stays).
    pub fn set_sampler(&mut self, sampler: Sampler) {
        self.sampler = sampler;
    }

    /// Starts afresh, as at the top of a piece: the model's state, the random
    /// stream (from `seed`), and every voice silent.
    pub fn restart<M: VoiceStepper + ?Sized>(&mut self, model: &mut M, seed: u64) {
        model.reset();
        self.rng = Rng::new(seed);
        self.forget();
        self.previous_frame = None;
        self.ear = PhraseEar::default();
    }

    /// What each voice sounds after the last step (`None`: resting), in
    /// the model's frame (real pitches for a model that knows no key);
    /// voices the model lacks are `None`.
    pub fn sounding(&self) -> &[Option<u8>; MAX_VOICES] {
        self.sounding.voices()
    }

    /// What voice `v` sounds after the last step, in real pitch.
    pub fn sounding_pitch(&self, v: usize) -> Option<u8> {
        self.sounding()[v].map(|p| (p as i32 - self.shift).clamp(0, 127) as u8)
    }

    /// The model plays a step on its own: every voice is sampled.
    pub fn play<M: VoiceStepper + ?Sized>(&mut self, model: &mut M, ctx: &StepContext) -> &[Token] {
        let n = model.voice_count().min(MAX_VOICES);
        self.step(model, ctx, &[None; MAX_VOICES][..n])
    }

    /// Moves into the frame of `ctx`'s key (for a model that knows keys).
    /// A new key moves the frame: the model starts afresh in it (its state
    /// was built on the old one's pitches), while what sounds is re-read in
    /// the new frame so held notes go on.
    pub fn enter_key<M: VoiceStepper + ?Sized>(&mut self, model: &mut M, ctx: &StepContext) {
        let shift = if model.knows_key() {
            ctx.key.unwrap_or(NO_KEY).shift()
        } else {
            0
        };
        if shift != self.shift {
            model.reset();
            self.sounding.transpose(shift - self.shift);
            self.ear.transpose(shift - self.shift);
            self.shift = shift;
            model.continue_from(self.sounding.voices());
        }
    }

    /// From the next step on, while the key in use is only a guess, how
    /// likely each pitch class is to belong to the melody's key
    /// ([`KeyFollower::doubt`]): the chord search then prefers harmony notes
    /// the likely keys share ([`sonority::KEY_DOUBT_WEIGHT`]). `None` once
    /// the key is known.
    pub fn doubt_key(&mut self, belief: Option<[f32; 12]>) {
        self.key_doubt = belief;
    }

    /// The context of the step at `bar`, the one way the sequencer and a
    /// melody known in advance ([`line`]) make it: `follower` hears the
    /// melody sounding there, the key is the one it now holds (or `known`,
    /// a key already settled for this step, as a whole melody's key track
    /// gives), and the chord search is told how sure that key is
    /// ([`Performer::doubt_key`]; a known key is sure, and while the
    /// follower's opening lasts it keeps the harmony in that key as
    /// firmly as a guess that is sure: [`home_belief`]).
    pub fn step_context(
        &mut self,
        follower: &mut KeyFollower,
        melody: Option<u8>,
        bar: BarPosition,
        known: Option<Key>,
        ahead: Ahead,
    ) -> StepContext {
        follower.hear(melody, bar);
        // A fixed array by value: no allocation.
        self.doubt_key(match (known, follower.doubt()) {
            (Some(key), Some(_)) => Some(home_belief(key)),
            (Some(_), None) => None,
            (None, guess) => guess,
        });
        StepContext {
            bar,
            key: known.or(follower.key()),
            ahead,
        }
    }

    /// A real pitch in the model's frame.
    pub(crate) fn to_frame(&self, pitch: u8) -> u8 {
        (pitch as i32 + self.shift).clamp(0, 127) as u8
    }

    /// One step with any clamps, given in the model's frame (see
    /// [`Performer::enter_key`]; real pitches for a model that knows no
    /// key): voice `v` takes `clamp[v]` when it is `Some`, the others are
    /// chosen together as a chord, under the voice-leading rules when the sampler is
    /// strict (see [`choose`]). `ctx` is in real pitches. Returns the step's tokens in real
    /// pitches. The musical operations are built on it; tests and figures
    /// use it directly.
    pub fn step<M: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut M,
        ctx: &StepContext,
        clamp: &[Option<Token>],
    ) -> &[Token] {
        self.enter_key(model, ctx);
        let n = model.voice_count().min(MAX_VOICES);
        // The context in the model's frame: upcoming melody notes moved
        // and folded into the melody voice's range as the melody is.
        let melody = clamp.first().copied().flatten();
        let mut frame = *ctx;
        if n > 0 {
            let range = model.voice_range(0);
            for note in frame.ahead.notes.iter_mut().flatten() {
                note.pitch = range.fold(self.to_frame(note.pitch));
            }
            frame.ahead.current = match melody {
                Some(Token::Onset(p)) => Some(p),
                Some(Token::Hold) => self.sounding.get(0),
                _ => None,
            };
        }
        let before = self.sounding;
        let sampler = self.sampler;
        let shift = self.shift;
        let rng = &mut self.rng;
        let mut ranges = [VoiceRange::new(0, 127); MAX_VOICES];
        for (v, range) in ranges.iter_mut().enumerate().take(n) {
            *range = model.voice_range(v);
        }
        let struck = matches!(melody, Some(Token::Onset(_)));
        let cadence = match cadence::cadence_of(&frame, struck) {
            Cadence::None => {
                // The frame's tonic: C for a model that knows keys.
                let tonic = match (model.knows_key(), ctx.key) {
                    (false, Some(key)) => key.tonic,
                    _ => 0,
                };
                self.ear.cadence(&frame, melody, tonic)
            }
            heard_ahead => heard_ahead,
        };
        // Harmonizing a strong beat with nothing ahead known: the
        // consonance nudge (`sonority`). Playing on alone is left as it is.
        let harmonizing = melody.is_some();
        let consonance = if harmonizing && ctx.bar.is_strong() && ctx.ahead.horizon == Horizon::Off
        {
            sonority::STRONG_BEAT_CONSONANCE
        } else {
            0.0
        };
        // The key's doubt in the model's frame, as a log weight per pitch
        // class (a fixed array).
        let doubt = self.key_doubt.map(|belief| {
            let mut weight = [0.0f64; 12];
            for (pc, b) in belief.iter().enumerate() {
                let frame = (pc as i32 + shift).rem_euclid(12) as usize;
                weight[frame] =
                    sonority::KEY_DOUBT_WEIGHT * (*b as f64).max(sonority::KEY_DOUBT_FLOOR).ln();
            }
            weight
        });
        let style = choose::Style {
            cadence,
            consonance,
            doubt,
        };
        // A closure on the stack, lent as `&mut dyn`: no box, no allocation.
        let mut choose = |heads: &mut dyn Heads, chord: &mut [Token]| {
            choose::choose_chord(
                heads,
                chord,
                clamp,
                &ranges[..n],
                &sampler,
                &before,
                &style,
                rng,
            )
        };
        let tokens = model.step(&frame, clamp, &mut choose);
        self.ear.hear(melody, ctx.bar.beat_steps);
        for v in 0..n {
            let token = tokens.get(v).copied().unwrap_or(Token::Rest);
            self.sounding.update(v, token);
            self.tokens[v] = match token {
                Token::Onset(p) => Token::Onset((p as i32 - shift).clamp(0, 127) as u8),
                other => other,
            };
        }
        self.voices = n;
        &self.tokens[..n]
    }

    /// Every voice silent, no phrase under way.
    fn forget(&mut self) {
        self.sounding.clear();
        self.phrase = false;
        self.fresh_ears = false;
    }
}

/// The key doubt of a key known from the start (the whole melody's) while
/// the opening lasts: certain of its own scale, so harmony notes outside it
/// are weighed as a guess that is sure weighs them. Bach opens at home: in
/// the first bars of the chorales 1.4% of A, T, B onsets are outside the
/// key, against 4.2% in the whole pieces, and with the whole melody known
/// ours were 2.4% (valid sopranos, seeds 1-3, the model of 2026-12-07); so
/// weighed, 0.6%, the whole piece 3.7% -> 3.4% and closes on V-I 55.9% ->
/// 54.4% (milder beliefs outside the scale, 0.6 and 0.8, gave 0.6% and
/// 0.7%).
fn home_belief(key: Key) -> [f32; 12] {
    std::array::from_fn(|pc| match key.in_scale(pc as u8) {
        true => 1.0,
        false => sonority::KEY_DOUBT_FLOOR as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Mode;

    /// With the whole melody's key known, the opening keeps the harmony in
    /// that key (and only the opening: once the follower settles, or with
    /// the key set, a known key is simply sure).
    #[test]
    fn a_known_key_holds_the_opening_at_home() {
        let g = Key {
            tonic: 7,
            mode: Mode::Major,
        };
        let mut performer = Performer::default();
        let mut follower = KeyFollower::new(KeyChoice::Auto);
        let ahead = Ahead::default();
        performer.step_context(
            &mut follower,
            Some(67),
            BarPosition::common(0),
            Some(g),
            ahead,
        );
        let belief = performer.key_doubt.expect("the opening doubts");
        // F sharp is G major's, F is not.
        assert_eq!(belief[6], 1.0);
        assert!(belief[5] < 0.1, "{belief:?}");
        let mut fixed = KeyFollower::new(KeyChoice::Fixed(g));
        performer.step_context(&mut fixed, Some(67), BarPosition::common(0), Some(g), ahead);
        assert_eq!(performer.key_doubt, None, "a key set by hand is sure");
        // Without a known key, the follower's own guess is the doubt.
        let mut guess = KeyFollower::new(KeyChoice::Auto);
        performer.step_context(&mut guess, Some(67), BarPosition::common(0), None, ahead);
        assert_eq!(performer.key_doubt, guess.doubt());
    }
}
