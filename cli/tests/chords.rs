//! `--chords`: the chord changes of a harmonization as text, the same
//! symbols as marker events in the MIDI file, and an unwritable path that
//! writes nothing.

mod common;

use bach_engine::Meter;
use std::path::{Path, PathBuf};

use bach_engine::midi;
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use common::{run, s, temp_dir};
use midly::{MetaMessage, Smf, Timing, TrackEventKind};

/// "Mary had a little lamb" in C, four bars of 4/4 in quarters, ending
/// 2-2-3-2 | 1: a melody every harmonizer closes V-I.
fn melody_file(dir: &Path) -> PathBuf {
    let pitches = [76, 74, 72, 74, 76, 76, 76, 0, 74, 74, 76, 74, 72];
    let mut notes = Vec::new();
    for (i, &pitch) in pitches.iter().enumerate() {
        let len = match i {
            6 => 8,
            12 => 16,
            _ => 4,
        };
        if pitch > 0 {
            notes.push(Note {
                start: i as u32 * 4,
                len,
                pitch,
                velocity: 90,
            });
        }
    }
    let mut score = Score::new(0.25);
    score.parts = vec![Part::new("Melody", 0, notes)];
    score.len = score.parts[0].end();
    score.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(4, 4),
    }];
    score.tempos = vec![TempoChange {
        step: 0,
        bpm: 100.0,
    }];
    let path = dir.join("mary.mid");
    midi::write_file(&path, &score).unwrap();
    path
}

/// A `--chords` line: position, symbol, numeral.
struct Line {
    bar: u32,
    beat: u32,
    sixteenth: u32,
    symbol: String,
    numeral: String,
}

impl Line {
    /// The grid step (16ths) in 4/4 from bar 1.
    fn step(&self) -> u32 {
        (self.bar - 1) * 16 + (self.beat - 1) * 4 + self.sixteenth - 1
    }
}

/// The chord lines of a `--chords` text, checking the form of each line;
/// also the keys named.
fn parse(text: &str) -> (Vec<String>, Vec<Line>) {
    let mut keys = Vec::new();
    let mut lines = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields[0] == "key" {
            assert_eq!(fields.len(), 2, "{line:?}");
            keys.push(fields[1].to_string());
            continue;
        }
        assert_eq!(fields.len(), 3, "not position, symbol, numeral: {line:?}");
        let at: Vec<u32> = fields[0]
            .split('.')
            .map(|n| n.parse().unwrap_or_else(|_| panic!("position {line:?}")))
            .collect();
        assert!(matches!(at.len(), 2 | 3), "position {line:?}");
        let (symbol, numeral) = (fields[1], fields[2]);
        let root_ok = symbol == "N.C." || symbol.starts_with(|c| ('A'..='G').contains(&c));
        assert!(root_ok, "symbol {line:?}");
        let numeral_ok = numeral == "N.C."
            || numeral == "?"
            || numeral.starts_with(|c| "IViv".contains(c) || c == 'b' || c == 'N' || c == '#');
        assert!(numeral_ok, "numeral {line:?}");
        lines.push(Line {
            bar: at[0],
            beat: at[1],
            sixteenth: at.get(2).copied().unwrap_or(1),
            symbol: symbol.to_string(),
            numeral: numeral.to_string(),
        });
    }
    (keys, lines)
}

/// `bach harmonize` of `input` into `out`, seed 1, its chords to `chords`
/// (a path, or `-` for standard output).
fn harmonize(input: &Path, out: &Path, chords: &str) -> (i32, String, String) {
    run(&[
        "harmonize",
        "--input",
        s(input),
        "--out",
        s(out),
        "--seed",
        "1",
        "--chords",
        chords,
    ])
}

