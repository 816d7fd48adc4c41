//! The command line: `train`, `eval`, `info`, `plot`, `harmony`, `live`, `judge`,
//! `calibrate` and `rewrite-provenance`, each subcommand's arguments beside its code. Playing
//! files (`harmonize`, `continue`, `generate`) is the `bach` command's job
//! (the `bach-cli` crate), which needs no candle.

use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod eval;
pub mod info;
pub mod rewrite;
pub mod train;

#[derive(Parser, Debug)]
#[command(
    name = "bach-trainer",
    version,
    about = "Train, evaluate and inspect Bach's recurrent music models"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model and write it (the best epoch by validation NLL) as .safetensors.
    Train(Box<train::TrainArgs>),
    /// Score a model on a dataset split with the standard NLL.
    Eval(eval::EvalArgs),
    /// Describe a model file (or a checkpoint) in words.
    Info(info::InfoArgs),
    /// Draw training curves or a hidden-state trajectory as a PNG.
    Plot(crate::plot::PlotArgs),
    /// Harmonize a split's sopranos and compare parallels, crossings, ranges
    /// and strong-beat consonance with Bach's own chorales.
    Harmony(crate::harmony::HarmonyArgs),
    /// Play a split's sopranos to the plugin's sequencer as people play
    /// them (late, early, with human timing, freely with the transport
    /// stopped) and compare the harmony figures with the same sopranos
    /// played on the grid and with Bach's.
    Live(crate::live::LiveArgs),
    /// Train a Bach-or-ours classifier on the train split's harmonizations
    /// (Bach's and the model's, under the same sopranos) and report how
    /// well it tells them apart on the valid and test pieces, and what it
    /// leans on.
    Judge(crate::judge::JudgeArgs),
    /// Fit a voices model's parallel-motion pair weights to its own
    /// harmonizations of the train sopranos, so that on its own it moves in
    /// parallel fifths and octaves about as often as Bach.
    Calibrate(crate::calibrate::CalibrateArgs),
    /// Clean a model file's training record of paths (and add the dataset's
    /// hash and split sizes with --dataset); the weights stay byte for byte.
    RewriteProvenance(rewrite::RewriteArgs),
}

impl Cli {
    /// Parses a command line as clap does, and notes which of `train`'s
    /// settings it gives: the recipe chooses the others
    /// ([`crate::recipe`]), whose `--help` says so.
    pub fn parse_noting_given<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let command = Self::command().mut_subcommand("train", crate::recipe::document);
        let matches = command.try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        if let (Command::Train(args), Some(("train", m))) = (&mut cli.command, matches.subcommand())
        {
            args.given = crate::recipe::given(m);
        }
        Ok(cli)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => train::train(*args),
        Command::Eval(args) => eval::evaluate(args),
        Command::Info(args) => info::run(args),
        Command::Plot(args) => crate::plot::run(args),
        Command::Harmony(args) => crate::harmony::run(args),
        Command::Live(args) => crate::live::run(args),
        Command::Judge(args) => crate::judge::run(args),
        Command::Calibrate(args) => crate::calibrate::run(args),
        Command::RewriteProvenance(args) => rewrite::rewrite_command(args),
    }
}

/// Sets the CPU kernels' thread count, before any of them runs.
pub(crate) fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        // candle's CPU kernels read this when they first run.
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}
