//! `bach-trainer calibrate` moves only the parallel-motion pair weights, the
//! same way on every run, and records what it did.

mod common;

use bach_engine::file::ModelFile;
use bach_engine::model::pairs::{PAIR_FEATURES, PARALLEL_FIFTH, PARALLEL_OCTAVE};
use bach_trainer::calibrate::calibrate;
use bach_trainer::config::{TrainConfig, VoiceOrder};
use bach_trainer::dataset;
use bach_trainer::train::{Control, Trainer};

#[test]
fn calibration_moves_only_the_parallel_weights_and_repeats_itself() {
    let dir = common::temp_dir("calibrate");
    let path = common::write(&dir, "voices.json", &common::voices_json(6));
    let data = dataset::load(&path, None, None).unwrap();
    let out = dir.join("model.safetensors");
    let mut c = TrainConfig::new("fixture", &out);
    c.net.hidden = 12;
    c.net.layers = 1;
    c.epochs = 2;
    c.training.batch = 2;
    c.training.seq_len = 5;
    c.training.lr = 0.02;
    c.training.pair_score = true;
    c.training.voice_order = VoiceOrder::OuterFirst;
    let mut t = Trainer::new(c, &data).unwrap();
    t.run(&data, &Control::default(), &mut |_| {}).unwrap();

    let before = ModelFile::load(&out).unwrap();
    let mut once = before.clone();
    let rounds = calibrate(&mut once, &data.train, 2, 0.5, 1.0).unwrap();
    assert_eq!(rounds.len(), 2);
    let mut again = before.clone();
    calibrate(&mut again, &data.train, 2, 0.5, 1.0).unwrap();
    let mut moved = 0;
    for (name, old) in &before.tensors {
        let new = &once.tensors[name];
        assert_eq!(new, &again.tensors[name], "{name}: the same on every run");
        for (i, (a, b)) in old.iter().zip(new).enumerate() {
            let parallel = name.ends_with(".pairs")
                && matches!(i % PAIR_FEATURES, PARALLEL_FIFTH | PARALLEL_OCTAVE);
            if !parallel {
                assert_eq!(a, b, "{name}[{i}] is not a parallel-motion weight");
            } else if a != b {
                moved += 1;
            }
        }
    }
    // Bach's fixture voices and the model's differ somewhere.
    assert!(moved > 0, "no parallel weight moved");

    // A model without the pair score is refused.
    let mut plain = before.clone();
    plain.meta.pair_score = false;
    assert!(calibrate(&mut plain, &data.train, 1, 0.5, 1.0).is_err());
}
