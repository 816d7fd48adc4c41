//! Loading rejects every kind of broken model file with its own message, and
//! saving writes only files the loader accepts.

use std::collections::HashMap;

use bach_engine::file::{random_tensors, save, to_bytes, LoadError, ModelFile, NamedTensor};
use bach_engine::meta::METADATA_KEY;
use bach_engine::{AnyModel, CoreKind, ModelMeta, PianoRollModel, VoicesModel};
use safetensors::tensor::{Dtype, TensorView};

fn meta() -> ModelMeta {
    ModelMeta::satb(CoreKind::Gru, 1, 16)
}

/// Serialises tensors and a raw metadata string without any checks, the
/// way a buggy or hostile writer might.
fn raw(tensors: &[NamedTensor], metadata: Option<String>, dtype: Dtype) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| match dtype {
            Dtype::F64 => v.iter().flat_map(|x| (*x as f64).to_le_bytes()).collect(),
            _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    let info = metadata.map(|m| HashMap::from([(METADATA_KEY.to_string(), m)]));
    safetensors::serialize(views, info).unwrap()
}

fn json(meta: &ModelMeta) -> String {
    serde_json::to_string(meta).unwrap()
}

fn good() -> Vec<u8> {
    to_bytes(&meta(), &random_tensors(&meta(), 0, 0.1)).unwrap()
}

fn err(bytes: &[u8]) -> LoadError {
    AnyModel::from_bytes(bytes).expect_err("loading should fail")
}

#[test]
fn a_valid_file_loads() {
    let m = VoicesModel::from_bytes(&good()).unwrap();
    assert_eq!(m.meta(), &meta());
    assert_eq!(m.voices(), 4);
}

#[test]
fn truncated_files_are_rejected_at_every_length() {
    let bytes = good();
    for len in [0, 3, 7, 8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
        let e = err(&bytes[..len]);
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                LoadError::Truncated { .. } | LoadError::NotSafetensors(_)
            ),
            "length {len}: {msg}"
        );
    }
    assert!(err(&bytes[..bytes.len() - 1])
        .to_string()
        .contains("not a valid safetensors"));
    assert!(err(&bytes[..5]).to_string().contains("truncated"));
}

