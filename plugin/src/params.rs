//! The plugin's parameters (automatable, saved with the project) and the
//! persisted model choice.

use std::sync::atomic::AtomicU8;
use std::sync::{Arc, RwLock};

use bach_engine::perform::KeyChoice;
use bach_engine::sequencer::{Mode, Settings, Velocity};
use bach_engine::token::MAX_VOICES;
use bach_engine::{Horizon, Key};
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::plugin::ParamValue;
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

/// The Key parameter: Auto, or one of the 24 keys in [`Key::ALL`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParam(pub KeyChoice);

/// Names as the host shows them: Auto, then [`Key::name`] of each key
/// (a test checks they agree).
const KEY_NAMES: [&str; 25] = [
    "Auto",
    "C major",
    "C minor",
    "D♭ major",
    "C♯ minor",
    "D major",
    "D minor",
    "E♭ major",
    "E♭ minor",
    "E major",
    "E minor",
    "F major",
    "F minor",
    "F♯ major",
    "F♯ minor",
    "G major",
    "G minor",
    "A♭ major",
    "G♯ minor",
    "A major",
    "A minor",
    "B♭ major",
    "B♭ minor",
    "B major",
    "B minor",
];

/// Saved ids: plain ASCII, stable even if the shown names are respelled.
const KEY_IDS: [&str; 25] = [
    "auto", "c", "cm", "db", "csm", "d", "dm", "eb", "ebm", "e", "em", "f", "fm", "fs", "fsm", "g",
    "gm", "ab", "gsm", "a", "am", "bb", "bbm", "b", "bm",
];

impl Enum for KeyParam {
    fn variants() -> &'static [&'static str] {
        &KEY_NAMES
    }

    fn ids() -> Option<&'static [&'static str]> {
        Some(&KEY_IDS)
    }

    fn to_index(self) -> usize {
        match self.0 {
            KeyChoice::Auto => 0,
            KeyChoice::Fixed(key) => key.index() + 1,
        }
    }

    fn from_index(index: usize) -> Self {
        match index.checked_sub(1).and_then(Key::from_index) {
            Some(key) => KeyParam(KeyChoice::Fixed(key)),
            None => KeyParam(KeyChoice::Auto),
        }
    }
}

/// How far ahead the harmony hears the melody (the offline whole melody is not offered).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookaheadParam {
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "beat"]
    #[name = "1 beat"]
    Beat,
    #[id = "bar"]
    #[name = "1 bar"]
    Bar,
}

impl LookaheadParam {
    pub fn horizon(self) -> Horizon {
        match self {
            LookaheadParam::Off => Horizon::Off,
            LookaheadParam::Beat => Horizon::Beat,
            LookaheadParam::Bar => Horizon::Bar,
        }
    }
}

/// Projects saved before Key and Lookahead existed play as they did then
/// (Auto, Off), even when loaded into an instance set otherwise: nice-plug
/// leaves parameters a state does not name as they are.
pub fn fill_missing(params: &mut std::collections::BTreeMap<String, ParamValue>) {
    for (id, value) in [("key", KEY_IDS[0]), ("lookahead", "off")] {
        params
            .entry(id.to_string())
            .or_insert_with(|| ParamValue::String(value.to_string()));
    }
}

/// The window's size in logical pixels.
/// (860 for the controls and the roll, 44 more for the chord labels.)
pub const WINDOW: (f64, f64) = (720.0, 904.0);

#[derive(Params)]
pub struct BachParams {
    /// Window size (not saved: nice-plug-egui's state is not persistable).
    pub editor_state: Arc<EguiEditorState>,
    /// The model to play: an embedded name or a file path.
    #[persist = "model"]
    pub model: Arc<RwLock<ModelChoice>>,
    /// What the chord labels above the piano roll show (the window's
    /// switch, `editor::chords::Show` as a number): saved with the project
    /// like the model, not automatable.
    #[persist = "chord-labels"]
    pub chord_labels: Arc<AtomicU8>,

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
    #[id = "key"]
    pub key: EnumParam<KeyParam>,
    #[id = "lookahead"]
    pub lookahead: EnumParam<LookaheadParam>,
    /// How late a melody note may be and still count as on its step.
    #[id = "timing"]
    pub timing: FloatParam,
}

/// The preview voice's controls (the Bach Instrument only).
#[derive(Params)]
pub struct PreviewParams {
    #[id = "preview"]
    pub on: BoolParam,
    #[id = "preview_volume"]
    pub volume: FloatParam,
}

