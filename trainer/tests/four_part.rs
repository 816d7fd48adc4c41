//! A folder of four-part MIDI files (`tests/data/four-part/`, written by
//! `four_part/files.rs`) trains the same kind of harmonizer as the
//! annotated chorales: each piece with its key, meters and phrase ends.

mod common;

#[path = "four_part/files.rs"]
mod files;

use std::path::{Path, PathBuf};

use bach_engine::{BarPosition, Key, Meter, MeterRegion, Mode, ModelKind, Token};
use bach_trainer::dataset::{self, Dataset, Piece, PieceContext};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-part")
}

/// The committed files are exactly what the generator writes, so they are
/// synthetic and cannot drift. `BACH_WRITE_FOUR_PART=1` writes them anew.
#[test]
fn the_files_are_regenerated_byte_for_byte() {
    let dir = folder();
    let files = files::all();
    if std::env::var_os("BACH_WRITE_FOUR_PART").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, names);
    for (name, bytes) in &files {
        let disk = std::fs::read(dir.join(name)).unwrap();
        assert!(
            disk == *bytes,
            "{name} differs from what the generator writes"
        );
    }
}

fn load() -> Dataset {
    dataset::load(&folder(), Some(ModelKind::Voices), None).unwrap()
}

/// The line of `info` about `file`.
fn info<'a>(data: &'a Dataset, file: &str) -> &'a str {
    data.info
        .iter()
        .find(|l| l.contains(file))
        .unwrap_or_else(|| panic!("no info on {file}: {:#?}", data.info))
}

/// Every piece with its context, whatever its split, and its voices.
fn pieces(data: &Dataset) -> Vec<(&[Token], &PieceContext)> {
    data.train
        .iter()
        .chain(&data.valid)
        .chain(&data.test)
        .map(|p| match p {
            Piece::Voices {
                voices: 4,
                tokens,
                context: Some(c),
            } => (tokens.as_slice(), c.as_ref()),
            other => panic!("not a four-voice piece with context: {other:?}"),
        })
        .collect()
}

/// The piece whose soprano begins with `pitches`, found among all splits.
fn piece_starting<'a>(data: &'a Dataset, pitches: &[u8]) -> (&'a [Token], &'a PieceContext) {
    let soprano = |tokens: &[Token]| -> Vec<u8> {
        tokens
            .iter()
            .step_by(4)
            .filter_map(|t| t.onset())
            .take(pitches.len())
            .collect()
    };
    let found: Vec<_> = pieces(data)
        .into_iter()
        .filter(|(t, _)| soprano(t) == pitches)
        .collect();
    assert_eq!(found.len(), 1, "pieces starting {pitches:?}");
    found[0]
}

fn key(tonic: u8, mode: Mode) -> Key {
    Key { tonic, mode }
}

#[test]
fn broken_and_three_part_files_are_skipped_by_name() {
    let data = load();
    assert_eq!(pieces(&data).len(), 8, "{:#?}", data.warnings);
    assert_eq!(data.skipped, 3, "{:#?}", data.warnings);
    let warning = |file: &str| {
        data.warnings
            .iter()
            .find(|w| w.contains(file))
            .unwrap_or_else(|| panic!("no warning on {file}: {:#?}", data.warnings))
            .clone()
    };
    assert!(warning("08-truncated.mid").contains("skipped"));
    let three = warning("07-three-parts.mid");
    assert!(
        three.contains("3 parts with notes: Soprano, Alto, Bass (most files have 4)"),
        "{three}"
    );
    let chord = warning("09-alto-chord.mid");
    assert!(
        chord.contains("Alto sings two notes at once at bar 2, beat 3"),
        "{chord}"
    );
    assert_eq!(data.voices.len(), 4);
    assert_eq!(data.info.len(), 8);
}

/// Without `--kind`, a folder of four-part files is read as voices (a
/// harmonizer), and the log says so first; the files are read as with
/// `--kind voices`.
#[test]
fn a_folder_of_parts_is_read_as_voices_without_kind() {
    let data = dataset::load(&folder(), None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Voices);
    assert!(
        data.info[0].starts_with("read as voices (--kind voices): 8 of 11 files have 4 parts"),
        "{:#?}",
        data.info
    );
    let given = load();
    assert_eq!(data.train, given.train);
    assert_eq!(data.test, given.test);
    assert_eq!(&data.info[1..], &given.info[..]);
}

