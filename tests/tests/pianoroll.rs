//! The shipped piano-roll models in the plugin, through both ABIs: chosen
//! from the built-in list (as a saved project names them), they continue a
//! phrase in Continue mode on their own grid, at most eight keys at once,
//! with nothing left hanging, and CLAP and VST3 play the same notes. (That
//! the offline `bach continue` plays these notes too is checked in
//! `cli/tests/offline_plugin.rs`.)

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{
    alloc_checked_library, hanging, keys, play, stop, with_model, ClapBach, Instance, Note,
    Session, INSTRUMENT_ID,
};

/// The built-in piano rolls and their grid in samples at 120 bpm, 48 kHz.
const ROLLS: [(&str, i64); 2] = [
    ("nottingham-pianoroll-gru-nade", 12_000),
    ("jsb-pianoroll-lstm-nade", 24_000),
];
/// The sequencer's note cap for a piano roll (its voice slots).
const CAP: usize = 8;
/// The melody's last note ends here; the model's turn comes after.
const MELODY_END: i64 = 8 * 24_000;

/// Two bars of a tune in C, then silence for the model's turn (two bars,
/// after two beats of silence, by default).
fn phrase() -> Session {
    let mut notes = Vec::new();
    for (i, pitch) in [60u8, 64, 67, 72, 71, 67, 65, 64].into_iter().enumerate() {
        let t = i as i64 * 24_000;
        notes.push((t, true, pitch));
        notes.push((t + 23_000, false, pitch));
    }
    Session {
        segments: vec![play(0, 120.0, 0.0), stop(13 * 24_000 * 2, 120.0)],
        notes: keys(notes),
        length: 14 * 24_000 * 2,
    }
}

/// The state of a fresh instance with the built-in model `name`.
fn choosing(state: &[u8], name: &str) -> Vec<u8> {
    with_model(
        state,
        serde_json::json!({"type": "embedded", "value": name}),
    )
}

/// The model's notes: after the melody (the roll plays on the melody's channel).
fn model_notes(out: &[Note]) -> Vec<Note> {
    out.iter()
        .filter(|n| n.sample > MELODY_END)
        .copied()
        .collect()
}

fn check(name: &str, step: i64, out: &[Note]) {
    let played = model_notes(out);
    assert!(
        played.iter().filter(|n| n.on).count() >= 4,
        "{name}: the model plays on: {played:?}"
    );
    for n in played.iter().filter(|n| n.on) {
        assert_eq!(n.sample % step, 0, "{name}: off its grid: {n:?}");
    }
    let mut sounding = std::collections::BTreeSet::new();
    for n in &played {
        if n.on {
            sounding.insert(n.pitch);
        } else {
            sounding.remove(&n.pitch);
        }
        assert!(
            sounding.len() <= CAP,
            "{name}: {} keys at once",
            sounding.len()
        );
    }
    assert!(
        hanging(out).is_empty(),
        "{name}: hanging {:?}",
        hanging(out)
    );
}

#[test]
fn each_built_in_piano_roll_continues_a_phrase_through_clap_and_vst3() {
    for (name, step) in ROLLS {
        let mut clap = ClapBach::load(4096);
        let state = choosing(&clap.save_state(), name);
        clap.restore(&state);
        // Continue, at the temperature the window sets for a piano roll
        // (1.00: CLAP carries it normalised, 0.5 of 0..2).
        let params = [(clap.param("Mode"), 1.0), (clap.param("Temperature"), 0.5)];
        let out = clap.run(&phrase(), 512, &params);
        check(name, step, &out);
        // The same for another buffer size.
        let mut other = ClapBach::load(4096);
        other.restore(&state);
        assert_eq!(other.run(&phrase(), 37, &params), out, "{name}");

        let mut vst3 = Vst3Bach::load(4096);
        let state = choosing(&vst3.get_state(), name);
        vst3.restore(&state);
        let params = [(vst3.param("Mode"), 1.0), (vst3.param("Temperature"), 1.0)];
        let notes = vst3.run(&phrase(), 4096, &params);
        assert_eq!(notes, out, "{name}: VST3 plays what CLAP plays");
    }
}

#[test]
fn harmonize_with_a_piano_roll_passes_the_melody_through() {
    let (name, _) = ROLLS[0];
    let mut clap = ClapBach::load(4096);
    let state = choosing(&clap.save_state(), name);
    clap.restore(&state);
    let out = clap.run(&phrase(), 512, &[]);
    let melody: Vec<_> = phrase()
        .notes
        .iter()
        .map(|n| (n.sample, n.on, n.pitch))
        .collect();
    let sent: Vec<_> = out.iter().map(|n| (n.sample, n.on, n.pitch)).collect();
    assert_eq!(sent, melody);
}

#[test]
fn piano_roll_stepping_never_allocates_in_process() {
    let path = alloc_checked_library();
    for (name, step) in ROLLS {
        for size in [1, 512] {
            let mut plugin = ClapBach::load_plugin(&path, INSTRUMENT_ID, 4096);
            let state = choosing(&plugin.save_state(), name);
            plugin.restore(&state);
            let params = [
                (plugin.param("Mode"), 1.0),
                (plugin.param("Temperature"), 0.5),
            ];
            let out = plugin.run(&phrase(), size, &params);
            check(name, step, &out);
        }
    }
}
