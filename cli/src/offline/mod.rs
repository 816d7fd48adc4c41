//! Offline harmonize, continue and generate: the plugin's engine stepping
//! run on a MIDI file instead of a live host, for users without a DAW.
//!
//! [`harmonize()`] and [`continue_from`] play the file through the engine's
//! pretend host ([`bach_engine::sequencer::session`]), which drives the
//! [`bach_engine::sequencer::Sequencer`] block by block exactly as the plugin does, so for the same model, seed,
//! tempo and input the notes are the plugin's. [`generate()`] starts from
//! silence, where the sequencer (which only answers what it heard) has nothing
//! to do, so it steps the model directly as the sequencer does on its turn.

pub mod chords;
pub mod command;
pub mod continuation;
pub mod generate;
pub mod harmonize;
pub mod keys;
pub mod melody;

use bach_engine::model::{AnyModel, VoicesModel};
use bach_engine::perform::KeyChoice;
use bach_engine::score::{Part, Score};
use bach_engine::sequencer::session::{Overflow, Session};
use bach_engine::sequencer::{Mode, Settings};
use bach_engine::{Horizon, Key};

pub use bach_engine::sequencer::session::{HostNote, Timeline, VoiceEvent};
pub use continuation::{continue_from, continue_piano_roll};
pub use generate::generate;
pub use harmonize::harmonize;

/// What can go wrong turning a file into music.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("the model is a piano-roll model; this needs a voices model (such as the chorale SATB model)")]
    NotVoices,
    #[error("the model has {0} voice(s); harmonizing needs a melody voice and at least one more")]
    TooFewVoices(usize),
    #[error("the file has no melody: no part has notes")]
    NoMelody,
    #[error("track {0:?} has no notes")]
    EmptyTrack(String),
    #[error("no track {choice:?}; the file has: {available}")]
    NoSuchTrack { choice: String, available: String },
    #[error("tempo {0} bpm is not usable: give 1 to 1000")]
    BadTempo(f64),
    #[error("temperature {0} is not usable: give a finite number of 0 or more")]
    BadTemperature(f32),
    #[error("timing {0} ms is not usable: give a finite number of 0 or more")]
    BadTiming(f64),
    #[error("--bars must be at least 1")]
    NoBars,
    #[error("{0} bars is too long (at most 4096)")]
    TooManyBars(u32),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// Most bars `continue` and `generate` will make.
pub const MAX_BARS: u32 = 4096;

/// The user's choices shared by the three commands.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub temperature: f32,
    /// Strict voice leading (no parallel fifths or octaves), as in the plugin.
    pub strict: bool,
    pub seed: u64,
    /// Overrides the file's tempo map.
    pub bpm: Option<f64>,
    /// The melody track (harmonize): a number from 1 or a name.
    pub track: Option<String>,
    /// The key of the harmony (harmonize; for models that know keys).
    pub key: KeyChoice,
    /// How far ahead the harmony hears the melody (harmonize). Off, a beat
    /// and a bar play the file through the pretend host, as the plugin with
    /// that Lookahead; the whole melody is for files only. The default is
    /// the plugin's (off); the `bach` command's is the whole melody.
    pub lookahead: Horizon,
    /// How late a melody note may be and still count as on its step, in
    /// milliseconds (the plugin's Timing; off, a beat and a bar only).
    pub timing_ms: f64,
    /// The file's notes as played, per part ([`bach_engine::midi::read_played`]):
    /// off, a beat and a bar play the melody so timed, as a host plays a
    /// recorded track to the plugin. `None`: on the grid, as read.
    pub played: Option<Vec<Vec<bach_engine::midi::PlayedNote>>>,
}

impl Default for Options {
    fn default() -> Self {
        let s = Settings::default();
        Self {
            temperature: s.temperature,
            strict: s.strict,
            seed: s.seed,
            bpm: None,
            track: None,
            key: s.key,
            lookahead: s.lookahead,
            timing_ms: s.timing_ms,
            played: None,
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), OfflineError> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(OfflineError::BadTemperature(self.temperature));
        }
        if !(self.timing_ms.is_finite() && self.timing_ms >= 0.0) {
            return Err(OfflineError::BadTiming(self.timing_ms));
        }
        if let Some(bpm) = self.bpm {
            if !(bpm.is_finite() && (1.0..=1000.0).contains(&bpm)) {
                return Err(OfflineError::BadTempo(bpm));
            }
        }
        Ok(())
    }

    /// The plugin's default settings with this mode, temperature and seed.
    fn settings(&self, mode: Mode) -> Settings {
        Settings {
            mode,
            temperature: self.temperature,
            strict: self.strict,
            seed: self.seed,
            key: self.key,
            lookahead: self.lookahead,
            timing_ms: self.timing_ms,
            ..Settings::default()
        }
    }
}

