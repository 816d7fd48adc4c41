//! `bach-trainer`: see `bach_trainer::command`.

use clap::Parser;

fn main() {
    let cli = bach_trainer::command::Cli::parse();
    if let Err(e) = bach_trainer::command::run(cli) {
        // One line: the error and its causes.
        eprintln!("error: {}", bach_engine::error_line(e.chain()));
        std::process::exit(1);
    }
}