/// The key is the signature where the file has one (its mode as written),
/// and estimated from the notes where it has none; the log says which.
#[test]
fn each_file_has_its_key() {
    let data = load();
    let cases = [
        ("01-c-major.mid", key(0, Mode::Major), true),
        ("02-g-major-waltz-pickup.mid", key(7, Mode::Major), true),
        ("03-d-minor-pickup-bar.mid", key(2, Mode::Minor), true),
        ("04-f-major-type0.mid", key(5, Mode::Major), true),
        ("05-a-minor-fermatas.mid", key(9, Mode::Minor), true),
        (
            "06-b-flat-major-no-signature.mid",
            key(10, Mode::Major),
            false,
        ),
        ("10-a-major-type0.mid", key(9, Mode::Major), true),
        ("11-e-minor.mid", key(4, Mode::Minor), true),
    ];
    for (file, key, signed) in cases {
        let line = info(&data, file);
        assert!(line.contains(key.name()), "{line}");
        let from = if signed {
            "from its key signature"
        } else {
            "estimated from the notes (no key signature)"
        };
        assert!(line.contains(from), "{line}");
    }
    // The pieces carry the keys: the Bb piece (soprano D5 first) is in Bb.
    let (_, c) = piece_starting(&data, &[70, 70, 69, 70]);
    assert_eq!(c.key, key(10, Mode::Major));
}

/// A 3/4 file whose first chord is a pickup written as two beats of rest
/// starts on the third beat; a pickup written as a 1/4 bar before 4/4 on
/// the fourth; the rest counts on from there. Voices are in SATB order by
/// name (02: tracks B, T, S, A) or by pitch (03: unnamed tracks).
#[test]
fn pickups_place_the_first_chord_before_the_bar_line() {
    let data = load();
    // G major: the C-major soprano (72 72 71 72) a fourth down.
    let (tokens, c) = piece_starting(&data, &[67, 67, 66, 67]);
    let waltz = |step| BarPosition::new(step, Meter::new(3, 4), 0.25);
    let expected: Vec<BarPosition> = (0..tokens.len() / 4).map(|t| waltz(t + 8)).collect();
    assert_eq!(c.bars, expected);
    assert!(!c.bars[0].is_downbeat() && c.bars[4].is_downbeat());
    assert_eq!(&tokens[..4], &[67, 62, 59, 43].map(Token::Onset));

    // D minor (A minor up a fourth): 1/4 then 4/4.
    let (tokens, c) = piece_starting(&data, &[77, 79, 76, 77]);
    let common = |step| BarPosition::new(step, Meter::COMMON, 0.25);
    let expected: Vec<BarPosition> = (0..tokens.len() / 4).map(|t| common(t + 12)).collect();
    assert_eq!(c.bars, expected);
    assert_eq!(&tokens[..4], &[77, 74, 69, 62].map(Token::Onset));
}

/// Phrase ends come from "fermata" text where a file has it, else from
/// half notes before a rest in all voices, and the last soprano note.
#[test]
fn phrase_ends_from_markers_and_from_long_notes() {
    let data = load();
    // 05: i–iv–V–i, then i–V–i–iv–V–i with no rest between: the markers
    // name both phrase ends; the long-note rule would find only the last.
    let (_, c) = piece_starting(&data, &[72, 74, 71, 72, 72]);
    assert_eq!(c.fermatas, [12, 40]);
    assert!(info(&data, "05-a-minor").contains("2 phrase end(s) from fermata markers"));
    // 01: I–IV–V–I, a quarter rest, I–vi–ii–V–I.
    let (tokens, c) = piece_starting(&data, &[72, 72, 71, 72, 76]);
    assert_eq!(c.fermatas, [12, 40]);
    assert_eq!(tokens.len() / 4, 48);
    assert!(info(&data, "01-c-major").contains("2 phrase end(s) from long soprano notes"));
    // 10: three phrases with rests.
    let (_, c) = piece_starting(&data, &[69, 69, 68, 69, 73]);
    assert_eq!(c.fermatas, [12, 40, 64]);
}

