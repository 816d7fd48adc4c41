//! Sampling through an NADE frame output: a frame is drawn key by key, each
//! key's odds set by the keys already drawn below it, so the model can say
//! "this note, and then that one with it", which 88 independent keys cannot.

use bach_engine::file::to_bytes;
use bach_engine::{CoreKind, FrameOutput, KeyFrame, ModelMeta, Performer, PianoRollModel, Sampler};

const LOW: usize = 10;
const HIGH: usize = 20;

/// A model whose state stays zero (all core weights zero) and whose frame is
/// "key LOW at even odds, key HIGH with it and almost never without it":
/// HIGH's visible bias is -4, and the NADE's one hidden unit, off unless LOW
/// sounds, adds 8 to HIGH's logit. Every other key is all but impossible.
fn paired_model() -> PianoRollModel {
    let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 4, 1.0);
    meta.frame = FrameOutput::Nade { hidden: 1 };
    let tensors = meta
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let mut data = vec![0.0f32; shape.iter().product()];
            match name.as_str() {
                "head.0.bias" => {
                    data.fill(-30.0);
                    data[LOW] = 0.0;
                    data[HIGH] = -4.0;
                }
                "nade.cond.bias" => data[0] = -10.0,
                "nade.in.weight" => data[LOW] = 20.0,
                "nade.out.weight" => data[HIGH] = 8.0,
                _ => {}
            }
            (name, shape, data)
        })
        .collect::<Vec<_>>();
    PianoRollModel::from_bytes(&to_bytes(&meta, &tensors).unwrap()).unwrap()
}

#[test]
fn a_key_hears_the_keys_below_it() {
    let mut m = paired_model();
    m.advance_keys(None);
    let alone = m.key_logits(&KeyFrame::EMPTY)[HIGH];
    let mut with_low = KeyFrame::EMPTY;
    with_low.insert_key(LOW);
    let paired = m.key_logits(&with_low)[HIGH];
    assert!((alone + 4.0).abs() < 1e-3, "{alone}");
    assert!((paired - 4.0).abs() < 1e-3, "{paired}");
    // A key never hears itself or the keys above it.
    let heard = m.key_logits(&with_low)[LOW];
    assert_eq!(heard, m.key_logits(&KeyFrame::EMPTY)[LOW]);
}

#[test]
fn sampled_frames_keep_the_pairing() {
    let mut m = paired_model();
    let mut performer = Performer::new(Sampler::with_temperature(1.0), 9);
    let (mut low, mut both, mut high_alone, mut other) = (0, 0, 0, 0);
    let n = 4_000;
    for _ in 0..n {
        let f = performer.play_frame(&mut m, None);
        low += f.contains_key(LOW) as usize;
        both += (f.contains_key(LOW) && f.contains_key(HIGH)) as usize;
        high_alone += (!f.contains_key(LOW) && f.contains_key(HIGH)) as usize;
        other += f.keys().filter(|&k| k != LOW && k != HIGH).count();
    }
    let p_low = low as f64 / n as f64;
    assert!((p_low - 0.5).abs() < 0.04, "P(low) {p_low}");
    // sigmoid(4) = 0.982 with LOW, sigmoid(-4) = 0.018 without.
    let with = both as f64 / low as f64;
    let without = high_alone as f64 / (n - low) as f64;
    assert!(with > 0.96, "P(high | low) {with}");
    assert!(without < 0.04, "P(high | no low) {without}");
    assert_eq!(other, 0);
}

#[test]
fn argmax_and_the_note_cap_hold_through_the_nade() {
    let mut m = paired_model();
    let mut performer = Performer::new(Sampler::with_temperature(0.0), 1);
    // At T = 0, LOW's logit is 0: not above one half, so it stays off, and
    // then so does HIGH.
    let f = performer.play_frame(&mut m, None);
    assert_eq!(f, KeyFrame::EMPTY);
    let mut one = Sampler::with_temperature(1.0);
    one.max_notes = 1;
    performer.set_sampler(one);
    let (mut high, mut low) = (0, 0);
    let n = 2_000;
    for _ in 0..n {
        let f = performer.play_frame(&mut m, None);
        assert!(f.len() <= 1);
        high += f.contains_key(HIGH) as usize;
        low += f.contains_key(LOW) as usize;
    }
    // Of a drawn pair, HIGH (logit 4) is likelier than LOW (logit 0): it stays.
    let (high, low) = (high as f64 / n as f64, low as f64 / n as f64);
    assert!((high - 0.5).abs() < 0.05, "{high}");
    assert!(low < 0.03, "{low}");
}
