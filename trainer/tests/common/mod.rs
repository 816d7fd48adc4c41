//! Small fixtures shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared datasets, when this checkout has them.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} is missing (shared datasets not present)",
            p.display()
        );
        None
    }
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bach-trainer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny piano-roll dataset: chord progressions in C with some movement.
pub fn pianoroll_json(pieces: usize) -> String {
    let chords: [&[u8]; 4] = [
        &[48, 60, 64, 67],
        &[53, 60, 65, 69],
        &[55, 59, 62, 67],
        &[48, 64, 67, 72],
    ];
    let piece = |i: usize| {
        let steps: Vec<String> = (0..(6 + i % 5))
            .map(|t| {
                let c = chords[(t + i) % 4];
                let notes: Vec<String> = c.iter().map(|p| p.to_string()).collect();
                format!("[{}]", notes.join(","))
            })
            .collect();
        format!("[{}]", steps.join(","))
    };
    let split = |range: std::ops::Range<usize>| range.map(piece).collect::<Vec<_>>().join(",");
    format!(
        "{{\"train\":[{}],\"valid\":[{}],\"test\":[{}]}}",
        split(0..pieces),
        split(pieces..pieces + 2),
        split(pieces + 2..pieces + 4)
    )
}

/// A tiny SATB dataset with holds and rests.
pub fn voices_json(pieces: usize) -> String {
    let piece = |i: usize| {
        let steps: Vec<String> = (0..(8 + 4 * (i % 3)))
            .map(|t| {
                let s = 67 + ((t / 2 + i) % 5) as i32;
                let a = 62 + ((t / 4) % 3) as i32;
                let tn = if t % 7 == 6 { -1 } else { 55 + (t % 2) as i32 };
                let b = 43 + ((t / 4 + i) % 4) as i32;
                format!("[{s},{a},{tn},{b}]")
            })
            .collect();
        format!("[{}]", steps.join(","))
    };
    let split = |range: std::ops::Range<usize>| range.map(piece).collect::<Vec<_>>().join(",");
    format!(
        "{{\"train\":[{}],\"valid\":[{}],\"test\":[{}]}}",
        split(0..pieces),
        split(pieces..pieces + 2),
        split(pieces + 2..pieces + 4)
    )
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `bach-trainer` with `args`: its exit code, standard output and
/// standard error.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
