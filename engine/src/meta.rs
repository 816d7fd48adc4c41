//! Model metadata: the versioned JSON stored in a `.safetensors` file's header
//! under the key [`METADATA_KEY`]. It says what the weights mean, so the engine
//! can check every tensor against it before a model ever reaches the audio thread.

use serde::{Deserialize, Serialize};

use crate::model::context::{ahead_size, METER_SIZE, MODE_SIZE};
use crate::pianoroll::KEYS;
use crate::token::{VoiceSpec, MAX_VOICES};

/// The newest metadata format this engine reads. Version 2 added
/// [`ModelMeta::frame`] (version 1 files read as independent keys); version 3
/// the musical-context features [`Feature::Meter`], [`Feature::KeyMode`] and
/// [`Feature::Ahead`]; version 4 the voice-pair score of voices models'
/// heads ([`ModelMeta::pair_score`]); version 5 the heads' decision order
/// ([`ModelMeta::order`]) and pair intervals read by size
/// ([`ModelMeta::intervals_by_size`]). A model is written with the lowest
/// version that holds it ([`ModelMeta::needed_version`]), so older engines
/// still load what they can play.
pub const FORMAT_VERSION: u32 = 5;
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

/// The names the trainer's flags take these by (`--kind pianoroll`,
/// `--arch lstm`, `--init limit-cycle`): the model files' names for them.
/// Written out rather than derived, so the variants' doc comments do not
/// become the flags' help.
#[cfg(feature = "clap")]
mod flag_values {
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
}

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

/// Where a model came from and how well it did. It names files, never folders:
/// a model file is shared, and a path would carry its maker's home directory
/// and user name with it. The fields after `command` were added without a
/// format version (older readers ignore them; older files read them as absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The dataset's file (or folder) name, without its directory.
    pub dataset: String,
    #[serde(default)]
    pub split: String,
    #[serde(default)]
    pub epochs: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub valid_nll: Option<f64>,
    #[serde(default)]
    pub test_nll: Option<f64>,
    /// ISO 8601 date of the end of training.
    #[serde(default)]
    pub date: String,
    /// The command line that trained it, every path reduced to its file name.
    #[serde(default)]
    pub command: String,
    /// SHA-256 of the dataset (lowercase hex), so a score can be checked
    /// against the very data it was measured on, not just a file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_sha256: Option<String>,
    /// Pieces in each split of the dataset as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_sizes: Option<SplitSizes>,
    /// The program that trained it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainer: Option<TrainerBuild>,
    /// Every training setting by name (the trainer's; inference ignores them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Pieces per split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitSizes {
    pub train: usize,
    pub valid: usize,
    pub test: usize,
}

