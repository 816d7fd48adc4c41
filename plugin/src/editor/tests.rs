//! The window drawn headless: every piece of text it shows has glyphs in the
//! embedded font, and the controls it should show are there.

use std::path::{Path, PathBuf};

use bach_engine::perform::KeyChoice;
use egui::epaint::text::{Fonts, TextOptions};
use egui::epaint::Shape;
use egui::{FontFamily, FontId, Pos2, Rect};

use super::*;
use crate::library::{self, Loaded, ModelChoice, EMBEDDED};

/// A host that ignores parameter changes: the window only needs somewhere
/// to send them.
struct NoHost;

impl GuiContextInner for NoHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    unsafe fn raw_begin_set_parameter(&self, _: ParamPtr) {}
    unsafe fn raw_set_parameter_normalized(&self, _: ParamPtr, _: f32) {}
    unsafe fn raw_end_set_parameter(&self, _: ParamPtr) {}
    fn get_state(&self) -> PluginState {
        unreachable!("the window never asks for the plugin's state")
    }
    fn set_state(&self, _: PluginState) {}
    fn request_restart(&self) {}
}

/// Draws the window a few frames (egui lays out in more than one pass) and
/// returns every text it painted.
fn drawn_texts(app: &mut App) -> Vec<String> {
    drawn_placed(app)
        .into_iter()
        .map(|(text, _)| text)
        .collect()
}

