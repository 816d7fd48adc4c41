//! # bach-engine
//!
//! The realtime core shared by the plugin and the command line: the music
//! representation (voice tokens on a grid, the 88-key piano roll), MIDI files,
//! the model file format, allocation-free recurrent inference and sampling.
//! Nothing here has a GUI or trains; everything reachable from a
//! [`perform::Performer`] step and [`sequencer::Sequencer::process`] is free
//! of allocation, locks and I/O so it can run on a plugin's audio thread.

pub mod ahead;
pub mod chord;
pub mod error_line;
pub mod file;
pub mod key;
pub mod meta;
pub mod meter;
pub mod midi;
pub mod model;
pub mod nn;
pub mod organ;
pub mod perform;
pub mod pianoroll;
pub mod sampling;
pub mod score;
pub mod sequencer;
pub mod token;
pub mod voice_leading;

/// The default model (`models/chorale-satb.safetensors`, the SATB chorale
/// harmonizer), compiled in once here so the plugin and the `bach` command
/// work with no files installed.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../models/chorale-satb.safetensors");

pub use ahead::{Ahead, Horizon};
pub use error_line::error_line;
pub use file::{FileError, LoadError, ModelFile};
pub use key::{Key, KeyEstimator, Mode};
pub use meta::{
    CoreKind, Feature, FrameOutput, Init, ModelKind, ModelMeta, Provenance, SplitSizes,
    TrainerBuild,
};
pub use meter::{BarPosition, Meter, MeterRegion};
pub use model::{AnyModel, PianoRollModel, StepContext, VoicesModel};
pub use perform::Performer;
pub use pianoroll::KeyFrame;
pub use sampling::{Rng, Sampler};
pub use token::{Token, VoiceRange, VoiceSpec};
