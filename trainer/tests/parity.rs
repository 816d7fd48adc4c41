//! A model written by the trainer, loaded by the engine, gives the same
//! logits as the trainer's candle network (within 1e-5).

mod common;

use bach_engine::model::AnyModel;
use bach_engine::{CoreKind, Init, ModelKind};
use bach_trainer::batch;
use bach_trainer::config::{TrainConfig, VoiceOrder};
use bach_trainer::dataset::{self, Dataset, Piece};
use bach_trainer::train::{Control, Outcome, Trainer};

/// A small model trained briefly on `data`; `heads` sets the heads' options
/// (the pair score, the decision order, the hidden layer).
fn trained(
    data: &Dataset,
    core: CoreKind,
    layers: usize,
    init: Init,
    nade: usize,
    heads: impl Fn(&mut TrainConfig),
    dir: &std::path::Path,
) -> Trainer {
    let mut c = TrainConfig::new("fixture", &dir.join("model.safetensors"));
    heads(&mut c);
    c.out = dir.join(format!(
        "{}-{layers}-{nade}-{}-{}-{:?}-{}.safetensors",
        core.name(),
        c.training.pair_score,
        c.training.sounding,
        c.training.voice_order,
        c.net.head_hidden
    ));
    c.checkpoint = bach_trainer::config::default_checkpoint(&c.out);
    c.net.core = core;
    c.net.layers = layers;
    c.net.hidden = 12;
    c.net.init = init;
    c.net.nade = nade;
    c.epochs = 2;
    c.training.batch = 2;
    c.training.seq_len = 5;
    c.training.lr = 0.02;
    c.training.dropout = 0.1;
    let mut t = Trainer::new(c, data).unwrap();
    let outcome = t.run(data, &Control::default(), &mut |_| {}).unwrap();
    assert!(matches!(outcome, Outcome::Finished { .. }));
    t
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(1.0)
}