fn missing(fonts: &mut Fonts, text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        let id = FontId::new(14.0, family);
        for c in text.chars().filter(|c| !c.is_control()) {
            if !fonts.has_glyph(&id, c) && !missing.contains(&c) {
                missing.push(c);
            }
        }
    }
    missing
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every value every parameter can show (its name, and its value at each
/// step, or at 101 points of a continuous range).
fn parameter_texts(params: &BachParams) -> Vec<String> {
    let mut out = Vec::new();
    for (_, ptr, _) in params.param_map() {
        // Safety: the pointers come from the live params struct above.
        unsafe {
            out.push(ptr.name().to_string());
            let steps = ptr.step_count().unwrap_or(100).min(10_000);
            for i in 0..=steps {
                let normalized = i as f32 / steps.max(1) as f32;
                out.push(ptr.normalized_value_to_string(normalized, true));
            }
        }
    }
    out
}

/// The messages the window can show about models: every shipped model's
/// description or refusal, and the errors for bad choices.
fn model_texts() -> Vec<String> {
    let mut out = Vec::new();
    let mut choices: Vec<ModelChoice> = EMBEDDED
        .iter()
        .map(|e| ModelChoice::Embedded(e.name.to_string()))
        .collect();
    choices.extend([
        ModelChoice::Embedded("no-such-model".into()),
        ModelChoice::File(PathBuf::from("/no/such/model.safetensors")),
        ModelChoice::File(repo().join("README.md")),
    ]);
    let models = std::fs::read_dir(repo().join("models")).expect("models/ is readable");
    for entry in models.flatten() {
        if entry.path().extension().is_some_and(|e| e == "safetensors") {
            choices.push(ModelChoice::File(entry.path()));
        }
    }
    assert!(choices.len() > 6, "the shipped models are found");
    for choice in choices {
        match Loaded::load(&choice) {
            Ok(loaded) => {
                let info = loaded.info;
                out.push(info.name.clone());
                out.push(info.kind.clone());
                out.push(info.choice.to_string());
                out.push(model_label(&info));
                out.extend(model_limits(&info).iter().map(|s| s.to_string()));
                if let ModelChoice::Embedded(name) = &info.choice {
                    out.extend(library::embedded(name).map(|e| e.title.to_string()));
                }
            }
            Err(e) => out.push(e.to_string()),
        }
        if let (_, Some(notice)) = library::restore(&choice) {
            out.push(notice);
        }
    }
    out
}

#[test]
fn every_text_the_window_can_show_has_glyphs() {
    let params = Arc::new(BachParams::default());
    let shared = Arc::new(Shared::default());
    let loaded = Loaded::default_model();
    let notice = library::restore(&ModelChoice::File("/gone.safetensors".into())).1;
    let error = Loaded::load(&ModelChoice::File("/gone.safetensors".into()))
        .err()
        .map(|e| e.to_string());
    assert!(notice.is_some() && error.is_some());
    shared.set_status(|s| {
        s.info = Some(loaded.info.clone());
        s.notice = notice;
        s.error = error;
        s.loading = true;
    });
    let mut app = App::new(params.clone(), None, shared);
    let drawn = drawn_texts(&mut app);

    let mut all = drawn.clone();
    all.extend(help::ALL.iter().map(|s| s.to_string()));
    all.extend(roll::LEGEND.iter().map(|(name, _)| name.to_string()));
    // Chord labels: every sign a symbol or numeral is written with.
    all.extend(
        [
            "Bø7",
            "F#dim7/A",
            "Bbmaj7",
            "Abaug",
            "Gsus4",
            "Em7",
            "N.C.",
            "viiø4/3/V",
            "viio7",
            "bVI",
            "III+",
            "IVmaj6/5",
            "N6",
            "?",
            "C♯ minor",
            "E♭ major",
        ]
        .map(String::from),
    );
    all.extend(parameter_texts(&params));
    all.extend(model_texts());

    let mut fonts = Fonts::new(TextOptions::default(), fonts::definitions());
    let mut bad = Vec::new();
    for text in &all {
        let chars = missing(&mut fonts, text);
        if !chars.is_empty() {
            bad.push(format!("{text:?} lacks {chars:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "text the font cannot draw:\n{}",
        bad.join("\n")
    );
    assert!(all.len() > 200, "only {} texts checked", all.len());

    // The controls a musician looks for are drawn, in words.
    let joined = drawn.join("\n");
    for expected in [
        "Bach — chorale harmonizer",
        "Model: chorale-satb",
        "Harmonize",
        "Continue",
        "Temperature",
        "0.30",
        "strict: no parallel fifths or octaves",
        "of silence, play",
        "2.0 beats",
        "gru 2 × 192",
        "2 bars",
        "Soprano",
        "Bass",
        "on MIDI channel",
        "C4",
        "Melody in",
        "Key",
        "Auto",
        "Key: listening…",
        "Lookahead",
        "Off",
        "1 beat",
        "1 bar",
    ] {
        assert!(
            joined.contains(expected),
            "{expected:?} is not drawn in:\n{joined}"
        );
    }
}

#[test]
fn the_window_names_the_key_in_use_and_the_lookahead_delay() {
    let params = Arc::new(BachParams::default());
    let shared = Arc::new(Shared::default());
    let d_major = bach_engine::Key::parse("D major").unwrap();
    shared.publish(Some(d_major), true, 24_000);
    let mut app = App::new(params.clone(), None, shared.clone());
    let joined = drawn_texts(&mut app).join("\n");
    assert!(joined.contains("Key: D major (auto)"), "{joined}");
    assert!(
        !joined.contains("delays Bach"),
        "Off shows no delay:\n{joined}"
    );

    let f_sharp_minor = bach_engine::Key::parse("F# minor").unwrap();
    assert_eq!(
        key_text(KeyChoice::Fixed(f_sharp_minor), Some(d_major), true),
        "Key: F♯ minor (set)"
    );
    assert_eq!(key_text(KeyChoice::Auto, None, false), "Key: listening…");
    assert_eq!(
        key_text(KeyChoice::Auto, Some(d_major), false),
        "Key: D major (auto, a first guess)"
    );
    assert_eq!(latency_text(false, 24_000, 48_000.0), None);
    assert_eq!(
        latency_text(true, 24_000, 48_000.0).as_deref(),
        Some("delays Bach by 500 ms (the host compensates)")
    );
    assert!(latency_text(true, 0, 48_000.0).is_some());
}

#[test]
fn the_window_says_what_the_model_cannot_use() {
    let mut info = Loaded::default_model().info;
    for (key, meter, ahead) in [
        (false, false, false),
        (true, true, true),
        (true, false, true),
    ] {
        info.knows_key = key;
        info.hears_meter = meter;
        info.looks_ahead = ahead;
        let limits = model_limits(&info).join(" ");
        assert_eq!(limits.contains("knows no keys: Key has no effect"), !key);
        assert_eq!(limits.contains("hears only 4/4"), !meter);
        assert_eq!(
            limits.contains("cannot look ahead: Lookahead has no effect"),
            !ahead
        );

        let shared = Arc::new(Shared::default());
        shared.set_status(|s| s.info = Some(info.clone()));
        let mut app = App::new(Arc::new(BachParams::default()), None, shared);
        let drawn = drawn_texts(&mut app).join("\n");
        let mut fonts = Fonts::new(TextOptions::default(), fonts::definitions());
        assert!(missing(&mut fonts, &drawn).is_empty());
        if !limits.is_empty() {
            assert!(drawn.contains("This model"), "{drawn}");
        } else {
            assert!(!drawn.contains("This model"), "{drawn}");
        }
    }
}

#[test]
fn the_instrument_shows_its_preview_and_both_offer_models_and_export() {
    let shared = Arc::new(Shared::default());
    shared.set_status(|s| s.info = Some(Loaded::default_model().info));
    let preview = Arc::new(crate::params::PreviewParams::default());
    let mut instrument = App::new(
        Arc::new(BachParams::default()),
        Some(preview),
        shared.clone(),
    );
    let drawn = drawn_texts(&mut instrument).join("\n");
    for expected in [
        "Preview",
        "organ plays",
        "-6.0 dB",
        "Built in",
        "Load model…",
        "Export",
        "Save as MIDI…",
    ] {
        assert!(drawn.contains(expected), "{expected:?} not in:\n{drawn}");
    }
    let mut fonts = Fonts::new(TextOptions::default(), fonts::definitions());
    assert!(missing(&mut fonts, &drawn).is_empty());
    // The picker names each built-in model with its kind and score.
    let labels: Vec<String> = instrument
        .embedded
        .as_ref()
        .expect("described once drawn")
        .iter()
        .map(model_label)
        .collect();
    assert_eq!(labels.len(), EMBEDDED.len());
    assert!(
        labels[0].starts_with("chorale-satb — 4 voices"),
        "{labels:?}"
    );
    // With the score the file records.
    let nll = Loaded::default_model().info.test_nll.unwrap();
    assert!(
        labels[0].ends_with(&format!("test NLL {nll:.3}")),
        "{labels:?}"
    );

    // The MIDI effect has no preview; an export's outcome is shown in words.
    shared.set_status(|s| s.export = Some(Err("Not saved: no room".into())));
    let mut effect = App::new(Arc::new(BachParams::default()), None, shared);
    let drawn = drawn_texts(&mut effect).join("\n");
    assert!(!drawn.contains("organ plays"), "{drawn}");
    assert!(drawn.contains("Save as MIDI…"));
    assert!(drawn.contains("Not saved: no room"));
}

#[test]
fn piano_roll_models_load_and_the_window_says_they_only_continue() {
    for (name, grid) in [
        ("nottingham-pianoroll-gru-nade", "piano roll in 8ths"),
        ("jsb-pianoroll-lstm-nade", "piano roll in quarters"),
    ] {
        let loaded = Loaded::load(&ModelChoice::Embedded(name.into())).expect("built in");
        let info = &loaded.info;
        assert!(!info.harmonizes);
        assert!(
            info.kind.starts_with(grid) && info.kind.contains("NADE 128"),
            "{info:?}"
        );
        assert!(!library::embedded(name).unwrap().title.is_empty());
        let limits = model_limits(info).join(" ");
        assert!(limits.contains("continues what you play"), "{limits}");
        assert!(
            !limits.contains("Key has no effect"),
            "one plain line: {limits}"
        );

        let shared = Arc::new(Shared::default());
        shared.set_status(|s| s.info = Some(info.clone()));
        let mut app = App::new(Arc::new(BachParams::default()), None, shared);
        let drawn = drawn_texts(&mut app).join("\n");
        assert!(
            drawn.contains("in Harmonize the melody passes through"),
            "{drawn}"
        );
        let mut fonts = Fonts::new(TextOptions::default(), fonts::definitions());
        assert!(missing(&mut fonts, &drawn).is_empty());
    }
    // The harmonizer harmonizes.
    assert!(Loaded::default_model().info.harmonizes);
}

/// A host that records the normalised values the window sets.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<f32>>);

impl GuiContextInner for Recorder {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    unsafe fn raw_begin_set_parameter(&self, _: ParamPtr) {}
    unsafe fn raw_set_parameter_normalized(&self, _: ParamPtr, value: f32) {
        self.0.lock().unwrap().push(value);
    }
    unsafe fn raw_end_set_parameter(&self, _: ParamPtr) {}
    fn get_state(&self) -> PluginState {
        unreachable!("the window never asks for the plugin's state")
    }
    fn set_state(&self, _: PluginState) {}
    fn request_restart(&self) {}
}

#[test]
fn choosing_a_piano_roll_raises_the_temperature_once_and_a_project_keeps_its_own() {
    let roll = Loaded::load(&ModelChoice::Embedded("jsb-pianoroll-lstm-nade".into()))
        .unwrap()
        .info;
    let host = Recorder::default();
    let setter = ParamSetter::new(&host);
    let shared = Arc::new(Shared::default());
    shared.set_status(|s| s.info = Some(Loaded::default_model().info));
    let mut app = App::new(Arc::new(BachParams::default()), None, shared.clone());
    let status = |shared: &Shared| shared.status.lock().unwrap().clone();

    // The musician picks the piano roll: while it loads nothing changes...
    app.asked_to_load(&status(&shared));
    shared.set_status(|s| s.loading = true);
    app.warm_up_piano_roll(&status(&shared), &setter);
    assert!(host.0.lock().unwrap().is_empty());
    // ...and when it arrives, Temperature goes to 1.00 (0.5 of 0..2), once.
    shared.set_status(|s| {
        s.loading = false;
        s.info = Some(roll.clone());
    });
    app.warm_up_piano_roll(&status(&shared), &setter);
    app.warm_up_piano_roll(&status(&shared), &setter);
    assert_eq!(*host.0.lock().unwrap(), vec![0.5]);

    // A project that opens with a piano roll (no load asked in the window) keeps its temperature.
    let host = Recorder::default();
    let setter = ParamSetter::new(&host);
    let mut reopened = App::new(Arc::new(BachParams::default()), None, shared.clone());
    reopened.warm_up_piano_roll(&status(&shared), &setter);
    assert!(host.0.lock().unwrap().is_empty());
    // A failed load changes nothing either.
    reopened.asked_to_load(&status(&shared));
    shared.set_status(|s| s.error = Some("bad file".into()));
    reopened.warm_up_piano_roll(&status(&shared), &setter);
    assert!(host.0.lock().unwrap().is_empty());
    assert!(reopened.loading_from.is_none(), "the failure ends the wait");
}

/// Every text painted, with where: a few frames, as [`drawn_texts`].
fn drawn_placed(app: &mut App) -> Vec<(String, Rect)> {
    let ctx = egui::Context::default();
    style(&ctx);
    let host = NoHost;
    let setter = ParamSetter::new(&host);
    let mut placed = Vec::new();
    for _ in 0..3 {
        let size = egui::vec2(
            crate::params::WINDOW.0 as f32,
            crate::params::WINDOW.1 as f32,
        );
        let input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, size)),
            ..Default::default()
        };
        let output = ctx.run_ui(input, |ui| app.draw(ui, &setter));
        placed.clear();
        fn walk(shape: &Shape, out: &mut Vec<(String, Rect)>) {
            match shape {
                Shape::Text(t) => out.push((
                    t.galley.text().to_owned(),
                    t.galley.rect.translate(t.pos.to_vec2()),
                )),
                Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, out)),
                _ => {}
            }
        }
        for clipped in output.shapes.iter() {
            walk(&clipped.shape, &mut placed);
        }
        output.drop_without_applying_deltas();
    }
    placed
}

