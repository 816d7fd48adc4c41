//! PNG plots: training curves from a checkpoint, and a piece's hidden-state
//! trajectory projected on its first two principal components.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use plotters::prelude::*;

use crate::batch;
use crate::checkpoint::Checkpoint;
use crate::config::EpochRecord;
use crate::dataset::Split;
use crate::load::{check_fit, load_dataset, load_network};

#[derive(Args, Debug)]
pub struct PlotArgs {
    #[command(subcommand)]
    pub what: PlotKind,
}

#[derive(Subcommand, Debug)]
pub enum PlotKind {
    /// Training and validation NLL per epoch, from a training checkpoint.
    Curves {
        /// The run's checkpoint (`*.ckpt.safetensors`).
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// The top layer's hidden state over one piece, on its first two principal components.
    Trajectory {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        dataset: PathBuf,
        #[arg(long, value_enum, default_value = "test")]
        split: Split,
        /// Index of the piece in the split.
        #[arg(long, default_value_t = 0)]
        piece: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: PlotArgs) -> Result<()> {
    match args.what {
        PlotKind::Curves { checkpoint, out } => {
            let ck = Checkpoint::load(&checkpoint)?;
            curves(&ck.header.progress.history, &ck.header.meta.name, &out)?;
        }
        PlotKind::Trajectory {
            model,
            dataset,
            split,
            piece,
            out,
        } => {
            let net = load_network(&model)?;
            let data = load_dataset(&dataset, Some(net.meta.kind), None)?;
            check_fit(&net.meta, &data)?;
            let pieces = data.split(split);
            let Some(p) = pieces.get(piece) else {
                bail!(
                    "the {} split has {} pieces, there is no piece {piece}",
                    split.name(),
                    pieces.len()
                );
            };
            if p.len() < 3 {
                bail!("piece {piece} has {} steps, too few to plot", p.len());
            }
            let chunk = batch::chunk(&net.meta, &[p], 0, p.len(), 0, &[], &net.device)?;
            let w = net.weights(false)?;
            let (top, _) = w.run(&chunk.inputs, &net.zero_state(1)?, None)?;
            let states: Vec<Vec<f32>> = top.to_vec2()?;
            let title = format!(
                "{}: {} piece {piece}, top-layer state on PC1/PC2",
                net.meta.name,
                split.name()
            );
            trajectory(&states, &title, &out)?;
        }
    }
    Ok(())
}

fn plot_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("cannot draw {}: {e}", path.display())
}

/// Train and valid NLL per epoch.
pub fn curves(history: &[EpochRecord], name: &str, out: &Path) -> Result<()> {
    if history.is_empty() {
        bail!("the checkpoint has no finished epoch yet");
    }
    let e = plot_err(out);
    let values = history
        .iter()
        .flat_map(|r| std::iter::once(r.train_nll).chain(r.valid_nll))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let root = BitMapBackend::new(out, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let last = history.last().map_or(1, |r| r.epoch).max(2);
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{name}: NLL per step"), ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..last as f64, (lo - pad)..(hi + pad))
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("nats per step")
        .draw()
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|r| (r.epoch as f64, r.train_nll)),
            &BLUE,
        ))
        .map_err(&e)?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            history
                .iter()
                .filter_map(|r| r.valid_nll.map(|v| (r.epoch as f64, v))),
            &RED,
        ))
        .map_err(&e)?
        .label("valid")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&e)?;
    root.present().map_err(&e)?;
    Ok(())
}

/// The first `k` principal axes of `rows` (centred), by power iteration with deflation.
pub fn principal_axes(rows: &[Vec<f32>], k: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = rows.first().map_or(0, Vec::len);
    let t = rows.len().max(1) as f64;
    let mut mean = vec![0f64; n];
    for r in rows {
        for (m, x) in mean.iter_mut().zip(r) {
            *m += *x as f64 / t;
        }
    }
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&mean).map(|(x, m)| *x as f64 - m).collect())
        .collect();
    let mut cov = vec![0f64; n * n];
    for r in &centred {
        for i in 0..n {
            for j in 0..n {
                cov[i * n + j] += r[i] * r[j];
            }
        }
    }
    let mut axes = Vec::new();
    for a in 0..k {
        let mut v: Vec<f64> = (0..n)
            .map(|i| 1.0 + ((i * 7 + a * 3) % 5) as f64 * 0.1)
            .collect();
        for _ in 0..300 {
            let mut w: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| cov[i * n + j] * v[j]).sum())
                .collect();
            for u in &axes {
                let u: &Vec<f64> = u;
                let d: f64 = w.iter().zip(u).map(|(x, y)| x * y).sum();
                w.iter_mut().zip(u).for_each(|(x, y)| *x -= d * y);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            v = w.into_iter().map(|x| x / norm).collect();
        }
        axes.push(v);
    }
    (mean, axes)
}

/// The states' path on their first two principal components, coloured by time.
pub fn trajectory(states: &[Vec<f32>], title: &str, out: &Path) -> Result<()> {
    let e = plot_err(out);
    let (mean, axes) = principal_axes(states, 2);
    let points: Vec<(f64, f64)> = states
        .iter()
        .map(|s| {
            let c: Vec<f64> = s.iter().zip(&mean).map(|(x, m)| *x as f64 - m).collect();
            let p = |a: &Vec<f64>| c.iter().zip(a).map(|(x, y)| x * y).sum::<f64>();
            (p(&axes[0]), p(&axes[1]))
        })
        .collect();
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (l, h) = points
            .iter()
            .map(f)
            .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
        let pad = ((h - l) * 0.05).max(1e-3);
        (l - pad)..(h + pad)
    };
    let root = BitMapBackend::new(out, (700, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(range(|p| p.0), range(|p| p.1))
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("PC1")
        .y_desc("PC2")
        .draw()
        .map_err(&e)?;
    chart
        .draw_series(LineSeries::new(points.iter().copied(), BLACK.mix(0.3)))
        .map_err(&e)?;
    let last = (points.len() - 1).max(1) as f64;
    chart
        .draw_series(points.iter().enumerate().map(|(i, p)| {
            let colour = HSLColor(0.7 * i as f64 / last, 0.8, 0.45);
            Circle::new(*p, 3, colour.filled())
        }))
        .map_err(&e)?;
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_axes_find_the_spread() {
        // Points along (1, 1, 0) with a little spread along (1, -1, 0).
        // Each a with both signs of b, so the two directions are uncorrelated.
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                let a = (i / 2) as f32 - 12.0;
                let b = if i % 2 == 0 { 0.5 } else { -0.5 };
                vec![a + b, a - b, 0.0]
            })
            .collect();
        let (_, axes) = principal_axes(&rows, 2);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!((axes[0][0].abs() - s).abs() < 1e-6 && (axes[0][1].abs() - s).abs() < 1e-6);
        assert!(axes[0][0] * axes[0][1] > 0.0);
        assert!(axes[1][0] * axes[1][1] < 0.0);
    }
}
