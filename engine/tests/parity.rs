//! The engine's forward pass equals candle's for the same weights: GRU and
//! LSTM against candle-nn's own cells, the tanh RNN against candle ops, over
//! 500 teacher-forced steps, for voices and piano-roll models.

use std::collections::HashMap;

use bach_engine::file::{random_tensors, to_bytes};
use bach_engine::{
    AnyModel, CoreKind, FrameOutput, KeyFrame, ModelMeta, Performer, Rng, Sampler, Token,
    VoicesModel,
};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::rnn::{GRUConfig, LSTMConfig, RNN};
use candle_nn::VarBuilder;

const STEPS: usize = 500;
const TOLERANCE: f32 = 1e-5;

/// A reference model in candle: one recurrent layer object per layer.
enum RefLayer {
    Gru(candle_nn::rnn::GRU),
    Lstm(candle_nn::rnn::LSTM),
    Tanh {
        w_ih: Tensor,
        w_hh: Tensor,
        b: Tensor,
    },
}

enum RefState {
    Gru(candle_nn::rnn::GRUState),
    Lstm(candle_nn::rnn::LSTMState),
    Tanh(Tensor),
}

impl RefState {
    fn h(&self) -> Tensor {
        match self {
            RefState::Gru(s) => s.h().clone(),
            RefState::Lstm(s) => s.h().clone(),
            RefState::Tanh(h) => h.clone(),
        }
    }
}

struct Reference {
    layers: Vec<RefLayer>,
    states: Vec<RefState>,
    heads: Vec<(Tensor, Tensor)>,
    /// NADE frame output: cond weight, cond bias, input weight, output weight.
    nade: Option<[Tensor; 4]>,
}

impl Reference {
    fn new(meta: &ModelMeta, tensors: &HashMap<String, Tensor>) -> Self {
        let dev = Device::Cpu;
        let h = meta.hidden;
        let mut layers = Vec::new();
        let mut states = Vec::new();
        for l in 0..meta.layers {
            let input = if l == 0 { meta.input_size() } else { h };
            let get = |n: &str| tensors[&format!("core.{l}.{n}")].clone();
            // candle-nn names PyTorch's layer-0 tensors `weight_ih_l0` and so on.
            let named: HashMap<String, Tensor> = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
                .iter()
                .map(|n| (format!("{n}_l0"), get(n)))
                .collect();
            let vb = VarBuilder::from_tensors(named, DType::F32, &dev);
            let (layer, state) = match meta.core {
                CoreKind::Gru => {
                    let g = candle_nn::rnn::gru(input, h, GRUConfig::default(), vb).unwrap();
                    let s = g.zero_state(1).unwrap();
                    (RefLayer::Gru(g), RefState::Gru(s))
                }
                CoreKind::Lstm => {
                    let g = candle_nn::rnn::lstm(input, h, LSTMConfig::default(), vb).unwrap();
                    let s = g.zero_state(1).unwrap();
                    (RefLayer::Lstm(g), RefState::Lstm(s))
                }
                CoreKind::Tanh => (
                    RefLayer::Tanh {
                        w_ih: get("weight_ih"),
                        w_hh: get("weight_hh"),
                        b: (get("bias_ih") + get("bias_hh")).unwrap(),
                    },
                    RefState::Tanh(Tensor::zeros((1, h), DType::F32, &dev).unwrap()),
                ),
            };
            layers.push(layer);
            states.push(state);
        }
        let heads = (0..meta.voices.len().max(1))
            .map(|v| {
                (
                    tensors[&format!("head.{v}.weight")].clone(),
                    tensors[&format!("head.{v}.bias")].clone(),
                )
            })
            .collect();
        let nade = tensors.get("nade.cond.weight").map(|cond| {
            [
                cond.clone(),
                tensors["nade.cond.bias"].clone(),
                tensors["nade.in.weight"].clone(),
                tensors["nade.out.weight"].clone(),
            ]
        });
        Self {
            layers,
            states,
            heads,
            nade,
        }
    }

    fn step(&mut self, x: &[f32]) {
        let mut input = Tensor::from_slice(x, (1, x.len()), &Device::Cpu).unwrap();
        for (layer, state) in self.layers.iter().zip(self.states.iter_mut()) {
            *state = match (layer, &*state) {
                (RefLayer::Gru(g), RefState::Gru(s)) => RefState::Gru(g.step(&input, s).unwrap()),
                (RefLayer::Lstm(g), RefState::Lstm(s)) => {
                    RefState::Lstm(g.step(&input, s).unwrap())
                }
                (RefLayer::Tanh { w_ih, w_hh, b }, RefState::Tanh(h)) => {
                    let pre = (input.matmul(&w_ih.t().unwrap()).unwrap()
                        + h.matmul(&w_hh.t().unwrap()).unwrap())
                    .unwrap()
                    .broadcast_add(b)
                    .unwrap();
                    RefState::Tanh(pre.tanh().unwrap())
                }
                _ => unreachable!(),
            };
            input = state.h();
        }
    }