/// Sends a chord per beat through the roll's ring as the audio thread
/// does (120 bpm at 48 kHz, no transport), `now` at the end of the last.
fn play_chords(shared: &Shared, chords: &[[u8; 4]], key: bach_engine::Key) {
    play_chords_from(shared, chords, key, 0, 24_000);
}

/// [`play_chords`] from sample `start`, each chord `length` samples long.
fn play_chords_from(
    shared: &Shared,
    chords: &[[u8; 4]],
    key: bach_engine::Key,
    start: i64,
    length: i64,
) {
    for (i, satb) in chords.iter().enumerate() {
        for on in [true, false] {
            for (v, &pitch) in satb.iter().enumerate() {
                let sample = start + i as i64 * length + if on { 0 } else { length - 1 };
                let event = crate::shared::RollEvent {
                    sample,
                    on,
                    pitch,
                    voice: v as u8,
                    key: key.index() as i8,
                };
                shared.roll.push(event).unwrap();
            }
        }
    }
    let end = start + chords.len() as i64 * length;
    shared.now.store(end as f64, Ordering::Relaxed);
}

/// The window as it is after a frame's draining and naming.
fn frame(app: &mut App) -> Vec<(String, Rect)> {
    app.roll.drain(&app.shared);
    app.roll.name_chords(&mut app.chords, &app.shared);
    drawn_placed(app)
}