#[test]
fn a_header_claiming_terabytes_is_rejected_before_reading() {
    let mut bytes = good();
    bytes[..8].copy_from_slice(&(4u64 << 40).to_le_bytes());
    let e = err(&bytes);
    assert!(matches!(e, LoadError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("4398046511112"), "{e}");
    // Through the file path too: the claim is checked before the body is read.
    let dir = std::env::temp_dir().join(format!("bach-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        AnyModel::load(&path).err().unwrap(),
        LoadError::Truncated { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_shapes_are_named() {
    // Weights of a 12-unit model under metadata that says 16.
    let mut small = meta();
    small.hidden = 12;
    let bytes = raw(
        &random_tensors(&small, 0, 0.1),
        Some(json(&meta())),
        Dtype::F32,
    );
    let e = err(&bytes);
    assert!(matches!(e, LoadError::WrongShape { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "tensor core.0.weight_ih has shape [36, 172], expected [48, 172]"
    );
}

#[test]
fn nan_and_infinite_weights_are_rejected() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut tensors = random_tensors(&meta(), 0, 0.1);
        tensors[5].2[7] = bad;
        let e = err(&raw(&tensors, Some(json(&meta())), Dtype::F32));
        assert!(matches!(e, LoadError::NonFinite { index: 7, .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with(&format!("tensor {} has a non-finite value", tensors[5].0)));
    }
}

#[test]
fn missing_metadata_is_its_own_error() {
    let e = err(&raw(&random_tensors(&meta(), 0, 0.1), None, Dtype::F32));
    assert!(matches!(e, LoadError::MissingMetadata), "{e}");
    assert!(e.to_string().contains("not written by bach-trainer"));
}

#[test]
fn future_versions_ask_for_an_update() {
    let mut m = meta();
    m.format_version = 99;
    // A future format may also add fields this version does not know.
    let mut value = serde_json::to_value(&m).unwrap();
    value["attention"] = serde_json::json!({"heads": 4});
    let e = err(&raw(
        &random_tensors(&meta(), 0, 0.1),
        Some(value.to_string()),
        Dtype::F32,
    ));
    assert!(
        matches!(e, LoadError::FutureVersion { found: 99, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("update Bach"));
}

#[test]
fn broken_metadata_is_reported() {
    let tensors = random_tensors(&meta(), 0, 0.1);
    let e = err(&raw(&tensors, Some("{not json".into()), Dtype::F32));
    assert!(matches!(e, LoadError::BadMetadata(_)), "{e}");
    let e = err(&raw(&tensors, Some(r#"{"name": "x"}"#.into()), Dtype::F32));
    assert!(e.to_string().contains("format_version is missing"), "{e}");
    let mut absurd = meta();
    absurd.hidden = 1 << 30;
    let e = err(&raw(&tensors, Some(json(&absurd)), Dtype::F32));
    assert!(matches!(e, LoadError::InvalidConfig(_)), "{e}");
}

#[test]
fn missing_extra_and_mistyped_tensors_are_named() {
    let mut tensors = random_tensors(&meta(), 0, 0.1);
    let dropped = tensors.remove(3);
    let e = err(&raw(&tensors, Some(json(&meta())), Dtype::F32));
    assert_eq!(e.to_string(), format!("tensor {} is missing", dropped.0));

    let mut tensors = random_tensors(&meta(), 0, 0.1);
    tensors.push(("attention.weight".into(), vec![2], vec![0.0, 1.0]));
    let e = err(&raw(&tensors, Some(json(&meta())), Dtype::F32));
    assert!(
        matches!(e, LoadError::UnexpectedTensor(ref n) if n == "attention.weight"),
        "{e}"
    );

    let tensors = random_tensors(&meta(), 0, 0.1);
    let e = err(&raw(&tensors, Some(json(&meta())), Dtype::F64));
    assert!(matches!(e, LoadError::WrongDtype { .. }), "{e}");
    assert!(e.to_string().contains("F64"));
}

#[test]
fn each_kind_loads_only_as_itself() {
    let voices = good();
    let roll_meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    let roll = to_bytes(&roll_meta, &random_tensors(&roll_meta, 0, 0.1)).unwrap();
    assert!(matches!(
        AnyModel::from_bytes(&voices).unwrap(),
        AnyModel::Voices(_)
    ));
    assert!(matches!(
        AnyModel::from_bytes(&roll).unwrap(),
        AnyModel::PianoRoll(_)
    ));
    assert!(PianoRollModel::from_bytes(&roll).is_ok());
    let e = VoicesModel::from_bytes(&roll).unwrap_err();
    assert!(matches!(e, LoadError::WrongKind { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "this is a piano-roll model; a voices model is needed here"
    );
    let e = PianoRollModel::from_bytes(&voices).unwrap_err();
    assert!(
        e.to_string().contains("a piano-roll model is needed"),
        "{e}"
    );
}

#[test]
fn missing_files_say_which() {
    let e = AnyModel::load(std::path::Path::new("/nonexistent/x.safetensors"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/x.safetensors"), "{e}");
}

#[test]
fn save_is_atomic_and_round_trips() {
    let dir = std::env::temp_dir().join(format!("bach-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let tensors = random_tensors(&meta(), 4, 0.1);
    save(&path, &meta(), &tensors).unwrap();
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(file.meta, meta());
    for (name, _, values) in &tensors {
        assert_eq!(&file.tensors[name], values);
    }
    // Nothing but the model is left in the directory.
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
    // A save that cannot succeed leaves the old file intact.
    let mut wrong = tensors.clone();
    wrong[0].1 = vec![1, 1];
    assert!(save(&path, &meta(), &wrong).is_err());
    assert_eq!(ModelFile::load(&path).unwrap().meta, meta());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The temporary name a save goes through is the one the trainer looks for
/// when it cleans up after a killed run: one scheme, read back exactly.
#[test]
fn temporary_names_are_read_back_with_their_writer() {
    use bach_engine::file::{parse_temp_name, temp_files, temp_path, write_atomic};
    let dir = std::env::temp_dir().join(format!("bach-temp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let tmp = temp_path(&path).unwrap();
    assert_eq!(tmp.parent(), Some(dir.as_path()));
    let name = tmp.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        parse_temp_name(&name),
        Some(("m.safetensors", std::process::id()))
    );
    assert_eq!(parse_temp_name("m.safetensors"), None);
    assert_eq!(parse_temp_name(".m.safetensors.x.tmp"), None);
    assert!(temp_path(std::path::Path::new("/")).is_err());
    // A leftover of a killed writer of `path` is found; another file's is not.
    std::fs::write(dir.join(".m.safetensors.4242.tmp"), b"x").unwrap();
    std::fs::write(dir.join(".m.ckpt.safetensors.4242.tmp"), b"x").unwrap();
    assert_eq!(
        temp_files(&path),
        vec![(dir.join(".m.safetensors.4242.tmp"), 4242)]
    );
    // A finished write leaves no temporary file of its own.
    write_atomic(&path, b"bytes").unwrap();
    assert!(!tmp.exists());
    assert_eq!(std::fs::read(&path).unwrap(), b"bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The metadata of the first shipped harmonizer, as written by format
/// version 1 (no frame output, provenance without hash, settings or trainer).
const VERSION_1_META: &str = r#"{"format_version":1,"name":"chorale-satb","kind":"voices","core":"gru","layers":1,"hidden":16,"init":"default","step_beats":0.25,"voices":[{"name":"S","low":54,"high":87},{"name":"A","low":46,"high":80},{"name":"T","low":40,"high":75},{"name":"B","low":30,"high":72}],"features":[{"type":"previous_step"},{"type":"bar_position","steps":16}],"training":{"dataset":"Jsb16thSeparated.json","split":"train","epochs":90,"seed":1,"valid_nll":1.9,"test_nll":1.98,"date":"2026-11-23","command":"bach-trainer train --dataset Jsb16thSeparated.json --out satb-c.safetensors"}}"#;

#[test]
fn older_files_load_with_their_provenance_as_recorded() {
    let tensors = random_tensors(&meta(), 0, 0.1);
    let file = ModelFile::from_bytes(&raw(&tensors, Some(VERSION_1_META.into()), Dtype::F32))
        .expect("a version-1 file loads");
    assert_eq!(file.meta.format_version, 1);
    let t = file.meta.training.expect("its record is kept");
    assert_eq!(t.dataset, "Jsb16thSeparated.json");
    assert_eq!(t.test_nll, Some(1.98));
    assert!(t.dataset_sha256.is_none() && t.split_sizes.is_none());
    assert!(t.trainer.is_none() && t.settings.is_none());
    // A version-2 file from before the provenance fields, and one with no record.
    let mut v2: serde_json::Value = serde_json::from_str(VERSION_1_META).unwrap();
    v2["format_version"] = 2.into();
    assert!(ModelFile::from_bytes(&raw(&tensors, Some(v2.to_string()), Dtype::F32)).is_ok());
    v2.as_object_mut().unwrap().remove("training");
    let bare = ModelFile::from_bytes(&raw(&tensors, Some(v2.to_string()), Dtype::F32)).unwrap();
    assert!(bare.meta.training.is_none());
}

#[test]
fn full_provenance_round_trips_and_older_readers_skip_it() {
    use bach_engine::{Provenance, SplitSizes, TrainerBuild};
    let mut m = meta();
    let mut settings = serde_json::Map::new();
    settings.insert("lr".into(), serde_json::json!(0.002));
    settings.insert("transpose".into(), serde_json::json!(false));
    m.training = Some(Provenance {
        dataset: "roll.json".into(),
        split: "train".into(),
        epochs: 3,
        seed: 7,
        valid_nll: Some(4.5),
        test_nll: None,
        date: "2026-11-30".into(),
        command: "bach-trainer train --dataset roll.json --out m.safetensors".into(),
        dataset_sha256: Some("ab".repeat(32)),
        split_sizes: Some(SplitSizes {
            train: 6,
            valid: 2,
            test: 2,
        }),
        trainer: Some(TrainerBuild {
            name: "bach-trainer".into(),
            version: "0.1.0".into(),
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
        }),
        settings: Some(settings),
    });
    let bytes = to_bytes(&m, &random_tensors(&m, 0, 0.1)).unwrap();
    assert_eq!(ModelFile::from_bytes(&bytes).unwrap().meta, m);
    // A reader of the version before these fields (serde ignores unknown
    // keys) still sees everything it knew.
    #[derive(serde::Deserialize)]
    struct OldProvenance {
        dataset: String,
        test_nll: Option<f64>,
        command: String,
    }
    #[derive(serde::Deserialize)]
    struct OldMeta {
        format_version: u32,
        training: Option<OldProvenance>,
    }
    let old: OldMeta = serde_json::from_str(&json(&m)).unwrap();
    assert_eq!(old.format_version, m.format_version);
    let t = old.training.unwrap();
    assert_eq!((t.dataset.as_str(), t.test_nll), ("roll.json", None));
    assert!(t.command.starts_with("bach-trainer train"));
}
