//! The window: the model in use, the controls in musical words, model
//! loading, and a live piano roll of the last bars. Runs on the GUI thread
//! only; it talks to the audio thread through parameters, lock-free queues
//! and atomics (`shared::Shared`).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bach_engine::perform::KeyChoice;
use bach_engine::Key;
use egui::{Color32, FontId, RichText, TextStyle};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier,
};

use crate::export::{self, CapturedNote};
use crate::library::{self as library, is_model_path, Loaded, ModelChoice, ModelInfo, EMBEDDED};
use crate::params::{BachParams, KeyParam, LookaheadParam, ModeParam, PreviewParams};
use crate::shared::{Shared, Status};

mod chords;
mod dialog;
pub mod fonts;
mod help;
mod roll;

use chords::{Chords, Show};
use roll::{Roll, COLOURS};

pub struct App {
    params: Arc<BachParams>,
    /// The preview voice's controls, for the instrument.
    preview: Option<Arc<PreviewParams>>,
    shared: Arc<Shared>,
    context: Option<GuiContext>,
    path: String,
    roll: Roll,
    /// The chord labels over the roll, named as the steps are played.
    chords: Chords,
    /// The built-in models, described once the picker is first drawn.
    embedded: Option<Vec<ModelInfo>>,
    /// What Bach played, drained from the audio thread's ring each frame.
    played: VecDeque<CapturedNote>,
    /// How many bars "Save as MIDI" takes.
    export_bars: u32,
    /// The model before a load the musician asked for, until the new one
    /// arrives (see [`App::warm_up_piano_roll`]).
    loading_from: Option<Option<ModelChoice>>,
}

/// The temperature a piano-roll model is set to when a musician chooses one:
/// its keys are drawn one by one, so sharpened below 1 they fall silent.
pub const PIANO_ROLL_TEMPERATURE: f32 = 1.0;

pub fn create(
    params: Arc<BachParams>,
    preview: Option<Arc<PreviewParams>>,
    shared: Arc<Shared>,
) -> Option<EguiEditor<App>> {
    let state = params.editor_state.clone();
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::default(),
        App::new(params, preview, shared),
    )
}

/// How the picker names a model: its name, kind and test score.
pub fn model_label(info: &ModelInfo) -> String {
    let score = info
        .test_nll
        .map(|n| format!("test NLL {n:.3}"))
        .unwrap_or_else(|| "no test score".into());
    format!("{} — {} — {score}", info.name, info.kind)
}

/// Fonts and text sizes: readable at the host's normal scale.
pub fn style(ctx: &egui::Context) {
    ctx.set_fonts(fonts::definitions());
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(20.0)),
            (TextStyle::Body, FontId::proportional(14.0)),
            (TextStyle::Button, FontId::proportional(14.0)),
            (TextStyle::Small, FontId::proportional(12.0)),
            (TextStyle::Monospace, FontId::monospace(13.0)),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
    });
}