#[test]
fn the_window_labels_chords_above_the_roll() {
    let params = Arc::new(BachParams::default());
    let shared = Arc::new(Shared::default());
    let c_major = bach_engine::Key::parse("C major").unwrap();
    let cadence = [
        [72, 67, 64, 48],
        [72, 69, 65, 53],
        [71, 67, 65, 55],
        [72, 67, 64, 48],
    ];
    play_chords(&shared, &cadence, c_major);
    let mut app = App::new(params.clone(), None, shared);
    let drawn = frame(&mut app);
    let find = |drawn: &[(String, Rect)], text: &str| -> Vec<Rect> {
        drawn
            .iter()
            .filter(|(t, _)| t == text)
            .map(|(_, r)| *r)
            .collect()
    };
    // The strip lies between the legend and the roll's pitch names.
    let legend = find(&drawn, "Melody in")[0];
    let c5 = find(&drawn, "C5")[0];
    let in_strip = |r: &Rect| r.top() >= legend.bottom() && r.bottom() <= c5.top();
    for (text, count) in [
        ("C major", 1),
        ("C", 2),
        ("I", 2),
        ("F", 1),
        ("IV", 1),
        ("G7", 1),
        ("V7", 1),
    ] {
        let at: Vec<Rect> = find(&drawn, text).into_iter().filter(in_strip).collect();
        assert_eq!(at.len(), count, "{text:?} drawn {at:?} in\n{drawn:?}");
    }
    // Left to right in the order played, the numeral under its symbol.
    let (f, iv, g7) = (
        find(&drawn, "F")[0],
        find(&drawn, "IV")[0],
        find(&drawn, "G7")[0],
    );
    assert!(f.left() < g7.left());
    assert_eq!(f.left(), iv.left());
    assert!(iv.top() >= f.bottom() - 1.0);

    // The switch: symbols only, then numerals only.
    params
        .chord_labels
        .store(Show::Symbols as u8, Ordering::Relaxed);
    let drawn = frame(&mut app);
    assert!(!find(&drawn, "G7").is_empty() && find(&drawn, "V7").is_empty());
    params
        .chord_labels
        .store(Show::Numerals as u8, Ordering::Relaxed);
    let drawn = frame(&mut app);
    assert!(find(&drawn, "G7").is_empty() && !find(&drawn, "V7").is_empty());
    for text in ["Chords", "Symbols", "Numerals", "Both"] {
        assert!(!find(&drawn, text).is_empty(), "the switch shows {text:?}");
    }
}