/// The result of a command: the score to write, and the pretend host session
/// it came from (for comparing with the plugin in tests).
#[derive(Clone, Debug)]
pub struct Offline {
    pub score: Score,
    pub timeline: Timeline,
    /// What the pretend host played: its transport, the input notes as it
    /// sent them, and how many samples.
    pub session: Session,
    /// The part that is the melody the user gave (harmonize's), if any.
    pub melody: Option<usize>,
    /// The voices' note events as the sequencer sent them (with the
    /// lookahead's delay taken off, as a host compensates it); for the whole
    /// melody, the written voices' notes as events.
    pub events: Vec<VoiceEvent>,
    /// Harmonize: the key the harmony used.
    pub key: Option<KeyUsed>,
    /// The key the harmony was played in at each step, where the
    /// performance chose one (harmonize); empty for music played in no key.
    pub keys: Vec<Option<Key>>,
}

/// The key a harmonization used, for the command to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsed {
    /// The key the user gave.
    Set(Key),
    /// Estimated from the whole melody before the first note: its home
    /// key, and how many passages were heard in a related key.
    WholeMelody(Key, usize),
    /// Followed as the melody was heard; the key at the end (`None`: none found).
    Followed(Option<Key>),
    /// The model harmonizes in no key.
    NoKeys,
}

impl std::fmt::Display for KeyUsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyUsed::Set(k) => write!(f, "{} (as given)", k.name()),
            KeyUsed::WholeMelody(k, 0) => write!(f, "{} (from the melody)", k.name()),
            KeyUsed::WholeMelody(k, 1) => write!(
                f,
                "{} (from the melody, with one passage in a related key)",
                k.name()
            ),
            KeyUsed::WholeMelody(k, n) => write!(
                f,
                "{} (from the melody, with {n} passages in related keys)",
                k.name()
            ),
            KeyUsed::Followed(Some(k)) => {
                write!(
                    f,
                    "{} (followed from the melody; the key at its end)",
                    k.name()
                )
            }
            KeyUsed::Followed(None) => write!(f, "none found in the melody"),
            KeyUsed::NoKeys => write!(f, "none (this model knows no keys)"),
        }
    }
}

impl Offline {
    /// The chord changes, named in the key of each step: the one the
    /// harmony was played in, else the one estimated from the top line.
    pub fn chords(&self) -> Vec<chords::Change> {
        let keys = if self.keys.iter().any(Option::is_some) {
            self.keys.clone()
        } else {
            keys::estimated(&self.score, crate::render::end_step(&self.score))
        };
        chords::changes(&self.score, &keys)
    }

    /// What the picture's legend calls each part: its name, and for the
    /// melody that was given, "(melody)" after it.
    pub fn legend(&self) -> Vec<String> {
        self.score
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| match self.melody {
                Some(m) if m == i => format!("{} (melody)", p.name),
                _ => p.name.clone(),
            })
            .collect()
    }
}

/// The voices model a harmonize or continue needs, from a loaded file.
pub fn voices_model(model: AnyModel) -> Result<VoicesModel, OfflineError> {
    match model {
        AnyModel::Voices(m) => Ok(m),
        AnyModel::PianoRoll(_) => Err(OfflineError::NotVoices),
    }
}

fn check_voices_model(model: &VoicesModel) -> Result<usize, OfflineError> {
    let n = model.voices();
    if n == 0 {
        return Err(OfflineError::TooFewVoices(0));
    }
    Ok(n)
}

fn check_bars(bars: u32) -> Result<(), OfflineError> {
    match bars {
        0 => Err(OfflineError::NoBars),
        b if b > MAX_BARS => Err(OfflineError::TooManyBars(b)),
        _ => Ok(()),
    }
}

/// A readable track name for voice `v` of the model ("S" becomes "Soprano").
pub fn voice_name(model: &VoicesModel, v: usize) -> String {
    let name = model
        .meta()
        .voices
        .get(v)
        .map_or_else(|| format!("Voice {}", v + 1), |s| s.name.clone());
    match name.as_str() {
        "S" => "Soprano".into(),
        "A" => "Alto".into(),
        "T" => "Tenor".into(),
        "B" => "Bass".into(),
        _ => name,
    }
}

/// Tempo map of the output: the file's, or the user's one tempo.
fn tempo_map(score: &Score, bpm: Option<f64>) -> Vec<bach_engine::score::TempoChange> {
    match bpm {
        Some(bpm) => vec![bach_engine::score::TempoChange { step: 0, bpm }],
        None => score.tempos.clone(),
    }
}

/// The host beat of step 0: a pickup starts part-way into the model's bar,
/// so the downbeat after it falls on a bar line of the model's grid.
fn origin_beats(score: &Score, bar_steps: usize) -> f64 {
    let bar_steps = bar_steps.max(1);
    (score.position_in_bar(0) % bar_steps) as f64 * score.step_beats
}

/// Parts made from per-voice notes, named after the model's voices.
fn voice_parts(
    model: &VoicesModel,
    notes: Vec<Vec<bach_engine::score::Note>>,
    first_channel: usize,
) -> Vec<Part> {
    notes
        .into_iter()
        .enumerate()
        .map(|(v, notes)| {
            Part::new(
                voice_name(model, v),
                bach_engine::score::channel_for(first_channel + v),
                notes,
            )
        })
        .collect()
}
