//! The plugin's parameters (automatable, saved with the project) and the
//! persisted model choice.

use std::sync::{Arc, RwLock};

use bach_engine::sequencer::{Mode, Settings, Velocity};
use bach_engine::token::MAX_VOICES;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;

use crate::library::ModelChoice;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeParam {
    #[id = "harmonize"]
    #[name = "Harmonize"]
    Harmonize,
    #[id = "continue"]
    #[name = "Continue"]
    Continue,
}

#[derive(Params)]
pub struct BachParams {
    /// Window size (not saved: nice-plug-egui's state is not persistable).
    pub editor_state: Arc<EguiEditorState>,
    /// The model to play: an embedded name or a file path.
    #[persist = "model"]
    pub model: Arc<RwLock<ModelChoice>>,

    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "mode"]
    pub mode: EnumParam<ModeParam>,
    #[id = "temperature"]
    pub temperature: FloatParam,
    #[id = "strict"]
    pub strict: BoolParam,
    #[id = "voice_s"]
    pub voice_s: BoolParam,
    #[id = "voice_a"]
    pub voice_a: BoolParam,
    #[id = "voice_t"]
    pub voice_t: BoolParam,
    #[id = "voice_b"]
    pub voice_b: BoolParam,
    #[id = "channel_s"]
    pub channel_s: IntParam,
    #[id = "channel_a"]
    pub channel_a: IntParam,
    #[id = "channel_t"]
    pub channel_t: IntParam,
    #[id = "channel_b"]
    pub channel_b: IntParam,
    #[id = "pass_through"]
    pub pass_through: BoolParam,
    #[id = "velocity_from_input"]
    pub velocity_from_input: BoolParam,
    #[id = "velocity"]
    pub velocity: IntParam,
    #[id = "seed"]
    pub seed: IntParam,
    #[id = "silence"]
    pub silence: FloatParam,
    #[id = "length"]
    pub length: IntParam,
}

fn channel(name: &str, default: i32) -> IntParam {
    IntParam::new(name, default, IntRange::Linear { min: 1, max: 16 })
}

impl Default for BachParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(LogicalSize::new(720.0, 680.0), 1.0),
            model: Arc::new(RwLock::new(ModelChoice::default())),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            mode: EnumParam::new("Mode", ModeParam::Harmonize),
            temperature: FloatParam::new(
                "Temperature",
                0.3,
                FloatRange::Linear { min: 0.0, max: 2.0 },
            )
            .with_step_size(0.01),
            strict: BoolParam::new("Strict voice leading", true),
            voice_s: BoolParam::new("Soprano", true),
            voice_a: BoolParam::new("Alto", true),
            voice_t: BoolParam::new("Tenor", true),
            voice_b: BoolParam::new("Bass", true),
            channel_s: channel("Soprano channel", 1),
            channel_a: channel("Alto channel", 2),
            channel_t: channel("Tenor channel", 3),
            channel_b: channel("Bass channel", 4),
            pass_through: BoolParam::new("Pass input through", true),
            velocity_from_input: BoolParam::new("Velocity from input", true),
            velocity: IntParam::new("Velocity", 90, IntRange::Linear { min: 1, max: 127 }),
            seed: IntParam::new("Seed", 1, IntRange::Linear { min: 0, max: 9999 }),
            silence: FloatParam::new(
                "Continue after silence",
                2.0,
                FloatRange::Linear {
                    min: 0.25,
                    max: 16.0,
                },
            )
            .with_step_size(0.25)
            .with_unit(" beats"),
            length: IntParam::new("Continue length", 2, IntRange::Linear { min: 1, max: 16 })
                .with_unit(" bars"),
        }
    }
}

impl BachParams {
    /// The sequencer's settings from the current parameter values (plain
    /// atomic reads: realtime-safe).
    pub fn settings(&self) -> Settings {
        let mut voices = [false; MAX_VOICES];
        let mut channels = [0u8; MAX_VOICES];
        let toggles = [&self.voice_s, &self.voice_a, &self.voice_t, &self.voice_b];
        let chans = [
            &self.channel_s,
            &self.channel_a,
            &self.channel_t,
            &self.channel_b,
        ];
        for v in 0..4 {
            voices[v] = toggles[v].value();
            channels[v] = (chans[v].value().clamp(1, 16) - 1) as u8;
        }
        Settings {
            mode: match self.mode.value() {
                ModeParam::Harmonize => Mode::Harmonize,
                ModeParam::Continue => Mode::Continue,
            },
            temperature: self.temperature.value(),
            strict: self.strict.value(),
            voices,
            channels,
            pass_through: self.pass_through.value(),
            velocity: if self.velocity_from_input.value() {
                Velocity::FromInput
            } else {
                Velocity::Fixed(self.velocity.value().clamp(1, 127) as u8)
            },
            seed: self.seed.value().max(0) as u64,
            silence_beats: self.silence.value() as f64,
            continue_bars: self.length.value().max(1) as u32,
            ..Settings::default()
        }
    }
}
