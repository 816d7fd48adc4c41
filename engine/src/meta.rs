//! Model metadata: the versioned JSON stored in a `.safetensors` file's header
//! under the key [`METADATA_KEY`]. It says what the weights mean, so the engine
//! can check every tensor against it before a model ever reaches the audio thread.

use serde::{Deserialize, Serialize};

use crate::model::context::{ahead_size, METER_SIZE, MODE_SIZE};
use crate::model::sounding;
use crate::pianoroll::KEYS;
use crate::token::VoiceSpec;

/// The newest metadata format this engine reads. Version 2 added
/// [`ModelMeta::frame`] (version 1 files read as independent keys); version 3
/// the musical-context features [`Feature::Meter`], [`Feature::KeyMode`] and
/// [`Feature::Ahead`]; version 4 the voice-pair score of voices models'
/// heads ([`ModelMeta::pair_score`]); version 5 the heads' decision order
/// ([`ModelMeta::order`]) and pair intervals read by size
/// ([`ModelMeta::intervals_by_size`]); version 6 the feature
/// [`Feature::Sounding`]; version 7 the heads' hidden layer
/// ([`ModelMeta::head_hidden`]). A model is written with the lowest
/// version that holds it ([`ModelMeta::needed_version`]), so older engines
/// still load what they can play.
pub const FORMAT_VERSION: u32 = 7;
/// Key of the JSON entry in the safetensors `__metadata__` map.
pub const METADATA_KEY: &str = "bach";

/// Upper bounds that keep a hostile file from asking for absurd buffers.
pub const MAX_HIDDEN: usize = 4096;
pub const MAX_LAYERS: usize = 8;
pub use crate::meter::MAX_BAR_STEPS;

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// One token per voice and step (the harmonizer).
    Voices,
    /// 88 Bernoulli logits per frame.
    Pianoroll,
}

impl ModelKind {
    /// The kind as a reader says it.
    pub fn describe(self) -> &'static str {
        match self {
            ModelKind::Voices => "voices",
            ModelKind::Pianoroll => "piano-roll",
        }
    }
}

/// The recurrent core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoreKind {
    Gru,
    Lstm,
    /// Vanilla RNN, `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    Tanh,
}

impl CoreKind {
    /// Gate blocks stacked in the weight matrices (PyTorch order: GRU r,z,n; LSTM i,f,g,o).
    pub fn gates(self) -> usize {
        match self {
            CoreKind::Gru => 3,
            CoreKind::Lstm => 4,
            CoreKind::Tanh => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CoreKind::Gru => "gru",
            CoreKind::Lstm => "lstm",
            CoreKind::Tanh => "tanh",
        }
    }
}

/// How the weights were initialised before training (provenance; inference ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    Default,
    Orthogonal,
    LimitCycle,
}

/// The input features (defined beside their encoding in [`crate::model::context`]).
pub use crate::model::context::Feature;
#[cfg(feature = "clap")]
mod flag_values;
mod provenance;
mod validate;

pub use provenance::{Provenance, SplitSizes, TrainerBuild};

/// How a piano-roll model turns the core's state into a frame's 88 keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FrameOutput {
    /// Each key an independent Bernoulli given the state (the TCN papers' output).
    #[default]
    Independent,
    /// An NADE over the keys, lowest first, whose biases the state sets
    /// (Boulanger-Lewandowski et al. 2012's RNN-NADE): key k's probability
    /// depends on the state and on which keys below it sound, so a frame is
    /// a chord rather than 88 separate coin flips. `hidden` is the NADE's size.
    Nade { hidden: usize },
}

