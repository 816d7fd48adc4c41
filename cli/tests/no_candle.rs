//! `bach` plays files with the engine alone: building it must never compile
//! candle (the trainer's tensor library), so `cargo tree` lists no candle crate.

use std::process::Command;

#[test]
fn bach_cli_does_not_depend_on_candle() {
    // Cargo sets CARGO for the tests it runs.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "bach-cli", "-e", "normal", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The tree is real: it lists the engine and its own dependencies.
    assert!(
        tree.lines().any(|l| l.starts_with("bach-engine ")),
        "{tree}"
    );
    assert!(tree.lines().any(|l| l.starts_with("midly ")), "{tree}");
    let candle: Vec<&str> = tree.lines().filter(|l| l.starts_with("candle")).collect();
    assert!(candle.is_empty(), "bach-cli depends on candle: {candle:?}");
}