/// `train --kind voices` on the folder writes a harmonizer that hears the
/// meter, knows keys and looks ahead, as one trained on the chorales does;
/// the log names each file's key and the skipped files.
#[test]
fn a_folder_trains_a_harmonizer_with_context() {
    let dir = common::temp_dir("four-part");
    let out = dir.join("m.safetensors");
    let data = folder();
    let (code, _, err) = common::run(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--kind",
        "voices",
        "--layers",
        "1",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("E minor, from its key signature"), "{err}");
    assert!(
        err.contains("warning:") && err.contains("07-three-parts.mid"),
        "{err}"
    );
    let (code, stdout, err) = common::run(&["info", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for heard in [
        "the host's meter",
        "the key's mode, harmonizing in the key's frame",
        "melody notes when looking ahead",
    ] {
        assert!(stdout.contains(heard), "{heard}: {stdout}");
    }
    assert!(!stdout.contains("knows no key"), "{stdout}");

    // --voices names the parts; a name no file has leaves nothing to train on.
    let (code, _, err) = common::run(&[
        "train",
        "--dataset",
        data.to_str().unwrap(),
        "--kind",
        "voices",
        "--voices",
        "Soprano,Alto,Tenor,Nobody",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no part named \"Nobody\""), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--voices` by number picks and orders the parts of every file.
#[test]
fn voices_by_number_reorder_the_parts() {
    let map: dataset::midi_folder::VoiceMap = "4,3,2,1".parse().unwrap();
    let data = dataset::load_with(&folder(), Some(ModelKind::Voices), None, Some(&map)).unwrap();
    // 01 has tracks S, A, T, B: now bass on top.
    let found = pieces(&data)
        .into_iter()
        .filter(|(t, _)| t[..4] == [48, 64, 67, 72].map(Token::Onset))
        .count();
    assert_eq!(found, 1);
    assert!("1,0".parse::<dataset::midi_folder::VoiceMap>().is_err());
    assert!("S,,B".parse::<dataset::midi_folder::VoiceMap>().is_err());
}

/// The MIDI key signature of a key: sharps (flats negative, -6..=5) of its
/// major or relative major.
fn signature(tonic: u8, minor: bool) -> i8 {
    let major = if minor { (tonic + 3) % 12 } else { tonic };
    let sharps = (major as i8 * 7) % 12;
    if sharps > 5 {
        sharps - 12
    } else {
        sharps
    }
}

/// Writes `chorales` as MIDI files into `dir/train/` (see
/// [`the_chorales_as_midi_files_read_as_the_chorales`]), with their key
/// signatures when `signed`.
fn write_chorales(chorales: &[bach_trainer::dataset::chorales::Chorale], dir: &Path, signed: bool) {
    use midly::num::u15;
    use midly::{Format, Header, MetaMessage, Smf, Timing};

    std::fs::create_dir_all(dir.join("train")).unwrap();
    let step = files::PPQ / 4;
    for (i, c) in chorales.iter().enumerate() {
        let first = c.meters[0];
        let bar = first.meter.numerator as usize * 16 / first.meter.denominator as usize;
        let shift = if c.pickup > 0 { bar - c.pickup } else { 0 };
        let tick = |t: usize| (t + shift) as u64 * step;
        let mut conductor = Vec::new();
        if signed {
            let sharps = signature(c.tonic, c.minor);
            conductor.push(files::meta(0, MetaMessage::KeySignature(sharps, c.minor)));
        }
        for m in &c.meters {
            let power = m.meter.denominator.trailing_zeros() as u8;
            let meta = MetaMessage::TimeSignature(m.meter.numerator, power, 24, 8);
            // The first bar line is where the bar holding the pickup begins.
            let at = if m.step == 0 {
                0
            } else {
                tick(m.step as usize)
            };
            conductor.push(files::meta(at, meta));
        }
        let end = tick(c.steps);
        let mut tracks = vec![files::track(conductor, end)];
        for (v, name) in ["S", "A", "T", "B"].iter().enumerate() {
            let mut events = vec![files::meta(0, MetaMessage::TrackName(name.as_bytes()))];
            let mut open: Option<u8> = None;
            for t in 0..=c.steps {
                let token = c.token(t, v);
                if token != Token::Hold {
                    if let Some(p) = open.take() {
                        events.push(files::note(tick(t), v as u8, p, false));
                    }
                }
                if let Token::Onset(p) = token {
                    events.push(files::note(tick(t), v as u8, p, true));
                    open = Some(p);
                }
            }
            if v == 0 {
                for &f in &c.fermatas {
                    events.push(files::meta(tick(f), MetaMessage::Marker(b"fermata")));
                }
            }
            tracks.push(files::track(events, end));
        }
        let header = Header::new(
            Format::Parallel,
            Timing::Metrical(u15::new(files::PPQ as u16)),
        );
        let mut smf = Smf::new(header);
        smf.tracks = tracks;
        smf.save(dir.join(format!("train/{i:04}.mid"))).unwrap();
    }
}

/// The annotated chorales written out as MIDI files the way a notation
/// program would (a key signature, the time signatures, a pickup as rests
/// at the start of a full bar, a "fermata" marker on each fermata note)
/// read back as the same pieces `chorales.json` gives: tokens, key, bar
/// positions, meters and phrase ends. So a folder follows the chorales'
/// conventions, not a second set of its own.
#[test]
fn the_chorales_as_midi_files_read_as_the_chorales() {
    use bach_trainer::dataset::chorales::read_chorales;

    let Some(path) = common::shared("chorales/chorales.json") else {
        return;
    };
    let chorales = read_chorales(&path).unwrap();
    let dir = common::temp_dir("chorales-as-midi");
    write_chorales(&chorales, &dir, true);
    let data = dataset::load(&dir, Some(ModelKind::Voices), None).unwrap();
    assert_eq!(data.warnings, Vec::<String>::new());
    assert_eq!(data.train.len(), chorales.len());
    let mut differ = Vec::new();
    for (c, piece) in chorales.iter().zip(&data.train) {
        let want = c.piece();
        let (Piece::Voices { tokens: a, .. }, Piece::Voices { tokens: b, .. }) = (piece, &want)
        else {
            panic!("voices pieces")
        };
        let (x, y) = (piece.context().unwrap(), want.context().unwrap());
        // A folder piece runs from its first note to the end of its last;
        // a few chorales open with rests in all voices (a pickup written as
        // rests), and some rest after the last note.
        let lead = (0..c.steps)
            .take_while(|&t| (0..4).all(|v| c.token(t, v) == Token::Rest))
            .count();
        let n = x.bars.len();
        let moved: Vec<MeterRegion> = y
            .meters
            .iter()
            .filter(|r| r.step == 0 || r.step as usize >= lead)
            .map(|r| MeterRegion {
                step: (r.step as usize).saturating_sub(lead) as u32,
                bar_step: r.bar_step - lead as i64,
                ..*r
            })
            .collect();
        let fermatas: Vec<usize> = y.fermatas.iter().map(|f| f - lead).collect();
        let what = [
            (
                "tokens",
                b.len() >= a.len() + 4 * lead && a[..] == b[4 * lead..4 * lead + a.len()],
            ),
            (
                "trailing rests",
                b[(4 * lead + a.len()).min(b.len())..]
                    .iter()
                    .all(|t| *t == Token::Rest),
            ),
            ("key", x.key == y.key),
            (
                "bars",
                y.bars.len() >= lead + n && x.bars[..] == y.bars[lead..lead + n],
            ),
            (
                "meters",
                x.meters[..] == moved[..x.meters.len().min(moved.len())],
            ),
            // Chorales without fermatas get the long-note rule's.
            ("fermatas", y.fermatas.is_empty() || x.fermatas == fermatas),
        ];
        for (name, same) in what {
            if !same {
                differ.push(format!("{} {name}", c.id));
            }
        }
    }
    assert!(differ.is_empty(), "{} differ: {differ:?}", differ.len());

    // Without key signatures the keys are estimated from all four voices.
    let unsigned = common::temp_dir("chorales-as-midi-unsigned");
    write_chorales(&chorales, &unsigned, false);
    let data = dataset::load(&unsigned, Some(ModelKind::Voices), None).unwrap();
    let right = chorales
        .iter()
        .zip(&data.train)
        .filter(|(c, p)| p.context().unwrap().key == c.piece().context().unwrap().key)
        .count();
    let share = right as f64 / chorales.len() as f64;
    println!(
        "estimated keys: {right} of {} right ({share:.3})",
        chorales.len()
    );
    assert!(share > 0.9, "{right} of {}", chorales.len());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&unsigned).unwrap();
}
