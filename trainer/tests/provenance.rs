//! Model files say where they came from and leak nothing of the machine that
//! made them: the dataset by file name, hash and split sizes, the trainer's
//! version, every setting, and the command with paths cut to file names. No
//! file under `models/` and no model a test trains names an absolute path or
//! the user; `eval` warns about data with another hash; `rewrite-provenance`
//! cleans an old record and keeps every tensor byte for byte.

mod common;

use std::path::{Path, PathBuf};

use bach_engine::file::{random_tensors, save};
use bach_engine::{CoreKind, ModelFile, ModelMeta, Provenance};
use bach_trainer::provenance::{leaks, sha256_hex, user_name};
use safetensors::SafeTensors;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Fails, naming the file, if `path` leaks a path or the user's name.
fn assert_clean(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    if let Some(leak) = leaks(&bytes, user_name().as_deref()) {
        panic!("{} holds {leak}", path.display());
    }
}

fn training(path: &Path) -> Provenance {
    ModelFile::load(path)
        .unwrap()
        .meta
        .training
        .unwrap_or_else(|| panic!("{} has no training record", path.display()))
}

/// The SHA-256 of each shipped model's tensor data (everything after the
/// header), taken before their records were rewritten: the rewrite kept the
/// weights, and a retrained model must update this list and its card.
const SHIPPED_TENSORS: [(&str, &str); 14] = [
    (
        "chorale-satb.safetensors",
        "51ceb31f629d1ecef7b371da18edeeda854178c2b767a1ea8600419b24cb1670",
    ),
    (
        "jsb16-voices-gru.safetensors",
        "ea71eed84574a699e321c91e3efc919abb1c33c16a76eec0a26de6bd9e77860d",
    ),
    (
        "chorale-satb-jsb16.safetensors",
        "2b236cd1e153fab3bc17735ab40d2cf717844e5a6f52fb446eb8dbda789a897f",
    ),
    (
        "jsb-pianoroll-gru-limit-cycle.safetensors",
        "3b00d64851fcfcbea8429d182197c1dc3560922d5631bc6ac9e6f7482249599c",
    ),
    (
        "jsb-pianoroll-gru-nade.safetensors",
        "41cd4e41c702690aad33d2cf38c95df53ec6a58b53214b0dc7b8d4e0ef1b9418",
    ),
    (
        "jsb-pianoroll-gru.safetensors",
        "c9d972fd7d203a7bad936fd681d41c56b38742c46658e91803d5b749a279cbf6",
    ),
    (
        "jsb-pianoroll-lstm-nade.safetensors",
        "dc34a1096b87c46b24ce796a5135b3335b7496cf6d052bd4eeb2e52f333b78ae",
    ),
    (
        "jsb-pianoroll-lstm.safetensors",
        "3e8861f3c8438cb4c1513e4ecd1710af0a0ea56bd1b8de2aecc8fbdbb8c3437e",
    ),
    (
        "jsb-pianoroll-tanh-limit-cycle.safetensors",
        "b46070f5b6173552d5b6b352ff09d5d5485bd25f8644a96fba78ade376f6a522",
    ),
    (
        "jsb-pianoroll-tanh.safetensors",
        "c490d3258ae38e263ba6451c5b06f855462a431620f4960f66633bf377405cd9",
    ),
    (
        "nottingham-pianoroll-gru-nade.safetensors",
        "14fe4396a42015645a7e7eb8c28be961d8ce204ada63113d0d61ea6628da4d45",
    ),
    (
        "nottingham-pianoroll-gru.safetensors",
        "1af3e05052532829131f65855352818091bf6c32202040fe1a622510c6055203",
    ),
    (
        "piano-midi-pianoroll-gru-nade.safetensors",
        "42a660df2a320d5e8962f68ea326f14a7ed33237c3d213ef01ff43ed04287f42",
    ),
    (
        "musedata-pianoroll-gru-nade.safetensors",
        "1fb415bc9dfc96430bac52154b72dadc3f5c27b6f0a9f55a8001a2be79d20709",
    ),
];

