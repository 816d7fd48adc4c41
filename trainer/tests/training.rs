//! Training: learning, determinism, exact resumption, the standard metric.

mod common;

use std::sync::atomic::AtomicBool;

use bach_engine::{CoreKind, Init};
use bach_trainer::checkpoint::Checkpoint;
use bach_trainer::config::TrainConfig;
use bach_trainer::dataset::{self, Dataset};
use bach_trainer::eval::evaluate;
use bach_trainer::train::{Control, Outcome, Trainer};

fn tiny_config(dir: &std::path::Path, name: &str) -> TrainConfig {
    let mut c = TrainConfig::new("fixture", &dir.join(format!("{name}.safetensors")));
    c.net.core = CoreKind::Gru;
    c.net.layers = 2;
    c.net.hidden = 10;
    c.epochs = 3;
    c.training.batch = 2;
    c.training.seq_len = 4;
    c.training.lr = 0.01;
    c.training.dropout = 0.2;
    c
}

fn fixture(dir: &std::path::Path, voices: bool) -> Dataset {
    let text = if voices {
        common::voices_json(7)
    } else {
        common::pianoroll_json(7)
    };
    let path = common::write(dir, "data.json", &text);
    dataset::load(&path, None, None).unwrap()
}

#[test]
fn same_seed_same_model_and_different_seed_differs() {
    let dir = common::temp_dir("seed");
    let data = fixture(&dir, true);
    let run = |seed: u64, name: &str| {
        let mut c = tiny_config(&dir, name);
        c.training.seed = seed;
        let mut t = Trainer::new(c, &data).unwrap();
        t.run(&data, &Control::default(), &mut |_| {}).unwrap();
        t.net.tensors().unwrap()
    };
    let a = run(5, "a");
    assert_eq!(a, run(5, "b"));
    assert_ne!(a, run(6, "c"));
}

#[test]
fn a_stopped_run_resumes_to_the_same_weights() {
    let dir = common::temp_dir("resume");
    let data = fixture(&dir, false);
    // Uninterrupted.
    let mut whole = Trainer::new(tiny_config(&dir, "whole"), &data).unwrap();
    whole.run(&data, &Control::default(), &mut |_| {}).unwrap();
    // Killed after 5 batches (mid-epoch 2 of 3: 4 batches an epoch), then twice more.
    let config = tiny_config(&dir, "split");
    let checkpoint = config.checkpoint.clone();
    let mut first = Trainer::new(config, &data).unwrap();
    let stop = Control {
        stop: None,
        stop_after_batches: Some(5),
    };
    let outcome = first.run(&data, &stop, &mut |_| {}).unwrap();
    assert_eq!(
        outcome,
        Outcome::Stopped {
            checkpoint: checkpoint.clone()
        }
    );
    let saved = Checkpoint::load(&checkpoint).unwrap();
    assert_eq!(
        (saved.header.progress.epoch, saved.header.progress.batch),
        (1, 1)
    );
    drop(first);
    // A stop flag (what Ctrl-C sets) stops after the batch under way.
    let flag = AtomicBool::new(true);
    let mut second = Trainer::resume(&checkpoint, &data).unwrap();
    let outcome = second
        .run(
            &data,
            &Control {
                stop: Some(&flag),
                stop_after_batches: None,
            },
            &mut |_| {},
        )
        .unwrap();
    assert!(matches!(outcome, Outcome::Stopped { .. }));
    let mut third = Trainer::resume(&checkpoint, &data).unwrap();
    assert_eq!(third.progress.batch, 2);
    let outcome = third.run(&data, &Control::default(), &mut |_| {}).unwrap();
    assert!(matches!(outcome, Outcome::Finished { .. }));
    assert_eq!(third.net.tensors().unwrap(), whole.net.tensors().unwrap());
    assert_eq!(third.progress.history.len(), whole.progress.history.len());
    for (a, b) in third.progress.history.iter().zip(&whole.progress.history) {
        assert_eq!(a.valid_nll, b.valid_nll);
    }
    assert_eq!(third.progress.test_nll, whole.progress.test_nll);
    // Both wrote loadable model files with the same weights.
    let a = bach_engine::file::ModelFile::load(&whole.config.out).unwrap();
    let b = bach_engine::file::ModelFile::load(&third.config.out).unwrap();
    assert_eq!(a.tensors, b.tensors);
}

