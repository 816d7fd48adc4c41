//! The shipped models in `models/` score on the standard test splits what
//! their metadata, their cards and BENCHMARKS.md say (skipped without
//! `../shared/data`). A retrained, swapped or mis-loaded model fails here.

mod common;

use std::path::Path;

use bach_trainer::dataset::Split;
use bach_trainer::eval::evaluate;
use bach_trainer::harmony::{report, HarmonyArgs};
use bach_trainer::load::{load_dataset, load_network};

fn model(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(file)
}

/// Scores `file` on the test split of `dataset`; checks the score against
/// the one recorded in the file and against `at_most` (the published or
/// documented figure it must meet). Skipped when the data is missing.
fn check(file: &str, dataset: &str, at_most: f64) {
    let Some(data_path) = common::shared(dataset) else {
        return;
    };
    let net = load_network(&model(file)).unwrap();
    let data = load_dataset(&data_path, Some(net.meta.kind), None).unwrap();
    let r = evaluate(&net, data.split(Split::Test)).unwrap();
    let recorded = net.meta.test_nll().expect("the file records its test NLL");
    assert!(
        (r.nll - recorded).abs() < 1e-3,
        "{file}: measured {:.4}, recorded {recorded:.4}",
        r.nll
    );
    assert!(r.nll <= at_most, "{file}: {:.4} > {at_most}", r.nll);
}

#[test]
fn jsb_gru_meets_chung_et_al() {
    // GRU, Chung et al. 2014: 8.54 nats per frame.
    check(
        "jsb-pianoroll-gru.safetensors",
        "pianoroll/jsb_chorales.json",
        8.54,
    );
}

#[test]
fn jsb_comparison_models_score_as_documented() {
    for (file, documented) in [
        ("jsb-pianoroll-lstm.safetensors", 8.391),
        ("jsb-pianoroll-tanh.safetensors", 8.843),
        ("jsb-pianoroll-gru-limit-cycle.safetensors", 8.516),
        ("jsb-pianoroll-tanh-limit-cycle.safetensors", 8.824),
    ] {
        check(file, "pianoroll/jsb_chorales.json", documented + 5e-4);
    }
}

#[test]
fn nottingham_gru_meets_bai_et_al() {
    // GRU, Bai et al. 2018: 3.46 nats per frame; ours as documented.
    check(
        "nottingham-pianoroll-gru.safetensors",
        "pianoroll/nottingham.json",
        (NOTTINGHAM_DOCUMENTED + 5e-4).min(3.46),
    );
}

/// The NADE frame output's models beat TCN (Bai et al. 2018: 8.10 on JSB,
/// 3.07 on Nottingham), each by its documented score. Their NLL is still the
/// frame's exact NLL (the sum of 88 Bernoulli NLLs, each key given the keys
/// below it), so the comparison is like for like.
#[test]
fn nade_models_beat_tcn() {
    for (file, documented) in [
        ("jsb-pianoroll-gru-nade.safetensors", JSB_GRU_NADE),
        ("jsb-pianoroll-lstm-nade.safetensors", JSB_LSTM_NADE),
    ] {
        check(
            file,
            "pianoroll/jsb_chorales.json",
            (documented + 5e-4).min(8.10),
        );
    }
    check(
        "nottingham-pianoroll-gru-nade.safetensors",
        "pianoroll/nottingham.json",
        (NOTTINGHAM_GRU_NADE + 5e-4).min(3.07),
    );
}

/// Test NLLs of the NADE models as given in BENCHMARKS.md.
const JSB_GRU_NADE: f64 = 5.9499;
const JSB_LSTM_NADE: f64 = 5.7168;
const NOTTINGHAM_GRU_NADE: f64 = 2.1481;

/// The shipped Nottingham GRU's test NLL as given in BENCHMARKS.md.
const NOTTINGHAM_DOCUMENTED: f64 = 3.3575;

