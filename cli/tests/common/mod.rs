//! Helpers shared by the `bach` command's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty folder for one test (`name` tells the tests apart).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bach-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the built `bach` with `args`: its exit code, standard output and
/// standard error.
pub fn run(args: &[&str]) -> (i32, String, String) {
    output(Command::new(env!("CARGO_BIN_EXE_bach")).args(args))
}

/// [`run`] in the folder `dir` (for the files `bach` writes by default).
pub fn run_in(args: &[&str], dir: &Path) -> (i32, String, String) {
    output(
        Command::new(env!("CARGO_BIN_EXE_bach"))
            .args(args)
            .current_dir(dir),
    )
}

fn output(command: &mut Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
