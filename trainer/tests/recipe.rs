//! The recipe `train` chooses for the settings not given: piano rolls in one
//! key or in many, the voices recipe, the user's flags winning, and the model
//! file's record holding what was resolved.

mod common;

use std::path::Path;
use std::process::Command;

use bach_engine::{ModelKind, Token};
use bach_trainer::command::train::{train_config, TrainArgs};
use bach_trainer::command::{Cli, Command as Sub};
use bach_trainer::config::{TrainConfig, VoiceOrder};
use bach_trainer::dataset::{Dataset, Piece};
use bach_trainer::recipe::{self, KeyCensus, RecipeName, Resolved};

/// `train`'s arguments as the binary parses them, the given ones noted.
fn train_args(dataset: &Path, flags: &[&str]) -> TrainArgs {
    let mut argv = vec![
        "bach-trainer",
        "train",
        "--dataset",
        dataset.to_str().unwrap(),
        "--out",
        "m.safetensors",
    ];
    argv.extend_from_slice(flags);
    match Cli::parse_noting_given(argv).unwrap().command {
        Sub::Train(args) => *args,
        _ => unreachable!(),
    }
}

/// The run `train` would start on `data` with `flags`, and the recipe's choices.
fn resolve(dataset: &Path, flags: &[&str]) -> (TrainConfig, Resolved) {
    let args = train_args(dataset, flags);
    let data = bach_trainer::load::load_dataset(&args.dataset, args.kind, args.step_beats).unwrap();
    let mut config = train_config(&args);
    let resolved = recipe::resolve(args.recipe, &args.given, &data, &mut config).unwrap();
    (config, resolved)
}

/// A piano-roll piece in `tonic`'s major key: I IV V I cadences, the last
/// chord the tonic's.
fn cadences(tonic: u8, bars: usize) -> String {
    let chords: [[u8; 4]; 4] = [
        [48, 60, 64, 67],
        [53, 60, 65, 69],
        [55, 59, 62, 67],
        [48, 64, 67, 72],
    ];
    let frames: Vec<String> = (0..4 * bars)
        .map(|t| {
            let notes: Vec<String> = chords[t % 4]
                .iter()
                .map(|p| (p + tonic).to_string())
                .collect();
            format!("[{}]", notes.join(","))
        })
        .collect();
    format!("[{}]", frames.join(","))
}

/// A piano-roll dataset of `pieces` training pieces, the i-th in the key
/// `tonic(i)`.
fn roll_json(pieces: usize, tonic: impl Fn(usize) -> u8) -> String {
    let split = |r: std::ops::Range<usize>| {
        r.map(|i| cadences(tonic(i), 2 + i % 3))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "{{\"train\":[{}],\"valid\":[{}],\"test\":[{}]}}",
        split(0..pieces),
        split(pieces..pieces + 2),
        split(pieces + 2..pieces + 4)
    )
}

fn said(resolved: &Resolved, what: &str) -> bool {
    resolved
        .choices
        .iter()
        .any(|c| c.to_string().contains(what))
}

#[test]
fn a_roll_in_one_key_gets_the_nade_recipe_without_transposition() {
    let dir = common::temp_dir("recipe-one-key");
    let data = common::write(&dir, "roll.json", &roll_json(12, |_| 0));
    let (c, r) = resolve(&data, &[]);
    assert_eq!(r.recipe, RecipeName::PianorollSmall);
    assert_eq!(c.net.nade, 128);
    assert_eq!((c.net.layers, c.net.hidden), (1, 256));
    assert_eq!(c.training.dropout, 0.5);
    assert_eq!(c.training.lr, 2e-3);
    // 12 pieces: batches of 3, so four updates an epoch.
    assert_eq!(c.training.batch, 3);
    assert_eq!((c.epochs, c.training.patience), (150, 20));
    assert!(!c.training.transpose);
    assert!(
        said(&r, "no transposition: 12/12 pieces already in C major"),
        "{r:?}"
    );
    assert!(said(&r, "nade 128: "), "{r:?}");
}

#[test]
fn a_roll_in_many_keys_is_transposed() {
    let dir = common::temp_dir("recipe-many-keys");
    // Each piece a fifth from the one before: all twelve keys.
    let data = common::write(&dir, "roll.json", &roll_json(12, |i| (i * 7 % 12) as u8));
    let (c, r) = resolve(&data, &[]);
    assert!(c.training.transpose);
    assert!(
        said(&r, "random transposition: the pieces are in many keys"),
        "{r:?}"
    );
    // The pieces' keys are what the estimator says they are.
    let loaded = bach_trainer::load::load_dataset(&data, None, None).unwrap();
    let census = KeyCensus::of(&loaded.train);
    assert_eq!(census.counted, 12);
    assert!(census.agree <= 2 && !census.one_key(), "{census:?}");
}