fn check(data: &Dataset, t: &Trainer) {
    let mut model =
        AnyModel::load(&t.config.out).expect("the engine loads what the trainer writes");
    assert_eq!(model.meta().core, t.net.meta.core);
    assert_eq!(model.meta().frame, t.net.meta.frame);
    // The biases were trained away from zero, so they are checked too.
    let biases: f32 = t
        .net
        .tensors()
        .unwrap()
        .iter()
        .filter(|(n, _, _)| n.contains("bias"))
        .flat_map(|(_, _, d)| d.clone())
        .map(f32::abs)
        .sum();
    assert!(biases > 0.0);
    // So are the pair-score weights, when the model has them.
    let pairs: f32 = t
        .net
        .tensors()
        .unwrap()
        .iter()
        .filter(|(n, _, _)| n.ends_with("pairs"))
        .flat_map(|(_, _, d)| d.clone())
        .map(f32::abs)
        .sum();
    assert_eq!(pairs > 0.0, t.net.meta.pair_score);
    let w = t.net.weights(false).unwrap();
    let mut compared = 0;
    for piece in data.test.iter().chain(&data.valid) {
        let chunk =
            batch::chunk(&t.net.meta, &[piece], 0, piece.len(), 0, &[], &t.net.device).unwrap();
        let (top, _) = w
            .run(&chunk.inputs, &t.net.zero_state(1).unwrap(), None)
            .unwrap();
        model.reset();
        match (piece, &mut model) {
            (Piece::Keys(frames), AnyModel::PianoRoll(model)) => {
                let bach_trainer::batch::Targets::Keys(y) = &chunk.targets else {
                    unreachable!()
                };
                let logits: Vec<Vec<f32>> = w.key_logits(&top, y).unwrap().to_vec2().unwrap();
                for (step, row) in logits.iter().enumerate() {
                    model.advance_keys(if step == 0 {
                        None
                    } else {
                        Some(&frames[step - 1])
                    });
                    let e = model.key_logits(&frames[step]);
                    assert_eq!(e.len(), row.len());
                    for (a, b) in row.iter().zip(e) {
                        assert!(close(*a, *b), "step {step}: candle {a} engine {b}");
                        compared += 1;
                    }
                }
            }
            (Piece::Voices { voices, tokens, .. }, AnyModel::Voices(model)) => {
                let bar = t.net.meta.bar_steps().unwrap();
                let bach_trainer::batch::Targets::Voices { onehot, pairs, .. } = &chunk.targets
                else {
                    unreachable!()
                };
                let per_voice: Vec<Vec<Vec<f32>>> = (0..*voices)
                    .map(|v| {
                        let logits = w.voice_logits(v, &top, onehot, pairs, None).unwrap();
                        logits.to_vec2().unwrap()
                    })
                    .collect();
                for step in 0..piece.len() {
                    let prev = (step > 0).then(|| &tokens[(step - 1) * voices..step * voices]);
                    model.advance_voices(prev, &bach_engine::StepContext::common(step % bar));
                    for (v, logits) in per_voice.iter().enumerate() {
                        // The whole step: the head reads the voices decided before `v`.
                        let chord = &tokens[step * voices..(step + 1) * voices];
                        let e = model.voice_logits(v, chord);
                        assert_eq!(e.len(), logits[step].len());
                        for (a, b) in logits[step].iter().zip(e) {
                            assert!(
                                close(*a, *b),
                                "step {step} voice {v}: candle {a} engine {b}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
            _ => panic!("the engine loaded another kind of model than the data's"),
        }
    }
    assert!(compared > 100);
}

#[test]
fn pianoroll_models_match_the_engine() {
    let dir = common::temp_dir("parity-roll");
    let path = common::write(&dir, "roll.json", &common::pianoroll_json(6));
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Pianoroll);
    for (core, layers, init, nade) in [
        (CoreKind::Gru, 2, Init::Default, 0),
        (CoreKind::Lstm, 2, Init::Orthogonal, 0),
        (CoreKind::Tanh, 3, Init::LimitCycle, 0),
        (CoreKind::Gru, 1, Init::LimitCycle, 0),
        // The NADE frame output: the engine walks the keys one by one, candle
        // does all 88 at once with a masked matrix product.
        (CoreKind::Gru, 1, Init::Default, 9),
        (CoreKind::Lstm, 2, Init::Default, 16),
    ] {
        let t = trained(&data, core, layers, init, nade, |_| {}, &dir);
        check(&data, &t);
    }
}

#[test]
fn voices_models_match_the_engine() {
    let dir = common::temp_dir("parity-voices");
    let path = common::write(&dir, "voices.json", &common::voices_json(6));
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Voices);
    use VoiceOrder::{OuterFirst, TopDown};
    for (core, layers, init, pair_score, order, sounding, head_hidden) in [
        (CoreKind::Gru, 2, Init::Orthogonal, false, TopDown, false, 0),
        (
            CoreKind::Lstm,
            1,
            Init::LimitCycle,
            false,
            TopDown,
            false,
            0,
        ),
        (CoreKind::Tanh, 2, Init::Default, false, TopDown, false, 0),
        // The voice-pair score: the engine scores each candidate as it goes,
        // candle multiplies the batch's feature rows by the weights.
        (CoreKind::Gru, 1, Init::Default, true, TopDown, false, 0),
        (CoreKind::Lstm, 2, Init::Default, true, TopDown, false, 0),
        // Outer voices first: each head reads (and pairs with) the voices
        // decided before it, the bass among them for the inner voices.
        (CoreKind::Gru, 1, Init::Default, false, OuterFirst, false, 0),
        (CoreKind::Gru, 2, Init::Default, true, OuterFirst, false, 0),
        // What each voice sounds and for how long: the engine follows it
        // step by step, the trainer reads it off the whole piece.
        (CoreKind::Gru, 2, Init::Default, true, OuterFirst, true, 0),
        (CoreKind::Lstm, 1, Init::Default, false, TopDown, true, 0),
        // A hidden layer in each head: the engine adds each voice above's
        // columns to the units' state part, candle multiplies the whole input.
        (CoreKind::Gru, 2, Init::Default, true, OuterFirst, true, 7),
        (CoreKind::Lstm, 1, Init::Default, false, TopDown, false, 5),
    ] {
        let heads = |c: &mut TrainConfig| {
            c.training.pair_score = pair_score;
            c.training.voice_order = order;
            c.training.sounding = sounding;
            c.net.head_hidden = head_hidden;
        };
        let t = trained(&data, core, layers, init, 0, heads, &dir);
        assert_eq!(t.net.meta.order.is_empty(), order == TopDown);
        assert_eq!(t.net.meta.hears_sounding(), sounding);
        assert_eq!(t.net.meta.head_hidden, head_hidden);
        check(&data, &t);
    }
}