/// A trainer's version, and the source revision when it was built from a repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainerBuild {
    pub name: String,
    pub version: String,
    /// The commit it was built from (`git rev-parse HEAD`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
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
    #[serde(default)]
    pub training: Option<Provenance>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ModelMeta {
    /// Size of the core's input vector.
    pub fn input_size(&self) -> usize {
        self.features
            .iter()
            .map(|f| match f {
                Feature::PreviousStep => self.step_size(),
                Feature::BarPosition { steps } => *steps,
                Feature::Meter => METER_SIZE,
                Feature::KeyMode => MODE_SIZE,
                Feature::Ahead { notes } => ahead_size(*notes),
            })
            .sum()
    }

    /// The oldest format version that can describe this model.
    pub fn needed_version(&self) -> u32 {
        let context = self
            .features
            .iter()
            .any(|f| matches!(f, Feature::Meter | Feature::KeyMode | Feature::Ahead { .. }));
        if !self.order.is_empty() || self.intervals_by_size {
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
                Feature::Meter | Feature::KeyMode | Feature::Ahead { .. }
                    if self.kind != ModelKind::Voices =>
                {
                    return Err(format!("{f:?} is a feature of voices models only"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The pair score and the decision order: voices models only, every voice once, the melody first.
    fn check_order(&self) -> Result<(), String> {
        if self.pair_score && self.kind != ModelKind::Voices {
            return Err("pair_score is a feature of voices models only".into());
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
            training: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satb_sizes() {
        let m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.validate().unwrap();
        // 36 + 37 + 38 + 45 tokens, plus 16 positions.
        assert_eq!(m.step_size(), 36 + 37 + 38 + 45);
        assert_eq!(m.input_size(), 156 + 16);
        let shapes = m.tensor_shapes();
        assert_eq!(shapes[0], ("core.0.weight_ih".into(), vec![768, 172]));
        assert_eq!(shapes.last().unwrap(), &("head.3.bias".into(), vec![45]));
        assert_eq!(shapes[shapes.len() - 2].1, vec![45, 256 + 36 + 37 + 38]);
    }

    #[test]
    fn json_is_stable() {
        let m = ModelMeta::pianoroll(CoreKind::Lstm, 1, 8, 1.0);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""kind":"pianoroll""#), "{json}");
        assert!(json.contains(r#""core":"lstm""#), "{json}");
        assert!(
            json.contains(r#""features":[{"type":"previous_step"}]"#),
            "{json}"
        );
        let back: ModelMeta = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn nade_frames_add_their_tensors_and_say_so() {
        let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 32, 1.0);
        let independent = serde_json::to_string(&m).unwrap();
        // Version-1 readers never saw `frame`: independent models leave it out.
        assert!(!independent.contains("frame"), "{independent}");
        m.frame = FrameOutput::Nade { hidden: 20 };
        m.validate().unwrap();
        let shapes = m.tensor_shapes();
        let tail: Vec<_> = shapes[shapes.len() - 4..].to_vec();
        assert_eq!(
            tail,
            vec![
                ("nade.cond.weight".into(), vec![20, 32]),
                ("nade.cond.bias".into(), vec![20]),
                ("nade.in.weight".into(), vec![20, KEYS]),
                ("nade.out.weight".into(), vec![KEYS, 20]),
            ]
        );
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.contains(r#""frame":{"type":"nade","hidden":20}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ModelMeta>(&json).unwrap(), m);
        let old: ModelMeta = serde_json::from_str(&independent).unwrap();
        assert_eq!(old.frame, FrameOutput::Independent);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.hidden = 1 << 20;
        assert!(m.validate().unwrap_err().contains("hidden"));
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.voices[1].low = 90;
        assert!(m.validate().unwrap_err().contains("voice A"));
        let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
        m.features = vec![Feature::BarPosition { steps: 4 }];
        assert!(m.validate().unwrap_err().contains("previous_step"));
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.frame = FrameOutput::Nade { hidden: 8 };
        assert!(m.validate().unwrap_err().contains("NADE"));
        let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
        m.frame = FrameOutput::Nade { hidden: 0 };
        assert!(m.validate().unwrap_err().contains("NADE's hidden size"));
        for order in [
            vec![0, 3, 1],
            vec![0, 3, 1, 1],
            vec![0, 4, 1, 2],
            vec![0, 1, 2, 3, 3],
        ] {
            let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
            m.order = order;
            m.format_version = m.needed_version();
            assert!(
                m.validate().unwrap_err().contains("not an order"),
                "{:?}",
                m.order
            );
        }
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.order = vec![3, 0, 1, 2];
        m.format_version = m.needed_version();
        assert!(m.validate().unwrap_err().contains("top voice"));
        // An order needs format 5: an older reader would misread the heads.
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.order = vec![0, 3, 1, 2];
        m.format_version = 4;
        assert!(m.validate().unwrap_err().contains("needs 5"));
    }

    #[test]
    fn outer_voices_first_heads_read_the_voices_decided_before_them() {
        let mut m = ModelMeta::satb(CoreKind::Gru, 1, 8);
        m.pair_score = true;
        m.order = vec![0, 3, 1, 2];
        m.format_version = m.needed_version();
        assert_eq!(m.format_version, 5);
        m.validate().unwrap();
        assert_eq!(m.decided_before(0), Vec::<usize>::new());
        assert_eq!(m.decided_before(3), [0]);
        assert_eq!(m.decided_before(1), [0, 3]);
        assert_eq!(m.decided_before(2), [0, 3, 1]);
        let shapes: std::collections::HashMap<_, _> = m.tensor_shapes().into_iter().collect();
        let (s, a, t, b) = (36, 37, 38, 45);
        assert_eq!(shapes["head.0.weight"], [s, 8]);
        assert_eq!(shapes["head.3.weight"], [b, 8 + s]);
        assert_eq!(shapes["head.1.weight"], [a, 8 + s + b]);
        assert_eq!(shapes["head.2.weight"], [t, 8 + s + b + a]);
        assert!(!shapes.contains_key("head.0.pairs"));
        assert_eq!(shapes["head.3.pairs"], [crate::model::pairs::PAIR_FEATURES]);
        assert_eq!(
            shapes["head.2.pairs"],
            [3 * crate::model::pairs::PAIR_FEATURES]
        );
        // Top down is what a file without an order means, and it is written so.
        let plain = ModelMeta::satb(CoreKind::Gru, 1, 8);
        assert_eq!(plain.decision_order(), [0, 1, 2, 3]);
        assert!(!serde_json::to_string(&plain).unwrap().contains("order"));
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""order":[0,3,1,2]"#), "{json}");
        assert_eq!(serde_json::from_str::<ModelMeta>(&json).unwrap(), m);
    }
}