/// Piano-midi.de: below Boulanger-Lewandowski et al. 2012's RNN-NADE (7.05
/// nats per frame), by its documented score.
#[test]
fn piano_midi_beats_the_rnn_nade() {
    check(
        "piano-midi-pianoroll-gru-nade.safetensors",
        "pianoroll/piano_midi.json",
        (PIANO_MIDI_GRU_NADE + 5e-4).min(7.05),
    );
}

const PIANO_MIDI_GRU_NADE: f64 = 6.8340;

/// MuseData: below Boulanger-Lewandowski et al. 2012's RNN-NADE (5.60), by
/// its documented score.
#[test]
fn musedata_beats_the_rnn_nade() {
    check(
        "musedata-pianoroll-gru-nade.safetensors",
        "pianoroll/musedata.json",
        (MUSEDATA_GRU_NADE + 5e-4).min(5.60),
    );
}

const MUSEDATA_GRU_NADE: f64 = 5.4775;

/// The voices model trained on `Jsb16thSeparated.json` (the chord target,
/// the weights' average, weight decay, batch 8): the phrase-endings issue's
/// whole-chord target is a test NLL under 1.50 nats per 16th step (TonicNet,
/// defined differently, about 1.10: BENCHMARKS.md), met by its documented score.
#[test]
fn jsb16_voices_model_is_under_one_and_a_half_nats_a_step() {
    check(
        "jsb16-voices-gru.safetensors",
        "jsb16/Jsb16thSeparated.json",
        (JSB16_VOICES + 5e-4).min(1.50),
    );
}

const JSB16_VOICES: f64 = 1.4942;

/// `bach-trainer harmony` on the test split as the plugin plays by default
/// (temperature 0.3, key Auto, strict voice leading), seed 1.
fn default_settings(file: &str, dataset: std::path::PathBuf) -> HarmonyArgs {
    HarmonyArgs::defaults(model(file), dataset)
}

/// The default harmonizer on the 77 test chorales, with their keys and
/// meters, as the plugin plays it (key followed from the melody, strict
/// voice leading), at every lookahead; seed 1 of the three BENCHMARKS.md
/// pools, so the floors sit a little under the pooled figures.
#[test]
fn the_harmonizer_knows_key_and_meter_and_looks_ahead() {
    check(
        "chorale-satb.safetensors",
        "chorales/chorales.json",
        HARMONIZER_TEST_NLL + 5e-4,
    );
    let Some(data) = common::shared("chorales/chorales.json") else {
        return;
    };
    let r = report(&default_settings("chorale-satb.safetensors", data)).unwrap();
    assert_eq!(r.pieces, 77);
    // Better than the models it replaces on the same pieces (2.0233 for
    // chorale-satb-jsb16, 1.7492 for the first key-and-meter model), and as documented.
    assert!(
        r.atb_given_s_nll < HARMONIZER_ATB_NLL + 5e-4,
        "{}",
        r.atb_given_s_nll
    );
    let bach_off_key = r.bach.out_of_key_share.unwrap();
    for row in r.rows.iter().filter(|row| row.meter == "all") {
        let m = &row.model;
        let what = format!("{} {:?}", row.lookahead, m);
        // Strict voice leading: at most twice Bach's parallels.
        assert!(row.parallels_ratio <= 2.0, "{what}");
        assert!(m.out_of_range_share < 0.01, "{what}");
        // Harmony notes outside the key: within 2 points of Bach's at every
        // lookahead (with the whole melody, passages in related keys are
        // harmonized in them, as he modulates). Crossings: at most 1.5 times
        // Bach's at every lookahead.
        assert!(
            m.crossings_per_100 <= 1.5 * row.bach.crossings_per_100,
            "{what}"
        );
        let off_key = m.out_of_key_share.unwrap();
        assert!((off_key - bach_off_key).abs() <= 0.02, "{what}");
        let floor = if row.lookahead == "off" { 0.65 } else { 0.72 };
        assert!(m.consonant_strong_beats > floor, "{what}");
        // Phrases close on a complete root-position triad, heard from the
        // melody so far even with Lookahead Off (`perform/phrase.rs`; 52%
        // off and 77% a beat ahead before, 78% and 87% now for this seed).
        let closes = m.fermata_root_triad_share.unwrap();
        let floor = if row.lookahead == "off" { 0.70 } else { 0.82 };
        assert!(closes >= floor, "{what}");
        // And the bass comes to them V-I: with Lookahead Off from the
        // dominant the beat before a likely close was given (39.4% for
        // this seed with the model of 2026-12-07, 29.5% with the one
        // before), a beat ahead and more from the close heard ahead
        // (43.5%, 50.5%, 51.9%; Bach 54.3%).
        let v_i = m.fermata_v_i_share.unwrap();
        let floor = match row.lookahead.as_str() {
            "off" => 0.35,
            "1 beat" => 0.42,
            _ => 0.50,
        };
        assert!(v_i >= floor, "{what}");
        // The first bar stays in the key: Off, the key doubt keeps the
        // harmony to notes the likely keys share while the key is a guess
        // (2.4% outside it for this seed; 5.6% pooled with the model
        // before; Bach 1.5%).
        if row.lookahead == "off" {
            let opening = m.opening_out_of_key_share.unwrap();
            assert!(opening <= 0.04, "{what}");
        }
        // The chords on beats, named as Roman numerals by the engine's
        // chord analysis, are mixed much as Bach's are (0.08-0.11 apart,
        // pooled); his closes are mostly authentic and half cadences.
        assert!(row.numeral_distance < 0.15, "{what}");
        let bach = row.bach.roman.cadences.unwrap();
        assert!(bach[0] > 0.3 && bach[1] > 0.2 && bach[3] < 0.05, "{bach:?}");
    }
    let whole = r
        .rows
        .iter()
        .find(|row| row.lookahead == "whole melody" && row.meter == "all")
        .expect("a whole-melody row");
    assert!(
        whole.model.crossings_per_100 <= 1.5 * whole.bach.crossings_per_100,
        "{:?}",
        whole.model
    );
}

