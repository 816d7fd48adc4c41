//! `bach-trainer train`: its flags, the run they ask for, and the progress bar.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use bach_engine::ModelKind;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{
    default_checkpoint, NetSettings, TrainConfig, TrainingSettings, DEFAULT_EPOCHS,
};
use crate::model::device;
use crate::recipe::{Given, RecipeName};
use crate::train::{Control, Event, Outcome, Trainer};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// A piano-roll or voice-separated JSON file, or a folder of .mid files.
    #[arg(long)]
    pub dataset: PathBuf,
    /// What to model (guessed from the data when omitted: a MIDI folder is voices
    /// when most files hold three or more parts of one note at a time, else a piano roll).
    #[arg(long, value_enum)]
    pub kind: Option<ModelKind>,
    /// Grid step in quarter notes (guessed from the dataset when omitted).
    #[arg(long)]
    pub step_beats: Option<f64>,
    /// A MIDI folder's voices, top down: part names ("Soprano,Alto,Tenor,Bass",
    /// any case) or part numbers counted from 1 in file order ("1,2,3,4").
    /// By default parts named for S, A, T, B go in that order, others by
    /// mean pitch, highest first.
    #[arg(long)]
    pub voices: Option<crate::dataset::midi_folder::VoiceMap>,
    #[command(flatten)]
    pub net: NetSettings,
    /// Epochs to train; with --resume, a new total.
    #[arg(long)]
    pub epochs: Option<usize>,
    #[command(flatten)]
    pub training: TrainingSettings,
    /// Where the settings not given come from: auto picks a recipe from the
    /// model's kind and the data (docs/trainer.md); none keeps the flags' own
    /// defaults.
    #[arg(long, value_enum, default_value = "auto")]
    pub recipe: RecipeName,
    /// Transpose training pieces at random even where the recipe finds them
    /// already in one key.
    #[arg(long = "transpose", conflicts_with = "transpose")]
    pub force_transpose: bool,
    /// Voices models: train without the voice-pair score, which the recipe
    /// turns on.
    #[arg(long, conflicts_with = "pair_score")]
    pub no_pair_score: bool,
    /// The settings the command line gave (clap ids), which the recipe
    /// leaves alone: filled by `Cli::parse_noting_given`.
    #[arg(skip)]
    pub given: Given,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The checkpoint file (default: OUT with .ckpt.safetensors).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The model's name in its metadata (default: OUT's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Continue the run saved in this checkpoint (its settings win; --epochs may extend it).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Threads for the CPU kernels (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Testing aid: stop (with a checkpoint) after this many batches, as if killed.
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<usize>,
    /// Fine-tune: start from this model file's weights and keep its layout
    /// (architecture, voices and ranges, features, order, heads; layout
    /// flags that contradict it are an error). Pieces are moved into its
    /// voice ranges or skipped with a warning. Unless given: --lr a third of
    /// the model's, --epochs 20, --patience 5, the model's --dropout.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub from: Option<PathBuf>,
    /// Voices models with the pair score: do not calibrate the
    /// parallel-motion weights on the valid split after training (as
    /// `bach-trainer calibrate` does).
    #[arg(long)]
    pub no_calibrate: bool,
    /// Voices models: skip the end-of-run report (the harmony figures on
    /// the held-out pieces and an example harmonization written beside
    /// --out as .example.mid, .wav and .png), for scripted runs.
    #[arg(long)]
    pub no_report: bool,
}

