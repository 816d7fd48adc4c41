//! Models: the embedded default, loading files off the audio thread, and
//! the lock-free hand-over to the audio thread (and back, to be freed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bach_engine::meta::FrameOutput;
use bach_engine::model::AnyModel;
use bach_engine::Key;
use crossbeam::queue::ArrayQueue;
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

/// A note for the window's piano roll, stamped with the plugin's running sample count.
#[derive(Clone, Copy, Debug)]
pub struct RollEvent {
    pub sample: i64,
    pub on: bool,
    pub pitch: u8,
    /// 0..4 for generated voices, 255 for the input.
    pub voice: u8,
    /// The key in use when it was sent, as an index into [`Key::ALL`] (-1
    /// for none yet), so the window names chords in the key they were
    /// played in. It fills padding (the event stays 16 bytes) and travels
    /// in the same lock-free push: nothing more for the audio thread.
    pub key: i8,
}

// The key byte costs the ring nothing: an event is still 16 bytes.
const _: () = assert!(std::mem::size_of::<RollEvent>() == 16);

/// State shared by the audio thread, the window and loader threads.
/// The audio thread only touches the lock-free queues and atomics.
pub struct Shared {
    /// Newly loaded models waiting for the audio thread.
    pub incoming: ArrayQueue<Box<Loaded>>,
    /// Models the audio thread let go of, freed elsewhere.
    pub retired: ArrayQueue<Box<Loaded>>,
    /// Notes for the piano roll.
    pub roll: ArrayQueue<RollEvent>,
    pub now: atomic_float::AtomicF64,
    pub sample_rate: atomic_float::AtomicF64,
    pub tempo: atomic_float::AtomicF64,
    /// The host's position in beats at `now` (NaN when it gives none) and
    /// its bar length in quarter notes, for the roll's bar lines.
    pub beats: atomic_float::AtomicF64,
    pub beats_per_bar: atomic_float::AtomicF64,
    /// The key in use as an index into [`Key::ALL`] (-1 for none yet), and
    /// whether it was estimated from the melody; written after each block.
    pub key: AtomicI32,
    pub key_estimated: AtomicBool,
    /// The latency the lookahead adds, in samples, as told to the host.
    pub latency: AtomicU32,
    /// The host's meter as `numerator << 8 | denominator` (0 for none yet).
    pub meter: AtomicU32,
    /// Every note sent, for "Save as MIDI" (a ring the audio thread writes).
    pub capture: crate::export::Capture,
    /// The window's text (main/GUI threads only).
    pub status: Mutex<Status>,
}

#[derive(Clone, Debug, Default)]
pub struct Status {
    pub info: Option<ModelInfo>,
    pub loading: bool,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// What the last "Save as MIDI" did: Ok(what was saved) or Err(why not).
    pub export: Option<Result<String, String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            incoming: ArrayQueue::new(2),
            retired: ArrayQueue::new(4),
            roll: ArrayQueue::new(4096),
            now: 0.0.into(),
            sample_rate: 48_000.0.into(),
            tempo: 120.0.into(),
            beats: f64::NAN.into(),
            beats_per_bar: 4.0.into(),
            key: AtomicI32::new(-1),
            key_estimated: AtomicBool::new(false),
            latency: AtomicU32::new(0),
            meter: AtomicU32::new(0),
            capture: Default::default(),
            status: Mutex::new(Status::default()),
        }
    }
}

impl Shared {
    /// The audio thread's news for the window: plain atomic stores.
    pub fn publish(&self, key: Option<Key>, estimated: bool, latency: u32) {
        let index = key.map_or(-1, |k| k.index() as i32);
        self.key.store(index, Ordering::Relaxed);
        self.key_estimated.store(estimated, Ordering::Relaxed);
        self.latency.store(latency, Ordering::Relaxed);
    }

    /// The host's meter, as last published (4/4 before any).
    pub fn meter(&self) -> bach_engine::Meter {
        let packed = self.meter.load(Ordering::Relaxed);
        bach_engine::Meter::checked((packed >> 8) as i64, (packed & 0xff) as i64)
            .unwrap_or(bach_engine::Meter::COMMON)
    }

    /// The key in use and whether it was estimated, as last published.
    pub fn key_in_use(&self) -> (Option<Key>, bool) {
        let index = self.key.load(Ordering::Relaxed);
        let key = usize::try_from(index).ok().and_then(Key::from_index);
        (key, self.key_estimated.load(Ordering::Relaxed))
    }

    /// Frees models the audio thread has retired (never called from it).
    pub fn free_retired(&self) {
        while self.retired.pop().is_some() {}
    }

    pub fn set_status(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// Loads a model on a new thread; on success it goes to the audio
    /// thread and becomes the project's choice, on failure the error is shown
    /// and the current model keeps playing.
    pub fn load_in_background(
        self: &Arc<Self>,
        wanted: ModelChoice,
        choice: Arc<std::sync::RwLock<ModelChoice>>,
    ) {
        let shared = self.clone();
        shared.set_status(|s| {
            s.loading = true;
            s.error = None;
        });
        let spawned = std::thread::Builder::new()
            .name("bach-model-loader".into())
            .spawn(move || {
                shared.free_retired();
                let result = Loaded::load(&wanted);
                match result {
                    Ok(loaded) => {
                        let info = loaded.info.clone();
                        // Room is made by draining: the audio thread takes at most one per block.
                        let mut pending = loaded;
                        loop {
                            match shared.incoming.push(pending) {
                                Ok(()) => break,
                                Err(back) => {
                                    pending = back;
                                    drop(shared.incoming.pop());
                                }
                            }
                        }
                        if let Ok(mut c) = choice.write() {
                            *c = wanted;
                        }
                        shared.set_status(|s| {
                            s.info = Some(info);
                            s.loading = false;
                            s.notice = None;
                        });
                    }
                    Err(e) => shared.set_status(|s| {
                        s.loading = false;
                        s.error = Some(format!("{wanted}: {e}"));
                    }),
                }
            });
        if let Err(e) = spawned {
            self.set_status(|s| {
                s.loading = false;
                s.error = Some(format!("could not start loading: {e}"));
            });
        }
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
