//! The command line: `demo` ([`crate::demo`]), and `harmonize`, `continue`
//! and `generate` (their arguments and work are in [`crate::offline::command`]).

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::offline::command;

#[derive(Parser, Debug)]
#[command(
    name = "bach",
    version,
    about = "Harmonize, continue or generate music with Bach's models, and hear or see it, without a DAW"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Harmonize a built-in melody and write demo.mid, demo.wav and demo.png.
    Demo(crate::demo::DemoArgs),
    /// Add alto, tenor and bass to a melody from a MIDI file, as the plugin would.
    Harmonize(command::HarmonizeArgs),
    /// Let the model play on for N bars after the music in a MIDI file.
    Continue(command::ContinueArgs),
    /// Let the model play N bars from nothing.
    Generate(command::GenerateArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => crate::demo::run(args),
        Command::Harmonize(args) => command::harmonize(args),
        Command::Continue(args) => command::continue_(args),
        Command::Generate(args) => command::generate(args),
    }
}
