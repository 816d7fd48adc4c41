//! `bach-trainer`: see `bach_trainer::command`.

fn main() {
    let cli = bach_trainer::command::Cli::parse_noting_given(std::env::args_os())
        .unwrap_or_else(|e| e.exit());
    if let Err(e) = bach_trainer::command::run(cli) {
        // One line: the error and its causes.
        eprintln!("error: {}", bach_engine::error_line(e.chain()));
        std::process::exit(1);
    }
}
