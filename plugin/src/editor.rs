//! The window: controls, the model's name, kind and score, model loading,
//! and a live piano roll of the last bars with each voice in its colour.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{self, Color32, Pos2, Rect, Stroke};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier,
};

use crate::library::{is_model_path, Shared};
use crate::params::BachParams;

/// Voice colours: S, A, T, B; the input in grey.
const COLOURS: [Color32; 4] = [
    Color32::from_rgb(230, 80, 80),
    Color32::from_rgb(240, 180, 60),
    Color32::from_rgb(80, 190, 120),
    Color32::from_rgb(80, 140, 230),
];
const INPUT_COLOUR: Color32 = Color32::from_rgb(200, 200, 200);
/// Bars shown by the roll.
const ROLL_BARS: f64 = 4.0;

/// A note on the roll: start and end samples (end `None` while sounding).
#[derive(Clone, Copy, Debug)]
struct RollNote {
    start: i64,
    end: Option<i64>,
    pitch: u8,
    voice: u8,
}

pub struct App {
    params: Arc<BachParams>,
    shared: Arc<Shared>,
    context: Option<GuiContext>,
    path: String,
    notes: VecDeque<RollNote>,
}

pub fn create(params: Arc<BachParams>, shared: Arc<Shared>) -> Option<EguiEditor<App>> {
    let state = params.editor_state.clone();
    let app = App {
        params,
        shared,
        context: None,
        path: String::new(),
        notes: VecDeque::new(),
    };
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::default(),
        app,
    )
}

impl App {
    fn drain_roll(&mut self) {
        while let Some(e) = self.shared.roll.pop() {
            if e.on {
                self.notes.push_back(RollNote {
                    start: e.sample,
                    end: None,
                    pitch: e.pitch,
                    voice: e.voice,
                });
            } else if let Some(n) = self
                .notes
                .iter_mut()
                .rev()
                .find(|n| n.end.is_none() && n.pitch == e.pitch && n.voice == e.voice)
            {
                n.end = Some(e.sample);
            }
        }
        let now = self.shared.now.load(Ordering::Relaxed) as i64;
        let window = self.window_samples();
        while self
            .notes
            .front()
            .is_some_and(|n| n.end.is_some_and(|end| end < now - window))
        {
            self.notes.pop_front();
        }
        while self.notes.len() > 4096 {
            self.notes.pop_front();
        }
    }

    fn window_samples(&self) -> i64 {
        let sr = self.shared.sample_rate.load(Ordering::Relaxed);
        let tempo = self.shared.tempo.load(Ordering::Relaxed).clamp(20.0, 400.0);
        (ROLL_BARS * 4.0 * 60.0 / tempo * sr) as i64
    }

    fn roll(&self, ui: &mut egui::Ui) {
        let size = egui::vec2(ui.available_width(), 200.0);
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, Color32::from_gray(24));
        let now = self.shared.now.load(Ordering::Relaxed) as i64;
        let window = self.window_samples().max(1);
        let (low, high) = (30.0f32, 90.0f32);
        let x = |s: i64| rect.left() + rect.width() * (1.0 - (now - s) as f32 / window as f32);
        let y = |p: u8| rect.bottom() - rect.height() * ((p as f32 - low) / (high - low));
        for n in &self.notes {
            let colour = COLOURS
                .get(n.voice as usize)
                .copied()
                .unwrap_or(INPUT_COLOUR);
            let (x0, x1) = (x(n.start).max(rect.left()), x(n.end.unwrap_or(now)));
            if x1 < rect.left() {
                continue;
            }
            let yy = y(n.pitch);
            let r = Rect::from_min_max(
                Pos2::new(x0, yy - 2.0),
                Pos2::new(x1.max(x0 + 2.0), yy + 2.0),
            );
            painter.rect_filled(r, 1.0, colour);
        }
        painter.rect_stroke(
            rect,
            2.0,
            Stroke::new(1.0, Color32::from_gray(80)),
            egui::StrokeKind::Inside,
        );
    }
}

fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam, label: &str) {
    let mut value = param.value();
    if ui.checkbox(&mut value, label).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

impl NiceEguiApp for App {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.context = Some(nice_gui_ctx);
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.context = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.shared.free_retired();
        self.drain_roll();
        let Some(context) = self.context.as_ref() else {
            return;
        };
        let setter = context.param_setter();
        let params = self.params.clone();
        let status = self
            .shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();

        ui.heading("Bach");
        match &status.info {
            Some(info) => {
                let score = info
                    .test_nll
                    .map(|n| format!("test NLL {n:.3}"))
                    .unwrap_or_else(|| "no test score".into());
                ui.label(format!("Model: {} — {} — {score}", info.name, info.kind));
                ui.small(format!("from {}", info.choice));
            }
            None => {
                ui.label("Model: none");
            }
        }
        if let Some(notice) = &status.notice {
            ui.colored_label(Color32::from_rgb(240, 180, 60), notice);
        }
        ui.horizontal(|ui| {
            ui.label("Load model…");
            ui.text_edit_singleline(&mut self.path);
            let path = PathBuf::from(self.path.trim());
            let ready = !status.loading && is_model_path(&path);
            if ui.add_enabled(ready, egui::Button::new("Load")).clicked() {
                self.shared
                    .load_in_background(path, self.params.model.clone());
            }
            if status.loading {
                ui.spinner();
            }
        });
        if let Some(error) = &status.error {
            ui.colored_label(Color32::from_rgb(240, 90, 90), error);
        }
        ui.separator();

        egui::Grid::new("controls").num_columns(2).show(ui, |ui| {
            ui.label("Mode");
            ui.add(ParamSlider::for_param(&params.mode, &setter));
            ui.end_row();
            ui.label("Temperature");
            ui.add(ParamSlider::for_param(&params.temperature, &setter));
            ui.end_row();
            ui.label("Voice leading");
            toggle(
                ui,
                &setter,
                &params.strict,
                "strict (no parallel fifths or octaves)",
            );
            ui.end_row();
            ui.label("Seed");
            ui.add(ParamSlider::for_param(&params.seed, &setter));
            ui.end_row();
            ui.label("Velocity");
            ui.horizontal(|ui| {
                toggle(ui, &setter, &params.velocity_from_input, "from input");
                ui.add(ParamSlider::for_param(&params.velocity, &setter));
            });
            ui.end_row();
            ui.label("Input");
            toggle(ui, &setter, &params.pass_through, "pass through");
            ui.end_row();
            ui.label("Continue");
            ui.horizontal(|ui| {
                ui.add(ParamSlider::for_param(&params.silence, &setter));
                ui.add(ParamSlider::for_param(&params.length, &setter));
            });
            ui.end_row();
            let voices = [
                (&params.voice_s, &params.channel_s, "S"),
                (&params.voice_a, &params.channel_a, "A"),
                (&params.voice_t, &params.channel_t, "T"),
                (&params.voice_b, &params.channel_b, "B"),
            ];
            for (v, (on, channel, name)) in voices.into_iter().enumerate() {
                ui.colored_label(COLOURS[v], format!("Voice {name}"));
                ui.horizontal(|ui| {
                    toggle(ui, &setter, on, "on");
                    ui.label("channel");
                    ui.add(ParamSlider::for_param(channel, &setter));
                });
                ui.end_row();
            }
            ui.label("Bypass");
            toggle(ui, &setter, &params.bypass, "bypassed");
            ui.end_row();
        });
        ui.separator();
        self.roll(ui);
        ui.ctx().request_repaint();
    }
}
