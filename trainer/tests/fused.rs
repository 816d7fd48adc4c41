//! The fused recurrence against the unfused reference: the same outputs,
//! final states and every gradient (weights, biases, initial state, inputs)
//! within 1e-5 relative, for each core, with and without dropout, carried
//! state and padded pieces; and a short training run reaching the same NLL.

mod common;

use bach_engine::{CoreKind, ModelMeta};
use bach_trainer::batch;
use bach_trainer::config::TrainConfig;
use bach_trainer::dataset::{self, Dataset, Piece};
use bach_trainer::eval::evaluate;
use bach_trainer::fused::Recurrence;
use bach_trainer::init::NamedTensor;
use bach_trainer::model::{Dropout, LayerState, Network, State};
use bach_trainer::rng::Rng;
use bach_trainer::train::{Control, Trainer};
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

const CORES: [CoreKind; 3] = [CoreKind::Gru, CoreKind::Lstm, CoreKind::Tanh];

fn random(rng: &mut Rng, n: usize, scale: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.uniform() * 2.0 - 1.0) * scale) as f32)
        .collect()
}

/// A network with every weight and bias random (biases non-zero, so their
/// gradients and the GRU's `b_hn` inside `r` are exercised).
fn random_network(meta: ModelMeta, seed: u64) -> Network {
    let mut rng = Rng::new(seed);
    let tensors: Vec<NamedTensor> = meta
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product();
            let data = random(&mut rng, n, 0.6);
            (name, shape, data)
        })
        .collect();
    Network::from_tensors(meta, &tensors, &Device::Cpu).unwrap()
}

/// Largest difference relative to the reference's largest magnitude.
fn assert_close(what: &str, a: &Tensor, reference: &Tensor) {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let r: Vec<f32> = reference.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a.len(), r.len(), "{what}");
    let scale = r.iter().fold(0f32, |m, x| m.max(x.abs()));
    let worst = a
        .iter()
        .zip(&r)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(scale > 0.0, "{what}: the reference is all zero");
    assert!(
        worst <= 1e-5 * scale,
        "{what}: differs by {worst} at scale {scale}"
    );
}

/// Everything one pass of a layer stack yields.
struct Pass {
    top: Tensor,
    state: State,
    grads: GradStore,
}

/// Runs `net` with `recurrence` over `inputs` from `state`, with dropout `p`
/// (masks from a fixed seed), and back-propagates a loss that weighs the top
/// outputs and every final state with fixed random weights.
fn pass(
    net: &mut Network,
    recurrence: Recurrence,
    inputs: &[Tensor],
    state: &State,
    p: f32,
) -> Pass {
    net.recurrence = recurrence;
    let w = net.weights(true).unwrap();
    let mut rng = Rng::new(77);
    let mut dropout = Dropout { p, rng: &mut rng };
    let (top, next) = w.run(inputs, state, Some(&mut dropout)).unwrap();
    let mut wr = Rng::new(5);
    let mut weigh = |t: &Tensor| {
        let r =
            Tensor::from_vec(random(&mut wr, t.elem_count(), 1.0), t.shape(), t.device()).unwrap();
        t.mul(&r).unwrap().sum_all().unwrap()
    };
    let mut loss = weigh(&top);
    for l in &next.0 {
        loss = (loss + weigh(&l.h)).unwrap();
        if let Some(c) = &l.c {
            loss = (loss + weigh(c)).unwrap();
        }
    }
    let grads = loss.backward().unwrap();
    Pass {
        top,
        state: next,
        grads,
    }
}