/// Each shipped model's data file below `../shared/data`, by recorded name.
fn shared_path(dataset: &str) -> &'static str {
    match dataset {
        "Jsb16thSeparated.json" => "jsb16/Jsb16thSeparated.json",
        "chorales.json" => "chorales/chorales.json",
        "jsb_chorales.json" => "pianoroll/jsb_chorales.json",
        "nottingham.json" => "pianoroll/nottingham.json",
        "piano_midi.json" => "pianoroll/piano_midi.json",
        "musedata.json" => "pianoroll/musedata.json",
        other => panic!("no shared dataset is called {other}"),
    }
}

/// The tensor bytes of a safetensors file: everything after its header.
fn tensor_bytes(bytes: &[u8]) -> &[u8] {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    &bytes[8 + n..]
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn nothing_under_models_names_a_path_or_the_user() {
    let files = files_under(&models_dir());
    assert!(files.len() > SHIPPED_TENSORS.len(), "{files:?}");
    for f in &files {
        assert_clean(f);
    }
}

#[test]
fn shipped_models_keep_their_weights_and_carry_full_provenance() {
    let shipped: Vec<PathBuf> = files_under(&models_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    assert_eq!(shipped.len(), SHIPPED_TENSORS.len(), "{shipped:?}");
    for (file, sha) in SHIPPED_TENSORS {
        let path = models_dir().join(file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sha256_hex(tensor_bytes(&bytes)), sha, "{file}'s tensors");
        let t = training(&path);
        assert!(!t.dataset.contains(['/', '\\']), "{file}: {}", t.dataset);
        assert!(
            t.command.starts_with("bach-trainer train --dataset "),
            "{file}: {}",
            t.command
        );
        assert!(!t.command.contains(['/', '\\']), "{file}: {}", t.command);
        let hash = t
            .dataset_sha256
            .as_deref()
            .unwrap_or_else(|| panic!("{file}: no hash"));
        assert_eq!(hash.len(), 64, "{file}");
        assert!(t.split_sizes.is_some(), "{file}");
        let settings = t.settings.unwrap_or_else(|| panic!("{file}: no settings"));
        assert_eq!(settings["seed"], serde_json::json!(t.seed), "{file}");
        assert!(settings["lr"].as_f64().is_some_and(|lr| lr > 0.0), "{file}");
        assert!(t.test_nll.is_some(), "{file}");
    }
}

/// The recorded hash and split sizes are those of the data in `../shared/data`
/// (skipped without it).
#[test]
fn shipped_records_name_the_shared_data() {
    for (file, _) in SHIPPED_TENSORS {
        let path = models_dir().join(file);
        let t = training(&path);
        let Some(data_path) = common::shared(shared_path(&t.dataset)) else {
            return;
        };
        let bytes = std::fs::read(&data_path).unwrap();
        assert_eq!(
            t.dataset_sha256.as_deref(),
            Some(sha256_hex(&bytes).as_str()),
            "{file}"
        );
        let kind = ModelFile::load(&path).unwrap().meta.kind;
        let data = bach_trainer::load::load_dataset(&data_path, Some(kind), None).unwrap();
        assert_eq!(t.split_sizes, Some(data.split_sizes()), "{file}");
    }
}

#[test]
fn training_records_provenance_without_paths_and_eval_checks_the_data() {
    // Absolute paths everywhere, as a user's shell would pass them.
    let dir = common::temp_dir("provenance");
    assert!(dir.is_absolute());
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(6));
    let out = dir.join("m.safetensors");
    let ck = dir.join("run.ckpt.safetensors");
    let (d, o, c) = (
        data.to_str().unwrap(),
        out.to_str().unwrap(),
        ck.to_str().unwrap(),
    );
    let args = [
        "train",
        "--dataset",
        d,
        "--arch",
        "gru",
        "--layers",
        "1",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch",
        "2",
        "--seq-len",
        "4",
        "--lr",
        "0.01",
        "--seed",
        "3",
        "--quiet",
        "--checkpoint",
        c,
        "--out",
        o,
    ];
    let (code, _, err) = common::run(&[&args[..], &["--stop-after-batches", "2"]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = common::run(&[&args[..], &["--resume", c]].concat());
    assert_eq!(code, 0, "{err}");
    assert_clean(&out);

    let t = training(&out);
    assert_eq!(t.dataset, "roll.json");
    let sha = sha256_hex(&std::fs::read(&data).unwrap());
    assert_eq!(t.dataset_sha256.as_deref(), Some(sha.as_str()));
    let sizes = t.split_sizes.unwrap();
    assert_eq!((sizes.train, sizes.valid, sizes.test), (6, 2, 2));
    let build = t.trainer.expect("the trainer is recorded");
    assert_eq!(build.version, env!("CARGO_PKG_VERSION"));
    // The revision of this checkout, when the build could ask git.
    assert_eq!(
        build.revision.as_deref(),
        option_env!("BACH_TRAINER_REVISION")
    );
    if let Some(r) = &build.revision {
        assert!(
            r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()),
            "{r}"
        );
    }
    let s = t.settings.expect("the settings are recorded");
    for (key, value) in [
        ("kind", serde_json::json!("pianoroll")),
        ("core", serde_json::json!("gru")),
        ("layers", serde_json::json!(1)),
        ("hidden", serde_json::json!(8)),
        ("epochs", serde_json::json!(2)),
        ("batch", serde_json::json!(2)),
        ("seq_len", serde_json::json!(4)),
        ("lr", serde_json::json!(0.01)),
        ("seed", serde_json::json!(3)),
        ("transpose", serde_json::json!(true)),
        ("device", serde_json::json!("cpu")),
    ] {
        assert_eq!(s[key], value, "{key} in {s:?}");
    }
    assert_eq!(s["optim"]["clip"], serde_json::json!(1.0), "{s:?}");
    assert_eq!(
        t.command,
        "bach-trainer train --dataset roll.json --arch gru --layers 1 --hidden 8 --epochs 2 \
         --batch 2 --seq-len 4 --lr 0.01 --seed 3 --quiet --checkpoint run.ckpt.safetensors \
         --out m.safetensors --stop-after-batches 2"
    );

    let (code, stdout, err) = common::run(&["info", o]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "trained on roll.json (train split; 6 / 2 / 2 pieces in train / valid / test)".to_string(),
        format!("dataset SHA-256: {sha}"),
        format!("trainer: bach-trainer {}", env!("CARGO_PKG_VERSION")),
        "settings: ".into(),
        "lr 0.01".into(),
        "optim.clip 1.0".into(),
        "command: bach-trainer train --dataset roll.json".into(),
    ] {
        assert!(stdout.contains(&line), "{line:?} not in {stdout}");
    }

    // The same data: no warning. Other data under the same name: a warning,
    // and the score still comes.
    let (code, _, err) = common::run(&["eval", "--model", o, "--dataset", d]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let other_dir = dir.join("elsewhere");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = common::write(&other_dir, "roll.json", &common::pianoroll_json(7));
    let (code, stdout, err) =
        common::run(&["eval", "--model", o, "--dataset", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: roll.json is not the data this model was trained on"),
        "{err}"
    );
    assert!(err.contains(&sha[..12]), "{err}");
    assert!(err.contains("not the model card's"), "{err}");
    assert!(stdout.contains("NLL"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A model as an older trainer wrote it: the command as typed, with the
/// maker's home folder in it, and no hash, sizes, settings or version.
fn old_style_model(path: &Path) -> ModelMeta {
    let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    meta.format_version = 1;
    meta.name = "old".into();
    meta.training = Some(Provenance {
        dataset: "roll.json".into(),
        split: "train".into(),
        epochs: 2,
        seed: 4,
        // Digits serde_json's default parser read one unit in the last place
        // off (the workspace now builds it with float_roundtrip).
        valid_nll: Some(1.9083476641956907),
        test_nll: Some(1.9825104384773666),
        date: "2026-11-23".into(),
        command: "/home/alice/bach/target/release/bach-trainer train --dataset \
                  /home/alice/data/roll.json --kind pianoroll --arch gru --layers 1 --hidden 8 \
                  --lr 2e-3 --seed 4 --no-transpose --out /home/alice/models/old.safetensors"
            .into(),
        ..Default::default()
    });
    save(path, &meta, &random_tensors(&meta, 9, 0.5)).unwrap();
    meta
}

#[test]
fn rewrite_provenance_cleans_an_old_record_and_keeps_the_weights() {
    let dir = common::temp_dir("rewrite");
    let data = common::write(&dir, "roll.json", &common::pianoroll_json(6));
    let old = dir.join("old.safetensors");
    let before_meta = old_style_model(&old);
    let before = std::fs::read(&old).unwrap();
    assert!(leaks(&before, Some("alice")).is_some(), "the fixture leaks");

    let new = dir.join("new.safetensors");
    let (code, stdout, err) = common::run(&[
        "rewrite-provenance",
        old.to_str().unwrap(),
        "--dataset",
        data.to_str().unwrap(),
        "--out",
        new.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("dataset SHA-256: "), "{stdout}");
    let after = std::fs::read(&new).unwrap();
    assert_eq!(leaks(&after, Some("alice")), None);
    assert_clean(&new);

    // Every tensor byte for byte, in the same place.
    assert_eq!(tensor_bytes(&after), tensor_bytes(&before));
    let (a, b) = (
        SafeTensors::deserialize(&after).unwrap(),
        SafeTensors::deserialize(&before).unwrap(),
    );
    assert_eq!(a.names().len(), b.names().len());
    for name in b.names() {
        assert_eq!(
            a.tensor(name).unwrap().data(),
            b.tensor(name).unwrap().data(),
            "{name}"
        );
    }

    let meta = ModelFile::load(&new).unwrap().meta;
    let t = meta.training.clone().unwrap();
    let was = before_meta.training.clone().unwrap();
    // Everything but the record is as it was, and the record keeps its scores.
    assert_eq!(
        ModelMeta {
            training: None,
            ..meta.clone()
        },
        ModelMeta {
            training: None,
            ..before_meta
        }
    );
    assert_eq!(
        meta.format_version, 1,
        "the version is kept, so older readers still load it"
    );
    assert_eq!((t.epochs, t.seed, t.split.as_str()), (2, 4, "train"));
    // The scores as recorded, to the last digit of their text, and read back
    // exactly.
    assert_eq!(t.valid_nll, Some(1.9083476641956907));
    assert_eq!(t.test_nll, Some(1.9825104384773666));
    let header =
        String::from_utf8_lossy(&after[8..8 + after.len() - tensor_bytes(&after).len() - 8])
            .into_owned();
    assert!(
        header.contains("1.9083476641956907") && header.contains("1.9825104384773666"),
        "{header}"
    );
    assert_eq!(t.date, was.date);
    assert_eq!(
        t.command,
        "bach-trainer train --dataset roll.json --kind pianoroll --arch gru --layers 1 \
         --hidden 8 --lr 2e-3 --seed 4 --no-transpose --out old.safetensors"
    );
    assert_eq!(
        t.dataset_sha256.as_deref(),
        Some(sha256_hex(&std::fs::read(&data).unwrap()).as_str())
    );
    assert_eq!(
        t.split_sizes.map(|s| (s.train, s.valid, s.test)),
        Some((6, 2, 2))
    );
    // The settings the recorded command stands for, defaults included.
    let s = t.settings.unwrap();
    assert_eq!(s["lr"], serde_json::json!(0.002));
    assert_eq!(s["transpose"], serde_json::json!(false));
    assert_eq!(s["batch"], serde_json::json!(32), "the default batch");
    assert_eq!(s["step_beats"], serde_json::json!(1.0));
    // Which trainer made it is not known, so none is claimed.
    assert_eq!(t.trainer, None);

    // In place, without data: cleaned, and a second rewrite changes nothing.
    let (code, _, err) = common::run(&["rewrite-provenance", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let once = std::fs::read(&old).unwrap();
    assert_eq!(leaks(&once, Some("alice")), None);
    assert_eq!(tensor_bytes(&once), tensor_bytes(&before));
    let (code, _, err) = common::run(&["rewrite-provenance", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&old).unwrap(), once);

    // Data under another name is refused, and nothing is written.
    let wrong = common::write(&dir, "other.json", &common::pianoroll_json(6));
    let (code, _, err) = common::run(&[
        "rewrite-provenance",
        old.to_str().unwrap(),
        "--dataset",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("trained on roll.json, not other.json"),
        "{err}"
    );
    assert_eq!(std::fs::read(&old).unwrap(), once);
    std::fs::remove_dir_all(&dir).unwrap();
}
