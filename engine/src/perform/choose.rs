//! Choosing a sampled voice's token: the range mask (the model's range,
//! narrowed by the user's), holds only on a sounding voice, and under strict
//! voice leading no parallel fifths or octaves with the voices above.

use crate::model::Decision;
use crate::sampling::{sample_token, Rng, Sampler, TokenMask};
use crate::token::{sounding, Token};
use crate::voice_leading::forbidden_onsets;

use super::Sounding;

/// The token for `d.voice`, given what every voice sounded `before` this step.
pub fn choose(d: Decision<'_>, sampler: &Sampler, before: &Sounding, rng: &mut Rng) -> Token {
    let v = d.voice;
    let user = sampler.ranges.get(v).copied().flatten();
    let mut mask = TokenMask::new(d.range, user, before.get(v).is_some());
    if sampler.strict {
        // The voices above are decided already: rule out parallels with them.
        let above = d
            .above
            .iter()
            .enumerate()
            .map(|(u, &token)| (before.get(u), sounding(before.get(u), token)));
        mask = mask.forbid(forbidden_onsets(before.get(v), above));
    }
    let index = sample_token(d.logits, d.range, mask, sampler.temperature, rng);
    d.range.token(index)
}
