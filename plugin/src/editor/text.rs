//! What the window says about the model, the key and the lookahead: text
//! made from state, apart from the drawing so the tests can read it.

use bach_engine::perform::KeyChoice;
use bach_engine::Key;

use crate::library::ModelInfo;

/// How the picker names a model: its name, kind and test score.
pub fn model_label(info: &ModelInfo) -> String {
    let score = info
        .test_nll
        .map(|n| format!("test NLL {n:.3}"))
        .unwrap_or_else(|| "no test score".into());
    format!("{} — {} — {score}", info.name, info.kind)
}

/// What the window says about the key in use.
pub fn key_text(choice: KeyChoice, in_use: Option<Key>, estimated: bool) -> String {
    match (choice, in_use) {
        (KeyChoice::Fixed(key), _) => format!("Key: {} (set)", key.name()),
        (KeyChoice::Auto, None) => "Key: listening…".into(),
        (KeyChoice::Auto, Some(key)) if estimated => format!("Key: {} (auto)", key.name()),
        // Until enough is heard the first note stands in as the tonic.
        (KeyChoice::Auto, Some(key)) => format!("Key: {} (auto, a first guess)", key.name()),
    }
}

/// What the window says about the lookahead's delay.
pub fn latency_text(on: bool, latency: u32, sample_rate: f64) -> Option<String> {
    if !on {
        return None;
    }
    Some(
        if latency == 0 || sample_rate.is_nan() || sample_rate <= 0.0 {
            "the delay is set when the transport plays".into()
        } else {
            let ms = latency as f64 * 1000.0 / sample_rate;
            format!("delays Bach by {ms:.0} ms (the host compensates)")
        },
    )
}

/// Plain words for each setting the loaded model was not trained to use.
pub fn model_limits(info: &ModelInfo) -> Vec<&'static str> {
    if !info.harmonizes {
        // Key, meter and lookahead are a harmonizer's: one plain line.
        return vec![
            "This piano-roll model continues what you play (Continue mode); in Harmonize \
             the melody passes through unchanged. It sounds best near Temperature 1.00: \
             lower, it plays fewer notes, down to none.",
        ];
    }
    let mut out = Vec::new();
    if !info.knows_key {
        out.push("This model knows no keys: Key has no effect.");
    }
    if !info.hears_meter {
        out.push("This model hears only 4/4: other meters are played as if in 4/4.");
    }
    if !info.looks_ahead {
        out.push("This model cannot look ahead: Lookahead has no effect.");
    }
    out
}
