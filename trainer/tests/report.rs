//! The end-of-run report: `train` on a folder of four-part files prints the
//! harmony figures of its held-out pieces beside the files' own, and writes
//! one held-out melody harmonized as MIDI, WAV and PNG beside the model.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-part")
}

/// Runs `bach-trainer train` on `data` with a tiny model; (stdout, stderr).
fn train(data: &Path, out: &Path, kind: &str, more: &[&str]) -> (String, String) {
    let mut args = vec![
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--kind",
        kind,
        "--layers",
        "1",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(more);
    let res = Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
        .args(&args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&res.stdout).into_owned(),
        String::from_utf8_lossy(&res.stderr).into_owned(),
    );
    assert!(res.status.success(), "{stderr}");
    (stdout, stderr)
}

fn examples(out: &Path) -> Vec<PathBuf> {
    bach_trainer::report::example_paths(out).to_vec()
}

/// A WAV file's RIFF header: its sizes agree with the file's length.
fn check_wav(bytes: &[u8]) {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    assert!(bytes.len() > 44, "{} bytes", bytes.len());
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(4) as usize, bytes.len() - 8, "RIFF size");
    assert!(u32_at(24) > 0, "sample rate");
    // The data chunk follows the format chunk and fills the rest.
    let data = 20 + u32_at(16) as usize;
    assert_eq!(&bytes[data..data + 4], b"data");
    assert_eq!(u32_at(data + 4) as usize, bytes.len() - data - 8);
}

/// A PNG's signature and its header chunk's nonzero size.
fn check_png(bytes: &[u8]) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    assert!(be(16) > 0 && be(20) > 0, "{}x{}", be(16), be(20));
    assert!(
        bytes.ends_with(&[0xae, 0x42, 0x60, 0x82]),
        "IEND's CRC ends it"
    );
}

#[test]
fn train_reports_on_the_held_out_pieces_and_renders_an_example() {
    let dir = common::temp_dir("report");
    let out = dir.join("my.safetensors");
    let (stdout, stderr) = train(&folder(), &out, "voices", &[]);
    // The figures on the held-out split, beside the files' own (not Bach's).
    assert!(
        stdout.contains("report: the model harmonized the sopranos of the 1 test piece(s)"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("beside the files' own"), "{stdout}");
    assert!(!stdout.contains("Bach"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    for row in ["off ", "files ", "whole melody "] {
        assert!(
            lines.iter().any(|l| l.starts_with(row) && l.contains('%')),
            "no {row:?} row: {stdout}"
        );
    }
    // The reference row of the held-out piece: its phrase ends (the
    // folder's fermatas) give the fermata and V-I figures, not "-".
    let reference = lines.iter().find(|l| l.starts_with("files ")).unwrap();
    let cells: Vec<&str> = reference.split_whitespace().collect();
    let (fermata, v_i) = (cells[cells.len() - 3], cells[cells.len() - 2]);
    assert!(fermata.ends_with('%') && v_i.ends_with('%'), "{reference}");
    assert!(stdout.contains("cadences"), "{stdout}");

    // The example, each file named in the report and valid.
    let [mid, wav, png] = <[PathBuf; 3]>::try_from(examples(&out)).unwrap();
    assert_eq!(mid, dir.join("my.example.mid"));
    for p in [&mid, &wav, &png] {
        assert!(stdout.contains(&p.display().to_string()), "{stdout}");
    }
    let score = bach_engine::midi::read_file(&mid, 0.25).unwrap();
    assert_eq!(score.parts.len(), 4);
    assert!(score.parts.iter().all(|p| !p.notes.is_empty()));
    check_wav(&std::fs::read(&wav).unwrap());
    check_png(&std::fs::read(&png).unwrap());

    // `harmony` itself on the folder, in the data's keys: the files' rows.
    let res = Command::new(env!("CARGO_BIN_EXE_bach-trainer"))
        .args(["harmony", "--split", "valid", "--key", "data", "--model"])
        .arg(&out)
        .arg("--dataset")
        .arg(folder())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&res.stdout);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(text.lines().any(|l| l.starts_with("files ")), "{text}");
    assert!(text.contains("x files") && !text.contains("Bach"), "{text}");

    // --no-report: nothing printed, nothing written beside the model.
    let out = dir.join("quiet.safetensors");
    let (stdout, _) = train(&folder(), &out, "voices", &["--no-report"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(examples(&out).iter().all(|p| !p.exists()));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A piano-roll model trains as before: no report, no example.
#[test]
fn piano_roll_runs_have_no_report() {
    let dir = common::temp_dir("report-roll");
    let data = common::write(&dir, "data.json", &common::pianoroll_json(6));
    let out = dir.join("roll.safetensors");
    let (stdout, _) = train(&data, &out, "pianoroll", &[]);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(examples(&out).iter().all(|p| !p.exists()));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The example's melody is in its piece's meters: every step of every
/// folder piece (pickups included) sits where the dataset places it.
#[test]
fn example_melodies_keep_their_pieces_bars() {
    use bach_engine::{MeterRegion, ModelKind};
    let data = bach_trainer::dataset::load(&folder(), Some(ModelKind::Voices), None).unwrap();
    let pieces: Vec<_> = data
        .train
        .iter()
        .chain(&data.valid)
        .chain(&data.test)
        .collect();
    assert!(pieces.len() > 5);
    for piece in pieces {
        let score = bach_trainer::report::melody_score(piece, data.step_beats).unwrap();
        let c = piece.context().unwrap();
        let bars = MeterRegion::bar_positions(&score.meter_regions(), 0.25, c.bars.len() as u32);
        assert_eq!(bars, c.bars, "{:?}", c.meters);
        assert_eq!(score.parts.len(), 1);
    }
}
