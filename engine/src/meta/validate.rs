//! Checking a model's metadata before anything is sized from it: a hostile
//! or broken file gets a clear error, never a huge buffer or a panic.

use super::{Feature, FrameOutput, ModelKind, ModelMeta, MAX_BAR_STEPS, MAX_HIDDEN, MAX_LAYERS};
use crate::token::MAX_VOICES;

impl ModelMeta {
    /// Checks that the numbers make sense, so loading can size buffers from them.
    pub fn validate(&self) -> Result<(), String> {
        // In this order, so a file with several faults names the same one
        // first as it always did.
        self.check_core()?;
        self.check_voices()?;
        self.check_frame()?;
        self.check_features()?;
        self.check_order()?;
        self.check_version()
    }

    /// The recurrent core and the grid: a version, layers, units, a step length.
    fn check_core(&self) -> Result<(), String> {
        if self.format_version == 0 {
            return Err("format_version 0 is not a valid version".into());
        }
        if self.layers == 0 || self.layers > MAX_LAYERS {
            return Err(format!(
                "layers is {}, expected 1 to {MAX_LAYERS}",
                self.layers
            ));
        }
        if self.hidden == 0 || self.hidden > MAX_HIDDEN {
            return Err(format!(
                "hidden is {}, expected 1 to {MAX_HIDDEN}",
                self.hidden
            ));
        }
        if !(self.step_beats.is_finite() && self.step_beats > 0.0 && self.step_beats <= 4.0) {
            return Err(format!(
                "step_beats is {}, expected a length in quarter notes between 0 and 4",
                self.step_beats
            ));
        }
        Ok(())
    }

    /// A voices model's voices and their ranges; a piano roll has none.
    fn check_voices(&self) -> Result<(), String> {
        match self.kind {
            ModelKind::Voices => {
                if self.voices.is_empty() || self.voices.len() > MAX_VOICES {
                    return Err(format!(
                        "a voices model needs 1 to {MAX_VOICES} voices, this one has {}",
                        self.voices.len()
                    ));
                }
                for v in &self.voices {
                    if v.low > v.high || v.high > 127 {
                        return Err(format!(
                            "voice {} has range {}..={}, expected MIDI pitches low <= high <= 127",
                            v.name, v.low, v.high
                        ));
                    }
                }
            }
            ModelKind::Pianoroll => {
                if !self.voices.is_empty() {
                    return Err("a piano-roll model has no voices".into());
                }
            }
        }
        Ok(())
    }

    /// An NADE frame output belongs to a piano roll, at a sane size.
    fn check_frame(&self) -> Result<(), String> {
        if let FrameOutput::Nade { hidden } = self.frame {
            if self.kind != ModelKind::Pianoroll {
                return Err("only a piano-roll model can have an NADE frame output".into());
            }
            if hidden == 0 || hidden > MAX_HIDDEN {
                return Err(format!(
                    "the NADE's hidden size is {hidden}, expected 1 to {MAX_HIDDEN}"
                ));
            }
        }
        Ok(())
    }

    /// The input features: the previous step first and once, each feature once, in bounds, and the musical context for voices models only.
    fn check_features(&self) -> Result<(), String> {
        let previous = self
            .features
            .iter()
            .filter(|f| **f == Feature::PreviousStep)
            .count();
        if previous != 1 || self.features.first() != Some(&Feature::PreviousStep) {
            return Err("features must start with previous_step, exactly once".into());
        }
        for (i, f) in self.features.iter().enumerate() {
            let kind = std::mem::discriminant(f);
            if self.features[..i]
                .iter()
                .any(|g| std::mem::discriminant(g) == kind)
            {
                return Err(format!("feature {f:?} appears more than once"));
            }
            match f {
                Feature::BarPosition { steps } if *steps == 0 || *steps > MAX_BAR_STEPS => {
                    return Err(format!(
                        "bar_position has {steps} steps, expected 1 to {MAX_BAR_STEPS}"
                    ));
                }
                Feature::Ahead { notes } if *notes == 0 || *notes > crate::ahead::MAX_AHEAD => {
                    return Err(format!(
                        "ahead has {notes} notes, expected 1 to {}",
                        crate::ahead::MAX_AHEAD
                    ));
                }
                Feature::Meter | Feature::KeyMode | Feature::Ahead { .. } | Feature::Sounding
                    if self.kind != ModelKind::Voices =>
                {
                    return Err(format!("{f:?} is a feature of voices models only"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The pair score, the heads' hidden layer and the decision order: voices models only, every voice once, the melody first.
    fn check_order(&self) -> Result<(), String> {
        if self.pair_score && self.kind != ModelKind::Voices {
            return Err("pair_score is a feature of voices models only".into());
        }
        if self.head_hidden > 0 && self.kind != ModelKind::Voices {
            return Err("head_hidden is a feature of voices models only".into());
        }
        if self.head_hidden > MAX_HIDDEN {
            return Err(format!(
                "head_hidden is {}, expected 0 to {MAX_HIDDEN}",
                self.head_hidden
            ));
        }
        if !self.order.is_empty() {
            let n = self.voices.len();
            let mut sorted = self.order.clone();
            sorted.sort_unstable();
            if !sorted.iter().copied().eq(0..n) {
                return Err(format!(
                    "order {:?} is not an order of the {n} voices",
                    self.order
                ));
            }
            // The melody is clamped: a head decided before it would not hear it.
            if self.order[0] != 0 {
                return Err(format!(
                    "order {:?} must decide the top voice (the melody) first",
                    self.order
                ));
            }
        }
        Ok(())
    }

    /// The format version can hold what the file uses.
    fn check_version(&self) -> Result<(), String> {
        if self.format_version < self.needed_version() {
            return Err(format!(
                "format_version {} cannot hold these features (needs {})",
                self.format_version,
                self.needed_version()
            ));
        }
        Ok(())
    }
}