#[test]
fn the_users_flags_win() {
    let dir = common::temp_dir("recipe-flags");
    let many = common::write(&dir, "many.json", &roll_json(12, |i| (i * 7 % 12) as u8));
    let flags = [
        "--batch",
        "5",
        "--nade",
        "0",
        "--layers",
        "2",
        "--epochs",
        "7",
        "--dropout",
        "0.25",
        "--no-transpose",
    ];
    let (c, r) = resolve(&many, &flags);
    assert_eq!(c.training.batch, 5);
    assert_eq!(c.net.nade, 0);
    assert_eq!(c.net.layers, 2);
    assert_eq!(c.epochs, 7);
    assert_eq!(c.training.dropout, 0.25);
    assert!(!c.training.transpose);
    // What was given is not announced as chosen; the rest still is.
    assert!(!said(&r, "nade") && !said(&r, "batch") && !said(&r, "transposition"));
    assert!(said(&r, "256 hidden"), "{r:?}");
    assert!(!r.choices.iter().any(|c| c.what.contains("layer")), "{r:?}");
    assert!(said(&r, "lr 2e-3") && said(&r, "patience 20"), "{r:?}");

    // --transpose turns it on where the recipe would not.
    let one = common::write(&dir, "one.json", &roll_json(12, |_| 0));
    let (c, r) = resolve(&one, &["--transpose"]);
    assert!(c.training.transpose && !said(&r, "transposition"));
    // --recipe none keeps every flag's own default.
    let (c, r) = resolve(&one, &["--recipe", "none"]);
    assert!(r.choices.is_empty());
    assert_eq!((c.net.nade, c.training.batch, c.epochs), (0, 32, 50));
    assert!(c.training.transpose);
    // A recipe for the other kind is an error.
    let args = train_args(&one, &["--recipe", "voices"]);
    let data = bach_trainer::load::load_dataset(&one, None, None).unwrap();
    let mut config = train_config(&args);
    assert!(recipe::resolve(args.recipe, &args.given, &data, &mut config).is_err());
}

#[test]
fn voices_get_the_harmonizers_recipe() {
    let dir = common::temp_dir("recipe-voices");
    let data = common::write(&dir, "satb.json", &common::voices_json(20));
    let (c, r) = resolve(&data, &[]);
    assert_eq!(r.recipe, RecipeName::Voices);
    assert!(c.training.pair_score);
    assert_eq!(c.training.voice_order, VoiceOrder::OuterFirst);
    assert_eq!((c.net.layers, c.net.hidden), (2, 192));
    assert_eq!(c.training.dropout, 0.35);
    assert_eq!(c.training.lr, 3e-3);
    // 20 short pieces: batches of 2, the harmonizer's 50 epochs and patience 12.
    assert_eq!(c.training.batch, 2);
    assert_eq!((c.epochs, c.training.patience), (50, 12));
    assert!(said(&r, "pair score: ") && said(&r, "outer-first: 4 voices"));

    let (c, r) = resolve(
        &data,
        &[
            "--no-pair-score",
            "--voice-order",
            "top-down",
            "--batch",
            "16",
        ],
    );
    assert!(!c.training.pair_score);
    assert_eq!(c.training.voice_order, VoiceOrder::TopDown);
    assert_eq!(c.training.batch, 16);
    assert!(!said(&r, "pair score") && !said(&r, "outer-first"));
}

/// A user's folder of 40 long songs (3,000 steps each) plans fewer epochs and
/// smaller batches than the chorales, so it finishes in minutes.
#[test]
fn a_small_folder_of_long_voices_pieces_is_scaled_down() {
    let piece = |shift: u8| {
        let tokens = (0..3000)
            .flat_map(|t| {
                let on = |p: u8| {
                    if t % 4 == 0 {
                        Token::Onset(p + shift)
                    } else {
                        Token::Hold
                    }
                };
                [on(72), on(67), on(64), on(48)]
            })
            .collect();
        Piece::voices(4, tokens)
    };
    let data = Dataset {
        name: "folder".into(),
        sha256: None,
        kind: ModelKind::Voices,
        step_beats: 0.25,
        voices: bach_engine::ModelMeta::satb(bach_engine::CoreKind::Gru, 1, 8).voices,
        train: (0..40).map(|i| piece((i % 12) as u8)).collect(),
        valid: vec![piece(0)],
        test: vec![piece(0)],
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    };
    let mut config = TrainConfig::new("folder", Path::new("m.safetensors"));
    let r = recipe::resolve(RecipeName::Auto, &Default::default(), &data, &mut config).unwrap();
    assert_eq!(config.training.batch, 4);
    // 3,000,000 / 120,000 steps.
    assert_eq!((config.epochs, config.training.patience), (25, 6));
    assert!(config.training.transpose, "{r:?}");
}

