//! `bach-trainer harmony`: figures for a model's harmonizations beside Bach's.

use std::path::{Path, PathBuf};

use bach_engine::file::{random_tensors, save};
use bach_engine::{CoreKind, ModelMeta};
use bach_trainer::harmony::{report, HarmonyArgs};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bach-harmony-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn random_satb(dir: &Path) -> PathBuf {
    let meta = ModelMeta::satb(CoreKind::Gru, 1, 16);
    let path = dir.join("satb.safetensors");
    save(&path, &meta, &random_tensors(&meta, 3, 0.2)).unwrap();
    path
}

fn args(model: PathBuf, dataset: PathBuf) -> HarmonyArgs {
    HarmonyArgs::defaults(model, dataset)
}

#[test]
fn figures_for_a_small_split() {
    let dir = temp_dir("small");
    // Bach-like test piece: a C major cadence, then parallel fifths S-B.
    let mut steps = Vec::new();
    for chord in [
        [72, 67, 64, 48],
        [74, 67, 65, 47],
        [72, 67, 64, 48],
        [74, 69, 62, 50],
    ] {
        for _ in 0..8 {
            steps.push(chord.to_vec());
        }
    }
    let json =
        serde_json::json!({"train": [steps.clone()], "valid": [steps.clone()], "test": [steps]});
    let dataset = dir.join("voices.json");
    std::fs::write(&dataset, json.to_string()).unwrap();
    let r = report(&args(random_satb(&dir), dataset)).unwrap();
    assert_eq!(r.pieces, 1);
    assert_eq!(r.bach.steps, 32);
    // 72/48 (an octave) to 74/50: S and B rise together in octaves at step 24.
    assert!((r.bach.parallel_octaves_per_100 - 100.0 / 32.0).abs() < 1e-9);
    assert_eq!(r.model.steps, 32);
    assert_eq!(r.per_voice_nll.len(), 4);
    let atb: f64 = r.per_voice_nll[1..].iter().map(|(_, v)| v).sum();
    assert!((r.atb_given_s_nll - atb).abs() < 1e-9);
    assert!(r.atb_given_s_nll > 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_piano_roll_model_is_refused() {
    let dir = temp_dir("roll");
    let meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    let model = dir.join("roll.safetensors");
    save(&model, &meta, &random_tensors(&meta, 1, 0.1)).unwrap();
    let e = report(&args(model, dir.join("none.json"))).unwrap_err();
    assert!(e.to_string().contains("SATB"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bach's own figures on the 77 test chorales: few parallels, mostly
/// consonant strong beats. These are what the harmonizer is measured against.
#[test]
fn bachs_test_chorales() {
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jsb16/Jsb16thSeparated.json");
    if !data.exists() {
        println!("skipped: {} is missing", data.display());
        return;
    }
    let dir = temp_dir("bach");
    let r = report(&args(random_satb(&dir), data.clone())).unwrap();
    assert_eq!(r.pieces, 77);
    assert_eq!(r.bach.steps, 18_900);
    assert!(r.bach.parallels_per_100 < 1.0, "{:?}", r.bach);
    assert!(r.bach.consonant_strong_beats > 0.7, "{:?}", r.bach);
    assert_eq!(r.bach.out_of_range_share, 0.0);
    // An untrained model writes worse harmony than Bach.
    assert!(r.model.consonant_strong_beats < r.bach.consonant_strong_beats);
    // Sampled as the plugin samples (strict voice leading), even an untrained
    // model makes no parallels; left free, it makes plenty.
    assert_eq!(r.model.parallels_per_100, 0.0, "{:?}", r.model);
    let free = report(&HarmonyArgs {
        free_voice_leading: true,
        ..args(random_satb(&dir), data)
    })
    .unwrap();
    assert!(free.model.parallels_per_100 > 1.0, "{:?}", free.model);
    std::fs::remove_dir_all(&dir).unwrap();
}
