//! `train --from MODEL` (fine-tuning) and the calibration `train` runs at
//! its end: the weights really loaded, the layout kept, contradicting flags
//! and bad model files refused, pieces that cannot fit skipped, the source
//! named in the record, and the parallel-motion weights calibrated (or not,
//! with --no-calibrate).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bach_engine::file::ModelFile;
use bach_engine::model::pairs::{PAIR_FEATURES, PARALLEL_FIFTH, PARALLEL_OCTAVE};
use bach_trainer::config::{TrainConfig, VoiceOrder};
use bach_trainer::dataset::{self, Dataset};
use bach_trainer::eval::evaluate;
use bach_trainer::finetune::Source;
use bach_trainer::load::load_network;
use bach_trainer::train::{Control, Trainer};

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tiny voices model with the pair score, outer voices first, hearing
/// what the voices sound, a hidden layer in each head, trained for an epoch on the 6-piece fixture: the
/// model to start from.
fn source(dir: &Path) -> (PathBuf, Dataset) {
    let path = common::write(dir, "source-data.json", &common::voices_json(6));
    let data = dataset::load(&path, None, None).unwrap();
    let out = dir.join("source.safetensors");
    let mut c = TrainConfig::new("fixture", &out);
    c.net.hidden = 12;
    c.net.layers = 1;
    c.epochs = 1;
    c.training.batch = 2;
    c.training.seq_len = 5;
    c.training.lr = 0.02;
    c.training.dropout = 0.1;
    c.training.pair_score = true;
    c.training.sounding = true;
    c.net.head_hidden = 4;
    c.training.voice_order = VoiceOrder::OuterFirst;
    let mut t = Trainer::new(c, &data).unwrap();
    t.run(&data, &Control::default(), &mut |_| {}).unwrap();
    (out, data)
}

fn settings(file: &ModelFile) -> serde_json::Map<String, serde_json::Value> {
    file.meta
        .training
        .as_ref()
        .and_then(|t| t.settings.clone())
        .expect("a training record with settings")
}

#[test]
fn a_run_from_a_model_starts_from_its_weights_and_keeps_its_layout() {
    let dir = common::temp_dir("finetune-lib");
    let (src_path, _) = source(&dir);
    let src_file = ModelFile::load(&src_path).unwrap();
    let user = common::write(&dir, "mine.json", &common::voices_json(9));
    let data = dataset::load(&user, None, None).unwrap();

    let src = Source::load(&src_path).unwrap();
    let (data, warnings) = src.fit(data).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let out = dir.join("tuned.safetensors");
    // The flags' defaults (2 × 256, no pair score, top down) give way to the file's.
    let mut c = TrainConfig::new("mine", &out);
    let chosen = src.configure(&mut c, &[]).unwrap();
    assert!(chosen.contains("--lr"), "{chosen}");
    assert_eq!((c.net.layers, c.net.hidden), (1, 12));
    assert!(c.training.pair_score);
    assert!(c.training.sounding);
    assert_eq!(c.net.head_hidden, 4);
    assert_eq!(c.training.voice_order, VoiceOrder::OuterFirst);
    // Fine-tuning defaults: a third of the source's rate, its dropout.
    assert!(
        (c.training.lr - 0.02 / 3.0).abs() < 1e-12,
        "{}",
        c.training.lr
    );
    assert_eq!(c.training.dropout, 0.1);
    assert_eq!(c.epochs, bach_trainer::finetune::EPOCHS);
    c.epochs = 1;
    c.training.batch = 3;
    c.training.seq_len = 5;

    let (mut t, baseline) = src.trainer(c, &data).unwrap();
    // Before any update: the source's very weights, and its very NLL.
    assert_eq!(t.net.tensors().unwrap(), src_file.named_tensors());
    let expected = evaluate(&load_network(&src_path).unwrap(), &data.valid)
        .unwrap()
        .nll;
    assert_eq!(baseline, Some(expected));
    t.run(&data, &Control::default(), &mut |_| {}).unwrap();

    let tuned = ModelFile::load(&out).unwrap();
    let (a, b) = (&tuned.meta, &src_file.meta);
    assert_eq!(a.features, b.features);
    assert!(a.hears_sounding());
    assert_eq!(a.head_hidden, 4);
    assert_eq!(a.order, b.order);
    assert_eq!(a.voices, b.voices);
    assert_eq!(
        (
            a.core,
            a.layers,
            a.hidden,
            a.pair_score,
            a.intervals_by_size
        ),
        (
            b.core,
            b.layers,
            b.hidden,
            b.pair_score,
            b.intervals_by_size
        )
    );
    assert_eq!(a.name, "tuned");
    let from = &settings(&tuned)["from"];
    let bytes = std::fs::read(&src_path).unwrap();
    assert_eq!(from["file"], "source.safetensors");
    assert_eq!(from["model"], "source");
    assert_eq!(
        from["sha256"],
        bach_trainer::provenance::sha256_hex(&bytes).as_str()
    );
}

