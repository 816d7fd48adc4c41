//! The golden performances of `engine/tests/golden.rs` through the built
//! plugin's CLAP ABI, as a user who reopens a saved project hears them: a
//! project state that names the fixture model file and holds the settings is
//! restored into a fresh instance, which then plays the stored melody in
//! buffers of a few sizes. The notes (sample, on/off, channel, key,
//! velocity) must be exactly those in
//! `engine/tests/fixtures/golden-performances.json`, which the engine test
//! writes and checks; the two together say that the plugin plays what the
//! engine plays and that neither changed.

use std::path::{Path, PathBuf};

use bach_e2e::{edit_state, keys, play, stop, with_model, ClapBach, Instance, Note, Session, SR};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures")
}

/// A saved project of the plugin with `model` and `settings` (the
/// performance's, as plain parameter values, the way nice-plug saves them).
fn project(plugin: &mut ClapBach, model: &Path, settings: &Value) -> Vec<u8> {
    let state = with_model(
        &plugin.save_state(),
        json!({"type": "file", "value": model}),
    );
    edit_state(&state, |state| {
        let params = state["params"].as_object_mut().expect("parameter values");
        // Each value keeps the type tag it was saved with ("f32", "i32",
        // "bool", "string"), so a parameter that changes type or id fails here.
        let mut set = |id: &str, value: Value| {
            let saved = params
                .get(id)
                .unwrap_or_else(|| panic!("the saved state has no parameter {id}"));
            let tag = saved.as_object().and_then(|o| o.keys().next()).cloned();
            let tag = tag.unwrap_or_else(|| panic!("{id}: untagged value {saved}"));
            params.insert(id.into(), json!({ tag: value }));
        };
        let s = settings;
        set("mode", s["mode"].clone());
        set("temperature", s["temperature"].clone());
        set("strict", s["strict"].clone());
        set("pass_through", s["pass_through"].clone());
        set("seed", s["seed"].clone());
        set("silence", s["silence_beats"].clone());
        set("length", s["continue_bars"].clone());
        let from_input = s["velocity"] == "input";
        set("velocity_from_input", json!(from_input));
        if !from_input {
            set("velocity", s["velocity"].clone());
        }
        for (v, name) in ["s", "a", "t", "b"].into_iter().enumerate() {
            set(&format!("voice_{name}"), s["voices"][v].clone());
            // Channels are 1-based in the plugin, 0-based in the engine.
            let channel = s["channels"][v].as_u64().expect("a channel") + 1;
            set(&format!("channel_{name}"), json!(channel));
        }
    })
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("an integer, not {v}"))
}

fn session(perf: &Value) -> Session {
    let tempo = perf["tempo"].as_f64().expect("tempo");
    let notes = keys(
        perf["input"]
            .as_array()
            .expect("input notes")
            .iter()
            .map(|n| (int(&n[0]), n[1] == "on", int(&n[2]) as u8)),
    );
    Session {
        segments: vec![play(0, tempo, 0.0), stop(int(&perf["stop_at"]), tempo)],
        notes,
        length: int(&perf["length"]),
    }
}

fn expected(perf: &Value) -> Vec<Note> {
    perf["output"]
        .as_array()
        .expect("output notes")
        .iter()
        .map(|n| Note {
            sample: int(&n[0]),
            on: n[1] == "on",
            channel: int(&n[2]) as u8,
            pitch: int(&n[3]) as u8,
            velocity: int(&n[4]) as u8,
        })
        .collect()
}

#[test]
fn a_reopened_project_plays_the_golden_notes() {
    let path = fixtures().join("golden-performances.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let golden: Value = serde_json::from_str(&text).expect("valid JSON");
    // What this host sends: 48 kHz, notes on channel 1 at velocity 90.
    assert_eq!(golden["sample_rate"].as_f64(), Some(SR));
    assert_eq!(golden["input_channel"], 0);
    assert_eq!(golden["input_velocity"], 90);
    let model = fixtures().join(golden["model"].as_str().expect("model file"));
    let model = model.canonicalize().expect("the golden model file");
    let performances = golden["performances"].as_array().expect("performances");
    assert!(performances.len() >= 2, "harmonize and continue");
    for perf in performances {
        let name = &perf["name"];
        let session = session(perf);
        let want = expected(perf);
        for size in [64, 4096] {
            let mut plugin = ClapBach::load(4096);
            let state = project(&mut plugin, &model, &perf["settings"]);
            plugin.restore(&state);
            let got = plugin.run(&session, size, &[]);
            if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
                let around =
                    |v: &[Note]| v[i.saturating_sub(2).min(v.len())..(i + 3).min(v.len())].to_vec();
                panic!(
                    "{name}, buffers of {size}: note {i} of {}/{} differs (a wrong model \
                     would differ from the first generated note):\nplugin {:?}\nstored {:?}",
                    got.len(),
                    want.len(),
                    around(&got),
                    around(&want)
                );
            }
        }
    }
}
