//! A step's musical context (bar position, key, melody ahead) and its
//! encoding as one-hot input columns, the one encoding the engine steps with
//! and the trainer trains on.
//!
//! Every block is one-hot or a few one-hots, so the first layer adds weight
//! columns; [`encode`] pushes the active indices into a caller's buffer and
//! never allocates.

use crate::ahead::{Ahead, MAX_AHEAD};
use crate::key::{Key, Mode};
use crate::meta::ModelMeta;
use crate::meter::BarPosition;
use serde::{Deserialize, Serialize};

/// One block of the core's input vector, in order. Every feature is one-hot or
/// multi-hot, so the first layer adds weight columns instead of multiplying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Feature {
    /// The previous step: per voice a one-hot token (voices models), or the
    /// 88-key multi-hot frame (piano-roll models). All zeros on the first step.
    PreviousStep,
    /// One-hot of the step's index within the bar, `step % steps`.
    BarPosition { steps: usize },
    /// Where the step falls in the host's meter: downbeat, the step's place
    /// in its beat, beats left in the bar, and whether the meter is compound
    /// (see [`crate::model::context`]).
    Meter,
    /// The model harmonizes in a key-normalised frame: the melody is moved so
    /// the key's tonic is C, and this one-hot says major or minor.
    KeyMode,
    /// The next `notes` melody onsets known ahead, and how far ahead the
    /// melody is known (see [`crate::ahead`]).
    Ahead { notes: usize },
    /// Per voice, the pitch it sounds going into the step (a held note's
    /// too, which the previous step's "hold" does not name) and for how
    /// many steps (see [`crate::model::sounding`]). Voices models only.
    Sounding,
}

/// Where a step falls and what is known around it. A performer hands the
/// model a copy already in the model's frame (see [`crate::perform`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepContext {
    pub bar: BarPosition,
    /// The key in use; `None` before one is known (read as C major).
    pub key: Option<Key>,
    pub ahead: Ahead,
}

impl StepContext {
    /// Step `step` of a 4/4 bar, key unknown, nothing ahead: all an older
    /// model could be told.
    pub fn common(step: usize) -> Self {
        Self {
            bar: BarPosition::common(step),
            ..Self::default()
        }
    }
}

/// Place in the beat, one-hot: steps 0 to 5 (later steps share the last).
const IN_BEAT: usize = 6;
/// Beats left in the bar, one-hot: 0, 1, 2, 3 or more.
const BEATS_LEFT: usize = 4;
/// [`Feature::Meter`]: downbeat, place in beat, beats left, compound.
pub const METER_SIZE: usize = 1 + IN_BEAT + BEATS_LEFT + 1;
/// [`Feature::KeyMode`]: major, minor.
pub const MODE_SIZE: usize = 2;
/// Per upcoming note: pitch class, distance bucket, contour (up, same, down
/// from the melody note before it), and one "no note known" slot.
const NOTE_SIZE: usize = 12 + DISTANCES + 3 + 1;
/// Distance buckets in steps: 1, 2, 3, 4, 5–6, 7–8, 9–12, 13 or more.
const DISTANCES: usize = 8;

/// [`Feature::Ahead`] with `notes` notes: the horizon one-hot, then each note.
pub fn ahead_size(notes: usize) -> usize {
    4 + notes.min(MAX_AHEAD) * NOTE_SIZE
}

fn distance_bucket(steps: u16) -> usize {
    match steps {
        0..=1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        5..=6 => 4,
        7..=8 => 5,
        9..=12 => 6,
        _ => 7,
    }
}