#[test]
fn voices_training_lowers_the_nll_and_keeps_the_best() {
    let dir = common::temp_dir("voices-learn");
    let data = fixture(&dir, true);
    let mut c = tiny_config(&dir, "v");
    c.epochs = 12;
    c.net.hidden = 24;
    c.training.lr = 0.02;
    c.training.dropout = 0.0;
    c.net.init = Init::Orthogonal;
    let mut t = Trainer::new(c, &data).unwrap();
    let before = evaluate(&t.net, &data.valid).unwrap();
    assert_eq!(before.per_voice.len(), 4);
    let sum: f64 = before.per_voice.iter().map(|(_, v)| v).sum();
    assert!((sum - before.nll).abs() < 1e-4);
    t.run(&data, &Control::default(), &mut |_| {}).unwrap();
    let best = t.progress.best_valid.unwrap();
    assert!(
        best < before.nll * 0.6,
        "valid NLL {} -> {best}",
        before.nll
    );
    // The net ends with the best epoch's weights, and the file says so.
    let after = evaluate(&t.net, &data.valid).unwrap();
    assert!((after.nll - best).abs() < 1e-6);
    let meta = bach_engine::file::ModelFile::load(&t.config.out)
        .unwrap()
        .meta;
    let prov = meta.training.unwrap();
    assert_eq!(prov.valid_nll, Some(best));
    assert!(prov.test_nll.is_some());
}

#[test]
fn the_metric_skips_the_first_step_of_each_piece() {
    let dir = common::temp_dir("metric");
    let data = fixture(&dir, false);
    let t = Trainer::new(tiny_config(&dir, "m"), &data).unwrap();
    let r = evaluate(&t.net, &data.test).unwrap();
    let frames: usize = data.test.iter().map(|p| p.len()).sum();
    assert_eq!(r.steps, frames - data.test.len());
    // Untrained (zero biases, so every key's p is about ½): about 88·ln 2.
    assert!(
        (r.nll - 88.0 * std::f64::consts::LN_2).abs() < 3.0,
        "{}",
        r.nll
    );
}

