//! Harmonizing a melody known in advance (a file, a dataset's soprano): the
//! offline form of the plugin's harmonize, with the same rules step by step,
//! and the melody known as far ahead as asked, up to all of it.
//!
//! Used by the `bach` command's whole-melody mode and by `bach-trainer
//! harmony`; it allocates its result, so it is not for the audio thread.

use crate::ahead::{Ahead, Horizon};
use crate::key::{estimate_key, key_track, Key};
use crate::meter::BarPosition;
use crate::token::{sounding, sounding_line, Token};

use super::{HarmonizeStep, KeyChoice, KeyFollower, Performer, VoiceStepper};

/// The notes of a melody line as (pitch, length in steps).
pub fn melody_notes(melody: &[Token]) -> Vec<(u8, f32)> {
    let mut notes: Vec<(u8, f32)> = Vec::new();
    let mut now = None;
    for t in melody {
        now = sounding(now, *t);
        match t {
            Token::Onset(p) => notes.push((*p, 1.0)),
            Token::Hold if now.is_some() => {
                if let Some(n) = notes.last_mut() {
                    n.1 += 1.0;
                }
            }
            _ => {}
        }
    }
    notes
}

/// The key a harmonization of `melody` starts in: a fixed choice stays; Auto
/// with the whole melody known is the whole melody's key (its home key; the
/// harmony then moves through [`whole_melody_keys`]); otherwise Auto follows
/// the melody as it is heard.
pub fn key_for(melody: &[Token], choice: KeyChoice, horizon: Horizon) -> KeyChoice {
    match (choice, horizon) {
        (KeyChoice::Auto, Horizon::Whole) => {
            estimate_key(melody_notes(melody)).map_or(KeyChoice::Auto, KeyChoice::Fixed)
        }
        (c, _) => c,
    }
}

/// The key at each step of a melody known in full, for Auto with the whole
/// melody: its home key ([`key_for`]), and the closely related keys it
/// passes through ([`key_track`]); `None` for a melody that names no key.
pub fn whole_melody_keys(melody: &[Token]) -> Option<Vec<Key>> {
    match key_for(melody, KeyChoice::Auto, Horizon::Whole) {
        KeyChoice::Fixed(home) => Some(key_track(&sounding_line(melody.iter().copied()), home)),
        KeyChoice::Auto => None,
    }
}

/// Harmonizes `melody` (voice 0's tokens, one per step) with `performer`
/// (already restarted), step `t` sitting at `bars[t]` (4/4 from step 0
/// past the end of `bars`): the plugin's harmonize rules, in the key
/// `key` chooses ([`key_for`]; with Auto and the whole melody, the keys of
/// [`whole_melody_keys`] step by step), with the melody known `horizon`
/// ahead; otherwise the key follower hears the melody step by step as the
/// plugin's does. Returns
/// every voice's token per step, laid out `[t * voices + v]`.
pub fn harmonize_line<M: VoiceStepper + ?Sized>(
    model: &mut M,
    performer: &mut Performer,
    melody: &[Token],
    bars: &[BarPosition],
    key: KeyChoice,
    horizon: Horizon,
) -> Vec<Token> {
    let voices = model.voice_count();
    let len = melody.len();
    // Auto with the whole melody: its keys, step by step; otherwise (and for
    // a melody that names no key) the follower hears it as the plugin does.
    let track = match (key, horizon) {
        (KeyChoice::Auto, Horizon::Whole) => whole_melody_keys(melody),
        _ => None,
    };
    let mut follower = KeyFollower::new(key);
    let line = sounding_line(melody.iter().copied());
    let mut out = Vec::with_capacity(len * voices);
    for t in 0..len {
        let bar = bars.get(t).copied().unwrap_or(BarPosition::common(t));
        let limit = horizon
            .steps(bar.beat_steps, bar.bar_steps)
            .min(len - 1 - t);
        let known = track.as_ref().map(|track| track[t]);
        let ahead = Ahead::scan(horizon, limit, |k| melody.get(t + k).copied());
        let ctx = performer.step_context(&mut follower, line[t], bar, known, ahead);
        match performer.harmonize_token(model, &ctx, melody[t]) {
            HarmonizeStep::Rest => out.extend(std::iter::repeat_n(Token::Rest, voices)),
            HarmonizeStep::Voices(voiced) => out.extend_from_slice(voiced),
        }
    }
    out
}
