//! A harmonizer in a user's own style, end to end: `bach-trainer train` on a
//! folder of four-part MIDI files (the synthetic set the trainer's tests
//! write, `trainer/tests/data/four-part`), its `info`, then the release
//! CLAP bundle loading the file through its saved state and harmonizing a
//! melody played by hand with it.

mod common;

use std::path::PathBuf;

use bach_e2e::{hanging, keys, play, stop, with_model, ClapBach, Instance, Note, Session};
use bach_engine::Feature;
use clap::Parser;

fn four_part_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trainer/tests/data/four-part")
}

/// A hymn-like tune in G major, each note a few milliseconds off the beat
/// as a keyboard player plays it, at 100 bpm.
fn played_tune() -> Session {
    let spb = 48_000.0 * 60.0 / 100.0;
    let notes = [
        (0.0, 67u8),
        (1.0, 71),
        (2.0, 74),
        (3.0, 72),
        (4.0, 71),
        (5.0, 69),
        (6.0, 67),
        (8.0, 69),
        (9.0, 71),
        (10.0, 72),
        (11.0, 74),
        (12.0, 71),
        (13.0, 69),
        (14.0, 67),
    ];
    let late = [
        7.0, -4.0, 12.0, 3.0, -6.0, 9.0, 15.0, -2.0, 5.0, 11.0, -8.0, 4.0, 6.0, 10.0,
    ];
    let mut out = Vec::new();
    for (i, &(beat, pitch)) in notes.iter().enumerate() {
        let next = notes.get(i + 1).map_or(beat + 2.0, |n| n.0);
        let on = ((beat + late[i] / 1000.0 / 0.6) * spb) as i64 + 4_800;
        let off = ((next - 0.05) * spb) as i64 + 4_800;
        out.push((on, true, pitch));
        out.push((off, false, pitch));
    }
    out.sort_by_key(|n| (n.0, n.1));
    let end = out.last().unwrap().0;
    Session {
        segments: vec![play(0, 100.0, 0.0), stop(end + 48_000, 100.0)],
        notes: keys(out),
        length: end + 96_000,
    }
}

#[test]
fn a_harmonizer_trained_on_four_part_midi_files_plays_in_the_plugin() {
    let dir = std::env::temp_dir().join(format!("bach-own-style-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("own.safetensors");
    let folder = four_part_folder();
    // A small network for a few epochs: the test is the path from files to
    // notes, not the harmony's quality.
    let args = [
        "bach-trainer",
        "train",
        "--dataset",
        folder.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--layers",
        "1",
        "--hidden",
        "32",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--seed",
        "1",
    ];
    let cli = bach_trainer::command::Cli::try_parse_from(args).expect("train's flags");
    bach_trainer::command::run(cli).expect("train on the four-part folder");

    let info = bach_trainer::command::info::info(&model).expect("info");
    for lack in [
        "knows no key",
        "hears every meter as 4/4",
        "cannot look ahead",
    ] {
        assert!(!info.contains(lack), "{lack}: {info}");
    }
    let meta = bach_engine::file::ModelFile::load(&model)
        .expect("the model file loads")
        .meta;
    assert!(
        meta.features.contains(&Feature::Meter),
        "{:?}",
        meta.features
    );
    assert!(
        meta.features.contains(&Feature::KeyMode),
        "{:?}",
        meta.features
    );
    assert!(
        meta.features
            .iter()
            .any(|f| matches!(f, Feature::Ahead { .. })),
        "{:?}",
        meta.features
    );

    let tune = played_tune();
    let mut built_in = ClapBach::load(4096);
    let t = built_in.param("Temperature");
    let default_notes = built_in.run(&tune, 512, &[(t, 0.0)]);

    let mut plugin = ClapBach::load(4096);
    let state = with_model(
        &plugin.save_state(),
        serde_json::json!({"type": "file", "value": model}),
    );
    plugin.restore(&state);
    let t = plugin.param("Temperature");
    let notes = plugin.run(&tune, 512, &[(t, 0.0)]);
    check_harmony(&notes, &meta);
    assert_ne!(
        notes, default_notes,
        "the plugin plays the trained model, not the built-in one"
    );
    // The same notes in other buffer sizes.
    let mut again = ClapBach::load(4096);
    again.restore(&state);
    assert_eq!(again.run(&tune, 37, &[(t, 0.0)]), notes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Alto, tenor and bass all sound, in the ranges the model learned, and
/// nothing is left hanging.
fn check_harmony(notes: &[Note], meta: &bach_engine::ModelMeta) {
    assert!(hanging(notes).is_empty(), "hanging: {:?}", hanging(notes));
    for v in 1..=3usize {
        let voice: Vec<&Note> = notes
            .iter()
            .filter(|n| n.on && common::voice_of(n) == Some(v))
            .collect();
        assert!(voice.len() >= 4, "voice {v} plays: {notes:?}");
        let range = meta.voices[v].range();
        for n in voice {
            assert!(
                (range.low..=range.high).contains(&n.pitch),
                "voice {v}: {} outside {range:?}",
                n.pitch
            );
        }
    }
}
