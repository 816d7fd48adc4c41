//! `bach demo`: the product's main job on a fresh machine with no files and
//! no DAW. It harmonizes a built-in melody ([`crate::tunes`]) with the
//! built-in chorale model as `bach harmonize` does by default (the plugin's
//! default settings, the whole melody known ahead, as offline harmonizing
//! allows), and writes what it made as `demo.mid`, `demo.wav` and `demo.png`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::offline::command::{load_model, render_png, render_wav, write_files};
use crate::offline::{self, Offline, Options};
use crate::render;
use crate::tunes::{self, Tune, DEFAULT_TUNE};

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// The built-in melody: ode-to-joy (G major, 4/4), greensleeves (A minor,
    /// 3/4) or god-rest-ye (A minor, 4/4).
    #[arg(long, default_value = DEFAULT_TUNE)]
    pub tune: String,
    /// The folder for demo.mid, demo.wav and demo.png (made if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

/// The three files' names.
pub const FILES: [&str; 3] = ["demo.mid", "demo.wav", "demo.png"];

/// The built-in tune `name` harmonized with the built-in model as `bach
/// harmonize` does by default: the plugin's default settings, with the
/// whole melody known ahead.
pub fn harmonize_tune(name: &str) -> Result<(&'static Tune, Offline)> {
    let tune = tunes::find(name).map_err(anyhow::Error::msg)?;
    let mut model = offline::voices_model(load_model(None)?)?;
    let options = Options {
        lookahead: bach_engine::Horizon::Whole,
        ..Options::default()
    };
    let result = offline::harmonize(&mut model, &tune.score(), &options)
        .with_context(|| format!("cannot harmonize {}", tune.title))?;
    Ok((tune, result))
}

pub fn run(args: DemoArgs) -> Result<()> {
    let (tune, result) = harmonize_tune(&args.tune)?;
    let score = &result.score;
    let chords = result.chords();
    let markers = offline::chords::markers(&chords);
    let midi = bach_engine::midi::write_with_markers(score, &markers)
        .context("cannot encode the MIDI file")?;
    let files: Vec<(PathBuf, Vec<u8>)> = FILES
        .iter()
        .map(|f| args.out.join(f))
        .zip([midi, render_wav(&result)?, render_png(&result, &chords)?])
        .collect();
    let created = make_folder(&args.out)?;
    if let Err(e) = write_files(&files) {
        if let Some(dir) = created {
            // Only removes it if empty: nothing of ours is left in it.
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    let notes: usize = score.parts.iter().map(|p| p.notes.len()).sum();
    let seconds = render::seconds_at(score, render::end_step(score)) + render::wav::TAIL_SECONDS;
    println!(
        "wrote {} ({}, {}: the melody and {} voices the model added, {} notes)",
        files[0].0.display(),
        tune.title,
        tune.about,
        score.parts.len() - 1,
        notes
    );
    println!(
        "wrote {} ({seconds:.1} s of audio from the built-in organ, Bach Instrument's preview voice)",
        files[1].0.display()
    );
    println!(
        "wrote {} (the piano roll, {}x{})",
        files[2].0.display(),
        render::png::WIDTH,
        render::png::HEIGHT
    );
    println!("{}", bundles_line());
    Ok(())
}

/// Makes `dir` if it is missing; returns it if this call made it.
fn make_folder(dir: &Path) -> Result<Option<PathBuf>> {
    if dir.is_dir() {
        return Ok(None);
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot make the folder {}", dir.display()))?;
    Ok(Some(dir.to_owned()))
}

/// Where the plugin bundles are: `target/bundled` beside the folder this
/// binary was built into (`target/release`), or how to build them.
fn bundles_line() -> String {
    let bundled = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bundled")));
    match bundled {
        Some(dir) if dir.join("bach-plugin.clap").exists() => format!(
            "plugin bundles: {} and {} (install them as README.md says)",
            dir.join("bach-plugin.clap").display(),
            dir.join("bach-plugin.vst3").display()
        ),
        _ => "plugin bundles: not built yet; `cargo xtask bundle bach-plugin --release` \
              writes them to target/bundled/"
            .to_string(),
    }
}