    fn head(&self, v: usize, extra: &[f32]) -> Vec<f32> {
        let h = self.states.last().unwrap().h();
        let x = if extra.is_empty() {
            h
        } else {
            let e = Tensor::from_slice(extra, (1, extra.len()), &Device::Cpu).unwrap();
            Tensor::cat(&[&h, &e], D::Minus1).unwrap()
        };
        let (w, b) = &self.heads[v];
        let y = x.matmul(&w.t().unwrap()).unwrap().broadcast_add(b).unwrap();
        y.flatten_all().unwrap().to_vec1().unwrap()
    }
}

impl Reference {
    /// Piano-roll logits given the frame `x`: key k's NADE hidden layer reads
    /// `x` masked to the keys below k, one key at a time, by the book.
    fn frame(&self, x: &[f32]) -> Vec<f32> {
        let visible = self.head(0, &[]);
        let Some([cond, cond_bias, input, output]) = &self.nade else {
            return visible;
        };
        let dev = Device::Cpu;
        let h = self.states.last().unwrap().h();
        let c = h
            .matmul(&cond.t().unwrap())
            .unwrap()
            .broadcast_add(cond_bias)
            .unwrap();
        (0..x.len())
            .map(|k| {
                let below: Vec<f32> = (0..x.len())
                    .map(|j| if j < k { x[j] } else { 0.0 })
                    .collect();
                let below = Tensor::from_vec(below, (1, x.len()), &dev).unwrap();
                let pre = (&c + below.matmul(&input.t().unwrap()).unwrap()).unwrap();
                let act = candle_nn::ops::sigmoid(&pre).unwrap();
                let v = output.get(k).unwrap().unsqueeze(1).unwrap();
                let l: f32 = act
                    .matmul(&v)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()[0];
                visible[k] + l
            })
            .collect()
    }
}

fn build(meta: &ModelMeta, seed: u64) -> (AnyModel, Reference) {
    let tensors = random_tensors(meta, seed, 0.25);
    let bytes = to_bytes(meta, &tensors).unwrap();
    let model = AnyModel::from_bytes(&bytes).unwrap();
    let map = tensors
        .into_iter()
        .map(|(n, s, v)| (n, Tensor::from_vec(v, s, &Device::Cpu).unwrap()))
        .collect();
    (model, Reference::new(meta, &map))
}

fn assert_close(engine: &[f32], reference: &[f32], what: &str) {
    assert_eq!(engine.len(), reference.len(), "{what}: lengths");
    for (i, (a, b)) in engine.iter().zip(reference).enumerate() {
        assert!(
            (a - b).abs() <= TOLERANCE,
            "{what}: index {i}: engine {a} vs candle {b}"
        );
    }
}

/// A random but musical-looking token stream within each voice's range.
fn token_stream(meta: &ModelMeta, seed: u64) -> Vec<Vec<Token>> {
    let mut rng = Rng::new(seed);
    let mut steps = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let step = meta
            .voices
            .iter()
            .map(|v| match rng.next_u32() % 10 {
                0 => Token::Rest,
                1..=4 => Token::Hold,
                _ => Token::Onset(v.low + (rng.next_u32() % (v.high - v.low + 1) as u32) as u8),
            })
            .collect();
        steps.push(step);
    }
    steps
}

fn one_hot_step(meta: &ModelMeta, step: Option<&[Token]>, position: usize) -> Vec<f32> {
    let mut x = vec![0.0; meta.input_size()];
    let mut offset = 0;
    for (v, spec) in meta.voices.iter().enumerate() {
        if let Some(step) = step {
            x[offset + spec.range().index(step[v]).unwrap()] = 1.0;
        }
        offset += spec.range().vocab();
    }
    if let Some(steps) = meta.bar_steps() {
        x[offset + position % steps] = 1.0;
    }
    x
}