#[test]
fn chord_labels_too_close_to_read_are_left_out() {
    // A new chord every beat for four bars, then every 16th: at the
    // window's size the 16ths' labels would overlap.
    let shared = Arc::new(Shared::default());
    let c_major = bach_engine::Key::parse("C major").unwrap();
    // I and ii move every voice by step: no passing notes, a new chord each time.
    let (tonic, supertonic) = ([72, 67, 64, 48], [74, 69, 65, 50]);
    let chords: Vec<[u8; 4]> = (0..16)
        .map(|i| if i % 2 == 0 { tonic } else { supertonic })
        .collect();
    play_chords(&shared, &chords, c_major);
    // Then the same chords a 16th each.
    let (start, quick) = (16 * 24_000i64, 6_000i64);
    play_chords_from(&shared, &chords, c_major, start, quick);
    let mut app = App::new(Arc::new(BachParams::default()), None, shared);
    let drawn = frame(&mut app);
    let mut symbols: Vec<Rect> = drawn
        .iter()
        .filter(|(t, _)| t == "C" || t == "Dm")
        .map(|(_, r)| *r)
        .collect();
    symbols.sort_by(|a, b| a.left().total_cmp(&b.left()));
    // Some were drawn and some of those in view left out (the 16ths'),
    // none over another.
    let now = start + 16 * quick;
    let in_view = app
        .chords
        .labels()
        .filter(|l| l.sample >= now - 16 * 24_000)
        .count();
    assert!(in_view > 20, "{in_view} labels in view");
    assert!(symbols.len() > 8, "{symbols:?}");
    assert!(symbols.len() < in_view, "{symbols:?} of {in_view}");
    for pair in symbols.windows(2) {
        assert!(pair[0].right() < pair[1].left(), "{pair:?} overlap");
    }
}

#[test]
fn the_chord_switch_is_saved_with_the_project() {
    let params = BachParams::default();
    assert_eq!(
        Show::from_u8(params.chord_labels.load(Ordering::Relaxed)),
        Show::Both
    );
    params
        .chord_labels
        .store(Show::Numerals as u8, Ordering::Relaxed);
    let fields = params.serialize_fields();
    assert!(fields.contains_key("chord-labels"), "{fields:?}");
    let reopened = BachParams::default();
    reopened.deserialize_fields(&fields);
    let saved = reopened.chord_labels.load(Ordering::Relaxed);
    assert_eq!(Show::from_u8(saved), Show::Numerals);
}
