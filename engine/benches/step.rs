//! One step of the chorale harmonizer's shape (SATB voices, 2 GRU layers of
//! 256, 16 bar positions): this engine against candle-nn on the same weights.
//!
//! `step/engine` is what the plugin runs per grid step: a performer's step
//! of the core, the alto, tenor and bass chosen together as a chord (the
//! beam of `perform::choose`) and the clamped soprano.
//! `step/engine-lookahead` is the same shape with the musical context (meter,
//! key frame, four melody notes a bar ahead, the key followed), the
//! outer voices decided first and the voice-pair score, as the shipped
//! harmonizer has. `step/candle` is only the forward
//! pass (core plus the four heads, no sampling), so the comparison favours candle.
//!
//! `frame/*` is one sampled frame of the shipped Nottingham piano-roll
//! models, with independent keys and with the NADE frame output.
//!
//! Run: `cargo bench -p bach-engine --bench step`

use std::collections::HashMap;
use std::hint::black_box;

use bach_engine::file::{random_tensors, to_bytes};
use bach_engine::perform::{KeyChoice, KeyFollower};
use bach_engine::{
    Ahead, BarPosition, CoreKind, Feature, Horizon, Meter, ModelMeta, Performer, PianoRollModel,
    Sampler, Token, VoicesModel,
};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::rnn::{GRUConfig, GRUState, GRU, RNN};
use candle_nn::VarBuilder;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let meta = ModelMeta::satb(CoreKind::Gru, 2, 256);
    let tensors = random_tensors(&meta, 1, 0.1);
    let mut model = VoicesModel::from_bytes(&to_bytes(&meta, &tensors).unwrap()).unwrap();

    let mut group = c.benchmark_group("step");
    let mut performer = Performer::new(Sampler::with_temperature(1.0), 0);
    let mut t = 0usize;
    group.bench_function("engine", |b| {
        b.iter(|| {
            let melody = if t.is_multiple_of(4) {
                Token::Onset(60 + (t % 12) as u8)
            } else {
                Token::Hold
            };
            let out = performer.step(
                &mut model,
                &bach_engine::StepContext::common(t % 16),
                &[Some(melody), None, None, None],
            );
            black_box(out);
            t += 1;
        })
    });

    // The same shape hearing the meter, in a key's frame, told the melody a
    // bar ahead, with the key followed from the melody: what a step costs
    // with lookahead on (the scan of the melody ahead and the key
    // follower's hearing included).
    // Also with what each voice sounds and for how long among the inputs
    // (the trainer's `--sounding`), and with a hidden layer of 128 or 256
    // units in each head besides (`--head-hidden`).
    for (name, sounding, head_hidden) in [
        ("engine-lookahead", false, 0),
        ("engine-lookahead-sounding", true, 0),
        ("engine-lookahead-head-hidden", true, 128),
        ("engine-lookahead-head-hidden-256", true, 256),
    ] {
        let mut context = ModelMeta::satb(CoreKind::Gru, 2, 256);
        context.features = vec![
            Feature::PreviousStep,
            Feature::Meter,
            Feature::KeyMode,
            Feature::Ahead { notes: 4 },
        ];
        if sounding {
            context.features.insert(1, Feature::Sounding);
        }
        // The shipped harmonizer's heads: the outer voices first, with the
        // voice-pair score read by interval size.
        context.pair_score = true;
        context.intervals_by_size = true;
        context.order = vec![0, 3, 1, 2];
        context.head_hidden = head_hidden;
        context.format_version = context.needed_version();
        let mut cmodel = VoicesModel::from_bytes(
            &to_bytes(&context, &random_tensors(&context, 1, 0.1)).unwrap(),
        )
        .unwrap();
        let melody: Vec<Token> = (0..64)
            .map(|t| {
                if t % 4 == 0 {
                    Token::Onset(62 + [0u8, 2, 4, 5, 7, 9, 7, 4][(t / 4) % 8])
                } else {
                    Token::Hold
                }
            })
            .collect();
        let mut follower = KeyFollower::new(KeyChoice::Auto);
        let mut performer = Performer::new(Sampler::with_temperature(1.0), 0);
        let mut t = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                let now = t % melody.len();
                let bar = BarPosition::new(now, Meter::new(3, 4), 0.25);
                let ahead = Ahead::scan(Horizon::Bar, bar.bar_steps, |k| {
                    melody.get((now + k) % melody.len()).copied()
                });
                // The step's context as the sequencer makes it.
                let ctx = performer.step_context(
                    &mut follower,
                    Some(62 + (now % 7) as u8),
                    bar,
                    None,
                    ahead,
                );
                let out = performer.harmonize_token(&mut cmodel, &ctx, melody[now]);
                black_box(out);
                t += 1;
            })
        });
    }

    // candle-nn: the same weights, stepped one grid step at a time.
    let dev = Device::Cpu;
    let map: HashMap<String, Tensor> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                Tensor::from_vec(v.clone(), s.clone(), &dev).unwrap(),
            )
        })
        .collect();
    let layers: Vec<GRU> = (0..meta.layers)
        .map(|l| {
            let named: HashMap<String, Tensor> = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                .iter()
                .map(|n| (format!("{n}_l0"), map[&format!("core.{l}.{n}")].clone()))
                .collect();
            let input = if l == 0 {
                meta.input_size()
            } else {
                meta.hidden
            };
            let vb = VarBuilder::from_tensors(named, DType::F32, &dev);
            candle_nn::rnn::gru(input, meta.hidden, GRUConfig::default(), vb).unwrap()
        })
        .collect();
    let heads: Vec<candle_nn::Linear> = (0..4)
        .map(|v| {
            candle_nn::Linear::new(
                map[&format!("head.{v}.weight")].clone(),
                Some(map[&format!("head.{v}.bias")].clone()),
            )
        })
        .collect();
    let mut states: Vec<GRUState> = layers.iter().map(|l| l.zero_state(1).unwrap()).collect();
    let vocabs: Vec<usize> = meta.voices.iter().map(|v| v.range().vocab()).collect();
    let mut x = vec![0.0f32; meta.input_size()];
    let mut u = 0usize;
    group.bench_function("candle", |b| {
        b.iter(|| {
            x.fill(0.0);
            x[u % 36] = 1.0;
            x[meta.step_size() + u % 16] = 1.0;
            let mut input = Tensor::from_slice(&x, (1, x.len()), &dev).unwrap();
            for (layer, state) in layers.iter().zip(states.iter_mut()) {
                *state = layer.step(&input, state).unwrap();
                input = state.h().clone();
            }
            let mut above: Vec<f32> = Vec::new();
            for (v, head) in heads.iter().enumerate() {
                let xin = if above.is_empty() {
                    input.clone()
                } else {
                    let a = Tensor::from_slice(&above, (1, above.len()), &dev).unwrap();
                    Tensor::cat(&[&input, &a], D::Minus1).unwrap()
                };
                let logits = candle_nn::Module::forward(head, &xin).unwrap();
                black_box(logits.to_vec2::<f32>().unwrap());
                let mut block = vec![0.0; vocabs[v]];
                block[2 + u % 10] = 1.0;
                above.extend(block);
            }
            u += 1;
        })
    });
    group.finish();
}

/// One piano-roll frame of the shipped Nottingham models (2 GRU layers of
/// 256, fed back their own frames): 88 independent keys against the NADE of
/// 128 units that walks the keys one by one. Trained weights, because the
/// NADE's cost depends on how many keys sound.
fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/");
    for (name, file) in [
        ("independent", "nottingham-pianoroll-gru.safetensors"),
        ("nade", "nottingham-pianoroll-gru-nade.safetensors"),
    ] {
        let path = format!("{models}{file}");
        let mut model = PianoRollModel::load(std::path::Path::new(&path)).unwrap();
        let mut performer = Performer::new(Sampler::with_temperature(1.0), 0);
        group.bench_function(name, |b| {
            b.iter(|| black_box(performer.play_frame(&mut model, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, frames);
criterion_main!(benches);