#[test]
fn chords_to_stdout_name_each_change_and_close_v_i() {
    let dir = temp_dir("stdout");
    let input = melody_file(&dir);
    let out = dir.join("o.mid");
    let (code, stdout, stderr) = harmonize(&input, &out, "-");
    assert_eq!(code, 0, "{stderr}");
    // The other messages move to standard error, out of the chords' way.
    assert!(stderr.contains("wrote"), "{stderr}");
    assert!(!stdout.contains("wrote"), "{stdout}");
    let (keys, lines) = parse(&stdout);
    assert!(stdout.starts_with("key\t"), "the key comes first: {stdout}");
    assert_eq!(keys, ["C major"], "{stdout}");
    assert!(lines.len() >= 4, "a chord per beat or so: {stdout}");
    assert_eq!((lines[0].bar, lines[0].beat, lines[0].sixteenth), (1, 1, 1));
    for w in lines.windows(2) {
        assert!(w[0].step() < w[1].step(), "in time order: {stdout}");
        assert_ne!(w[0].symbol, w[1].symbol, "a line per change only: {stdout}");
    }
    // The close: the tonic on the last note's downbeat, after the dominant.
    let (last, before) = (&lines[lines.len() - 1], &lines[lines.len() - 2]);
    assert_eq!((last.bar, last.beat), (4, 1), "{stdout}");
    assert_eq!((last.symbol.as_str(), last.numeral.as_str()), ("C", "I"));
    assert!(
        before.numeral.starts_with('V') && before.symbol.starts_with('G'),
        "V or V7 before the final I: {stdout}"
    );
    // The same seed names the same chords (and writes them to a file the same).
    let file = dir.join("c.txt");
    let (code, _, stderr) = harmonize(&input, &out, s(&file));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn midi_markers_are_the_chord_symbols_at_their_times() {
    let dir = temp_dir("markers");
    let input = melody_file(&dir);
    let (out, chords) = (dir.join("o.mid"), dir.join("c.txt"));
    let (code, _, stderr) = harmonize(&input, &out, s(&chords));
    assert_eq!(code, 0, "{stderr}");
    let (_, lines) = parse(&std::fs::read_to_string(&chords).unwrap());
    let bytes = std::fs::read(&out).unwrap();
    let smf = Smf::parse(&bytes).unwrap();
    let Timing::Metrical(ppq) = smf.header.timing else {
        panic!("metrical timing")
    };
    let ticks_per_step = ppq.as_int() as u64 / 4;
    let markers = |track: &[midly::TrackEvent]| {
        let mut now = 0u64;
        let mut found = Vec::new();
        for e in track {
            now += e.delta.as_int() as u64;
            if let TrackEventKind::Meta(MetaMessage::Marker(text)) = e.kind {
                found.push((now, String::from_utf8(text.to_vec()).unwrap()));
            }
        }
        found
    };
    // On the melody's track (the first after the conductor), nowhere else.
    let on_melody = markers(&smf.tracks[1]);
    let expected: Vec<(u64, String)> = lines
        .iter()
        .map(|l| (l.step() as u64 * ticks_per_step, l.symbol.clone()))
        .collect();
    assert_eq!(on_melody, expected);
    for (i, track) in smf.tracks.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!(markers(track).is_empty(), "track {i} has markers");
    }
    // The notes read back as before: markers change nothing else.
    let score = midi::read(&bytes, 0.25).unwrap();
    assert_eq!(score.parts.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_chords_path_is_a_clear_error_and_writes_nothing() {
    let dir = temp_dir("unwritable");
    let input = melody_file(&dir);
    let out = dir.join("o.mid");
    for (name, chords) in [
        ("a missing folder", dir.join("no-such-folder").join("c.txt")),
        ("a folder", dir.join("in-the-way")),
    ] {
        std::fs::create_dir_all(dir.join("in-the-way")).unwrap();
        let (code, stdout, stderr) = harmonize(&input, &out, s(&chords));
        assert_ne!(code, 0, "{name}: {stdout}");
        assert!(
            stderr.contains("cannot write") && stderr.contains(s(&chords)),
            "{name}: {stderr}"
        );
        assert!(!out.exists(), "{name}: the MIDI file is removed again");
        assert!(!chords.is_file(), "{name}: no partial chords file");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "mary.mid" && n != "in-the-way")
            .collect();
        assert!(leftovers.is_empty(), "{name}: left {leftovers:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
