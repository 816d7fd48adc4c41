//! A piano-roll model: 88 Bernoulli logits per frame, the keys independent
//! or, through an NADE, each hearing the keys below it.

use std::path::Path;

use crate::file::{LoadError, ModelFile};
use crate::meta::{FrameOutput, ModelMeta};
use crate::nn::Nade;
use crate::pianoroll::{KeyFrame, KEYS};

use super::core::{take, Core};
use super::head::Head;
use super::AnyModel;

/// A piano-roll model with its state and scratch buffers.
#[derive(Clone, Debug)]
pub struct PianoRollModel {
    core: Core,
    head: Head,
    /// With an NADE frame output: the keys' dependence on each other.
    nade: Option<Nade>,
    logits: Vec<f32>,
}

impl PianoRollModel {
    /// Loads and checks a model file; a voices model is an error.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        AnyModel::load(path)?.into_piano_roll()
    }

    /// Loads a model held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        AnyModel::from_bytes(bytes)?.into_piano_roll()
    }

    /// Builds the model from checked weights of a piano-roll model.
    pub(crate) fn build(mut file: ModelFile) -> Self {
        let core = Core::new(&mut file, KEYS);
        let bias = take(&mut file, "head.0.bias".into());
        let weight = take(&mut file, "head.0.weight".into());
        let head = Head::new(bias.len(), core.meta.hidden, &weight, bias);
        let nade = match core.meta.frame {
            FrameOutput::Independent => None,
            FrameOutput::Nade { .. } => Some(Nade::new(
                take(&mut file, "nade.cond.weight".into()),
                take(&mut file, "nade.cond.bias".into()),
                &take(&mut file, "nade.in.weight".into()),
                take(&mut file, "nade.out.weight".into()),
            )),
        };
        Self {
            logits: vec![0.0; head.vocab.max(KEYS)],
            head,
            nade,
            core,
        }
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.core.meta
    }

    /// The top layer's state (for plots of the hidden trajectory).
    pub fn hidden(&self) -> &[f32] {
        self.core.hidden()
    }

    /// Zero state.
    pub fn reset(&mut self) {
        self.core.reset();
    }

    /// Advances the core by one frame, reading the previous frame (`None`
    /// on the first frame).
    pub fn advance_keys(&mut self, previous: Option<&KeyFrame>) {
        self.core.advance(
            previous.into_iter().flat_map(|f| f.keys()),
            &super::StepContext::default(),
        );
    }

    /// The 88 Bernoulli logits for the current frame: key k's given that the
    /// keys below it sound as in `given` (an NADE frame output reads them;
    /// independent keys ignore them).
    pub fn key_logits(&mut self, given: &KeyFrame) -> &[f32] {
        self.walk_keys(|k, _| given.contains_key(k));
        &self.logits[..KEYS]
    }

    /// Fills the current frame's key logits, lowest key first (read them
    /// after with [`frame_logits`](Self::frame_logits)). `sounds(k, logit)`
    /// says whether key k sounds; through an NADE the keys above hear it.
    /// Returns the keys that sounded.
    pub fn walk_keys(&mut self, mut sounds: impl FnMut(usize, f32) -> bool) -> KeyFrame {
        let top = self.core.hidden();
        self.head.forward(top, &mut self.logits);
        if let Some(nade) = &mut self.nade {
            nade.begin(top);
        }
        let mut frame = KeyFrame::EMPTY;
        for k in 0..KEYS {
            if let Some(nade) = &mut self.nade {
                self.logits[k] = nade.logit(k, self.logits[k]);
            }
            if sounds(k, self.logits[k]) {
                frame.insert_key(k);
                if let Some(nade) = &mut self.nade {
                    nade.sound(k);
                }
            }
        }
        frame
    }

    /// The key logits the last [`walk_keys`](Self::walk_keys) filled.
    pub fn frame_logits(&self) -> &[f32] {
        &self.logits[..KEYS]
    }
}