/// Pushes the active input indices of the context features of `meta`.
/// The blocks that hold what the voices did (the previous step, what they
/// sound) are the model's to fill; this skips them.
pub fn encode(meta: &ModelMeta, ctx: &StepContext, push: &mut impl FnMut(usize)) {
    let mut offset = 0;
    for f in &meta.features {
        match *f {
            Feature::PreviousStep | Feature::Sounding => offset += meta.feature_size(f),
            Feature::BarPosition { steps } => {
                push(offset + ctx.bar.step % steps.max(1));
                offset += steps;
            }
            Feature::Meter => {
                let bar = ctx.bar;
                if bar.is_downbeat() {
                    push(offset);
                }
                push(offset + 1 + bar.in_beat().min(IN_BEAT - 1));
                push(offset + 1 + IN_BEAT + bar.beats_left().min(BEATS_LEFT - 1));
                if bar.beat_steps.is_multiple_of(3) && bar.beat_steps > 3 {
                    push(offset + 1 + IN_BEAT + BEATS_LEFT);
                }
                offset += METER_SIZE;
            }
            Feature::KeyMode => {
                let minor = ctx.key.is_some_and(|k| k.mode == Mode::Minor);
                push(offset + minor as usize);
                offset += MODE_SIZE;
            }
            Feature::Ahead { notes } => {
                push(offset + ctx.ahead.horizon.index());
                let mut at = offset + 4;
                let mut before = ctx.ahead.current;
                for slot in ctx.ahead.notes.iter().take(notes.min(MAX_AHEAD)) {
                    match slot {
                        Some(n) => {
                            push(at + (n.pitch % 12) as usize);
                            push(at + 12 + distance_bucket(n.steps));
                            if let Some(b) = before {
                                let contour = match n.pitch.cmp(&b) {
                                    std::cmp::Ordering::Greater => 0,
                                    std::cmp::Ordering::Equal => 1,
                                    std::cmp::Ordering::Less => 2,
                                };
                                push(at + 12 + DISTANCES + contour);
                            }
                            before = Some(n.pitch);
                        }
                        None => push(at + NOTE_SIZE - 1),
                    }
                    at += NOTE_SIZE;
                }
                offset += ahead_size(notes);
            }
        }
    }
}

/// Most active indices [`encode`] pushes for any features: a bound for scratch buffers.
pub const MAX_CONTEXT_ACTIVE: usize = 1 + 4 + 1 + (1 + MAX_AHEAD * 3);

/// The key used when none is known yet: C major, the frame's own key, so
/// the melody passes untransposed.
pub const NO_KEY: Key = Key {
    tonic: 0,
    mode: Mode::Major,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ahead::{Horizon, Upcoming};
    use crate::meter::Meter;

    fn active(features: &[Feature], ctx: &StepContext) -> Vec<usize> {
        let mut meta = ModelMeta::satb(crate::meta::CoreKind::Gru, 1, 8);
        meta.features = features.to_vec();
        let mut v = Vec::new();
        encode(&meta, ctx, &mut |i| v.push(i));
        v
    }

    #[test]
    fn every_index_stays_inside_its_block() {
        let features = [
            Feature::PreviousStep,
            Feature::Meter,
            Feature::KeyMode,
            Feature::Ahead { notes: 4 },
        ];
        let mut meta = ModelMeta::satb(crate::meta::CoreKind::Gru, 1, 8);
        meta.features = features.to_vec();
        let context_size = meta.input_size() - meta.step_size();
        let meters = [(4, 4), (3, 4), (6, 8), (3, 2), (2, 2), (7, 8)];
        for (n, d) in meters {
            for step in 0..24 {
                let ctx = StepContext {
                    bar: BarPosition::new(step, Meter::new(n, d), 0.25),
                    key: Some(Key {
                        tonic: 3,
                        mode: Mode::Minor,
                    }),
                    ahead: Ahead {
                        horizon: Horizon::Bar,
                        current: Some(72),
                        notes: [
                            Some(Upcoming {
                                pitch: 70,
                                steps: 2,
                            }),
                            Some(Upcoming {
                                pitch: 70,
                                steps: 40,
                            }),
                            None,
                            None,
                        ],
                    },
                };
                let a = active(&features, &ctx);
                assert!(a.len() <= MAX_CONTEXT_ACTIVE);
                let step = meta.step_size();
                assert!(a.iter().all(|&i| (step..step + context_size).contains(&i)));
                let mut sorted = a.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), a.len(), "no index twice");
            }
        }
    }

    #[test]
    fn bar_position_is_the_old_feature() {
        let f = [Feature::PreviousStep, Feature::BarPosition { steps: 16 }];
        let step = ModelMeta::satb(crate::meta::CoreKind::Gru, 1, 8).step_size();
        assert_eq!(active(&f, &StepContext::common(5)), vec![step + 5]);
        assert_eq!(active(&f, &StepContext::common(21)), vec![step + 5]);
    }

    #[test]
    fn downbeats_and_beats_differ() {
        let f = [Feature::PreviousStep, Feature::Meter];
        let at = |s| active(&f, &StepContext::common(s));
        assert_ne!(at(0), at(8));
        assert_ne!(at(4), at(8), "beats left tell beat 2 from beat 3");
        assert_ne!(at(1), at(2));
    }
}