/// A switch shown as a checkbox with its meaning beside it.
fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam, label: &str, tip: &str) {
    let mut value = param.value();
    if ui.checkbox(&mut value, label).on_hover_text(tip).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

/// A whole number as a compact drag field (seed, channel): a slider across
/// 10,000 seeds or 16 channels is neither readable nor precise.
fn number(ui: &mut egui::Ui, setter: &ParamSetter, param: &IntParam, tip: &str) {
    let range = match param.range() {
        IntRange::Linear { min, max } => min..=max,
        _ => 0..=i32::MAX,
    };
    let mut value = param.value();
    let response = ui
        .add(egui::DragValue::new(&mut value).range(range).speed(0.1))
        .on_hover_text(tip);
    if response.changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

/// Mode as two buttons, the one in use highlighted.
fn mode(ui: &mut egui::Ui, setter: &ParamSetter, param: &EnumParam<ModeParam>) {
    ui.horizontal(|ui| {
        for (choice, name) in [
            (ModeParam::Harmonize, "Harmonize"),
            (ModeParam::Continue, "Continue"),
        ] {
            let chosen = param.value() == choice;
            let button = egui::Button::selectable(chosen, name);
            if ui.add(button).on_hover_text(help::MODE).clicked() && !chosen {
                setter.begin_set_parameter(param);
                setter.set_parameter(param, choice);
                setter.end_set_parameter(param);
            }
        }
    });
}

/// Key as a drop-down list: Auto and the 24 keys.
fn key_choice(ui: &mut egui::Ui, setter: &ParamSetter, param: &EnumParam<KeyParam>) {
    let current = param.value();
    let names = KeyParam::variants();
    egui::ComboBox::from_id_salt("key")
        .selected_text(names[current.to_index()])
        .height(400.0)
        .show_ui(ui, |ui| {
            for (i, name) in names.iter().enumerate() {
                let choice = KeyParam::from_index(i);
                if ui.selectable_label(choice == current, *name).clicked() && choice != current {
                    setter.begin_set_parameter(param);
                    setter.set_parameter(param, choice);
                    setter.end_set_parameter(param);
                }
            }
        })
        .response
        .on_hover_text(help::KEY);
}

/// Lookahead as three buttons, the one in use highlighted.
fn lookahead(ui: &mut egui::Ui, setter: &ParamSetter, param: &EnumParam<LookaheadParam>) {
    for (i, name) in LookaheadParam::variants().iter().enumerate() {
        let choice = LookaheadParam::from_index(i);
        let chosen = param.value() == choice;
        let button = egui::Button::selectable(chosen, *name);
        if ui.add(button).on_hover_text(help::LOOKAHEAD).clicked() && !chosen {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, choice);
            setter.end_set_parameter(param);
        }
    }
}

/// What the window says about the key in use.
pub fn key_text(choice: KeyChoice, in_use: Option<Key>, estimated: bool) -> String {
    match (choice, in_use) {
        (KeyChoice::Fixed(key), _) => format!("Key: {} (set)", key.name()),
        (KeyChoice::Auto, None) => "Key: listening…".into(),
        (KeyChoice::Auto, Some(key)) if estimated => format!("Key: {} (auto)", key.name()),
        // Until enough is heard the first note stands in as the tonic.
        (KeyChoice::Auto, Some(key)) => format!("Key: {} (auto, a first guess)", key.name()),
    }
}

/// What the window says about the lookahead's delay.
pub fn latency_text(on: bool, latency: u32, sample_rate: f64) -> Option<String> {
    if !on {
        return None;
    }
    Some(
        if latency == 0 || sample_rate.is_nan() || sample_rate <= 0.0 {
            "the delay is set when the transport plays".into()
        } else {
            let ms = latency as f64 * 1000.0 / sample_rate;
            format!("delays Bach by {ms:.0} ms (the host compensates)")
        },
    )
}

/// Plain words for each setting the loaded model was not trained to use.
pub fn model_limits(info: &ModelInfo) -> Vec<&'static str> {
    if !info.harmonizes {
        // Key, meter and lookahead are a harmonizer's: one plain line.
        return vec![
            "This piano-roll model continues what you play (Continue mode); in Harmonize \
             the melody passes through unchanged. It sounds best near Temperature 1.00: \
             lower, it plays fewer notes, down to none.",
        ];
    }
    let mut out = Vec::new();
    if !info.knows_key {
        out.push("This model knows no keys: Key has no effect.");
    }
    if !info.hears_meter {
        out.push("This model hears only 4/4: other meters are played as if in 4/4.");
    }
    if !info.looks_ahead {
        out.push("This model cannot look ahead: Lookahead has no effect.");
    }
    out
}

