//! Time of one training step: a 2-layer GRU of 256 units, a batch of 32
//! pieces of 128 steps, 88 keys (forward, backward, clipping and AdamW).
//!
//! `cargo run --release -p bach-trainer --bin bach-trainer-bench -- [--threads N] [--iters N]`
//! (`--threads` sets RAYON_NUM_THREADS before candle first runs).

use std::time::Instant;

use bach_engine::{CoreKind, KeyFrame, ModelKind};
use bach_trainer::dataset::{Dataset, Piece};
use bach_trainer::rng::Rng;
use bach_trainer::train::{TrainConfig, Trainer};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(|s| s.parse::<usize>())
            .transpose()
    };
    if let Some(n) = value("--threads")? {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    let iters = value("--iters")?.unwrap_or(10);
    let (batch, steps, hidden) = (32, 128, 256);

    // Four-note chords drifting over the keyboard.
    let mut rng = Rng::new(1);
    let pieces: Vec<Piece> = (0..batch)
        .map(|_| {
            Piece::Keys(
                (0..steps)
                    .map(|_| {
                        KeyFrame::from_pitches((0..4).map(|_| 40 + (rng.next_u64() % 40) as u8))
                    })
                    .collect(),
            )
        })
        .collect();
    let data = Dataset {
        name: "bench".into(),
        sha256: None,
        kind: ModelKind::Pianoroll,
        step_beats: 0.5,
        voices: Vec::new(),
        train: pieces.clone(),
        valid: Vec::new(),
        test: Vec::new(),
        skipped: 0,
        warnings: Vec::new(),
    };
    let out = std::env::temp_dir().join("bach-trainer-bench.safetensors");
    let mut c = TrainConfig::new("bench", &out);
    c.core = CoreKind::Gru;
    c.layers = 2;
    c.hidden = hidden;
    c.batch = batch;
    c.seq_len = steps;
    let mut trainer = Trainer::new(c, &data)?;
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters + 2 {
        let t0 = Instant::now();
        trainer.train_batch(&pieces, 1e-3, &mut rng)?;
        if i >= 2 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "GRU 2x{hidden}, batch {batch}, {steps} steps, 88 keys, {} threads: median {:.1} ms/step, mean {mean:.1}, min {:.1} ({iters} steps)",
        candle_core::utils::get_num_threads(),
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