/// One epoch on the JSB piano roll takes the test NLL from about 61 to well below 20.
#[test]
fn one_epoch_on_jsb_pianoroll_learns() {
    let Some(path) = common::shared("pianoroll/jsb_chorales.json") else {
        return;
    };
    let data = dataset::load(&path, None, None).unwrap();
    let dir = common::temp_dir("jsb");
    let mut c = TrainConfig::new(&path.display().to_string(), &dir.join("jsb.safetensors"));
    c.net.layers = 1;
    c.net.hidden = 128;
    c.epochs = 1;
    c.training.batch = 8;
    c.training.lr = 0.01;
    let mut t = Trainer::new(c, &data).unwrap();
    let untrained = evaluate(&t.net, &data.test).unwrap().nll;
    assert!(
        (untrained - 61.0).abs() < 3.0,
        "untrained test NLL {untrained}"
    );
    let outcome = t.run(&data, &Control::default(), &mut |_| {}).unwrap();
    let Outcome::Finished {
        test_nll: Some(test),
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    eprintln!("JSB piano roll test NLL: untrained {untrained:.3}, after one epoch {test:.3}");
    assert!(test < 16.0, "test NLL after one epoch {test}");
}

/// Pieces of random major triads, each frame's root unrelated to the last,
/// so the state cannot say which triad comes: only the keys already drawn can.
fn triads_json() -> String {
    let mut rng = bach_engine::Rng::new(11);
    let mut piece = || {
        let frames: Vec<String> = (0..16)
            .map(|_| {
                let root = 40 + rng.next_u32() % 12;
                format!("[{},{},{}]", root, root + 4, root + 7)
            })
            .collect();
        format!("[{}]", frames.join(","))
    };
    let mut split = |n: usize| (0..n).map(|_| piece()).collect::<Vec<_>>().join(",");
    let (train, valid, test) = (split(24), split(4), split(6));
    format!("{{\"train\":[{train}],\"valid\":[{valid}],\"test\":[{test}]}}")
}

/// The NADE frame output learns chords; 88 independent keys cannot (their
/// best is the sum of the keys' marginal entropies, 7.97 nats here,
/// against ln 12 = 2.48 for the NADE). The engine, sampling the written file
/// key by key, then plays triads.
#[test]
fn an_nade_learns_chords_that_independent_keys_cannot() {
    let dir = common::temp_dir("nade-triads");
    let path = common::write(&dir, "triads.json", &triads_json());
    let data = dataset::load(&path, None, None).unwrap();
    let train = |nade: usize| {
        let mut c = tiny_config(&dir, &format!("triads-{nade}"));
        c.net.layers = 1;
        c.net.hidden = 8;
        c.net.nade = nade;
        c.epochs = 150;
        c.training.batch = 4;
        c.training.seq_len = 16;
        c.training.lr = 0.05;
        c.training.dropout = 0.0;
        c.training.patience = 0;
        let mut t = Trainer::new(c, &data).unwrap();
        t.run(&data, &Control::default(), &mut |_| {}).unwrap();
        let nll = evaluate(&t.net, &data.test).unwrap().nll;
        (t, nll)
    };
    let (_, independent) = train(0);
    let (nade, chords) = train(24);
    eprintln!("triads: independent keys {independent:.3}, NADE {chords:.3}");
    assert!(independent > 7.0, "{independent}");
    assert!(chords < 3.5, "{chords}");

    let mut model = bach_engine::PianoRollModel::load(&nade.config.out).unwrap();
    let sampler = bach_engine::Sampler::with_temperature(1.0);
    let mut performer = bach_engine::Performer::new(sampler, 4);
    let n = 300;
    let triads = (0..n)
        .filter(|_| {
            let f: Vec<u8> = performer.play_frame(&mut model, None).pitches().collect();
            f.len() == 3 && f[1] == f[0] + 4 && f[2] == f[0] + 7
        })
        .count();
    assert!(
        triads * 10 > n * 7,
        "{triads} of {n} sampled frames are triads"
    );
}

/// A lone opening (continue mode's melody alone, a silence, then every voice
/// entering) scores each voice only where it was not silenced: the masks
/// leave those steps out, and the silenced voices' loss is smaller for it.
#[test]
fn a_lone_openings_silenced_steps_carry_no_loss() {
    use bach_trainer::batch;
    use bach_trainer::lone::{lone_opening, Silenced};
    let dir = common::temp_dir("lone");
    let data = fixture(&dir, true);
    let t = Trainer::new(tiny_config(&dir, "lone"), &data).unwrap();
    let piece = data.train.iter().max_by_key(|p| p.len()).unwrap();
    let len = piece.len();
    assert!(len >= 8, "the fixture's longest piece has {len} steps");
    let silenced = Silenced { alone: 3, entry: 5 };
    let lone = lone_opening(piece, silenced);
    let device = &t.net.device;
    let kept = batch::chunk(&t.net.meta, &[&lone], 0, len, 0, &[silenced], device).unwrap();
    let all = batch::chunk(&t.net.meta, &[&lone], 0, len, 0, &[], device).unwrap();
    assert!(all.voice_masks.is_none());
    let masks = kept.voice_masks.as_ref().expect("per-voice masks");
    let sums: Vec<f32> = masks
        .iter()
        .map(|m| m.sum_all().unwrap().to_scalar().unwrap())
        .collect();
    assert_eq!(sums[0] as usize, len - 2, "the melody is scored alone");
    for s in &sums[1..] {
        assert_eq!(*s as usize, len - 5, "the lower voices from their entry");
    }
    let w = t.net.weights(false).unwrap();
    let zero = t.net.zero_state(1).unwrap();
    let (top, _) = w.run(&kept.inputs, &zero, None).unwrap();
    let (_, parts) = w.nll(t.net.meta.kind, &top, &kept, None).unwrap();
    let (_, unmasked) = w.nll(t.net.meta.kind, &top, &all, None).unwrap();
    for (v, (p, u)) in parts.iter().zip(&unmasked).enumerate() {
        let (p, u): (f32, f32) = (p.to_scalar().unwrap(), u.to_scalar().unwrap());
        assert!(p < u, "voice {v}: {p} with the mask, {u} without");
    }
}

#[test]
fn lone_openings_is_a_share() {
    let dir = common::temp_dir("lone-share");
    let data = fixture(&dir, true);
    let mut c = tiny_config(&dir, "share");
    c.training.lone_openings = 1.5;
    let err = Trainer::new(c, &data).err().expect("refused").to_string();
    assert!(err.contains("--lone-openings"), "{err}");
}

/// The chord auxiliary target trains a head beside the model: it changes
/// the weights the model learns (so the loss reaches the core), learns to
/// name the chords, rides in the checkpoint so a stopped run resumes to the
/// same weights, and is never written to the model file.
#[test]
fn the_chord_target_trains_a_head_the_model_file_leaves_out() {
    use bach_trainer::batch;
    use bach_trainer::chord_aux;
    let dir = common::temp_dir("chord-aux");
    let data = fixture(&dir, true);
    let run = |aux: f64, name: &str| {
        let mut c = tiny_config(&dir, name);
        c.training.chord_aux = aux;
        let mut t = Trainer::new(c, &data).unwrap();
        t.run(&data, &Control::default(), &mut |_| {}).unwrap();
        t
    };
    let plain = run(0.0, "plain");
    let with = run(1.0, "with");
    assert!(plain.chord_head.is_none());
    assert_ne!(
        plain.net.tensors().unwrap(),
        with.net.tensors().unwrap(),
        "the chord loss reaches the model's weights"
    );
    // The model file holds the model's tensors only, and loads.
    let file = bach_engine::file::ModelFile::load(&with.config.out).unwrap();
    assert!(file.tensors.keys().all(|n| !n.starts_with("aux.")));
    assert_eq!(file.tensors.len(), with.net.params.len());
    // The checkpoint carries the head.
    let ck = Checkpoint::load(&with.config.checkpoint).unwrap();
    assert!(ck.params.iter().any(|(n, _, _)| n == chord_aux::WEIGHT));
    assert!(ck.adam_m.iter().any(|(n, _, _)| n == chord_aux::BIAS));
    // The head has learnt something: on the training pieces its chord
    // loss is below the uniform guess its zeros start from (three short
    // epochs on the fixture take it about half a nat down).
    let head = with.chord_head.as_ref().unwrap();
    let pieces: Vec<_> = data.train.iter().collect();
    let longest = pieces.iter().map(|p| p.len()).max().unwrap();
    let device = &with.net.device;
    let chunk = batch::chunk(&with.net.meta, &pieces, 0, longest, 0, &[], device).unwrap();
    let labels = chord_aux::targets(&with.net.meta, &pieces, 0, longest, device).unwrap();
    let w = with.net.weights(false).unwrap();
    let zero = with.net.zero_state(pieces.len()).unwrap();
    let (top, _) = w.run(&chunk.inputs, &zero, None).unwrap();
    let nll: f32 = head
        .nll(&top, &labels, &chunk.mask)
        .unwrap()
        .to_scalar()
        .unwrap();
    let uniform = (chord_aux::CLASSES as f32).ln();
    let per_step = nll / chunk.scored as f32;
    assert!(
        per_step < uniform - 0.25,
        "{per_step} nats against {uniform}"
    );

    // Stopped after 5 batches and resumed: the same weights as unbroken.
    let mut c = tiny_config(&dir, "split");
    c.training.chord_aux = 1.0;
    let checkpoint = c.checkpoint.clone();
    let mut first = Trainer::new(c, &data).unwrap();
    let stop = Control {
        stop: None,
        stop_after_batches: Some(5),
    };
    first.run(&data, &stop, &mut |_| {}).unwrap();
    drop(first);
    let mut second = Trainer::resume(&checkpoint, &data).unwrap();
    second.run(&data, &Control::default(), &mut |_| {}).unwrap();
    assert_eq!(second.net.tensors().unwrap(), with.net.tensors().unwrap());
}

/// Dropout on the heads' hidden units (`--head-dropout`) reaches the
/// weights training learns, draws from the run's seeded streams (the same
/// seed gives the same model), and is refused where there is no hidden
/// layer to act on.
#[test]
fn head_dropout_trains_the_heads_hidden_layers_and_needs_them() {
    let dir = common::temp_dir("head-dropout");
    let data = fixture(&dir, true);
    let run = |p: f32, name: &str| {
        let mut c = tiny_config(&dir, name);
        c.net.head_hidden = 6;
        c.training.head_dropout = p;
        let mut t = Trainer::new(c, &data).unwrap();
        t.run(&data, &Control::default(), &mut |_| {}).unwrap();
        t.net.tensors().unwrap()
    };
    let plain = run(0.0, "plain");
    let dropped = run(0.5, "dropped");
    assert_ne!(plain, dropped, "the head dropout reaches the weights");
    assert_eq!(dropped, run(0.5, "again"), "seeded like the rest");
    let mut c = tiny_config(&dir, "no-hidden");
    c.training.head_dropout = 0.5;
    let err = Trainer::new(c, &data).err().expect("refused").to_string();
    assert!(err.contains("--head-hidden"), "{err}");
    let mut c = tiny_config(&dir, "whole");
    c.net.head_hidden = 6;
    c.training.head_dropout = 1.0;
    let err = Trainer::new(c, &data).err().expect("refused").to_string();
    assert!(err.contains("--head-dropout"), "{err}");
}

#[test]
fn chord_aux_is_a_weight_for_voices_models() {
    let dir = common::temp_dir("chord-aux-refused");
    let voices = fixture(&dir, true);
    let mut c = tiny_config(&dir, "weight");
    c.training.chord_aux = -1.0;
    let err = Trainer::new(c, &voices).err().expect("refused").to_string();
    assert!(err.contains("--chord-aux"), "{err}");
    let roll = fixture(&dir, false);
    let mut c = tiny_config(&dir, "roll");
    c.training.chord_aux = 1.0;
    let err = Trainer::new(c, &roll).err().expect("refused").to_string();
    assert!(err.contains("--chord-aux"), "{err}");
}

/// Polyak averaging (`--ema`): training itself goes on from the raw weights
/// (the same path as without it), the average folds each update in with the
/// decay, validation judges the average and the model file is the average
/// that was judged best, and a stopped run resumes to the same result.
#[test]
fn the_weights_moving_average_is_what_is_judged_and_written() {
    use bach_trainer::average::Average;
    use bach_trainer::model::Network;
    let dir = common::temp_dir("ema");
    let data = fixture(&dir, true);
    let config = |name: &str, ema: f64| {
        let mut c = tiny_config(&dir, name);
        c.training.ema = ema;
        c
    };
    let stop5 = Control {
        stop: None,
        stop_after_batches: Some(5),
    };
    // The same raw weights after five batches, with the average or without.
    let mut plain = Trainer::new(config("plain", 0.0), &data).unwrap();
    plain.run(&data, &stop5, &mut |_| {}).unwrap();
    let mut avg = Trainer::new(config("avg", 0.9), &data).unwrap();
    avg.run(&data, &stop5, &mut |_| {}).unwrap();
    assert!(plain.average.is_none());
    let raw = avg.net.tensors().unwrap();
    assert_eq!(plain.net.tensors().unwrap(), raw);
    let averaged = avg.current_weights().unwrap();
    assert_ne!(averaged, raw, "the average lags the raw weights");
    let ck = Checkpoint::load(&avg.config.checkpoint).unwrap();
    assert_eq!(ck.average.as_ref(), Some(&averaged));
    assert!(Checkpoint::load(&plain.config.checkpoint)
        .unwrap()
        .average
        .is_none());

    // One update folds in with the decay: 0.9 of the old, 0.1 of the new.
    let net = Network::from_tensors(avg.net.meta.clone(), &raw, &avg.net.device).unwrap();
    let mut a = Average::new(&net, 0.9).unwrap();
    assert!((a.decay_at(0) - 0.1).abs() < 1e-12, "short at first");
    assert_eq!(a.decay_at(1_000_000), 0.9);
    net.set_tensors(&averaged).unwrap();
    a.update(&net, 1_000_000).unwrap();
    for ((_, _, old), ((_, _, new), (_, _, got))) in
        raw.iter().zip(averaged.iter().zip(&a.named().unwrap()))
    {
        for ((o, n), g) in old.iter().zip(new).zip(got) {
            assert!((0.9 * o + 0.1 * n - g).abs() < 1e-5, "{o} {n} {g}");
        }
    }

    // A whole run: the model file is the best average, and its valid NLL
    // is the one the run recorded for it.
    let mut whole = Trainer::new(config("whole", 0.9), &data).unwrap();
    whole.run(&data, &Control::default(), &mut |_| {}).unwrap();
    let ck = Checkpoint::load(&whole.config.checkpoint).unwrap();
    let best = ck.best.clone().unwrap();
    let file = bach_engine::file::ModelFile::load(&whole.config.out).unwrap();
    for (name, _, data) in &best {
        assert_eq!(&file.tensors[name], data, "{name}");
    }
    let judged = Network::from_tensors(whole.net.meta.clone(), &best, &whole.net.device).unwrap();
    let valid = evaluate(&judged, &data.valid).unwrap().nll;
    let recorded = whole.progress.best_valid.unwrap();
    assert!(
        (valid - recorded).abs() < 1e-4,
        "{valid} against {recorded}"
    );

    // Stopped after five batches and resumed: the same as unbroken.
    let checkpoint = avg.config.checkpoint.clone();
    drop(avg);
    let mut resumed = Trainer::resume(&checkpoint, &data).unwrap();
    resumed
        .run(&data, &Control::default(), &mut |_| {})
        .unwrap();
    let mut unbroken = Trainer::new(config("unbroken", 0.9), &data).unwrap();
    unbroken
        .run(&data, &Control::default(), &mut |_| {})
        .unwrap();
    assert_eq!(
        resumed.net.tensors().unwrap(),
        unbroken.net.tensors().unwrap()
    );
    assert_eq!(resumed.net.tensors().unwrap(), whole.net.tensors().unwrap());

    // A decay of 1 would never move: refused.
    let err = Trainer::new(config("one", 1.0), &data)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("--ema"), "{err}");
}
