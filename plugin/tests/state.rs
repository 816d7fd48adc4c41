//! Key and Lookahead in the built plugin's saved state (through its CLAP
//! ABI): a chosen key survives saving, and a project saved before these
//! parameters existed opens with Auto and Off.
//!
//! Needs `target/bundled/bach-plugin.clap` (`cargo xtask bundle bach-plugin
//! --release`; `scripts/test` builds it first).

use bach_e2e::{keys, play, ClapBach, Instance, Session};

fn session() -> Session {
    Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys(vec![(0, true, 62), (24_000, false, 62)]),
        length: 48_000,
    }
}

/// The parameter's value as a choice index (CLAP sends it as a float).
fn choice(plugin: &mut ClapBach, name: &str) -> i64 {
    let id = plugin.param(name);
    plugin.param_value(id).round() as i64
}

#[test]
fn key_and_lookahead_are_saved_and_older_projects_open_with_auto_and_off() {
    let mut plugin = ClapBach::load(512);
    let (key, lookahead) = (plugin.param("Key"), plugin.param("Lookahead"));
    // F♯ minor is the 15th choice (Auto, then C major, C minor, ...).
    let f_sharp_minor = 14;
    plugin.run(
        &session(),
        512,
        &[(key, f_sharp_minor as f64), (lookahead, 1.0)],
    );
    assert_eq!(choice(&mut plugin, "Key"), f_sharp_minor);
    let state = plugin.save_state();
    // nice-plug's CLAP state: the JSON's length (u64, little-endian), then the JSON.
    let (length, json) = state.split_at(8);
    assert_eq!(
        u64::from_le_bytes(length.try_into().unwrap()) as usize,
        json.len()
    );
    let text = std::str::from_utf8(json).expect("the state is JSON");
    assert!(text.contains(r#""key":{"string":"fsm"}"#), "{text}");
    assert!(text.contains(r#""lookahead":{"string":"beat"}"#), "{text}");

    let mut other = ClapBach::load(512);
    other.deactivate();
    other.load_state(&state);
    other.activate();
    assert_eq!(choice(&mut other, "Key"), f_sharp_minor);
    assert_eq!(choice(&mut other, "Lookahead"), 1);

    // The same project as an older version saved it: no key, no lookahead.
    let mut json: serde_json::Value = serde_json::from_str(text).unwrap();
    let params = json["params"].as_object_mut().expect("a params map");
    assert!(params.remove("key").is_some() && params.remove("lookahead").is_some());
    let older_json = serde_json::to_vec(&json).unwrap();
    let mut older = (older_json.len() as u64).to_le_bytes().to_vec();
    older.extend(older_json);
    // Loaded into an instance set otherwise, it still opens with Auto and Off.
    other.deactivate();
    other.load_state(&older);
    other.activate();
    assert_eq!(choice(&mut other, "Key"), 0, "Auto");
    assert_eq!(choice(&mut other, "Lookahead"), 0, "Off");
    assert_eq!(choice(&mut other, "Seed"), 1, "the rest of the state loads");
}