fn compare(tag: &str, net: &Network, a: &Pass, b: &Pass, vars: &[(String, &Var)]) {
    assert_close(&format!("{tag} top"), &a.top, &b.top);
    for (l, (x, y)) in a.state.0.iter().zip(&b.state.0).enumerate() {
        assert_close(&format!("{tag} h{l}"), &x.h, &y.h);
        if let (Some(cx), Some(cy)) = (&x.c, &y.c) {
            assert_close(&format!("{tag} c{l}"), cx, cy);
        }
    }
    // The core's weights (the heads are not part of a layer stack's pass).
    let named = net
        .params
        .iter()
        .filter(|(n, _)| n.starts_with("core."))
        .map(|(n, v)| (n.clone(), v));
    for (name, var) in named.chain(vars.iter().map(|(n, v)| (n.clone(), *v))) {
        let ga = a.grads.get(var.as_tensor());
        let gb = b.grads.get(var.as_tensor());
        let (Some(ga), Some(gb)) = (ga, gb) else {
            panic!("{tag}: no gradient for {name}");
        };
        assert_close(&format!("{tag} d{name}"), ga, gb);
    }
}

#[test]
fn layers_match_the_unfused_reference() {
    let (b, steps, hidden) = (3, 9, 7);
    for core in CORES {
        for layers in [1, 2] {
            let mut net = random_network(ModelMeta::pianoroll(core, layers, hidden, 0.5), 11);
            let mut rng = Rng::new(3);
            // Inputs as variables, one per step, so their gradients are checked too.
            let inputs: Vec<Var> = (0..steps)
                .map(|_| {
                    Var::from_vec(random(&mut rng, b * 88, 1.0), (b, 88), &Device::Cpu).unwrap()
                })
                .collect();
            let input_tensors: Vec<Tensor> = inputs.iter().map(|v| v.as_tensor().clone()).collect();
            // A carried state (random, with gradients) and the zero state.
            let mut carried_vars = Vec::new();
            let carried = State(
                (0..layers)
                    .map(|_| {
                        let h = Var::from_vec(
                            random(&mut rng, b * hidden, 0.9),
                            (b, hidden),
                            &Device::Cpu,
                        )
                        .unwrap();
                        let c = (core == CoreKind::Lstm).then(|| {
                            Var::from_vec(
                                random(&mut rng, b * hidden, 2.0),
                                (b, hidden),
                                &Device::Cpu,
                            )
                            .unwrap()
                        });
                        let s = LayerState {
                            h: h.as_tensor().clone(),
                            c: c.as_ref().map(|c| c.as_tensor().clone()),
                        };
                        carried_vars.push(h);
                        carried_vars.extend(c);
                        s
                    })
                    .collect(),
            );
            let zero = net.zero_state(b).unwrap();
            for (state, state_vars, what) in [
                (&zero, &[][..], "zero"),
                (&carried, &carried_vars[..], "carried"),
            ] {
                for p in [0.0, 0.3] {
                    let tag = format!("{core:?} x{layers}, {what} state, dropout {p}");
                    let fused = pass(&mut net, Recurrence::Fused, &input_tensors, state, p);
                    let reference = pass(&mut net, Recurrence::Unfused, &input_tensors, state, p);
                    let mut vars: Vec<(String, &Var)> = inputs
                        .iter()
                        .enumerate()
                        .map(|(t, v)| (format!("input {t}"), v))
                        .collect();
                    vars.extend(
                        state_vars
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (format!("state {i}"), v)),
                    );
                    compare(&tag, &net, &fused, &reference, &vars);
                }
            }
        }
    }
}

/// The training loss of padded batches (pieces of unequal length, masked
/// steps) over two chunks with the state carried between them.
fn chunked_loss_grads(net: &mut Network, recurrence: Recurrence, pieces: &[Piece]) -> Vec<Tensor> {
    net.recurrence = recurrence;
    let refs: Vec<&Piece> = pieces.iter().collect();
    let longest = refs.iter().map(|p| p.len()).max().unwrap();
    let len = longest.div_ceil(2);
    let mut state = net.zero_state(refs.len()).unwrap();
    let mut out = Vec::new();
    let mut rng = Rng::new(9);
    for start in [0, len] {
        let chunk = batch::chunk(
            &net.meta,
            &refs,
            start,
            len.min(longest - start),
            0,
            &[],
            &net.device,
        )
        .unwrap();
        let w = net.weights(true).unwrap();
        let mut dropout = Dropout {
            p: 0.2,
            rng: &mut rng,
        };
        let (top, next) = w.run(&chunk.inputs, &state, Some(&mut dropout)).unwrap();
        let (sum, _) = w.nll(net.meta.kind, &top, &chunk, None).unwrap();
        let grads = sum.backward().unwrap();
        out.push(sum);
        for (_, v) in &net.params {
            out.push(grads.get(v.as_tensor()).unwrap().clone());
        }
        state = next.detach();
    }
    out
}

