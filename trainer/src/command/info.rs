//! `bach-trainer info`: a model file or a checkpoint described in words.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bach_engine::ModelKind;
use clap::Args;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A model .safetensors file, or a training checkpoint.
    pub file: PathBuf,
}

/// Runs `info`.
pub fn run(args: InfoArgs) -> Result<()> {
    print!("{}", info(&args.file)?);
    Ok(())
}

/// A model's (or checkpoint's) metadata in words.
pub fn info(path: &Path) -> Result<String> {
    use std::fmt::Write;
    let (meta, extra) = match bach_engine::file::ModelFile::load(path) {
        Ok(f) => (f.meta, None),
        Err(model_err) => match crate::checkpoint::Checkpoint::load(path) {
            Ok(ck) => (ck.header.meta.clone(), Some(ck.header)),
            Err(_) => {
                return Err(model_err).with_context(|| format!("cannot read {}", path.display()))
            }
        },
    };
    let mut s = String::new();
    let kind = match meta.kind {
        ModelKind::Voices => format!("a voices model ({} voices)", meta.voices.len()),
        ModelKind::Pianoroll => {
            match meta.frame {
                bach_engine::FrameOutput::Independent => {
                    "a piano-roll model (88 independent keys)".to_string()
                }
                bach_engine::FrameOutput::Nade { hidden } => {
                    format!("a piano-roll model (88 keys drawn lowest first by an NADE of {hidden} units)")
                }
            }
        }
    };
    let params: usize = meta
        .tensor_shapes()
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    writeln!(s, "{}: \"{}\", {kind}", path.display(), meta.name)?;
    writeln!(
        s,
        "core: {} layer(s) of {} {} units, {:?} initialisation; {} parameters",
        meta.layers,
        meta.hidden,
        meta.core.name().to_uppercase(),
        meta.init,
        params
    )?;
    writeln!(s, "grid: one step per {} quarter note(s)", meta.step_beats)?;
    for v in &meta.voices {
        writeln!(
            s,
            "voice {}: MIDI {} to {} ({} tokens)",
            v.name,
            v.low,
            v.high,
            v.range().vocab()
        )?;
    }
    let mut inputs = vec![format!("previous step ({} values)", meta.step_size())];
    if let Some(n) = meta.bar_steps() {
        inputs.push(format!("position in a bar of {n} steps (4/4 only)"));
    }
    if meta.hears_meter() {
        inputs.push("the host's meter (downbeat, place in the beat, beats left)".into());
    }
    if meta.knows_key() {
        inputs.push("the key's mode, harmonizing in the key's frame (tonic moved to C)".into());
    }
    if meta.hears_sounding() {
        inputs.push("the pitch each voice sounds and for how many steps".into());
    }
    if meta.ahead_notes() > 0 {
        inputs.push(format!(
            "the next {} melody notes when looking ahead",
            meta.ahead_notes()
        ));
    }
    writeln!(s, "input: {}", inputs.join("; "))?;
    if meta.kind == bach_engine::ModelKind::Voices {
        let names: Vec<&str> = meta
            .decision_order()
            .iter()
            .map(|&v| meta.voices[v].name.as_str())
            .collect();
        writeln!(
            s,
            "decision order: {} (each head hears the voices decided before it)",
            names.join(", ")
        )?;
    }
    if meta.pair_score {
        writeln!(
            s,
            "heads: each voice also scores its intervals with the voices decided before it, now and before (the voice-pair score{})",
            if meta.intervals_by_size { ", intervals by size" } else { "" }
        )?;
    }
    if meta.head_hidden > 0 {
        writeln!(
            s,
            "heads: each reads the state and the voices decided before it through a hidden layer of {} ReLU units",
            meta.head_hidden
        )?;
    }
    if meta.kind == bach_engine::ModelKind::Voices {
        let mut lacks = Vec::new();
        if !meta.knows_key() {
            lacks.push("knows no key (Key has no effect)");
        }
        if !meta.hears_meter() {
            lacks.push("hears every meter as 4/4");
        }
        if meta.ahead_notes() == 0 {
            lacks.push("cannot look ahead (Lookahead adds no latency and changes nothing)");
        }
        if !lacks.is_empty() {
            writeln!(s, "note: this model {}", lacks.join("; "))?;
        }
    }
    match &meta.training {
        Some(t) => s.push_str(&crate::provenance::describe(t)),
        None => writeln!(s, "no training record")?,
    }
    if let Some(h) = extra {
        writeln!(
            s,
            "checkpoint: epoch {} of {}, batch {}, {} updates, best valid {} at epoch {}{}",
            h.progress.epoch + 1,
            h.config.epochs,
            h.progress.batch,
            h.progress.updates,
            h.progress
                .best_valid
                .map_or("-".into(), |v| format!("{v:.4}")),
            h.progress.best_epoch.map_or("-".into(), |e| e.to_string()),
            if h.progress.finished {
                " (finished)"
            } else {
                ""
            }
        )?;
    }
    Ok(s)
}
