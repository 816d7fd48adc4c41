//! What the sequencer plays: a voices model or a piano-roll model.
//!
//! [`Sequencer::process`](super::Sequencer::process) takes anything
//! [`Playable`]: every [`VoiceStepper`] (the harmonizer, a test's scripted
//! model), a [`PianoRollModel`], or an [`AnyModel`] as loaded from a file,
//! so a plugin hands over whatever it loaded. The sequencer sees a
//! [`Played`]: a plain borrow of one kind or the other, matched once per
//! step, with no boxing and nothing allocated.

use crate::model::{AnyModel, PianoRollModel, VoicesModel};
use crate::perform::{Performer, VoiceStepper};

use super::Mode;

/// A model the sequencer can play, lent as one of its two kinds.
pub trait Playable {
    /// The voices model type behind [`Played::Voices`] (unused by a piano roll).
    type Voices: VoiceStepper + ?Sized;
    /// The model as the sequencer plays it.
    fn played(&mut self) -> Played<'_, Self::Voices>;
}

/// One kind of model, borrowed for a block.
pub enum Played<'a, V: VoiceStepper + ?Sized> {
    /// One token per voice and step: harmonizes and continues.
    Voices(&'a mut V),
    /// 88 keys per frame: continues only (see [`Played::harmonizes`]).
    PianoRoll(&'a mut PianoRollModel),
}

impl<M: VoiceStepper + ?Sized> Playable for M {
    type Voices = M;
    fn played(&mut self) -> Played<'_, M> {
        Played::Voices(self)
    }
}

impl Playable for PianoRollModel {
    type Voices = dyn VoiceStepper;
    fn played(&mut self) -> Played<'_, dyn VoiceStepper> {
        Played::PianoRoll(self)
    }
}

impl Playable for AnyModel {
    type Voices = VoicesModel;
    fn played(&mut self) -> Played<'_, VoicesModel> {
        match self {
            AnyModel::Voices(m) => Played::Voices(m),
            AnyModel::PianoRoll(m) => Played::PianoRoll(m),
        }
    }
}

impl<V: VoiceStepper + ?Sized> Played<'_, V> {
    /// Grid step in quarter notes (the model's own: a piano roll's frame).
    pub fn step_beats(&self) -> f64 {
        match self {
            Played::Voices(m) => m.step_beats(),
            Played::PianoRoll(m) => m.meta().step_beats,
        }
    }

    /// Whether the model can harmonize a melody. A piano-roll model cannot:
    /// its NADE decides the keys of a frame lowest first, so the melody (the
    /// top key) would be clamped after the keys below it were drawn without
    /// hearing it; in harmonize mode it plays the input through instead.
    pub fn harmonizes(&self) -> bool {
        matches!(self, Played::Voices(_))
    }

    /// Whether the model plays anything in `mode` (a voices model without
    /// voices, or a piano roll asked to harmonize, passes the input through).
    pub fn plays(&self, mode: Mode) -> bool {
        match self {
            Played::Voices(m) => m.voice_count() > 0,
            Played::PianoRoll(_) => mode == Mode::Continue,
        }
    }

    /// Whether the model is told the melody ahead (lookahead adds latency only then).
    pub fn looks_ahead(&self) -> bool {
        match self {
            Played::Voices(m) => m.looks_ahead() && m.voice_count() > 0,
            Played::PianoRoll(_) => false,
        }
    }

    /// Starts the model and `performer` afresh from `seed`.
    pub fn restart(&mut self, performer: &mut Performer, seed: u64) {
        match self {
            Played::Voices(m) => performer.restart(&mut **m, seed),
            Played::PianoRoll(m) => performer.restart_piano_roll(m, seed),
        }
    }
}
