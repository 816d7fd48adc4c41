//! One control per parameter, each setting its parameter through the host
//! as one gesture (begin, set, end) so hosts record automation and undo.

use nice_plug::prelude::*;

use super::help;
use crate::params::{KeyParam, LookaheadParam, ModeParam};

/// A switch shown as a checkbox with its meaning beside it.
pub(super) fn toggle(
    ui: &mut egui::Ui,
    setter: &ParamSetter,
    param: &BoolParam,
    label: &str,
    tip: &str,
) {
    let mut value = param.value();
    if ui.checkbox(&mut value, label).on_hover_text(tip).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

/// A whole number as a compact drag field (seed, channel): a slider across
/// 10,000 seeds or 16 channels is neither readable nor precise.
pub(super) fn number(ui: &mut egui::Ui, setter: &ParamSetter, param: &IntParam, tip: &str) {
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
pub(super) fn mode(ui: &mut egui::Ui, setter: &ParamSetter, param: &EnumParam<ModeParam>) {
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
pub(super) fn key_choice(ui: &mut egui::Ui, setter: &ParamSetter, param: &EnumParam<KeyParam>) {
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
pub(super) fn lookahead(
    ui: &mut egui::Ui,
    setter: &ParamSetter,
    param: &EnumParam<LookaheadParam>,
) {
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
