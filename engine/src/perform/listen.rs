//! Listening (continue mode): every voice is clamped to what is played, so
//! the model's state follows the player until it takes the turn.

use crate::model::StepContext;
use crate::token::{Token, MAX_VOICES};

use super::{Performer, VoiceStepper};

/// What the player sounds on a listening step, as bit sets over MIDI pitches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heard {
    /// Keys held now or struck since the last step.
    pub keys: u128,
    /// Keys struck since the last step.
    pub struck: u128,
}

impl Performer {
    /// A listening step: the highest played note is voice 0, the lowest the
    /// last voice, the others fill the voices between from the top; voices
    /// left over rest. Each note is folded into its voice's range.
    pub fn listen<M: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut M,
        ctx: &StepContext,
        heard: Heard,
    ) -> &[Token] {
        self.enter_key(model, ctx);
        let n = model.voice_count().min(MAX_VOICES);
        let mut pitches = [0u8; 128];
        let mut m = 0;
        for p in (0..128u8).rev() {
            if heard.keys & (1u128 << p) != 0 {
                pitches[m] = p;
                m += 1;
            }
        }
        let mut assigned = [None; MAX_VOICES];
        if n > 0 && m > 0 {
            assigned[0] = Some(pitches[0]);
            if n > 1 && m > 1 {
                assigned[n - 1] = Some(pitches[m - 1]);
                for (v, &p) in (1..n - 1).zip(&pitches[1..m - 1]) {
                    assigned[v] = Some(p);
                }
            }
        }
        let mut clamp = [None; MAX_VOICES];
        for v in 0..n {
            let token = match assigned[v] {
                None => Token::Rest,
                Some(p) => {
                    let folded = model.voice_range(v).fold(self.to_frame(p));
                    let before = if self.fresh_ears {
                        None
                    } else {
                        self.sounding.get(v)
                    };
                    if heard.struck & (1u128 << p) != 0 || before != Some(folded) {
                        Token::Onset(folded)
                    } else {
                        Token::Hold
                    }
                }
            };
            clamp[v] = Some(token);
        }
        self.fresh_ears = false;
        self.step(model, ctx, &clamp[..n])
    }

    /// The model takes the turn: when it next listens, every played note is
    /// heard as new (what it heard before its turn is forgotten), while its
    /// own voices keep leading from what they sound.
    pub fn take_turn(&mut self) {
        self.fresh_ears = true;
    }
}
