//! `bach`: see `bach_cli::cli`.

use clap::Parser;

fn main() {
    let cli = bach_cli::cli::Cli::parse();
    if let Err(e) = bach_cli::cli::run(cli) {
        // One line: the error and its causes.
        eprintln!("error: {}", bach_engine::error_line(e.chain()));
        std::process::exit(1);
    }
}
