//! The user's settings (the plugin's parameters), read once per block.

use crate::ahead::Horizon;
use crate::perform::KeyChoice;
use crate::token::MAX_VOICES;

/// How the sequencer uses the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// The input is the melody; the model adds the voices below it.
    #[default]
    Harmonize,
    /// The model listens, then plays on when the player stops.
    Continue,
}

/// Velocity of generated notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Velocity {
    Fixed(u8),
    /// The velocity of the latest input note.
    FromInput,
}

/// The user's settings (the plugin's parameters), read once per block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub temperature: f32,
    /// Strict voice leading: no parallel fifths or octaves between voices.
    pub strict: bool,
    /// Which voices sound (S, A, T, B, ...).
    pub voices: [bool; MAX_VOICES],
    /// Output MIDI channel (0 to 15) of each voice.
    pub channels: [u8; MAX_VOICES],
    /// Whether input notes are passed to the output.
    pub pass_through: bool,
    pub velocity: Velocity,
    pub seed: u64,
    /// Continue: silence (in beats) after which the model takes over.
    pub silence_beats: f64,
    /// Continue: how long (in bars) the model plays before listening again.
    pub continue_bars: u32,
    /// The key of the harmony (for models that know keys): set, or followed
    /// from the melody.
    pub key: KeyChoice,
    /// How far ahead the harmonizer hears the melody, at that much added
    /// latency (reported to the host). The whole melody is for offline use
    /// only; the sequencer treats it as a bar.
    pub lookahead: Horizon,
    /// How late a melody note may be, in milliseconds, and still count as
    /// on its grid step (see [`super::feel`]); 0 decides every step exactly
    /// on the grid.
    pub timing_ms: f64,
}

impl Default for Settings {
    fn default() -> Self {
        let mut channels = [0; MAX_VOICES];
        for (v, c) in channels.iter_mut().enumerate() {
            *c = v as u8;
        }
        Self {
            mode: Mode::Harmonize,
            temperature: 0.3,
            strict: true,
            voices: [true; MAX_VOICES],
            channels,
            pass_through: true,
            velocity: Velocity::FromInput,
            seed: 1,
            silence_beats: 2.0,
            continue_bars: 2,
            key: KeyChoice::Auto,
            lookahead: Horizon::Off,
            timing_ms: super::feel::DEFAULT_TIMING_MS,
        }
    }
}