impl FrameOutput {
    pub fn is_independent(&self) -> bool {
        *self == FrameOutput::Independent
    }
}
/// Everything needed to interpret a model's tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format_version: u32,
    pub name: String,
    pub kind: ModelKind,
    pub core: CoreKind,
    pub layers: usize,
    pub hidden: usize,
    pub init: Init,
    /// Grid step length in quarter notes (0.25 = 16ths).
    pub step_beats: f64,
    /// Voices in prediction order (S, A, T, B); empty for piano-roll models.
    #[serde(default)]
    pub voices: Vec<VoiceSpec>,
    pub features: Vec<Feature>,
    /// Piano rolls: how the keys of a frame depend on each other.
    #[serde(default, skip_serializing_if = "FrameOutput::is_independent")]
    pub frame: FrameOutput,
    /// Voices models: each head below the top also scores a candidate's
    /// intervals with the voices above, now and before (`model::pairs`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub pair_score: bool,
    /// Voices models: the order the heads decide the voices in, as indices
    /// into `voices`, when it is not top first. `[0, 3, 1, 2]` decides the
    /// soprano, then the bass, then alto and tenor (outer voices first, as
    /// Bach taught): each head reads the tokens of the voices decided
    /// before it. `voices` stays in register order whatever the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<usize>,
    /// Voices models with the pair score: intervals are read by size, so
    /// two crossed voices a fifth apart make a fifth (before, the interval
    /// class was taken from the upper voice's part down, and a crossed fifth
    /// read as a fourth).
    #[serde(default, skip_serializing_if = "is_false")]
    pub intervals_by_size: bool,
    /// Voices models: each head also reads its input (the state and the
    /// tokens of the voices decided before it) through a hidden layer of
    /// this many ReLU units, whose output adds to the linear logits, so a
    /// voice's odds may depend on the state and the voices above together
    /// (0: the heads are linear).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub head_hidden: usize,
    #[serde(default)]
    pub training: Option<Provenance>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ModelMeta {
    /// Size of the core's input vector.
    pub fn input_size(&self) -> usize {
        self.features.iter().map(|f| self.feature_size(f)).sum()
    }

    /// Columns of one feature's block in the core's input.
    pub fn feature_size(&self, f: &Feature) -> usize {
        match f {
            Feature::PreviousStep => self.step_size(),
            Feature::BarPosition { steps } => *steps,
            Feature::Meter => METER_SIZE,
            Feature::KeyMode => MODE_SIZE,
            Feature::Ahead { notes } => ahead_size(*notes),
            // No allocation: `encode` asks this on the audio thread.
            Feature::Sounding => sounding::block_size(self.voices.iter().map(|v| v.range())),
        }
    }

    /// Where the block of `feature` starts in the core's input, if the
    /// model has it.
    pub fn feature_offset(&self, feature: &Feature) -> Option<usize> {
        let at = self.features.iter().position(|f| f == feature)?;
        Some(
            self.features[..at]
                .iter()
                .map(|f| self.feature_size(f))
                .sum(),
        )
    }

    /// Whether the model hears what each voice sounds and for how long
    /// ([`Feature::Sounding`]).
    pub fn hears_sounding(&self) -> bool {
        self.features.contains(&Feature::Sounding)
    }

    /// The oldest format version that can describe this model.
    pub fn needed_version(&self) -> u32 {
        let context = self
            .features
            .iter()
            .any(|f| matches!(f, Feature::Meter | Feature::KeyMode | Feature::Ahead { .. }));
        if self.head_hidden > 0 {
            7
        } else if self.hears_sounding() {
            6
        } else if !self.order.is_empty() || self.intervals_by_size {
            5
        } else if self.pair_score {
            4
        } else if context {
            3
        } else if !self.frame.is_independent() {
            2
        } else {
            1
        }
    }

    /// Whether the model hears the meter ([`Feature::Meter`]).
    pub fn hears_meter(&self) -> bool {
        self.features.contains(&Feature::Meter)
    }

    /// Whether the model harmonizes in a key-normalised frame ([`Feature::KeyMode`]).
    pub fn knows_key(&self) -> bool {
        self.features.contains(&Feature::KeyMode)
    }

    /// How many melody notes ahead the model is told (0: it cannot look ahead).
    pub fn ahead_notes(&self) -> usize {
        self.features
            .iter()
            .find_map(|f| match f {
                Feature::Ahead { notes } => Some(*notes),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The order the heads decide the voices in (see [`ModelMeta::order`]):
    /// top first unless the model says otherwise.
    pub fn decision_order(&self) -> Vec<usize> {
        match self.order.is_empty() {
            true => (0..self.voices.len()).collect(),
            false => self.order.clone(),
        }
    }

    /// The voices whose tokens voice `v`'s head reads (and whose intervals
    /// its pair score weighs), in the order they are decided: those decided
    /// before `v`.
    pub fn decided_before(&self, v: usize) -> Vec<usize> {
        let order = self.decision_order();
        let at = order.iter().position(|&u| u == v).unwrap_or(order.len());
        order[..at].to_vec()
    }

    /// Number of output heads: one per voice, or the piano roll's one.
    pub fn heads(&self) -> usize {
        match self.kind {
            ModelKind::Voices => self.voices.len(),
            ModelKind::Pianoroll => 1,
        }
    }

    /// Size of the one-hot/multi-hot block for one step's content.
    pub fn step_size(&self) -> usize {
        match self.kind {
            ModelKind::Voices => self.voices.iter().map(|v| v.range().vocab()).sum(),
            ModelKind::Pianoroll => KEYS,
        }
    }

    /// Steps per bar for the position feature, if the model has one.
    pub fn bar_steps(&self) -> Option<usize> {
        self.features.iter().find_map(|f| match f {
            Feature::BarPosition { steps } => Some(*steps),
            _ => None,
        })
    }

    /// The NLL reported on the test split, if any.
    pub fn test_nll(&self) -> Option<f64> {
        self.training.as_ref().and_then(|t| t.test_nll)
    }

    /// Expected shape of every tensor, by name, in file order.
    /// Core layer `l`: `core.{l}.weight_ih` `[G*H, in]`, `core.{l}.weight_hh` `[G*H, H]`,
    /// `core.{l}.bias_ih` and `core.{l}.bias_hh` `[G*H]` (PyTorch layout and gate order).
    /// Head `v` (voices in register order): `head.{v}.weight` `[vocab_v, H +
    /// sum of vocab_u for the voices u decided before v]` (their one-hot
    /// columns in decision order, see [`ModelMeta::decided_before`]) and
    /// `head.{v}.bias` `[vocab_v]`, and with [`ModelMeta::pair_score`] for a
    /// voice not decided first `head.{v}.pairs` `[k * PAIR_FEATURES]`, the
    /// weights of its pair with the `j`-th of the `k` voices decided before
    /// it at `j * PAIR_FEATURES`; a piano-roll model has one head of 88 rows on `H`.
    /// An NADE frame output of size `N` adds `nade.cond.weight` `[N, H]` and
    /// `nade.cond.bias` `[N]` (its hidden biases from the state), `nade.in.weight`
    /// `[N, 88]` (what each sounding key adds to the hidden units of the keys
    /// above it) and `nade.out.weight` `[88, N]` (hidden units to key logits);
    /// the head then gives the NADE's visible biases.
    /// With [`ModelMeta::head_hidden`] `D`, head `v` adds
    /// `head.{v}.hidden.weight` `[D, H + above]` (columns as `head.{v}.weight`),
    /// `head.{v}.hidden.bias` `[D]` and `head.{v}.out.weight` `[vocab_v, D]`.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let h = self.hidden;
        let g = self.core.gates() * h;
        let mut shapes = Vec::new();
        for l in 0..self.layers {
            let input = if l == 0 { self.input_size() } else { h };
            shapes.push((format!("core.{l}.weight_ih"), vec![g, input]));
            shapes.push((format!("core.{l}.weight_hh"), vec![g, h]));
            shapes.push((format!("core.{l}.bias_ih"), vec![g]));
            shapes.push((format!("core.{l}.bias_hh"), vec![g]));
        }
        match self.kind {
            ModelKind::Voices => {
                for (v, voice) in self.voices.iter().enumerate() {
                    let vocab = voice.range().vocab();
                    let earlier = self.decided_before(v);
                    let above: usize = earlier
                        .iter()
                        .map(|&u| self.voices[u].range().vocab())
                        .sum();
                    shapes.push((format!("head.{v}.weight"), vec![vocab, h + above]));
                    shapes.push((format!("head.{v}.bias"), vec![vocab]));
                    if self.pair_score && !earlier.is_empty() {
                        let n = earlier.len() * crate::model::pairs::PAIR_FEATURES;
                        shapes.push((format!("head.{v}.pairs"), vec![n]));
                    }
                    if self.head_hidden > 0 {
                        let d = self.head_hidden;
                        shapes.push((format!("head.{v}.hidden.weight"), vec![d, h + above]));
                        shapes.push((format!("head.{v}.hidden.bias"), vec![d]));
                        shapes.push((format!("head.{v}.out.weight"), vec![vocab, d]));
                    }
                }
            }
            ModelKind::Pianoroll => {
                shapes.push(("head.0.weight".into(), vec![KEYS, h]));
                shapes.push(("head.0.bias".into(), vec![KEYS]));
            }
        }
        if let FrameOutput::Nade { hidden: n } = self.frame {
            shapes.push(("nade.cond.weight".into(), vec![n, h]));
            shapes.push(("nade.cond.bias".into(), vec![n]));
            shapes.push(("nade.in.weight".into(), vec![n, KEYS]));
            shapes.push(("nade.out.weight".into(), vec![KEYS, n]));
        }
        shapes
    }

    /// The standard SATB chorale layout on a 16th grid. The ranges are those of
    /// the JSB chorales (S 60-81, A 52-74, T 46-69, B 36-66) widened by six
    /// semitones each way, so every chorale can be transposed into all twelve keys.
    pub fn satb(core: CoreKind, layers: usize, hidden: usize) -> Self {
        let voice = |name: &str, low, high| VoiceSpec {
            name: name.into(),
            low,
            high,
        };
        Self {
            format_version: 2,
            name: "chorale-satb".into(),
            kind: ModelKind::Voices,
            core,
            layers,
            hidden,
            init: Init::Default,
            step_beats: 0.25,
            voices: vec![
                voice("S", 54, 87),
                voice("A", 46, 80),
                voice("T", 40, 75),
                voice("B", 30, 72),
            ],
            features: vec![Feature::PreviousStep, Feature::BarPosition { steps: 16 }],
            frame: FrameOutput::Independent,
            pair_score: false,
            order: Vec::new(),
            intervals_by_size: false,
            head_hidden: 0,
            training: None,
        }
    }

    /// A piano-roll model's layout (`step_beats` as in the dataset: 1 for JSB, 0.5 otherwise).
    pub fn pianoroll(core: CoreKind, layers: usize, hidden: usize, step_beats: f64) -> Self {
        Self {
            format_version: 2,
            name: "pianoroll".into(),
            kind: ModelKind::Pianoroll,
            core,
            layers,
            hidden,
            init: Init::Default,
            step_beats,
            voices: Vec::new(),
            features: vec![Feature::PreviousStep],
            frame: FrameOutput::Independent,
            pair_score: false,
            order: Vec::new(),
            intervals_by_size: false,
            head_hidden: 0,
            training: None,
        }
    }
}

#[cfg(test)]
mod tests;
