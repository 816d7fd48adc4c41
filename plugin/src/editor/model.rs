//! The window's model section: the model playing and what it cannot do,
//! the built-in picker, loading a file, and raising Temperature for a
//! piano roll the musician just chose.

use std::path::PathBuf;

use egui::{Color32, RichText};
use nice_plug::prelude::*;

use super::{dialog, help, model_label, model_limits, App, PIANO_ROLL_TEMPERATURE};
use crate::library::{self, is_model_path, Loaded, ModelChoice, EMBEDDED};
use crate::loader;
use crate::shared::Status;

impl App {
    /// When a model the musician just chose arrives and is a piano roll,
    /// raises Temperature to [`PIANO_ROLL_TEMPERATURE`] (as if they moved the
    /// slider: one undoable parameter change). A project reopened with a
    /// piano roll keeps its own temperature.
    pub(super) fn warm_up_piano_roll(&mut self, status: &Status, setter: &ParamSetter) {
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
    pub(super) fn asked_to_load(&mut self, status: &Status) {
        self.loading_from = Some(status.info.as_ref().map(|i| i.choice.clone()));
    }

    pub(super) fn model_line(&self, ui: &mut egui::Ui, status: &Status) {
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
    pub(super) fn picker_line(&mut self, ui: &mut egui::Ui, status: &Status) {
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
                    loader::load_in_background(&shared, ModelChoice::File(path), choice)
                });
            }
        });
        if let Some(choice) = wanted {
            self.asked_to_load(status);
            loader::load_in_background(&self.shared, choice, self.params.model.clone());
        }
    }

    pub(super) fn load_line(&mut self, ui: &mut egui::Ui, status: &Status) {
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
                loader::load_in_background(
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
}
