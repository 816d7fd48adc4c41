//! Models: the ones built in, a project's choice, and loading one (off the
//! audio thread: [`crate::loader`] hands it over).

use std::path::{Path, PathBuf};

use bach_engine::meta::FrameOutput;
use bach_engine::model::AnyModel;
use serde::{Deserialize, Serialize};

/// A model compiled into the binary.
pub struct Embedded {
    /// Saved with projects that use it.
    pub name: &'static str,
    /// What a musician reads for it in the picker.
    pub title: &'static str,
    pub bytes: &'static [u8],
}

/// Models compiled into the binary, so the plugin works with no files
/// installed: the harmonizer first (the default), then piano-roll models
/// that continue what is played.
pub const EMBEDDED: &[Embedded] = &[
    Embedded {
        name: "chorale-satb",
        title: "Bach chorales: harmonize or continue",
        bytes: bach_engine::DEFAULT_MODEL,
    },
    Embedded {
        name: "nottingham-pianoroll-gru-nade",
        title: "Folk tunes (Nottingham): continue",
        bytes: include_bytes!("../../models/nottingham-pianoroll-gru-nade.safetensors"),
    },
    Embedded {
        name: "jsb-pianoroll-lstm-nade",
        title: "Bach, polyphonic (piano roll): continue",
        bytes: include_bytes!("../../models/jsb-pianoroll-lstm-nade.safetensors"),
    },
];

/// The built-in model called `name`.
pub fn embedded(name: &str) -> Option<&'static Embedded> {
    EMBEDDED.iter().find(|e| e.name == name)
}

/// Which model a project uses; saved with the project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ModelChoice {
    Embedded(String),
    File(PathBuf),
}

impl Default for ModelChoice {
    fn default() -> Self {
        ModelChoice::Embedded(EMBEDDED[0].name.to_string())
    }
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelChoice::Embedded(name) => write!(f, "{name} (built in)"),
            ModelChoice::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// What the window shows about a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub choice: ModelChoice,
    pub name: String,
    pub kind: String,
    pub test_nll: Option<f64>,
    /// Whether it can harmonize a melody (a piano roll only continues).
    pub harmonizes: bool,
    /// Which of the musical context the model was trained to use.
    pub knows_key: bool,
    pub hears_meter: bool,
    pub looks_ahead: bool,
}

/// A model ready to play, with its description.
pub struct Loaded {
    pub model: AnyModel,
    pub info: ModelInfo,
}

/// Why a model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("no built-in model is called {0:?}")]
    UnknownEmbedded(String),
    #[error(transparent)]
    Load(#[from] bach_engine::file::LoadError),
}

impl Loaded {
    pub fn load(choice: &ModelChoice) -> Result<Box<Self>, LibraryError> {
        let model = match choice {
            ModelChoice::Embedded(name) => {
                let model =
                    embedded(name).ok_or_else(|| LibraryError::UnknownEmbedded(name.clone()))?;
                AnyModel::from_bytes(model.bytes)?
            }
            ModelChoice::File(path) => AnyModel::load(path)?,
        };
        let meta = model.meta();
        let core = format!("{} {} × {}", meta.core.name(), meta.layers, meta.hidden);
        let kind = match &model {
            AnyModel::Voices(_) => format!("{} voices, {core}", meta.voices.len()),
            AnyModel::PianoRoll(_) => {
                let grid = if meta.step_beats == 0.5 {
                    "8ths".to_string()
                } else if meta.step_beats == 1.0 {
                    "quarters".to_string()
                } else {
                    format!("{} beats", meta.step_beats)
                };
                let nade = match meta.frame {
                    FrameOutput::Nade { hidden } => format!(", NADE {hidden}"),
                    FrameOutput::Independent => String::new(),
                };
                format!("piano roll in {grid}, {core}{nade}")
            }
        };
        let info = ModelInfo {
            choice: choice.clone(),
            name: meta.name.clone(),
            kind,
            test_nll: meta.test_nll(),
            harmonizes: model.can_harmonize(),
            knows_key: meta.knows_key(),
            hears_meter: meta.hears_meter(),
            looks_ahead: meta.ahead_notes() > 0,
        };
        Ok(Box::new(Self { model, info }))
    }

    /// The built-in default; it is checked by the tests, so it cannot fail.
    pub fn default_model() -> Box<Self> {
        Self::load(&ModelChoice::default()).expect("the embedded default model is valid")
    }
}

/// The model to use for a saved choice: the file if it loads, otherwise the
/// default with a notice saying why.
pub fn restore(choice: &ModelChoice) -> (Box<Loaded>, Option<String>) {
    match Loaded::load(choice) {
        Ok(m) => (m, None),
        Err(e) => {
            let notice = format!(
                "The project's model {choice} could not be loaded ({e}); playing the built-in default instead."
            );
            (Loaded::default_model(), Some(notice))
        }
    }
}

/// Whether `path` looks like a model file (for the window's hint).
pub fn is_model_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}