fn check_voices(core: CoreKind, order: &[usize]) {
    let mut meta = ModelMeta::satb(core, 2, 48);
    meta.order = order.to_vec();
    meta.format_version = meta.needed_version();
    let (model, mut reference) = build(&meta, 11);
    let mut model = model.into_voices().unwrap();
    let stream = token_stream(&meta, 5);
    for t in 0..STEPS {
        let previous = t.checked_sub(1).map(|p| stream[p].as_slice());
        model.advance_voices(previous, &bach_engine::StepContext::common(t));
        reference.step(&one_hot_step(&meta, previous, t));
        for v in 0..meta.voices.len() {
            // The head reads the voices decided before it, in decision order.
            let mut above = Vec::new();
            for u in meta.decided_before(v) {
                let r = meta.voices[u].range();
                let mut block = vec![0.0; r.vocab()];
                block[r.index(stream[t][u]).unwrap()] = 1.0;
                above.extend(block);
            }
            let expected = reference.head(v, &above);
            let got = model.voice_logits(v, &stream[t]);
            assert_close(got, &expected, &format!("{core:?} step {t} voice {v}"));
        }
    }
}

fn check_pianoroll(core: CoreKind, frame: FrameOutput) {
    let mut meta = ModelMeta::pianoroll(core, 2, 40, 1.0);
    meta.frame = frame;
    let (model, mut reference) = build(&meta, 3);
    let mut model = model.into_piano_roll().unwrap();
    let mut rng = Rng::new(2);
    let mut previous: Option<KeyFrame> = None;
    for t in 0..STEPS {
        model.advance_keys(previous.as_ref());
        let mut x = vec![0.0; 88];
        if let Some(f) = previous {
            for k in f.keys() {
                x[k] = 1.0;
            }
        }
        reference.step(&x);
        // The frame scored now, and fed back on the next step.
        let now = KeyFrame::from_pitches((0..4).map(|_| 40 + (rng.next_u32() % 40) as u8));
        let mut y = vec![0.0; 88];
        for k in now.keys() {
            y[k] = 1.0;
        }
        assert_close(
            model.key_logits(&now),
            &reference.frame(&y),
            &format!("{core:?} {frame:?} frame {t}"),
        );
        previous = Some(now);
    }
}

#[test]
fn gru_voices_match_candle() {
    check_voices(CoreKind::Gru, &[]);
}

#[test]
fn outer_voices_first_heads_match_candle() {
    check_voices(CoreKind::Gru, &[0, 3, 1, 2]);
}

#[test]
fn lstm_voices_match_candle() {
    check_voices(CoreKind::Lstm, &[]);
}

#[test]
fn tanh_voices_match_candle() {
    check_voices(CoreKind::Tanh, &[]);
}

#[test]
fn gru_pianoroll_matches_candle() {
    check_pianoroll(CoreKind::Gru, FrameOutput::Independent);
}

#[test]
fn lstm_pianoroll_matches_candle() {
    check_pianoroll(CoreKind::Lstm, FrameOutput::Independent);
}

#[test]
fn tanh_pianoroll_matches_candle() {
    check_pianoroll(CoreKind::Tanh, FrameOutput::Independent);
}

#[test]
fn nade_pianoroll_matches_candle() {
    check_pianoroll(CoreKind::Gru, FrameOutput::Nade { hidden: 24 });
    check_pianoroll(CoreKind::Lstm, FrameOutput::Nade { hidden: 7 });
}

/// Generation with every voice clamped is teacher forcing: it must walk the
/// same states as `advance_voices`, so the logits afterwards agree.
#[test]
fn clamped_generation_is_teacher_forcing() {
    let meta = ModelMeta::satb(CoreKind::Gru, 2, 32);
    let tensors = random_tensors(&meta, 8, 0.3);
    let bytes = to_bytes(&meta, &tensors).unwrap();
    let mut a = VoicesModel::from_bytes(&bytes).unwrap();
    let mut b = VoicesModel::from_bytes(&bytes).unwrap();
    let stream = token_stream(&meta, 1);
    let mut performer = Performer::new(Sampler::default(), 0);
    for t in 0..50 {
        let clamp: Vec<Option<Token>> = stream[t].iter().map(|&x| Some(x)).collect();
        let out = performer
            .step(&mut a, &bach_engine::StepContext::common(t), &clamp)
            .to_vec();
        assert_eq!(out, stream[t]);
        b.advance_voices(
            t.checked_sub(1).map(|p| stream[p].as_slice()),
            &bach_engine::StepContext::common(t),
        );
    }
    // One more step on each: the same previous step and position.
    a.advance_voices(Some(&stream[49]), &bach_engine::StepContext::common(50));
    b.advance_voices(Some(&stream[49]), &bach_engine::StepContext::common(50));
    assert_eq!(a.voice_logits(0, &[]), b.voice_logits(0, &[]));
}
