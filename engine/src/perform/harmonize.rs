//! Harmonizing: the melody is voice 0, the model adds the voices below it.
//!
//! The rules: a melody rest silences every voice and does not step the model
//! (fed rests, it would learn from the chorales, where voices rarely rest, to
//! stay silent when the melody comes back); a phrase that starts from silence
//! starts from a fresh model state, the way a chorale starts; the melody is
//! folded into voice 0's range, and it strikes when its key was struck or
//! its pitch changed, else it holds.

use crate::model::StepContext;
use crate::token::{Token, MAX_VOICES};

use super::{Performer, VoiceStepper};

/// The melody on a step: its pitch, and whether its key was struck since the
/// last step (a struck key sounds anew even on the same pitch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MelodyNote {
    pub pitch: u8,
    pub struck: bool,
}

/// What a harmonize step gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HarmonizeStep<'a> {
    /// The melody rests: every voice falls silent, the model waits.
    Rest,
    /// Every voice's token, voice 0 being the melody's.
    Voices(&'a [Token]),
}

impl Performer {
    /// Whether a melody phrase is under way: the last harmonize step had a
    /// melody note and nothing restarted since.
    pub fn in_phrase(&self) -> bool {
        self.phrase
    }

    /// One harmonize step under the melody note `melody` (`None`: a rest),
    /// in the context `ctx` (real pitches; a model that knows keys
    /// harmonizes in the frame of `ctx.key`).
    pub fn harmonize<M: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut M,
        ctx: &StepContext,
        melody: Option<MelodyNote>,
    ) -> HarmonizeStep<'_> {
        if melody.is_some() {
            self.enter_key(model, ctx);
        }
        let token = match melody {
            None => Token::Rest,
            Some(m) => {
                let folded = model.voice_range(0).fold(self.to_frame(m.pitch));
                if m.struck || self.sounding.get(0) != Some(folded) {
                    Token::Onset(folded)
                } else {
                    Token::Hold
                }
            }
        };
        self.harmonize_frame(model, ctx, token)
    }

    /// One harmonize step under a melody given as voice 0's token in real
    /// pitch, as a score holds it (the harmony figures read sopranos from
    /// the data).
    pub fn harmonize_token<M: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut M,
        ctx: &StepContext,
        melody: Token,
    ) -> HarmonizeStep<'_> {
        if melody != Token::Rest {
            self.enter_key(model, ctx);
        }
        let token = match melody {
            Token::Onset(p) => Token::Onset(self.to_frame(p)),
            other => other,
        };
        self.harmonize_frame(model, ctx, token)
    }

    /// The step itself, the melody's token already in the model's frame.
    fn harmonize_frame<M: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut M,
        ctx: &StepContext,
        melody: Token,
    ) -> HarmonizeStep<'_> {
        if melody == Token::Rest {
            self.forget();
            self.ear.hear(Some(Token::Rest), ctx.bar.beat_steps);
            return HarmonizeStep::Rest;
        }
        if !self.phrase {
            model.reset();
            self.forget();
            self.phrase = true;
        }
        let n = model.voice_count().min(MAX_VOICES);
        let mut clamp = [None; MAX_VOICES];
        clamp[0] = Some(melody);
        HarmonizeStep::Voices(self.step(model, ctx, &clamp[..n]))
    }
}
