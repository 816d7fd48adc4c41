//! A model written by the trainer, loaded by the engine, gives the same
//! logits as the trainer's candle network (within 1e-5).

mod common;

use bach_engine::model::AnyModel;
use bach_engine::{CoreKind, Init, ModelKind};
use bach_trainer::batch;
use bach_trainer::config::TrainConfig;
use bach_trainer::dataset::{self, Dataset, Piece};
use bach_trainer::train::{Control, Outcome, Trainer};

fn trained(
    data: &Dataset,
    core: CoreKind,
    layers: usize,
    init: Init,
    nade: usize,
    pair_score: bool,
    dir: &std::path::Path,
) -> Trainer {
    let out = dir.join(format!(
        "{}-{layers}-{nade}-{pair_score}.safetensors",
        core.name()
    ));
    let mut c = TrainConfig::new("fixture", &out);
    c.core = core;
    c.layers = layers;
    c.hidden = 12;
    c.init = init;
    c.nade = nade;
    c.epochs = 2;
    c.batch = 2;
    c.seq_len = 5;
    c.lr = 0.02;
    c.dropout = 0.1;
    c.pair_score = pair_score;
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
        let chunk = batch::chunk(&t.net.meta, &[piece], 0, piece.len(), 0, &t.net.device).unwrap();
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
                        let logits = w.voice_logits(v, &top, onehot, pairs).unwrap();
                        logits.to_vec2().unwrap()
                    })
                    .collect();
                for step in 0..piece.len() {
                    let prev = (step > 0).then(|| &tokens[(step - 1) * voices..step * voices]);
                    model.advance_voices(prev, &bach_engine::StepContext::common(step % bar));
                    for (v, logits) in per_voice.iter().enumerate() {
                        let above = &tokens[step * voices..step * voices + v];
                        let e = model.voice_logits(v, above);
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
        let t = trained(&data, core, layers, init, nade, false, &dir);
        check(&data, &t);
    }
}

#[test]
fn voices_models_match_the_engine() {
    let dir = common::temp_dir("parity-voices");
    let path = common::write(&dir, "voices.json", &common::voices_json(6));
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Voices);
    for (core, layers, init, pair_score) in [
        (CoreKind::Gru, 2, Init::Orthogonal, false),
        (CoreKind::Lstm, 1, Init::LimitCycle, false),
        (CoreKind::Tanh, 2, Init::Default, false),
        // The voice-pair score: the engine scores each candidate as it goes,
        // candle multiplies the batch's feature rows by the weights.
        (CoreKind::Gru, 1, Init::Default, true),
        (CoreKind::Lstm, 2, Init::Default, true),
    ] {
        let t = trained(&data, core, layers, init, 0, pair_score, &dir);
        check(&data, &t);
    }
}
