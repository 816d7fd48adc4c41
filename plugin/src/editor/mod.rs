//! The window: the model in use, the controls in musical words, model
//! loading, and a live piano roll of the last bars. Runs on the GUI thread
//! only; it talks to the audio thread through parameters, lock-free queues
//! and atomics (`shared::Shared`).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{Color32, FontId, TextStyle};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier,
};

use crate::export::{self, CapturedNote};
use crate::library::{ModelChoice, ModelInfo};
use crate::params::{BachParams, LookaheadParam, PreviewParams};
use crate::shared::{Shared, Status};

mod chords;
mod dialog;
pub mod fonts;
mod help;
mod model;
mod roll;
mod text;
mod widgets;

use chords::{Chords, Show};
use roll::{Roll, COLOURS};
pub use text::{key_text, latency_text, model_label, model_limits};
use widgets::{key_choice, lookahead, mode, number, toggle};

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