fn unequal_pieces(data: &Dataset) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = data.train.iter().take(3).cloned().collect();
    // Make the lengths differ for sure, so padding is masked.
    pieces[0] = match &pieces[0] {
        Piece::Keys(f) => Piece::Keys(f[..f.len() / 2].to_vec()),
        Piece::Voices { voices, tokens, .. } => Piece::voices(
            *voices,
            tokens[..(tokens.len() / voices / 2) * voices].to_vec(),
        ),
    };
    pieces
}

#[test]
fn padded_chunks_with_carried_state_match() {
    let dir = common::temp_dir("fused-chunks");
    let roll = dataset::load(
        &common::write(&dir, "roll.json", &common::pianoroll_json(4)),
        None,
        None,
    )
    .unwrap();
    let voices = dataset::load(
        &common::write(&dir, "voices.json", &common::voices_json(4)),
        None,
        None,
    )
    .unwrap();
    for data in [&roll, &voices] {
        let pieces = unequal_pieces(data);
        assert_ne!(pieces[0].len(), pieces[1].len());
        for core in CORES {
            let mut c = TrainConfig::new("fixture", &dir.join("x.safetensors"));
            c.net.core = core;
            c.net.layers = 2;
            c.net.hidden = 6;
            let meta = bach_trainer::train::meta_for(&c, data);
            let mut net = random_network(meta, 4);
            let fused = chunked_loss_grads(&mut net, Recurrence::Fused, &pieces);
            let reference = chunked_loss_grads(&mut net, Recurrence::Unfused, &pieces);
            for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
                assert_close(&format!("{core:?} {:?} #{i}", data.kind), a, b);
            }
        }
    }
}

#[test]
fn training_fused_or_unfused_reaches_the_same_nll() {
    let dir = common::temp_dir("fused-train");
    let data = dataset::load(
        &common::write(&dir, "roll.json", &common::pianoroll_json(7)),
        None,
        None,
    )
    .unwrap();
    for core in CORES {
        let run = |recurrence: Recurrence| {
            let name = format!("{core:?}-{}", recurrence.name());
            let mut c = TrainConfig::new("fixture", &dir.join(format!("{name}.safetensors")));
            c.net.core = core;
            c.net.layers = 2;
            c.net.hidden = 10;
            c.epochs = 3;
            c.training.batch = 2;
            c.training.seq_len = 4;
            c.training.lr = 0.01;
            c.training.dropout = 0.2;
            c.training.recurrence = recurrence;
            let mut t = Trainer::new(c, &data).unwrap();
            t.run(&data, &Control::default(), &mut |_| {}).unwrap();
            let valid = evaluate(&t.net, &data.valid).unwrap().nll;
            let train = t.progress.history.last().unwrap().train_nll;
            (train, valid)
        };
        let (ft, fv) = run(Recurrence::Fused);
        let (ut, uv) = run(Recurrence::Unfused);
        eprintln!("{core:?}: train {ft:.5} / {ut:.5}, valid {fv:.5} / {uv:.5} (fused / unfused)");
        // Only the rounding differs, so three epochs end within a hair.
        assert!(
            (ft - ut).abs() <= 1e-3 * ut.abs(),
            "{core:?} train {ft} vs {ut}"
        );
        assert!(
            (fv - uv).abs() <= 1e-3 * uv.abs(),
            "{core:?} valid {fv} vs {uv}"
        );
    }
}
