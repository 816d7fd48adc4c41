//! `bach demo` (and `bach harmonize` without `--input`): a built-in melody
//! harmonized into demo.mid, demo.wav and demo.png, and an unwritable
//! output folder failing in one line with nothing left behind.

mod common;

use std::path::Path;

use bach_cli::render;
use bach_cli::tunes::{self, TUNES};
use common::{run_in, temp_dir};

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_demo_writes_a_harmonized_melody_its_sound_and_its_picture() {
    let dir = temp_dir("default");
    // Into the current folder by default.
    let (code, out, err) = run_in(&["demo"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(files(&dir), ["demo.mid", "demo.png", "demo.wav"]);
    // One line per file, then where the plugin bundles are.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (line, name) in lines.iter().zip(["demo.mid", "demo.wav", "demo.png"]) {
        assert!(line.starts_with("wrote ") && line.contains(name), "{line}");
    }
    assert!(lines[0].contains("Ode to Joy"), "{out}");
    assert!(lines[3].starts_with("plugin bundles: "), "{out}");

    // The MIDI: the melody exactly as written, and three more voices in their ranges.
    let tune = tunes::find(tunes::DEFAULT_TUNE).unwrap();
    let melody = &tune.score().parts[0].notes;
    let score = bach_engine::midi::read_file(&dir.join("demo.mid"), 0.25).unwrap();
    assert_eq!(score.parts.len(), 4);
    let notes = |n: &[bach_engine::score::Note]| {
        n.iter()
            .map(|n| (n.start, n.len, n.pitch))
            .collect::<Vec<_>>()
    };
    assert_eq!(notes(&score.parts[0].notes), notes(melody));
    let model = bach_engine::VoicesModel::from_bytes(bach_engine::DEFAULT_MODEL).unwrap();
    for (v, part) in score.parts.iter().enumerate().skip(1) {
        assert!(
            part.notes.len() >= 8,
            "{}: {} notes",
            part.name,
            part.notes.len()
        );
        let range = model.range(v).unwrap();
        assert!(
            part.notes.iter().all(|n| range.contains(n.pitch)),
            "{}",
            part.name
        );
    }

    // The WAV: as long as the music plus the release tail, and not silent.
    let reader = hound::WavReader::open(dir.join("demo.wav")).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate),
        (2, render::wav::SAMPLE_RATE)
    );
    let seconds = reader.duration() as f64 / spec.sample_rate as f64;
    // 8 bars of 4/4 at 100 bpm is 19.2 s.
    let expected = 32.0 * 60.0 / tune.bpm + render::wav::TAIL_SECONDS;
    assert!(
        (seconds - expected).abs() < 1e-3,
        "{seconds} s, not {expected}"
    );
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        loud > samples.len() / 4,
        "{loud} of {} samples audible",
        samples.len()
    );

    // The PNG decodes, at the renderer's size.
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.join("demo.png")).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        (render::png::WIDTH, render::png::HEIGHT)
    );

    // `bach harmonize` without --input harmonizes the same tune, the same way.
    let (code, out, err) = run_in(&["harmonize", "--out", "again.mid"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read(dir.join("again.mid")).unwrap(),
        std::fs::read(dir.join("demo.mid")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_tune_is_harmonized_into_a_folder_it_makes() {
    let dir = temp_dir("tunes");
    for t in &TUNES {
        let (code, out, err) = run_in(&["demo", "--tune", t.name, "--out", t.name], &dir);
        assert_eq!(code, 0, "{}: {out}{err}", t.name);
        assert!(out.contains(t.title), "{out}");
        assert_eq!(files(&dir.join(t.name)).len(), 3, "{}", t.name);
    }
    let (code, _, err) = run_in(&["demo", "--tune", "nope"], &dir);
    assert_eq!(code, 1);
    assert!(err.contains("greensleeves"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_folder_is_one_error_line_and_leaves_nothing() {
    let dir = temp_dir("unwritable");
    // A folder under a file cannot be made.
    std::fs::write(dir.join("file"), b"x").unwrap();
    let (code, out, err) = run_in(&["demo", "--out", "file/sub"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("file/sub"),
        "{err}"
    );
    assert_eq!(files(&dir), ["file"]);

    // The last file cannot be written (a folder is in its way): the two
    // written before it are removed again, so no partial demo is left.
    let out_dir = dir.join("out");
    std::fs::create_dir_all(out_dir.join("demo.png")).unwrap();
    let (code, out, err) = run_in(&["demo", "--out", "out"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("demo.png"), "{err}");
    assert_eq!(files(&out_dir), ["demo.png"], "only the folder in the way");
    assert!(out_dir.join("demo.png").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}