/// Runs `train`.
pub fn train(args: TrainArgs) -> Result<()> {
    super::set_threads(args.threads);
    // A missing device fails before anything is read or written.
    device(&args.training.device)?;
    // Unusable output paths fail before the dataset is read; the run checks
    // again, by writing, before it trains (see `Trainer::prepare_outputs`).
    crate::train::check_output_path(&args.out, "model file")?;
    let checkpoint = match (&args.resume, &args.checkpoint) {
        (Some(ck), _) => ck.clone(),
        (None, Some(ck)) => ck.clone(),
        (None, None) => default_checkpoint(&args.out),
    };
    crate::train::check_output_path(&checkpoint, "checkpoint")?;
    // A run from a model reads the data on its grid and fits them to it.
    let source = match &args.from {
        Some(path) => Some(crate::finetune::Source::load(path)?),
        None => None,
    };
    let data = crate::finetune::read_dataset(
        source.as_ref(),
        &args.dataset,
        args.kind,
        args.step_beats,
        args.voices.as_ref(),
        args.resume.as_deref(),
    )?;
    let mut trainer = match &args.resume {
        Some(ck) => {
            let mut t = Trainer::resume(ck, &data)
                .with_context(|| format!("cannot resume from {}", ck.display()))?;
            if let Some(e) = args.epochs {
                t.config.epochs = e;
                // A finished run given more epochs goes on.
                if e > t.progress.epoch {
                    t.progress.finished = false;
                }
            }
            eprintln!(
                "resuming at epoch {}, batch {} ({} updates done)",
                t.progress.epoch + 1,
                t.progress.batch,
                t.progress.updates
            );
            t
        }
        None => {
            let mut c = train_config(&args);
            c.command = crate::provenance::command_line(std::env::args());
            match &source {
                // A run from a model keeps the model's layout: the source
                // chooses what was not given, not the recipe.
                Some(s) => {
                    let given: Vec<String> = args.given.iter().cloned().collect();
                    s.start(c, &given, &data)?
                }
                None => {
                    let resolved = crate::recipe::resolve(args.recipe, &args.given, &data, &mut c)?;
                    let trainer = Trainer::new(c, &data)?;
                    // Said once the settings are known to be usable, so an
                    // error stays one line.
                    eprintln!("recipe {}:", resolved.recipe.name());
                    for choice in &resolved.choices {
                        eprintln!("  {choice}");
                    }
                    trainer
                }
            }
        }
    };
    eprintln!(
        "{}: {} train / {} valid / {} test pieces; {} {}x{} ({} parameters), checkpoint {}",
        data.name,
        data.train.len(),
        data.valid.len(),
        data.test.len(),
        trainer.net.meta.core.name(),
        trainer.net.meta.layers,
        trainer.net.meta.hidden,
        trainer.net.parameter_count(),
        trainer.config.checkpoint.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                // A second Ctrl-C: the user really wants out.
                std::process::exit(130);
            }
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let control = Control {
        stop: Some(&stop),
        stop_after_batches: args.stop_after_batches,
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} batches  {msg}  {per_sec}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    // Seconds and count of the epochs this process ran, for the run's ETA.
    let mut timed = (0.0f64, 0u32);
    let mut on_event = |e: Event| match e {
        Event::EpochStart {
            epoch,
            epochs,
            batches,
            done,
        } => {
            bar.reset();
            bar.set_length(batches as u64);
            bar.set_position(done as u64);
            // Early stopping may end the run sooner: an upper bound.
            let left = match timed {
                (_, 0) => String::new(),
                (secs, n) => format!(
                    " (run: at most {} left)",
                    indicatif::HumanDuration(std::time::Duration::from_secs_f64(
                        secs / f64::from(n) * (epochs + 1 - epoch.min(epochs)) as f64
                    ))
                ),
            };
            bar.set_prefix(format!("epoch {epoch}/{epochs}{left}"));
        }
        Event::Batch {
            loss, lr, batch, ..
        } => {
            bar.set_position(batch as u64);
            bar.set_message(format!("loss {loss:.3}  lr {lr:.2e}"));
        }
        Event::EpochEnd(r, improved) => {
            timed = (timed.0 + r.seconds, timed.1 + 1);
            let valid = r.valid_nll.map_or("-".to_string(), |v| format!("{v:.4}"));
            say(
                &bar,
                format!(
                    "epoch {:>3}  train {:.4}  valid {}  lr {:.2e}  {:.1}s{}",
                    r.epoch,
                    r.train_nll,
                    valid,
                    r.lr,
                    r.seconds,
                    if improved { "  (best, saved)" } else { "" }
                ),
            );
        }
        Event::Note(s) => say(&bar, s),
    };
    let outcome = trainer.run(&data, &control, &mut on_event)?;
    bar.finish_and_clear();
    match outcome {
        Outcome::Stopped { checkpoint } => {
            eprintln!(
                "stopped; resume with --resume {} (the best model so far is in {})",
                checkpoint.display(),
                trainer.config.out.display()
            );
        }
        Outcome::Finished {
            best_valid,
            test_nll,
        } => {
            let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
            eprintln!(
                "done: best valid NLL {} (epoch {}), test NLL {}; wrote {}",
                f(best_valid),
                trainer
                    .progress
                    .best_epoch
                    .map_or("-".into(), |e| e.to_string()),
                f(test_nll),
                trainer.config.out.display()
            );
            if trainer.progress.best_epoch == Some(0) {
                eprintln!(
                    "no epoch beat the model it started from: its weights were written unchanged"
                );
            }
            if !args.no_calibrate {
                crate::calibrate::after_training(&trainer.config.out, &data)?;
            }
            if !args.no_report {
                crate::report::after_training(&trainer.config.out, &args.dataset, &data)?;
            }
        }
    }
    Ok(())
}

/// The run a fresh `train` command line asks for (its flags, given or defaulted).
pub fn train_config(args: &TrainArgs) -> TrainConfig {
    let mut c = TrainConfig::new(&args.dataset.display().to_string(), &args.out);
    c.net = args.net.clone();
    c.epochs = args.epochs.unwrap_or(DEFAULT_EPOCHS);
    c.training = args.training.clone();
    // The flags that turn a setting the other way from its flag's default.
    if args.force_transpose {
        c.training.transpose = true;
    }
    if args.no_pair_score {
        c.training.pair_score = false;
    }
    c.checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_checkpoint(&args.out));
    if let Some(n) = &args.name {
        c.name = n.clone();
    }
    c
}

/// A line above the progress bar, or on stderr when the bar is hidden.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}
