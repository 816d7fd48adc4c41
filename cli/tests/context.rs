//! `bach harmonize` with the musical context: `--key`, `--lookahead`, and
//! the file's meters reaching a model that hears them.

mod common;

use bach_cli::offline::command::parse_key;
use bach_cli::offline::{self, KeyUsed, Options};
use bach_engine::file::{random_tensors, save};
use bach_engine::meta::{CoreKind, Feature};
use bach_engine::model::VoicesModel;
use bach_engine::perform::line::{harmonize_line, whole_melody_keys};
use bach_engine::perform::{user_sampler, KeyChoice};
use bach_engine::score::{MeterChange, Note, Part, Score};
use bach_engine::{BarPosition, Horizon, Key, Meter, ModelMeta, Performer, Token};
use common::{run, temp_dir};

/// A small random SATB model that hears the meter, knows keys and looks ahead.
fn context_meta() -> ModelMeta {
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 32);
    meta.features = vec![
        Feature::PreviousStep,
        Feature::Meter,
        Feature::KeyMode,
        Feature::Ahead { notes: 4 },
    ];
    meta.format_version = meta.needed_version();
    meta
}

fn context_model() -> VoicesModel {
    let meta = context_meta();
    let bytes = bach_engine::file::to_bytes(&meta, &random_tensors(&meta, 3, 0.8)).unwrap();
    VoicesModel::from_bytes(&bytes).unwrap()
}

fn note(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 90,
    }
}

/// A D-major tune in 3/4, quarter notes and a long last note, 8 bars of 12 steps.
fn waltz() -> Score {
    let pitches = [
        74, 76, 78, 79, 78, 76, 74, 73, 71, 69, 71, 73, 74, 78, 81, 79, 76, 73, 74,
    ];
    let mut notes: Vec<Note> = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| note(i as u32 * 4, 4, p))
        .collect();
    notes.last_mut().unwrap().len = 20;
    let mut score = Score::new(0.25);
    score.parts = vec![Part::new("Tune", 0, notes)];
    score.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(3, 4),
    }];
    score.len = 96;
    score
}

fn opts(lookahead: Horizon) -> Options {
    Options {
        temperature: 0.0,
        seed: 1,
        lookahead,
        ..Options::default()
    }
}

fn voices(result: &offline::Offline) -> Vec<Vec<(u32, u32, u8)>> {
    result
        .score
        .parts
        .iter()
        .skip(1)
        .map(|p| p.notes.iter().map(|n| (n.start, n.len, n.pitch)).collect())
        .collect()
}

/// The melody as the model's tokens.
fn tokens(score: &Score) -> Vec<Token> {
    score.parts[0].to_tokens(score.parts[0].end())
}

/// `harmonize_line`'s voices for the waltz in the bars given, as notes.
fn line_voices(bars: &[BarPosition], key: KeyChoice, horizon: Horizon) -> Vec<Vec<(u32, u32, u8)>> {
    let score = waltz();
    let melody = tokens(&score);
    let mut model = context_model();
    let mut performer = Performer::new(user_sampler(0.0, true), 1);
    performer.restart(&mut model, 1);
    let out = harmonize_line(&mut model, &mut performer, &melody, bars, key, horizon);
    let (n, steps) = (4, melody.len());
    (1..n)
        .map(|v| {
            let mut notes = Vec::new();
            let mut open: Option<(u32, u32, u8)> = None;
            for t in 0..steps {
                match out[t * n + v] {
                    Token::Onset(p) => {
                        notes.extend(open.take());
                        open = Some((t as u32, 1, p));
                    }
                    Token::Hold => {
                        if let Some(o) = open.as_mut() {
                            o.1 += 1;
                        }
                    }
                    Token::Rest => notes.extend(open.take()),
                }
            }
            notes.extend(open);
            notes
        })
        .collect()
}

fn bars(meter: Meter, len: usize) -> Vec<BarPosition> {
    (0..len).map(|t| BarPosition::new(t, meter, 0.25)).collect()
}