impl Default for PreviewParams {
    fn default() -> Self {
        Self {
            on: BoolParam::new("Preview voice", true),
            volume: FloatParam::new(
                "Preview volume",
                util::db_to_gain(-6.0),
                FloatRange::Skewed {
                    min: util::db_to_gain(-60.0),
                    max: util::db_to_gain(6.0),
                    factor: FloatRange::gain_skew_factor(-60.0, 6.0),
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_gain_to_db(1))
            .with_string_to_value(formatters::s2v_f32_gain_to_db()),
        }
    }
}

/// The Bach Instrument's parameters: every one of Bach's, with the same ids
/// (so a project moves between the two plugins), and the preview voice's.
#[derive(Params, Default)]
pub struct InstrumentParams {
    #[nested]
    pub bach: Arc<BachParams>,
    #[nested(group = "Preview")]
    pub preview: Arc<PreviewParams>,
}

fn channel(name: &str, default: i32) -> IntParam {
    IntParam::new(name, default, IntRange::Linear { min: 1, max: 16 })
}

impl Default for BachParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(LogicalSize::new(WINDOW.0, WINDOW.1), 1.0),
            model: Arc::new(RwLock::new(ModelChoice::default())),
            // Both symbols and numerals (`editor::chords::Show::Both`).
            chord_labels: Arc::new(AtomicU8::new(2)),
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
            key: EnumParam::new("Key", KeyParam(KeyChoice::Auto)),
            lookahead: EnumParam::new("Lookahead", LookaheadParam::Off),
            timing: FloatParam::new(
                "Timing",
                bach_engine::sequencer::feel::DEFAULT_TIMING_MS as f32,
                FloatRange::Linear {
                    min: 0.0,
                    max: 80.0,
                },
            )
            .with_step_size(1.0)
            .with_unit(" ms"),
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
            key: self.key.value().0,
            lookahead: self.lookahead.value().horizon(),
            timing_ms: self.timing.value() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_the_engines_and_every_key_round_trips() {
        assert_eq!(KeyParam::variants().len(), 25);
        assert_eq!(KeyParam::from_index(0), KeyParam(KeyChoice::Auto));
        for (i, key) in Key::ALL.into_iter().enumerate() {
            assert_eq!(KEY_NAMES[i + 1], key.name());
            let p = KeyParam(KeyChoice::Fixed(key));
            assert_eq!(p.to_index(), i + 1);
            assert_eq!(KeyParam::from_index(i + 1), p);
        }
        // Out of range falls back to Auto, as the trait asks.
        assert_eq!(KeyParam::from_index(99), KeyParam(KeyChoice::Auto));
        let mut ids = KEY_IDS.to_vec();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 25, "ids are unique");
    }

    #[test]
    fn an_older_state_gets_auto_and_off_and_a_newer_keeps_its_own() {
        let mut old = std::collections::BTreeMap::new();
        old.insert("seed".to_string(), ParamValue::I32(7));
        fill_missing(&mut old);
        let text = |v: &ParamValue| format!("{v:?}");
        assert_eq!(text(&old["key"]), r#"String("auto")"#);
        assert_eq!(text(&old["lookahead"]), r#"String("off")"#);
        assert_eq!(text(&old["seed"]), "I32(7)");
        let mut new = std::collections::BTreeMap::new();
        new.insert("key".to_string(), ParamValue::String("fsm".into()));
        fill_missing(&mut new);
        assert_eq!(text(&new["key"]), r#"String("fsm")"#);
        // The ids filled in are the defaults' own.
        let auto = KeyParam(KeyChoice::Auto).to_index();
        assert_eq!(KeyParam::ids().unwrap()[auto], "auto");
        let off = LookaheadParam::Off.to_index();
        assert_eq!(LookaheadParam::ids().unwrap()[off], "off");
        let f_sharp_minor = KeyParam(KeyChoice::Fixed(Key::parse("F# minor").unwrap()));
        assert_eq!(KeyParam::ids().unwrap()[f_sharp_minor.to_index()], "fsm");
    }

    #[test]
    fn key_and_lookahead_reach_the_settings() {
        let params = BachParams::default();
        let s = params.settings();
        assert_eq!((s.key, s.lookahead), (KeyChoice::Auto, Horizon::Off));
        // Set through the normalized values, as a host would.
        let map = params.param_map();
        let find = |id: &str| map.iter().find(|(i, ..)| i == id).unwrap().1;
        let f_sharp_minor = Key::parse("F# minor").unwrap();
        // Safety: the pointers come from `params`, alive throughout.
        unsafe {
            let key = find("key");
            let typed = key.string_to_normalized_value("F♯ minor").unwrap();
            key._internal_set_normalized_value(typed);
            assert_eq!(key.normalized_value_to_string(typed, true), "F♯ minor");
            let ahead = find("lookahead");
            ahead._internal_set_normalized_value(ahead.preview_normalized(2.0));
        }
        let s = params.settings();
        assert_eq!(s.key, KeyChoice::Fixed(f_sharp_minor));
        assert_eq!(s.lookahead, Horizon::Bar);
    }
}