/// The model file's record holds the resolved settings, and `train` says
/// what it chose and why.
#[test]
fn the_record_holds_the_resolved_settings() {
    let dir = common::temp_dir("recipe-record");
    let data = common::write(&dir, "roll.json", &roll_json(8, |_| 0));
    let out = dir.join("m.safetensors");
    let output = Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
        .args([
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--seq-len",
            "4",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("recipe pianoroll-small:"), "{err}");
    assert!(
        err.contains("no transposition: 8/8 pieces already in C major"),
        "{err}"
    );
    let meta = bach_engine::file::ModelFile::load(&out).unwrap().meta;
    let s = meta.training.unwrap().settings.unwrap();
    assert_eq!(s["nade"], 128);
    assert_eq!(s["layers"], 1);
    assert_eq!(s["hidden"], 8);
    assert_eq!(s["epochs"], 1);
    assert_eq!(s["batch"], 2);
    assert_eq!(s["dropout"], 0.5);
    assert_eq!(s["lr"], 0.002);
    assert_eq!(s["patience"], 20);
    assert_eq!(s["transpose"], false);
}

/// Each setting the recipe chooses is a `train` flag by that id (a renamed
/// field would otherwise be overwritten even when given), and `--help` says
/// the recipe chooses it.
#[test]
fn the_recipes_settings_are_trains_flags() {
    use clap::Args;
    let cmd = TrainArgs::augment_args(clap::Command::new("train"));
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in recipe::CHOSEN
        .iter()
        .chain(&["force_transpose", "no_pair_score"])
    {
        assert!(ids.iter().any(|i| i == id), "{id} is not a train flag");
    }
    let help = match Cli::parse_noting_given(["bach-trainer", "train", "--help"]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("--help parses to an error that prints it"),
    };
    assert!(
        help.contains("Pieces per batch [default: the recipe's; 32 with --recipe none]"),
        "{help}"
    );
}

/// On the real data: the JSB piano roll (every piece moved to C) is in one
/// key; the 16th-note chorales in their own keys are not.
#[test]
fn jsb_is_in_one_key_and_its_originals_are_not() {
    let (Some(roll), Some(original)) = (
        common::shared("pianoroll/jsb_chorales.json"),
        common::shared("jsb16/Jsb16thSeparated.json"),
    ) else {
        return;
    };
    let roll = bach_trainer::load::load_dataset(&roll, None, None).unwrap();
    let census = KeyCensus::of(&roll.train);
    assert!(census.one_key(), "{census:?}");
    assert_eq!(census.label, "C major / C minor");
    let original = bach_trainer::load::load_dataset(&original, None, None).unwrap();
    assert!(!KeyCensus::of(&original.train).one_key());
}

/// Piano rolls past 40,000 training frames get two layers and the large
/// sets' 30 epochs, patience 6; `--recipe` picks a preset whatever the size.
#[test]
fn a_large_roll_gets_two_layers_and_few_epochs() {
    use bach_engine::pianoroll::KeyFrame;
    let piece = |tonic: u8| {
        Piece::Keys(
            (0..1000)
                .map(|t| KeyFrame::from_pitches([48 + tonic, 64 + tonic + (t % 3) as u8]))
                .collect(),
        )
    };
    let data = Dataset {
        name: "big".into(),
        sha256: None,
        kind: ModelKind::Pianoroll,
        step_beats: 0.5,
        voices: Vec::new(),
        train: (0..50).map(|_| piece(0)).collect(),
        valid: vec![piece(0)],
        test: vec![piece(0)],
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    };
    let mut c = TrainConfig::new("big", Path::new("m.safetensors"));
    let r = recipe::resolve(RecipeName::Auto, &Default::default(), &data, &mut c).unwrap();
    assert_eq!(r.recipe, RecipeName::PianorollLarge);
    assert_eq!((c.net.layers, c.net.hidden, c.net.nade), (2, 256, 128));
    assert_eq!(
        (c.training.batch, c.epochs, c.training.patience),
        (8, 30, 6)
    );
    let mut c = TrainConfig::new("big", Path::new("m.safetensors"));
    let r = recipe::resolve(
        RecipeName::PianorollSmall,
        &Default::default(),
        &data,
        &mut c,
    )
    .unwrap();
    assert_eq!(r.recipe, RecipeName::PianorollSmall);
    assert_eq!((c.net.layers, c.epochs, c.training.patience), (1, 150, 20));
}