/// The network alone (strict voice leading off) on the same pieces, seed 1:
/// the outer voices decided first, the voice-pair score (its parallel-motion
/// weights calibrated on the valid sopranos, `bach-trainer calibrate`) and
/// the chord search keep its parallel fifths and octaves within twice
/// Bach's at every lookahead, the target for the whole melody (1.0×
/// off, 1.13× whole for this seed; pooled over three seeds 0.84× and 1.44×,
/// BENCHMARKS.md). The model before, deciding top down and uncalibrated,
/// made 4.2× off and 4.9× whole.
#[test]
fn the_network_alone_writes_few_parallels() {
    let Some(data) = common::shared("chorales/chorales.json") else {
        return;
    };
    let mut args = default_settings("chorale-satb.safetensors", data);
    args.free_voice_leading = true;
    let r = report(&args).unwrap();
    for row in r.rows.iter().filter(|row| row.meter == "all") {
        assert!(
            row.parallels_ratio <= 2.0,
            "{} {:?}",
            row.lookahead,
            row.model
        );
        assert!(
            row.model.parallels_per_100 > 0.0,
            "free sampling makes some"
        );
    }
}

/// Test NLL (all four voices, no lookahead) and A, T, B given S of the
/// shipped harmonizer on chorales.json, as in BENCHMARKS.md.
const HARMONIZER_TEST_NLL: f64 = 2.0094;
const HARMONIZER_ATB_NLL: f64 = 1.5260;

/// The harmonizer shipped before (`chorale-satb-jsb16.safetensors`, no key,
/// meter or lookahead) keeps its figures on the data it was trained on.
#[test]
fn the_previous_harmonizer_keeps_its_figures() {
    let Some(data) = common::shared("jsb16/Jsb16thSeparated.json") else {
        return;
    };
    let r = report(&default_settings("chorale-satb-jsb16.safetensors", data)).unwrap();
    assert_eq!(r.pieces, 77);
    assert!(r.parallels_ratio <= 2.0, "{:?}", r.model);
    assert!(r.model.consonant_strong_beats > 0.38, "{:?}", r.model);
    assert!(
        (r.atb_given_s_nll - 1.5741).abs() < 5e-4,
        "{}",
        r.atb_given_s_nll
    );
}
