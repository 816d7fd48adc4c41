//! One held-out melody harmonized by the new model and written as
//! `bach harmonize --wav --png` writes it: the `bach` command's own code
//! (`bach_cli`) harmonizes, renders and writes, so the example sounds and
//! looks exactly as the user's later runs of `bach` will.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bach_cli::offline::command::{load_model, render_png, render_wav, write_files};
use bach_cli::offline::{self, chords, Options};
use bach_engine::score::{MeterChange, Score, DEFAULT_VELOCITY};
use bach_engine::{Horizon, MeterRegion, Token};

use crate::dataset::{Piece, Split};

/// The example's MIDI, WAV and PNG paths beside the model: `my.safetensors`
/// gives `my.example.mid`, `.wav` and `.png`.
pub fn example_paths(out: &Path) -> [PathBuf; 3] {
    ["mid", "wav", "png"].map(|ext| out.with_extension(format!("example.{ext}")))
}

/// A voices piece's soprano as a one-part score in the piece's meters, as
/// a MIDI file of the melody alone would read; `None` for a piano roll.
pub fn melody_score(piece: &Piece, step_beats: f64) -> Option<Score> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return None;
    };
    let melody: Vec<Token> = tokens.iter().step_by((*voices).max(1)).copied().collect();
    let mut score = Score::from_voices(step_beats, &[("Soprano", &melody)], DEFAULT_VELOCITY);
    if let Some(c) = piece.context() {
        score.meters = meter_changes(&c.meters, step_beats);
    }
    Some(score)
}

/// Meter regions as a file's meter events. A first region that starts
/// inside its bar (a pickup) is followed by the same meter restated at the
/// first full bar, which is how a score marks a pickup
/// ([`Score::position_in_bar`]).
fn meter_changes(regions: &[MeterRegion], step_beats: f64) -> Vec<MeterChange> {
    let mut out = Vec::new();
    for (i, r) in regions.iter().enumerate() {
        out.push(MeterChange {
            step: r.step,
            meter: r.meter,
        });
        // Steps from the last bar line to the region's start.
        let bar = (r.meter.bar_steps(step_beats) as i64).max(1);
        let into = (r.step as i64 - r.bar_step).rem_euclid(bar);
        let full = r.step as i64 + bar - into;
        let next = regions.get(i + 1).map_or(i64::MAX, |n| n.step as i64);
        if i == 0 && into > 0 && full < next {
            out.push(MeterChange {
                step: full as u32,
                meter: r.meter,
            });
        }
    }
    out
}

/// Harmonizes `piece`'s soprano with the model at `out` as `bach harmonize`
/// does by default (the whole melody known, the key followed from it) and
/// writes the three files atomically, saying where.
pub fn write_example(out: &Path, piece: &Piece, step_beats: f64, split: Split) -> Result<()> {
    let score = melody_score(piece, step_beats).context("the example needs a voices piece")?;
    let mut model = offline::voices_model(load_model(Some(out))?)?;
    let options = Options {
        lookahead: Horizon::Whole,
        ..Options::default()
    };
    let result = offline::harmonize(&mut model, &score, &options)
        .context("cannot harmonize the example melody")?;
    let changes = result.chords();
    let midi = bach_engine::midi::write_with_markers(&result.score, &chords::markers(&changes))
        .context("cannot encode the example's MIDI file")?;
    let [mid, wav, png] = example_paths(out);
    write_files(&[
        (mid.clone(), midi),
        (wav.clone(), render_wav(&result)?),
        (png.clone(), render_png(&result, &changes)?),
    ])?;
    let notes: usize = result.score.parts.iter().map(|p| p.notes.len()).sum();
    println!(
        "example: the first {} piece's soprano harmonized as `bach harmonize --model {}` does{}:",
        split.name(),
        out.display(),
        result.key.map_or(String::new(), |k| format!(" (key: {k})"))
    );
    println!(
        "  {} ({} parts, {} notes)",
        mid.display(),
        result.score.parts.len(),
        notes
    );
    println!("  {} (the built-in organ)", wav.display());
    println!("  {} (the piano roll with its chords)", png.display());
    Ok(())
}