impl App {
    fn new(
        params: Arc<BachParams>,
        preview: Option<Arc<PreviewParams>>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            params,
            preview,
            shared,
            context: None,
            path: String::new(),
            roll: Roll::default(),
            chords: Chords::default(),
            embedded: None,
            played: VecDeque::new(),
            export_bars: 8,
            loading_from: None,
        }
    }

    /// When a model the musician just chose arrives and is a piano roll,
    /// raises Temperature to [`PIANO_ROLL_TEMPERATURE`] (as if they moved the
    /// slider: one undoable parameter change). A project reopened with a
    /// piano roll keeps its own temperature.
    fn warm_up_piano_roll(&mut self, status: &Status, setter: &ParamSetter) {
        let Some(before) = self.loading_from.clone() else {
            return;
        };
        let now = status.info.as_ref().map(|i| i.choice.clone());
        if status.loading || (now == before && status.error.is_none()) {
            return;
        }
        self.loading_from = None;
        let roll = status.info.as_ref().is_some_and(|i| !i.harmonizes);
        let t = &self.params.temperature;
        if roll && now != before && t.value() < PIANO_ROLL_TEMPERATURE {
            setter.begin_set_parameter(t);
            setter.set_parameter(t, PIANO_ROLL_TEMPERATURE);
            setter.end_set_parameter(t);
        }
    }

    /// Notes the model in use before a load the musician asked for.
    fn asked_to_load(&mut self, status: &Status) {
        self.loading_from = Some(status.info.as_ref().map(|i| i.choice.clone()));
    }

    fn model_line(&self, ui: &mut egui::Ui, status: &Status) {
        match &status.info {
            Some(info) => {
                ui.label(RichText::new(format!("Model: {}", model_label(info))).strong());
                ui.label(format!("from {}", info.choice));
                let limits = model_limits(info);
                if !limits.is_empty() {
                    ui.colored_label(Color32::from_rgb(240, 180, 60), limits.join(" "));
                }
            }
            None => {
                ui.label("Model: none");
            }
        }
        if let Some(notice) = &status.notice {
            ui.colored_label(Color32::from_rgb(240, 180, 60), notice);
        }
    }

    /// The built-in models to choose from, and the file dialog.
    fn picker_line(&mut self, ui: &mut egui::Ui, status: &Status) {
        let embedded = self.embedded.get_or_insert_with(|| {
            EMBEDDED
                .iter()
                .filter_map(|e| {
                    Loaded::load(&ModelChoice::Embedded(e.name.to_string()))
                        .ok()
                        .map(|m| m.info.clone())
                })
                .collect()
        });
        let current = status.info.as_ref().map(|i| &i.choice);
        let mut wanted = None;
        ui.horizontal(|ui| {
            ui.label("Built in").on_hover_text(help::PICKER);
            let shown = embedded
                .iter()
                .find(|i| Some(&i.choice) == current)
                .map(|i| i.name.clone())
                .unwrap_or_else(|| "choose…".into());
            egui::ComboBox::from_id_salt("embedded")
                .selected_text(shown)
                .width(260.0)
                .show_ui(ui, |ui| {
                    for info in embedded.iter() {
                        let chosen = Some(&info.choice) == current;
                        let title = match &info.choice {
                            ModelChoice::Embedded(name) => {
                                library::embedded(name).map_or("", |e| e.title)
                            }
                            ModelChoice::File(_) => "",
                        };
                        let label = format!("{title}\n{}", model_label(info));
                        if ui.selectable_label(chosen, label).clicked() && !chosen {
                            wanted = Some(info.choice.clone());
                        }
                    }
                })
                .response
                .on_hover_text(help::PICKER);
            let browse = ui
                .add_enabled(!status.loading, egui::Button::new("Load model…"))
                .on_hover_text(help::BROWSE);
            if browse.clicked() {
                self.loading_from = Some(current.cloned());
                let shared = self.shared.clone();
                let choice = self.params.model.clone();
                dialog::open_model(move |path| {
                    library::load_in_background(&shared, ModelChoice::File(path), choice)
                });
            }
        });
        if let Some(choice) = wanted {
            self.asked_to_load(status);
            library::load_in_background(&self.shared, choice, self.params.model.clone());
        }
    }

    fn load_line(&mut self, ui: &mut egui::Ui, status: &Status) {
        ui.horizontal(|ui| {
            ui.label("Model file").on_hover_text(help::LOAD);
            ui.add(
                egui::TextEdit::singleline(&mut self.path).hint_text("path to a .safetensors file"),
            );
            let path = PathBuf::from(self.path.trim());
            let ready = !status.loading && is_model_path(&path);
            if ui
                .add_enabled(ready, egui::Button::new("Load"))
                .on_hover_text(help::LOAD)
                .clicked()
            {
                self.asked_to_load(status);
                library::load_in_background(
                    &self.shared,
                    ModelChoice::File(path),
                    self.params.model.clone(),
                );
            }
            if status.loading {
                ui.spinner();
            }
        });
        if let Some(error) = &status.error {
            ui.colored_label(Color32::from_rgb(240, 90, 90), error);
        }
    }

    fn controls(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = &self.params;
        egui::Grid::new("controls")
            .num_columns(2)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                ui.label("Mode").on_hover_text(help::MODE);
                mode(ui, setter, &p.mode);
                ui.end_row();

                ui.label("Key").on_hover_text(help::KEY);
                ui.horizontal(|ui| {
                    key_choice(ui, setter, &p.key);
                    let (in_use, estimated) = self.shared.key_in_use();
                    ui.label(key_text(p.key.value().0, in_use, estimated))
                        .on_hover_text(help::KEY);
                });
                ui.end_row();

                ui.label("Lookahead").on_hover_text(help::LOOKAHEAD);
                ui.horizontal(|ui| {
                    lookahead(ui, setter, &p.lookahead);
                    let latency = self.shared.latency.load(Ordering::Relaxed);
                    let rate = self.shared.sample_rate.load(Ordering::Relaxed);
                    let on = p.lookahead.value() != LookaheadParam::Off;
                    if let Some(text) = latency_text(on, latency, rate) {
                        ui.label(text).on_hover_text(help::LOOKAHEAD);
                    }
                });
                ui.end_row();

                ui.label("Timing").on_hover_text(help::TIMING);
                ui.horizontal(|ui| {
                    ui.add(ParamSlider::for_param(&p.timing, setter).with_width(120.0))
                        .on_hover_text(help::TIMING);
                    ui.label("late still counts as on the beat")
                        .on_hover_text(help::TIMING);
                });
                ui.end_row();

                ui.label("Temperature").on_hover_text(help::TEMPERATURE);
                ui.add(ParamSlider::for_param(&p.temperature, setter).with_width(200.0))
                    .on_hover_text(help::TEMPERATURE);
                ui.end_row();

                ui.label("Voice leading").on_hover_text(help::STRICT);
                toggle(
                    ui,
                    setter,
                    &p.strict,
                    "strict: no parallel fifths or octaves",
                    help::STRICT,
                );
                ui.end_row();

                ui.label("Seed").on_hover_text(help::SEED);
                number(ui, setter, &p.seed, help::SEED);
                ui.end_row();

                ui.label("Velocity").on_hover_text(help::VELOCITY);
                ui.horizontal(|ui| {
                    toggle(
                        ui,
                        setter,
                        &p.velocity_from_input,
                        "from the melody",
                        help::VELOCITY,
                    );
                    if !p.velocity_from_input.value() {
                        ui.add(ParamSlider::for_param(&p.velocity, setter).with_width(120.0))
                            .on_hover_text(help::VELOCITY);
                    }
                });
                ui.end_row();

                ui.label("Melody").on_hover_text(help::PASS_THROUGH);
                toggle(
                    ui,
                    setter,
                    &p.pass_through,
                    "pass through to the instrument",
                    help::PASS_THROUGH,
                );
                ui.end_row();

                ui.label("Continue").on_hover_text(help::CONTINUE);
                ui.horizontal(|ui| {
                    ui.label("after");
                    ui.add(ParamSlider::for_param(&p.silence, setter).with_width(110.0))
                        .on_hover_text(help::CONTINUE);
                    ui.label("of silence, play");
                    ui.add(ParamSlider::for_param(&p.length, setter).with_width(90.0))
                        .on_hover_text(help::CONTINUE);
                });
                ui.end_row();

                let voices = [
                    (&p.voice_s, &p.channel_s, "Soprano"),
                    (&p.voice_a, &p.channel_a, "Alto"),
                    (&p.voice_t, &p.channel_t, "Tenor"),
                    (&p.voice_b, &p.channel_b, "Bass"),
                ];
                for (v, (on, channel, name)) in voices.into_iter().enumerate() {
                    ui.colored_label(COLOURS[v], name)
                        .on_hover_text(help::VOICE);
                    ui.horizontal(|ui| {
                        toggle(ui, setter, on, "plays", help::VOICE);
                        ui.label("on MIDI channel");
                        number(ui, setter, channel, help::VOICE);
                    });
                    ui.end_row();
                }

                ui.label("Bypass").on_hover_text(help::BYPASS);
                toggle(ui, setter, &p.bypass, "bypassed", help::BYPASS);
                ui.end_row();

                if let Some(preview) = &self.preview {
                    ui.label("Preview").on_hover_text(help::PREVIEW);
                    ui.horizontal(|ui| {
                        toggle(ui, setter, &preview.on, "organ plays", help::PREVIEW);
                        ui.add(ParamSlider::for_param(&preview.volume, setter).with_width(140.0))
                            .on_hover_text(help::PREVIEW);
                    });
                    ui.end_row();
                }
            });
    }

    /// "Save as MIDI": the last bars played, through a save dialog, written
    /// on the dialog's thread.
    fn export_line(&mut self, ui: &mut egui::Ui, status: &Status) {
        ui.horizontal(|ui| {
            ui.label("Export").on_hover_text(help::EXPORT);
            ui.label("the last");
            ui.add(egui::DragValue::new(&mut self.export_bars).range(1..=64))
                .on_hover_text(help::EXPORT);
            ui.label("bars");
            let any = self.played.iter().any(|n| n.on);
            let save = ui
                .add_enabled(any, egui::Button::new("Save as MIDI…"))
                .on_hover_text(help::EXPORT);
            // The score is taken when the button is pressed: the bars just heard.
            let notes: Vec<CapturedNote> = match save.clicked() {
                true => self.played.iter().copied().collect(),
                false => Vec::new(),
            };
            let meter = self.shared.meter();
            let bpm = self.shared.tempo.load(Ordering::Relaxed);
            if let Some(score) = export::score(&notes, self.export_bars, meter, bpm) {
                let shared = self.shared.clone();
                let bars = self.export_bars;
                dialog::save_midi(move |path| {
                    let result = export::save(&path, &score)
                        .map(|()| format!("Saved {bars} bars to {}", path.display()))
                        .map_err(|e| format!("Not saved: {e}"));
                    shared.set_status(|s| s.export = Some(result));
                });
            }
        });
        match &status.export {
            Some(Ok(done)) => {
                ui.label(done);
            }
            Some(Err(why)) => {
                ui.colored_label(Color32::from_rgb(240, 90, 90), why);
            }
            None => {}
        }
    }

    /// The whole window, given a way to set parameters.
    fn draw(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let status = self
            .shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        // The panel's colour over the whole window, then a margin: hosts
        // open the window on black.
        ui.painter()
            .rect_filled(ui.max_rect(), 0.0, ui.visuals().panel_fill);
        egui::Frame::new()
            .inner_margin(12.0)
            .show(ui, |ui| self.panel(ui, setter, &status));
    }

    fn panel(&mut self, ui: &mut egui::Ui, setter: &ParamSetter, status: &Status) {
        self.warm_up_piano_roll(status, setter);
        ui.heading("Bach — chorale harmonizer");
        self.model_line(ui, status);
        self.picker_line(ui, status);
        self.load_line(ui, status);
        ui.separator();
        self.controls(ui, setter);
        self.export_line(ui, status);
        ui.separator();
        ui.horizontal(|ui| {
            Roll::legend(ui);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                self.chord_switch(ui)
            });
        });
        let show = Show::from_u8(self.params.chord_labels.load(Ordering::Relaxed));
        self.roll
            .show(ui, &self.shared, &self.chords, show)
            .on_hover_text(help::ROLL);
    }

    /// What the chord labels show: three buttons, the one in use
    /// highlighted (drawn right to left, so in reverse).
    fn chord_switch(&self, ui: &mut egui::Ui) {
        let saved = &self.params.chord_labels;
        let current = Show::from_u8(saved.load(Ordering::Relaxed));
        for (choice, name) in Show::ALL.into_iter().rev() {
            let button = egui::Button::selectable(choice == current, name);
            if ui.add(button).on_hover_text(help::CHORDS).clicked() {
                saved.store(choice as u8, Ordering::Relaxed);
            }
        }
        ui.label("Chords").on_hover_text(help::CHORDS);
    }
}

impl NiceEguiApp for App {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        style(&egui_ctx);
        self.context = Some(nice_gui_ctx);
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.context = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.shared.free_retired();
        self.roll.drain(&self.shared);
        self.roll.name_chords(&mut self.chords, &self.shared);
        self.shared.capture.drain_into(&mut self.played);
        let Some(context) = self.context.clone() else {
            return;
        };
        let setter = context.param_setter();
        self.draw(ui, &setter);
        ui.ctx().request_repaint();
    }
}

#[cfg(test)]
mod tests;