#[test]
fn key_parsing_takes_auto_and_every_key_name_and_refuses_clearly() {
    assert_eq!(parse_key("auto"), Ok(KeyChoice::Auto));
    assert_eq!(parse_key("Auto"), Ok(KeyChoice::Auto));
    for key in Key::ALL {
        assert_eq!(parse_key(key.name()), Ok(KeyChoice::Fixed(key)));
    }
    assert_eq!(
        parse_key("F# minor"),
        Ok(KeyChoice::Fixed(Key::parse("F♯ minor").unwrap()))
    );
    let err = parse_key("H major").unwrap_err();
    assert!(err.contains("\"H major\" is not a key"), "{err}");
    assert!(err.contains("auto"), "{err}");

    let dir = temp_dir("badkey");
    let out = dir.join("out.mid");
    let (code, _, stderr) = run(&[
        "harmonize",
        "--key",
        "X minor",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("\"X minor\" is not a key"), "{stderr}");
    assert!(!out.exists());
    let (code, _, stderr) = run(&[
        "harmonize",
        "--lookahead",
        "far",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("whole"), "the choices are listed: {stderr}");
}

#[test]
fn the_whole_melody_gives_other_harmony_than_none_of_it() {
    let mut model = context_model();
    let whole = offline::harmonize(&mut model, &waltz(), &opts(Horizon::Whole)).unwrap();
    let off = offline::harmonize(&mut model, &waltz(), &opts(Horizon::Off)).unwrap();
    assert!(voices(&whole).iter().all(|v| !v.is_empty()));
    assert!(voices(&off).iter().all(|v| !v.is_empty()));
    assert_ne!(voices(&whole), voices(&off));
    // The whole melody's key is fixed before the first note; without
    // lookahead the key is followed.
    let d_major = Key::parse("D major").unwrap();
    assert!(
        matches!(whole.key, Some(KeyUsed::WholeMelody(k, _)) if k == d_major),
        "{:?}",
        whole.key
    );
    assert!(
        matches!(off.key, Some(KeyUsed::Followed(Some(_)))),
        "{:?}",
        off.key
    );
    // A key given is the key used.
    let set = Options {
        key: KeyChoice::Fixed(Key::parse("B minor").unwrap()),
        ..opts(Horizon::Whole)
    };
    let b_minor = offline::harmonize(&mut model, &waltz(), &set).unwrap();
    assert_eq!(b_minor.key, Some(KeyUsed::Set(Key::parse("Bm").unwrap())));
}

/// Two phrases in C major, two in G major (with its F sharps), two in C
/// again: quarter notes in 4/4.
fn modulating() -> Score {
    const C: [u8; 16] = [
        72, 76, 79, 77, 76, 74, 72, 74, 76, 77, 79, 81, 79, 77, 76, 72,
    ];
    const G: [u8; 16] = [
        79, 83, 86, 84, 83, 81, 78, 79, 81, 83, 84, 86, 78, 81, 78, 79,
    ];
    let pitches: Vec<u8> = [C, C, G, G, C, C].concat();
    let notes: Vec<Note> = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| note(i as u32 * 4, 4, p))
        .collect();
    let mut score = Score::new(0.25);
    score.len = notes.len() as u32 * 4;
    score.parts = vec![Part::new("Tune", 0, notes)];
    score
}

#[test]
fn the_whole_melody_is_harmonized_in_the_related_key_of_a_passage() {
    let score = modulating();
    let keys = whole_melody_keys(&tokens(&score)).expect("the tune names a key");
    assert_eq!(
        whole_melody_keys(&[Token::Rest; 40]),
        None,
        "rests name no key"
    );
    let (c, g) = (Key::parse("C major"), Key::parse("G major"));
    assert_eq!(keys.first().copied(), c);
    assert_eq!(keys.last().copied(), c);
    assert_eq!(Some(keys[128 + 64]), g, "the middle of the G major passage");
    let mut model = context_model();
    let whole = offline::harmonize(&mut model, &score, &opts(Horizon::Whole)).unwrap();
    assert_eq!(whole.key, Some(KeyUsed::WholeMelody(c.unwrap(), 1)));
    assert_eq!(
        whole.key.unwrap().to_string(),
        "C major (from the melody, with one passage in a related key)"
    );
    // The passage moves the harmony: the whole melody with its keys plays
    // other notes than the same melody held in C throughout.
    let held = Options {
        key: KeyChoice::Fixed(c.unwrap()),
        ..opts(Horizon::Whole)
    };
    let in_c = offline::harmonize(&mut model, &score, &held).unwrap();
    assert_ne!(voices(&whole), voices(&in_c));
}

#[test]
fn a_three_four_files_bars_reach_the_model() {
    let len = tokens(&waltz()).len();
    let mut model = context_model();
    let whole = offline::harmonize(&mut model, &waltz(), &opts(Horizon::Whole)).unwrap();
    // Key Auto with the whole melody: its key (D major) is known from the
    // start, so the opening is held at home as the offline command holds it.
    let d_major = Key::parse("D major").unwrap();
    assert_eq!(whole.key, Some(KeyUsed::WholeMelody(d_major, 0)));
    let in_three = line_voices(
        &bars(Meter::new(3, 4), len),
        KeyChoice::Auto,
        Horizon::Whole,
    );
    let in_four = line_voices(&bars(Meter::COMMON, len), KeyChoice::Auto, Horizon::Whole);
    assert_eq!(voices(&whole), in_three, "the file's 3/4 bars");
    assert_ne!(in_three, in_four, "the model hears the meter");

    // Played through the pretend host, the sequencer hears 3/4 from its
    // transport: the same notes as stepping the performer in 3/4 bars with
    // nothing ahead.
    let off = offline::harmonize(&mut model, &waltz(), &opts(Horizon::Off)).unwrap();
    let stepped = line_voices(&bars(Meter::new(3, 4), len), KeyChoice::Auto, Horizon::Off);
    assert_eq!(
        voices(&off),
        stepped,
        "the host's 3/4 reaches the sequencer"
    );
}

#[test]
fn lookahead_off_is_the_sessions_notes() {
    // With lookahead off, harmonize is the pretend host's session played
    // through a fresh sequencer: what the plugin hears from a host.
    let mut model = context_model();
    for lookahead in [Horizon::Off, Horizon::Beat] {
        let o = opts(lookahead);
        let result = offline::harmonize(&mut model, &waltz(), &o).unwrap();
        let settings = bach_engine::sequencer::Settings {
            temperature: o.temperature,
            seed: o.seed,
            key: o.key,
            lookahead,
            ..Default::default()
        };
        let (events, _) = offline::harmonize::play(&result.session, &mut model, &settings).unwrap();
        assert_eq!(result.events, events, "{lookahead:?}");
        if lookahead == Horizon::Off {
            assert_eq!(events, result.session.play(&mut model, &settings).unwrap());
        }
    }
}

#[test]
fn the_command_prints_its_key_and_what_the_model_cannot_use() {
    let dir = temp_dir("cmd");
    let model_path = dir.join("context.safetensors");
    let meta = context_meta();
    save(&model_path, &meta, &random_tensors(&meta, 3, 0.8)).unwrap();
    let input = dir.join("waltz.mid");
    std::fs::write(&input, bach_engine::midi::write(&waltz()).unwrap()).unwrap();
    let out = dir.join("out.mid");
    let (i, o, m) = (
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        model_path.to_str().unwrap(),
    );

    let (code, stdout, stderr) = run(&["harmonize", "--input", i, "--out", o, "--model", m]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("key: D major (from the melody)"),
        "{stdout}"
    );
    assert!(!stderr.contains("note:"), "{stderr}");

    let (code, stdout, stderr) = run(&[
        "harmonize",
        "--input",
        i,
        "--out",
        o,
        "--model",
        m,
        "--key",
        "g minor",
        "--lookahead",
        "bar",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("key: G minor (as given)"), "{stdout}");

    // The built-in model (if it knows no keys, meters or lookahead) says so and goes on.
    let builtin = bach_engine::model::AnyModel::from_bytes(bach_engine::DEFAULT_MODEL)
        .unwrap()
        .into_voices()
        .unwrap();
    let (code, stdout, stderr) = run(&[
        "harmonize",
        "--input",
        i,
        "--out",
        o,
        "--key",
        "D",
        "--lookahead",
        "beat",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let meta = builtin.meta();
    assert_eq!(
        !meta.knows_key(),
        stderr.contains("this model knows no keys; --key has no effect"),
        "{stderr}"
    );
    assert_eq!(
        !meta.hears_meter(),
        stderr.contains("this model hears only 4/4"),
        "{stderr}"
    );
    assert_eq!(
        meta.ahead_notes() == 0,
        stderr.contains("this model cannot look ahead"),
        "{stderr}"
    );
    if !meta.knows_key() {
        assert!(
            stdout.contains("key: none (this model knows no keys)"),
            "{stdout}"
        );
    }
}
