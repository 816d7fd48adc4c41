//! The end of `train` for a voices model: a report a musician can read.
//! The model harmonizes the sopranos of the pieces it never trained on (the
//! test split, or valid when test is empty), and `bach-trainer harmony`'s
//! figures set its harmonizations beside the pieces' own ([`crate::harmony`]);
//! then one of those melodies is written out harmonized, as MIDI, WAV and a
//! piano-roll PNG, as `bach harmonize` writes them ([`example`]).
//! `--no-report` skips it.

mod example;

use std::path::Path;

use anyhow::{Context, Result};
use bach_engine::file::ModelFile;
use bach_engine::ModelKind;

use crate::dataset::{Dataset, Piece, Split};
use crate::harmony::{self, HarmonyArgs};

pub use example::{example_paths, melody_score, write_example};

/// The held-out pieces: the test split, or valid when test is empty.
pub fn held_out(data: &Dataset) -> Option<(Split, &[Piece])> {
    [Split::Test, Split::Valid]
        .into_iter()
        .map(|s| (s, data.split(s)))
        .find(|(_, pieces)| !pieces.is_empty())
}

/// Prints the report on the model just written to `out`, trained on `data`
/// (read from `dataset`). Piano-roll models have none. The model file is
/// already good, so a report that cannot be made is a warning, not a failure.
pub fn after_training(out: &Path, dataset: &Path, data: &Dataset) -> Result<()> {
    let meta = ModelFile::load(out)
        .with_context(|| format!("cannot load model {}", out.display()))?
        .meta;
    if meta.kind != ModelKind::Voices {
        return Ok(());
    }
    if let Err(e) = report(out, dataset, data, meta.voices.len()) {
        eprintln!("warning: no end-of-run report: {e:#}");
    }
    Ok(())
}

fn report(out: &Path, dataset: &Path, data: &Dataset, voices: usize) -> Result<()> {
    if voices != 4 {
        eprintln!("no end-of-run report: its harmony figures need four voices (SATB)");
        return Ok(());
    }
    let Some((split, pieces)) = held_out(data) else {
        eprintln!("no end-of-run report: the dataset holds no test or valid pieces back");
        return Ok(());
    };
    let mut args = HarmonyArgs::defaults(out.to_owned(), dataset.to_owned());
    args.split = split;
    let figures = harmony::report_on(&args, data)?;
    println!();
    println!(
        "report: the model harmonized the sopranos of the {} {} piece(s) it did not train on; \
         its figures beside {} (as `bach-trainer harmony --split {}` prints them; \
         --no-report skips this)",
        pieces.len(),
        split.name(),
        figures.reference.whose(),
        split.name()
    );
    harmony::print(&figures);
    println!();
    write_example(out, &pieces[0], data.step_beats, split)
}
