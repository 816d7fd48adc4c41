//! Time of one training step: a 2-layer GRU of 256 units, a batch of 32
//! pieces of 128 steps, 88 keys (forward, backward, clipping and AdamW), with
//! the fused and the unfused recurrence in the same run, and PyTorch's time
//! for the same step beside them when `python3` can import torch.
//!
//! `cargo run --release -p bach-trainer --bin bach-trainer-bench -- [--threads N] [--iters N] [--device cpu|cuda]`

use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use bach_engine::{CoreKind, KeyFrame, ModelKind};
use bach_trainer::config::TrainConfig;
use bach_trainer::dataset::{Dataset, Piece};
use bach_trainer::fused::Recurrence;
use bach_trainer::rng::Rng;
use bach_trainer::train::Trainer;
use clap::Parser;

const BATCH: usize = 32;
const STEPS: usize = 128;
const HIDDEN: usize = 256;
const LAYERS: usize = 2;

#[derive(Parser, Debug)]
#[command(
    name = "bach-trainer-bench",
    about = "Time one training step (GRU 2x256, batch 32 x 128 steps, 88 keys) fused, unfused and in PyTorch"
)]
struct Args {
    /// Threads for the CPU kernels, ours and PyTorch's (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed steps per implementation (after two untimed ones).
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// cpu, or cuda (needs the `cuda` feature). The fused recurrence has no
    /// CUDA kernel, so on cuda both rows run the unfused ops; PyTorch runs
    /// its cuDNN GRU.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Skip the PyTorch reference.
    #[arg(long)]
    no_torch: bool,
    /// Time only this recurrence (default: both).
    #[arg(long, value_enum)]
    only: Option<Recurrence>,
}

/// Medians, means and minima of step times in ms.
struct Times {
    median: f64,
    mean: f64,
    min: f64,
}

impl Times {
    fn of(mut v: Vec<f64>) -> Times {
        v.sort_by(f64::total_cmp);
        Times {
            median: v[v.len() / 2],
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v[0],
        }
    }
}

fn pieces() -> Vec<Piece> {
    // Four-note chords drifting over the keyboard.
    let mut rng = Rng::new(1);
    (0..BATCH)
        .map(|_| {
            Piece::Keys(
                (0..STEPS)
                    .map(|_| {
                        KeyFrame::from_pitches((0..4).map(|_| 40 + (rng.next_u64() % 40) as u8))
                    })
                    .collect(),
            )
        })
        .collect()
}

fn ours(args: &Args, recurrence: Recurrence, pieces: &[Piece]) -> anyhow::Result<Times> {
    let data = Dataset {
        name: "bench".into(),
        sha256: None,
        kind: ModelKind::Pianoroll,
        step_beats: 0.5,
        voices: Vec::new(),
        train: pieces.to_vec(),
        valid: Vec::new(),
        test: Vec::new(),
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    };
    let out = std::env::temp_dir().join("bach-trainer-bench.safetensors");
    let mut c = TrainConfig::new("bench", &out);
    c.net.core = CoreKind::Gru;
    c.net.layers = LAYERS;
    c.net.hidden = HIDDEN;
    c.training.batch = BATCH;
    c.training.seq_len = STEPS;
    c.training.device = args.device.clone();
    c.training.recurrence = recurrence;
    let mut trainer = Trainer::new(c, &data)?;
    let mut rng = Rng::new(2);
    let mut times = Vec::with_capacity(args.iters);
    for i in 0..args.iters + 2 {
        let t0 = Instant::now();
        trainer.train_batch(pieces, &[], 1e-3, &mut rng)?;
        if i >= 2 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(Times::of(times))
}

/// The same step in PyTorch: `nn.GRU` (cuDNN on cuda), a linear head, the
/// summed Bernoulli NLL per step, clipping to norm 1, AdamW.
const TORCH_STEP: &str = r#"
import sys, time
import torch
threads, iters, device = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
torch.manual_seed(0)
B, T, K, H, L = 32, 128, 88, 256, 2
gru = torch.nn.GRU(K, H, L, batch_first=True).to(device)
head = torch.nn.Linear(H, K).to(device)
params = list(gru.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
x = (torch.rand(B, T, K) < 4 / 88).float().to(device)
y = (torch.rand(B, T, K) < 4 / 88).float().to(device)
bce = torch.nn.BCEWithLogitsLoss(reduction="sum")
times = []
for i in range(iters + 2):
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    opt.zero_grad()
    out, _ = gru(x)
    loss = bce(head(out), y) / (B * T)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    if i >= 2:
        times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(torch.__version__, times[len(times) // 2], sum(times) / len(times), times[0])
"#;

/// PyTorch's times and version, or why there are none.
fn torch(args: &Args, threads: usize) -> Result<(String, Times), String> {
    let out = Command::new("python3")
        .args([
            "-c",
            TORCH_STEP,
            &threads.to_string(),
            &args.iters.to_string(),
            &args.device,
        ])
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let last = stderr.trim().lines().last().unwrap_or("").to_owned();
        return Err(if last.contains("No module named 'torch'") {
            "python3 cannot import torch".into()
        } else {
            format!("the PyTorch step failed: {last}")
        });
    }
    let f: Vec<&str> = stdout.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
    match (f.first(), num(1), num(2), num(3)) {
        (Some(v), Some(median), Some(mean), Some(min)) => {
            Ok((v.to_string(), Times { median, mean, min }))
        }
        _ => Err(format!("unexpected PyTorch output: {}", stdout.trim())),
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        // candle's CPU kernels read this when they first run.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    if args.iters == 0 {
        anyhow::bail!("--iters must be at least 1");
    }
    // A missing device is an error before anything runs.
    bach_trainer::model::device(&args.device).with_context(|| format!("device {}", args.device))?;
    let threads = candle_core::utils::get_num_threads();
    let pieces = pieces();
    println!(
        "GRU {LAYERS}x{HIDDEN}, batch {BATCH}, {STEPS} steps, 88 keys, {}, {threads} threads, median of {} steps:",
        args.device, args.iters
    );
    if args.device != "cpu" {
        println!("  (the fused recurrence has no CUDA kernel: both rows run the unfused ops)");
    }
    let line = |name: &str, t: &Times| {
        format!(
            "  {name:<8} {:7.1} ms/step (mean {:.1}, min {:.1})",
            t.median, t.mean, t.min
        )
    };
    let unfused = if args.only != Some(Recurrence::Fused) {
        let t = ours(&args, Recurrence::Unfused, &pieces)?;
        println!("{}", line("unfused", &t));
        Some(t)
    } else {
        None
    };
    let fused = if args.only != Some(Recurrence::Unfused) {
        let t = ours(&args, Recurrence::Fused, &pieces)?;
        match &unfused {
            Some(u) => println!(
                "{}  {:.2}x the unfused step's speed",
                line("fused", &t),
                u.median / t.median
            ),
            None => println!("{}", line("fused", &t)),
        }
        Some(t)
    } else {
        None
    };
    if args.no_torch {
        return Ok(());
    }
    match torch(&args, threads) {
        Ok((version, t)) => println!(
            "{}  torch {version}{}",
            line("PyTorch", &t),
            fused.map_or(String::new(), |f| format!(
                "; fused / PyTorch = {:.2}",
                f.median / t.median
            ))
        ),
        Err(why) => println!("  PyTorch  skipped: {why}"),
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        let first = |s: String| s.lines().next().unwrap_or("").trim().to_owned();
        let causes: Vec<String> = e.chain().map(|c| first(c.to_string())).collect();
        eprintln!("error: {}", causes.join(": "));
        std::process::exit(1);
    }
}
