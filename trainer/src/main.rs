//! `bach-trainer`: see `bach_trainer::command`.

use clap::Parser;

fn main() {
    let cli = bach_trainer::command::Cli::parse();
    if let Err(e) = bach_trainer::command::run(cli) {
        // One line: the error and its causes, without the backtraces candle
        // attaches to its messages when RUST_BACKTRACE is set.
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
