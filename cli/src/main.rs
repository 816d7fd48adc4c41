//! `bach`: see `bach_cli::cli`.

use clap::Parser;

fn main() {
    let cli = bach_cli::cli::Cli::parse();
    if let Err(e) = bach_cli::cli::run(cli) {
        // One line: the error and its causes.
        let mut causes: Vec<String> = Vec::new();
        for c in e.chain() {
            let line = c.to_string().lines().next().unwrap_or("").trim().to_owned();
            // Skip empty lines and causes the message already quotes.
            if !line.is_empty() && !causes.last().is_some_and(|l| l.ends_with(&line)) {
                causes.push(line);
            }
        }
        eprintln!("error: {}", causes.join(": "));
        std::process::exit(1);
    }
}