#[test]
fn train_from_refuses_contradictions_and_bad_files_and_skips_what_cannot_fit() {
    let dir = common::temp_dir("finetune-cli");
    let (src_path, _) = source(&dir);
    // One piece that no transposition fits (a soprano of five octaves) and
    // one whose bass is below the range until it moves up.
    let fixture = common::voices_json(6);
    let user_text = fixture.replacen(
        "{\"train\":[",
        "{\"train\":[[[40,62,55,43],[100,62,55,43]],[[67,62,55,20],[67,62,55,22]],",
        1,
    );
    let user = common::write(&dir, "mine.json", &user_text);
    let out = dir.join("tuned.safetensors");
    let (s, d, o) = (
        src_path.to_str().unwrap(),
        user.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let base = [
        "train",
        "--dataset",
        d,
        "--out",
        o,
        "--quiet",
        "--threads",
        "1",
        "--batch",
        "3",
        "--seq-len",
        "5",
    ];
    let with = |extra: &[&str]| run(&[&base[..], extra].concat());

    // Layout flags that contradict the file.
    for (flag, value) in [
        ("--hidden", "99"),
        ("--arch", "lstm"),
        ("--layers", "2"),
        ("--head-hidden", "9"),
    ] {
        let (code, err) = with(&["--from", s, flag, value]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(&format!("{flag} {value}")), "{err}");
        assert!(err.contains("contradicts source.safetensors"), "{err}");
    }
    let (code, err) = with(&["--from", s, "--voice-order", "top-down"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--voice-order top-down (the model's is outer-first)"),
        "{err}"
    );
    let (code, err) = with(&["--from", s, "--step-beats", "0.5"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--step-beats 0.5 contradicts"), "{err}");
    assert!(!out.exists(), "nothing written for a refused run");

    // Bad model files: one error line, never a panic.
    let garbage = common::write(&dir, "garbage.safetensors", "not a model at all");
    let mut nan = std::fs::read(&src_path).unwrap();
    let n = nan.len();
    nan[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan_path = dir.join("nan.safetensors");
    std::fs::write(&nan_path, nan).unwrap();
    let missing = dir.join("missing.safetensors");
    for (bad, why) in [
        (&missing, "No such file"),
        (&garbage, ""),
        (&nan_path, "non-finite"),
    ] {
        let (code, err) = with(&["--from", bad.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.starts_with("error: cannot start from the model"),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, err) = with(&["--from", s, "--resume", o]);
    assert_eq!(code, 2, "--from and --resume conflict: {err}");

    // A flag that agrees is fine; the run starts from the source's NLL,
    // skips the piece that cannot fit, moves the other, and calibrates.
    let (code, err) = with(&["--from", s, "--hidden", "12", "--epochs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning: train piece 1 of mine.json does not fit the voice ranges of source.safetensors (S 54-87, A 46-80, T 40-75, B 30-72) in any transposition: skipped"
        ),
        "{err}"
    );
    assert!(
        err.contains("1 pieces were moved into the voice ranges"),
        "{err}"
    );
    assert!(err.contains("fine-tuning settings: --lr"), "{err}");
    assert!(
        err.contains("valid NLL") && err.contains("before fine-tuning"),
        "{err}"
    );
    assert!(err.contains("calibrated:"), "{err}");
    let tuned = ModelFile::load(&out).unwrap();
    let record = tuned.meta.training.as_ref().unwrap();
    assert_eq!(
        record.split_sizes.unwrap().train,
        7,
        "8 pieces, one skipped"
    );
    assert!(record.command.contains("--from source.safetensors"));
    let s = settings(&tuned);
    assert_eq!(s["from"]["file"], "source.safetensors");
    assert_eq!(s["calibrate.by"], "train");
    assert_eq!(s["epochs"], 2);
    assert_eq!(s["hidden"], 12);
    let (code, info) = {
        let out = Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
            .args(["info", o])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(0));
    assert!(
        info.contains("started from: source.safetensors (model source, SHA-256 "),
        "{info}"
    );

    // A stopped run from a model resumes on its data fitted again (the
    // skipped piece stays skipped) and keeps naming its source.
    let again = dir.join("again.safetensors");
    let a = again.to_str().unwrap();
    let first = [
        "train",
        "--dataset",
        d,
        "--from",
        s_path(&src_path),
        "--epochs",
        "2",
        "--batch",
        "3",
        "--quiet",
        "--out",
        a,
    ];
    let (code, err) = run(&[&first[..], &["--stop-after-batches", "1"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resume with --resume"), "{err}");
    let ck = dir.join("again.ckpt.safetensors");
    let (code, err) = run(&[
        "train",
        "--dataset",
        d,
        "--quiet",
        "--out",
        a,
        "--resume",
        ck.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("resuming at epoch 1, batch 1"), "{err}");
    assert!(
        err.contains("train piece 1 of mine.json does not fit"),
        "{err}"
    );
    let resumed = ModelFile::load(&again).unwrap();
    assert_eq!(settings(&resumed)["from"]["file"], "source.safetensors");

    // A model of another kind does not suit the data.
    let roll = common::write(&dir, "roll.json", &common::pianoroll_json(4));
    let (code, err) = run(&[
        "train",
        "--dataset",
        roll.to_str().unwrap(),
        "--from",
        s_path(&src_path),
        "--out",
        o,
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error:"), "{err}");
}

fn s_path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_calibrates_pair_score_models_unless_told_not_to() {
    let dir = common::temp_dir("finetune-calibrate");
    let data = common::write(&dir, "voices.json", &common::voices_json(6));
    let train = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let args = [
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--layers",
            "1",
            "--hidden",
            "12",
            "--epochs",
            "2",
            "--batch",
            "2",
            "--seq-len",
            "5",
            "--lr",
            "0.02",
            "--seed",
            "4",
            "--pair-score",
            "--voice-order",
            "outer-first",
            "--threads",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, err) = run(&[&args[..], extra].concat());
        assert_eq!(code, 0, "{err}");
        (ModelFile::load(&out).unwrap(), err)
    };
    let (plain, err) = train("plain.safetensors", &["--no-calibrate"]);
    assert!(
        !err.contains("calibrating") && !err.contains("calibrated:"),
        "{err}"
    );
    assert!(!settings(&plain).keys().any(|k| k.starts_with("calibrate.")));
    let (calibrated, err) = train("calibrated.safetensors", &[]);
    assert!(err.contains("calibrated: the network alone wrote"), "{err}");
    // Two short valid pieces hold few parallels to count.
    assert!(err.contains("the calibration's target is noisy"), "{err}");
    let record = settings(&calibrated);
    assert_eq!(record["calibrate.by"], "train");
    assert_eq!(record["calibrate.split"], "valid");
    assert_eq!(record["calibrate.rounds"], 8);

    // The same training (same seed); only the parallel-motion weights moved.
    let mut moved = 0;
    for (name, before) in &plain.tensors {
        let after = &calibrated.tensors[name];
        for (i, (a, b)) in before.iter().zip(after).enumerate() {
            let parallel = name.ends_with(".pairs")
                && matches!(i % PAIR_FEATURES, PARALLEL_FIFTH | PARALLEL_OCTAVE);
            if !parallel {
                assert_eq!(a, b, "{name}[{i}] is not a parallel-motion weight");
            } else if a != b {
                moved += 1;
            }
        }
    }
    assert!(moved > 0, "calibration moved no parallel weight");
}

#[test]
fn piano_roll_models_fine_tune_too_and_keep_their_frame_output() {
    let dir = common::temp_dir("finetune-roll");
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(5));
    let src = dir.join("roll-source.safetensors");
    let out = dir.join("roll-tuned.safetensors");
    let (d, s, o) = (
        data.to_str().unwrap(),
        src.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let tiny = [
        "--epochs",
        "1",
        "--batch",
        "2",
        "--seq-len",
        "4",
        "--threads",
        "1",
        "--quiet",
    ];
    let (code, err) = run(&[
        &[
            "train",
            "--dataset",
            d,
            "--hidden",
            "8",
            "--layers",
            "1",
            "--nade",
            "4",
        ][..],
        &tiny,
        &["--out", s],
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    // --nade 0 contradicts the source's NADE of 4 units.
    let (code, err) = run(&[
        &[
            "train",
            "--dataset",
            d,
            "--from",
            s,
            "--nade",
            "0",
            "--out",
            o,
        ][..],
        &tiny,
    ]
    .concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--nade 0 (the model's is 4)"), "{err}");
    let (code, err) = run(&[
        &["train", "--dataset", d, "--from", s, "--out", o][..],
        &tiny,
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains("calibrat"),
        "nothing to calibrate in a roll: {err}"
    );
    let (a, b) = (
        ModelFile::load(&out).unwrap().meta,
        ModelFile::load(&src).unwrap().meta,
    );
    assert_eq!((a.frame, a.hidden, a.layers), (b.frame, b.hidden, b.layers));
    assert_eq!(a.features, b.features);
}
