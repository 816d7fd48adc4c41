//! The names the trainer's flags take these by (`--kind pianoroll`,
//! `--arch lstm`, `--init limit-cycle`): the model files' names for them.
//! Written out rather than derived, so the variants' doc comments do not
//! become the flags' help.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use super::{CoreKind, Init, ModelKind};

impl ValueEnum for ModelKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[ModelKind::Voices, ModelKind::Pianoroll]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            ModelKind::Voices => "voices",
            ModelKind::Pianoroll => "pianoroll",
        }))
    }
}

impl ValueEnum for CoreKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[CoreKind::Gru, CoreKind::Lstm, CoreKind::Tanh]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for Init {
    fn value_variants<'a>() -> &'a [Self] {
        &[Init::Default, Init::Orthogonal, Init::LimitCycle]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Init::Default => "default",
            Init::Orthogonal => "orthogonal",
            Init::LimitCycle => "limit-cycle",
        }))
    }
}
