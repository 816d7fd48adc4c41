//! `bach-trainer eval`: a model's standard NLL on a dataset split.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::dataset::Split;
use crate::load::{check_fit, load_dataset, load_network_on};
use crate::model::device;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Print one JSON object (with an `nll` field) instead of text.
    #[arg(long)]
    pub json: bool,
    /// cpu, or cuda (needs the `cuda` feature; the recurrence then runs as
    /// candle's unfused ops, since the fused op has no CUDA kernel).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `eval`.
pub fn evaluate(args: EvalArgs) -> Result<()> {
    // A missing device fails before anything is read.
    let dev = device(&args.device)?;
    let net = load_network_on(&args.model, &dev)?;
    let data = load_dataset(&args.dataset, Some(net.meta.kind), None)?;
    check_fit(&net.meta, &data)?;
    if let Some(why) = crate::provenance::dataset_mismatch(&net.meta, &data) {
        eprintln!("warning: {why}");
    }
    let pieces = data.split(args.split);
    if pieces.is_empty() {
        bail!("the {} split of {} is empty", args.split.name(), data.name);
    }
    let report = crate::eval::evaluate(&net, pieces)?;
    if args.json {
        let per_voice: serde_json::Map<String, serde_json::Value> = report
            .per_voice
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::json!(v)))
            .collect();
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "dataset": data.name,
            "split": args.split.name(),
            "nll": report.nll,
            "per_voice": per_voice,
            "steps": report.steps,
            "pieces": report.pieces,
        });
        println!("{out}");
    } else {
        println!(
            "{} on {} ({}): NLL {:.4} nats per step over {} scored steps of {} pieces",
            args.model.display(),
            data.name,
            args.split.name(),
            report.nll,
            report.steps,
            report.pieces
        );
        for (name, v) in &report.per_voice {
            println!("  voice {name}: {v:.4}");
        }
    }
    Ok(())
}
