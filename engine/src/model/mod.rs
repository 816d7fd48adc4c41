//! Loaded models, ready for the audio thread.
//!
//! Two kinds share one recurrent core ([`core`]): a [`VoicesModel`] (one
//! token per voice and step: the harmonizer) and a [`PianoRollModel`] (88
//! keys per frame). Loading a file gives an [`AnyModel`]; the places that
//! play one kind take that kind, so handing a piano roll to the harmonizer
//! is a type error, not an empty result at run time.
//!
//! Every buffer is allocated when a model is built; after that, stepping
//! only reads weights and writes those buffers, so stepping and the logits
//! never allocate, lock or fail.
//!
//! A model is inference only, like one layer of a realtime network library:
//! it advances its recurrent core and gives logits. Which token a voice
//! takes (temperature, masks, voice leading, the random stream) is decided by
//! the caller, the [`crate::perform::Performer`].

pub mod context;
mod core;
mod head;
pub mod pairs;
mod pianoroll;
pub mod sounding;
mod voices;

use std::path::Path;

use crate::file::{LoadError, ModelFile};
use crate::meta::{ModelKind, ModelMeta};
use crate::token::{Token, MAX_VOICES};

pub use context::StepContext;
pub use pianoroll::PianoRollModel;
pub use voices::VoicesModel;

/// Voices decided top first: `TOP_FIRST[..n]` is the order of `n` voices
/// in a model that names none.
pub const TOP_FIRST: [usize; MAX_VOICES] = {
    let mut order = [0; MAX_VOICES];
    let mut v = 0;
    while v < MAX_VOICES {
        order[v] = v;
        v += 1;
    }
    order
};

/// What a step's choice of tokens may ask of a voices model once the step
/// has begun: any voice's logits given any tokens of the voices decided
/// before it, so a chord can be weighed as a whole before any voice is
/// committed.
pub trait Heads {
    /// The order the voices are decided in (see [`crate::ModelMeta::order`]).
    fn order(&self) -> &[usize] {
        &TOP_FIRST
    }
    /// Logits over voice `voice`'s vocabulary (see [`crate::token::VoiceRange::token`]) on
    /// the current step, given the step's tokens `chord` (one per voice, in
    /// register order), of which only the voices decided before `voice` are read.
    /// Empty for a voice the model lacks.
    fn voice_logits(&mut self, voice: usize, chord: &[Token]) -> &[f32];
}

/// A model of either kind, as loaded from a file.
#[derive(Clone, Debug)]
pub enum AnyModel {
    Voices(VoicesModel),
    PianoRoll(PianoRollModel),
}

impl AnyModel {
    /// Loads and checks a model file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        Ok(Self::from_file(ModelFile::load(path)?))
    }

    /// Loads a model held in memory (the embedded default, say).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        Ok(Self::from_file(ModelFile::from_bytes(bytes)?))
    }

    /// Builds the model from checked weights (names and shapes are guaranteed
    /// by [`ModelFile`], so building cannot go wrong).
    pub fn from_file(file: ModelFile) -> Self {
        match file.meta.kind {
            ModelKind::Voices => Self::Voices(VoicesModel::build(file)),
            ModelKind::Pianoroll => Self::PianoRoll(PianoRollModel::build(file)),
        }
    }

    pub fn meta(&self) -> &ModelMeta {
        match self {
            Self::Voices(m) => m.meta(),
            Self::PianoRoll(m) => m.meta(),
        }
    }

    pub fn kind(&self) -> ModelKind {
        self.meta().kind
    }

    /// The top layer's state (for plots of the hidden trajectory).
    pub fn hidden(&self) -> &[f32] {
        match self {
            Self::Voices(m) => m.hidden(),
            Self::PianoRoll(m) => m.hidden(),
        }
    }

    /// Whether the model can harmonize a melody (the window offers continue
    /// only when it cannot). A piano-roll model cannot: its NADE decides a
    /// frame's keys lowest first, so clamping the melody (the top key)
    /// would come after the keys below it were drawn without hearing it.
    /// The sequencer passes the input through when asked to harmonize with
    /// one.
    pub fn can_harmonize(&self) -> bool {
        matches!(self, Self::Voices(_))
    }

    /// Forgets the state.
    pub fn reset(&mut self) {
        match self {
            Self::Voices(m) => m.reset(),
            Self::PianoRoll(m) => m.reset(),
        }
    }

    /// The voices model, or an error saying this is a piano roll.
    pub fn into_voices(self) -> Result<VoicesModel, LoadError> {
        match self {
            Self::Voices(m) => Ok(m),
            Self::PianoRoll(_) => Err(LoadError::WrongKind {
                expected: ModelKind::Voices,
                found: ModelKind::Pianoroll,
            }),
        }
    }

    /// The piano-roll model, or an error saying this is a voices model.
    pub fn into_piano_roll(self) -> Result<PianoRollModel, LoadError> {
        match self {
            Self::PianoRoll(m) => Ok(m),
            Self::Voices(_) => Err(LoadError::WrongKind {
                expected: ModelKind::Pianoroll,
                found: ModelKind::Voices,
            }),
        }
    }
}

/// Compile-time check that the fixed voice bound fits the sampler's arrays.
const _: () = assert!(MAX_VOICES >= 4);
