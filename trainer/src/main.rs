//! `bach-trainer`: see `bach_trainer::cli`.

use clap::Parser;

fn main() {
    let cli = bach_trainer::cli::Cli::parse();
    if let Err(e) = bach_trainer::cli::run(cli) {
        // One line: the error and its causes.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
