//! `harmonize`, `continue` and `generate` on files as users have them, through
//! the binary and the library; `--wav` and `--png`; errors that write nothing.

mod common;

use bach_engine::Meter;
use std::path::{Path, PathBuf};

use bach_cli::offline::{self, Options};
use bach_cli::render;
use bach_engine::midi;
use bach_engine::model::{AnyModel, VoicesModel};
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use bach_engine::sequencer::session::voice_events;
use bach_engine::sequencer::{Mode, Sequencer, Settings};
use bach_engine::DEFAULT_MODEL;
use common::{run, s, temp_dir};

fn note(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 90,
    }
}

/// Two bars of 4/4 with a rest, repeated notes and a long (tied) note.
fn tune() -> Vec<Note> {
    vec![
        note(0, 4, 72),
        note(4, 4, 72),
        note(8, 2, 74),
        note(10, 2, 76),
        note(12, 4, 77),
        // rest on steps 16..20
        note(20, 4, 76),
        note(24, 8, 74),
    ]
}

fn score_of(parts: Vec<Part>, meters: Vec<MeterChange>, tempos: Vec<TempoChange>) -> Score {
    let mut score = Score::new(0.25);
    score.len = parts.iter().map(Part::end).max().unwrap_or(0);
    score.parts = parts;
    score.meters = meters;
    score.tempos = tempos;
    score
}

fn meter(step: u32, numerator: u8, denominator: u8) -> MeterChange {
    MeterChange {
        step,
        meter: Meter::new(numerator, denominator),
    }
}

fn write_midi(dir: &Path, name: &str, score: &Score) -> PathBuf {
    let path = dir.join(name);
    midi::write_file(&path, score).unwrap();
    path
}

fn model() -> VoicesModel {
    VoicesModel::from_bytes(DEFAULT_MODEL).unwrap()
}

fn read(path: &Path) -> Score {
    midi::read_file(path, 0.25).unwrap()
}

fn pitches_and_times(notes: &[Note]) -> Vec<(u32, u32, u8)> {
    notes.iter().map(|n| (n.start, n.len, n.pitch)).collect()
}

/// The melody is kept note for note and the other voices stay in their ranges,
/// sounding only while the melody does.
fn check_harmony(out: &Score, melody: &[Note]) {
    let m = model();
    assert_eq!(out.parts.len(), m.voices(), "one part per voice");
    let names: Vec<&str> = out.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Soprano", "Alto", "Tenor", "Bass"]);
    let channels: Vec<u8> = out.parts.iter().map(|p| p.channel).collect();
    assert_eq!(channels, [0, 1, 2, 3]);
    assert_eq!(
        pitches_and_times(&out.parts[0].notes),
        pitches_and_times(melody)
    );
    let end = melody.iter().map(Note::end).max().unwrap();
    let sounding = |step: u32| melody.iter().any(|n| n.start <= step && step < n.end());
    let mut generated = 0;
    for (v, part) in out.parts.iter().enumerate().skip(1) {
        let range = m.range(v).unwrap();
        for n in &part.notes {
            assert!(
                range.contains(n.pitch),
                "{} {n:?} outside {range:?}",
                part.name
            );
            assert!(
                n.end() <= end && sounding(n.start),
                "{} {n:?} without melody",
                part.name
            );
            generated += 1;
        }
    }
    assert!(generated > 0, "the model adds notes");
}

#[test]
fn harmonize_keeps_the_melody_and_is_deterministic_per_seed() {
    let dir = temp_dir("harmonize");
    let input = score_of(
        vec![Part::new("Tune", 0, tune())],
        vec![meter(0, 4, 4)],
        vec![TempoChange { step: 0, bpm: 96.0 }],
    );
    let path = write_midi(&dir, "tune.mid", &input);
    let out = |name: &str, seed: &str| {
        let o = dir.join(name);
        let (code, stdout, stderr) = run(&[
            "harmonize",
            "--input",
            s(&path),
            "--out",
            s(&o),
            "--seed",
            seed,
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        o
    };
    let a = out("a.mid", "5");
    let b = out("b.mid", "5");
    let c = out("c.mid", "6");
    let score = read(&a);
    check_harmony(&score, &tune());
    assert_eq!(score.tempos, input.tempos);
    assert_eq!(score.meters, input.meters);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same seed, same file"
    );
    assert_ne!(
        read(&c).parts[1..],
        score.parts[1..],
        "another seed, other voices"
    );

    // The file holds what the library computes (the command's default
    // lookahead is the whole melody).
    let opts = Options {
        seed: 5,
        lookahead: bach_engine::Horizon::Whole,
        ..Options::default()
    };
    let lib = offline::harmonize(&mut model(), &read(&path), &opts).unwrap();
    assert_eq!(lib.score.parts, score.parts);
}

#[test]
fn meters_three_four_and_six_eight_and_a_pickup() {
    for meters in [
        vec![meter(0, 3, 4)],
        vec![meter(0, 6, 8)],
        // A one-beat pickup before 4/4.
        vec![meter(0, 1, 4), meter(4, 4, 4)],
    ] {
        let notes: Vec<Note> = tune().into_iter().map(|n| Note { ..n }).collect();
        let input = score_of(
            vec![Part::new("Tune", 0, notes.clone())],
            meters.clone(),
            vec![],
        );
        let bytes = midi::write(&input).unwrap();
        let read_back = midi::read(&bytes, 0.25).unwrap();
        let result = offline::harmonize(&mut model(), &read_back, &Options::default()).unwrap();
        check_harmony(&result.score, &notes);
        assert_eq!(result.score.meters, meters);
        let origin = result.session.transport_at(0).pos_beats.unwrap();
        if meters.len() == 2 {
            // The pickup sits on the last beat of the model's bar.
            assert_eq!(origin, 3.0);
        } else {
            assert_eq!(origin, 0.0);
        }
    }
}

#[test]
fn tempo_changes_move_the_samples_not_the_steps() {
    let tempos = vec![
        TempoChange {
            step: 0,
            bpm: 120.0,
        },
        TempoChange {
            step: 16,
            bpm: 90.0,
        },
    ];
    let input = score_of(vec![Part::new("Tune", 0, tune())], vec![], tempos.clone());
    let result = offline::harmonize(&mut model(), &input, &Options::default()).unwrap();
    check_harmony(&result.score, &tune());
    assert_eq!(result.score.tempos, tempos);
    // Step 20 is 4 steps of 6000 samples and 4 of 8000 from step 12.
    assert_eq!(result.timeline.sample_of_step(20), 16 * 6000 + 4 * 8000);
    for e in &result.events {
        let step = result.timeline.step_at(e.sample);
        assert_eq!(
            e.sample,
            result.timeline.sample_of_step(step),
            "{e:?} on a step"
        );
    }
    // --bpm replaces the map.
    let opts = Options {
        bpm: Some(60.0),
        ..Options::default()
    };
    let fixed = offline::harmonize(&mut model(), &input, &opts).unwrap();
    assert_eq!(fixed.score.tempos, vec![TempoChange { step: 0, bpm: 60.0 }]);
    assert_eq!(fixed.timeline.sample_of_step(4), 48_000);
}

/// A track: name, channel and notes as (start tick, end tick, pitch).
type Track<'a> = (&'a str, u8, Vec<(u32, u32, u8)>);

/// A type-1 file written with midly at 480 ticks per quarter.
fn raw_midi(tracks: &[Track]) -> Vec<u8> {
    use midly::num::{u28, u4, u7};
    use midly::{
        Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind,
    };
    let mut smf = Smf::new(Header::new(Format::Parallel, Timing::Metrical(480.into())));
    for (name, channel, notes) in tracks {
        let mut events: Vec<(u32, TrackEventKind)> = vec![(
            0,
            TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
        )];
        for &(start, end, pitch) in notes {
            let msg = |on: bool| TrackEventKind::Midi {
                channel: u4::new(*channel),
                message: if on {
                    MidiMessage::NoteOn {
                        key: u7::new(pitch),
                        vel: u7::new(90),
                    }
                } else {
                    MidiMessage::NoteOff {
                        key: u7::new(pitch),
                        vel: u7::new(0),
                    }
                },
            };
            events.push((start, msg(true)));
            events.push((end, msg(false)));
        }
        events.sort_by_key(|(t, k)| {
            (
                *t,
                matches!(
                    k,
                    TrackEventKind::Midi {
                        message: MidiMessage::NoteOn { .. },
                        ..
                    }
                ),
            )
        });
        let mut track = Vec::new();
        let mut now = 0;
        for (t, kind) in events {
            track.push(TrackEvent {
                delta: u28::new(t - now),
                kind,
            });
            now = t;
        }
        track.push(TrackEvent {
            delta: 0.into(),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        smf.tracks.push(track);
    }
    let mut bytes = Vec::new();
    smf.write(&mut bytes).unwrap();
    bytes
}

#[test]
fn off_grid_notes_are_snapped_and_several_tracks_choose_the_melody() {
    let dir = temp_dir("tracks");
    // A 16th is 120 ticks: the melody is played a little early and late.
    let melody = vec![
        (3, 470, 72),
        (485, 950, 74),
        (958, 1440, 76),
        (1436, 1920, 77),
    ];
    let bass = vec![(0, 960, 48), (960, 1920, 43)];
    let path = dir.join("band.mid");
    std::fs::write(&path, raw_midi(&[("Bass", 1, bass), ("Flute", 0, melody)])).unwrap();
    let expected = vec![
        note(0, 4, 72),
        note(4, 4, 74),
        note(8, 4, 76),
        note(12, 4, 77),
    ];

    let out = dir.join("out.mid");
    let (code, o, e) = run(&["harmonize", "--input", s(&path), "--out", s(&out)]);
    assert_eq!(code, 0, "{o}{e}");
    check_harmony(&read(&out), &expected);

    let (code, o, e) = run(&[
        "harmonize",
        "--input",
        s(&path),
        "--out",
        s(&out),
        "--track",
        "bass",
    ]);
    assert_eq!(code, 0, "{o}{e}");
    let bass = read(&out);
    assert_eq!(
        pitches_and_times(&bass.parts[0].notes),
        [(0, 8, 48), (8, 8, 43)],
        "the bass line, as asked"
    );
    let (code, o, e) = run(&[
        "harmonize",
        "--input",
        s(&path),
        "--out",
        s(&out),
        "--track",
        "2",
    ]);
    assert_eq!(code, 0, "{o}{e}");
    assert_eq!(
        pitches_and_times(&read(&out).parts[0].notes),
        pitches_and_times(&expected)
    );
}

/// The same session through a fresh sequencer, cut into other buffer sizes
/// than the commands' 512 frames, gives the same voice events.
#[test]
fn the_offline_session_is_the_sequencer_as_the_plugin_runs_it() {
    let input = score_of(
        vec![Part::new("Tune", 0, tune())],
        vec![],
        vec![
            TempoChange {
                step: 0,
                bpm: 120.0,
            },
            TempoChange {
                step: 16,
                bpm: 90.0,
            },
        ],
    );
    let opts = Options {
        seed: 11,
        temperature: 1.0,
        ..Options::default()
    };
    let result = offline::harmonize(&mut model(), &input, &opts).unwrap();
    for size in [1u32, 97, 4096] {
        let mut m = model();
        let settings = Settings {
            mode: Mode::Harmonize,
            temperature: 1.0,
            seed: 11,
            ..Settings::default()
        };
        let events = result
            .session
            .run(&mut Sequencer::new(), &mut m, &settings, size, |p| p())
            .unwrap();
        let events = voice_events(&events);
        assert_eq!(events, result.events, "buffers of {size}");
    }
}

#[test]
fn continue_and_generate_make_n_bars() {
    let dir = temp_dir("continue");
    let primer = score_of(
        vec![Part::new("Tune", 0, tune())],
        vec![meter(0, 4, 4)],
        vec![],
    );
    let path = write_midi(&dir, "primer.mid", &primer);
    let out = dir.join("cont.mid");
    let (code, o, e) = run(&[
        "continue",
        "--input",
        s(&path),
        "--bars",
        "3",
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 0, "{o}{e}");
    let score = read(&out);
    assert_eq!(
        pitches_and_times(&score.parts[0].notes),
        pitches_and_times(&tune())
    );
    // The primer ends on step 32; its longest rest is 4 steps, so the model waits 5.
    let (start, end) = (37, 37 + 3 * 16);
    assert_eq!(score.len, end);
    let continued: Vec<&Note> = score.parts[1..].iter().flat_map(|p| &p.notes).collect();
    assert!(!continued.is_empty(), "the model plays");
    assert!(score.parts[1..]
        .iter()
        .all(|p| p.name.ends_with("(continued)")));
    for n in continued {
        assert!(
            n.start >= start && n.end() <= end,
            "{n:?} in the continuation"
        );
    }

    // 3/4: three bars are 36 steps.
    let waltz = score_of(
        vec![Part::new("Tune", 0, tune())],
        vec![meter(0, 3, 4)],
        vec![],
    );
    let r = offline::continue_from(&mut model(), &waltz, 3, &Options::default()).unwrap();
    assert_eq!(r.score.len, 37 + 36);

    let gen = dir.join("gen.mid");
    let (code, o, e) = run(&["generate", "--bars", "2", "--out", s(&gen), "--seed", "3"]);
    assert_eq!(code, 0, "{o}{e}");
    let g = read(&gen);
    assert_eq!(g.len, 32);
    assert!(g.parts.iter().all(|p| p.end() <= 32));
    assert!(g.parts.iter().map(|p| p.notes.len()).sum::<usize>() > 0);
    let again = offline::generate(
        &mut AnyModel::Voices(model()),
        2,
        &Options {
            seed: 3,
            ..Options::default()
        },
    )
    .unwrap();
    // The command's file also carries the chords as markers.
    let chords = again.chords();
    let markers = offline::chords::markers(&chords);
    assert_eq!(
        midi::write_with_markers(&again.score, &markers).unwrap(),
        std::fs::read(&gen).unwrap()
    );
}

/// `generate` plays a piano-roll model too: frames fed back one by one (key
/// by key through an NADE), in 4/4 bars of the model's grid.
#[test]
fn generate_plays_piano_roll_models() {
    use bach_engine::file::{random_tensors, save};
    use bach_engine::{CoreKind, FrameOutput, ModelMeta};
    let dir = temp_dir("generate-roll");
    let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 16, 1.0);
    meta.frame = FrameOutput::Nade { hidden: 8 };
    let file = dir.join("roll.safetensors");
    save(&file, &meta, &random_tensors(&meta, 5, 0.5)).unwrap();
    let out = dir.join("roll.mid");
    let args = [
        "generate",
        "--model",
        s(&file),
        "--bars",
        "3",
        "--temperature",
        "1",
        "--seed",
        "2",
    ];
    let (code, o, e) = run(&[&args[..], &["--out", s(&out)]].concat());
    assert_eq!(code, 0, "{o}{e}");
    let g = read(&out);
    // Three bars of 4/4 (read back on the 16th grid): JSB's frames are quarter notes.
    assert_eq!(g.len, 48);
    let notes: Vec<&Note> = g.parts.iter().flat_map(|p| &p.notes).collect();
    assert!(!notes.is_empty());
    for step in 0..48 {
        let sounding = notes
            .iter()
            .filter(|n| n.start <= step && step < n.end())
            .count();
        assert!(
            sounding <= 8,
            "{sounding} notes at step {step}, over the cap"
        );
    }
    // The same seed gives the same file; another seed, another one.
    let again = dir.join("again.mid");
    let (code, _, e) = run(&[&args[..], &["--out", s(&again)]].concat());
    assert_eq!(code, 0, "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    let other = dir.join("other.mid");
    let mut changed = args;
    changed[8] = "3";
    let (code, _, e) = run(&[&changed[..], &["--out", s(&other)]].concat());
    assert_eq!(code, 0, "{e}");
    assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(&other).unwrap());
}

#[test]
fn bad_input_fails_in_one_line_and_writes_nothing() {
    let dir = temp_dir("errors");
    let empty = write_midi(&dir, "empty.mid", &score_of(vec![], vec![], vec![]));
    let drums = dir.join("drums.mid");
    std::fs::write(
        &drums,
        raw_midi(&[("Kit", 9, vec![(0, 120, 36), (240, 360, 38)])]),
    )
    .unwrap();
    let junk = dir.join("junk.mid");
    std::fs::write(&junk, b"MThd this is not music").unwrap();
    let tune = write_midi(
        &dir,
        "tune.mid",
        &score_of(vec![Part::new("T", 0, tune())], vec![], vec![]),
    );
    let missing = dir.join("missing.mid");
    let (out, wav, png) = (dir.join("o.mid"), dir.join("o.wav"), dir.join("o.png"));
    let outputs = ["--out", s(&out), "--wav", s(&wav), "--png", s(&png)];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["harmonize", "--input", s(&empty)], "no notes"),
        (vec!["harmonize", "--input", s(&drums)], "drum"),
        (
            vec!["harmonize", "--input", s(&junk)],
            "not a readable MIDI file",
        ),
        (vec!["harmonize", "--input", s(&missing)], "missing.mid"),
        (
            vec!["harmonize", "--input", s(&tune), "--track", "Oboe"],
            "no track",
        ),
        (
            vec!["harmonize", "--input", s(&tune), "--bpm", "0"],
            "tempo",
        ),
        (
            vec!["harmonize", "--input", s(&tune), "--model", s(&junk)],
            "model",
        ),
        (
            vec!["continue", "--input", s(&drums), "--bars", "2"],
            "drum",
        ),
        (
            vec!["continue", "--input", s(&tune), "--bars", "0"],
            "--bars",
        ),
        (vec!["generate", "--bars", "0"], "--bars"),
    ];
    for (args, says) in cases {
        let args: Vec<&str> = args.iter().chain(outputs.iter()).copied().collect();
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.starts_with("error:") && stderr.trim().lines().count() == 1,
            "{stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        for p in [&out, &wav, &png] {
            assert!(!p.exists(), "{args:?} wrote {}", p.display());
        }
    }
}

#[test]
fn wav_and_png_renders() {
    let dir = temp_dir("render");
    let tempos = vec![
        TempoChange {
            step: 0,
            bpm: 120.0,
        },
        TempoChange {
            step: 16,
            bpm: 60.0,
        },
    ];
    let path = write_midi(
        &dir,
        "tune.mid",
        &score_of(vec![Part::new("T", 0, tune())], vec![], tempos),
    );
    let (out, wav, png) = (dir.join("o.mid"), dir.join("o.wav"), dir.join("o.png"));
    let (code, o, e) = run(&[
        "harmonize",
        "--input",
        s(&path),
        "--out",
        s(&out),
        "--wav",
        s(&wav),
        "--png",
        s(&png),
    ]);
    assert_eq!(code, 0, "{o}{e}");

    let reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (44_100, 2, 16)
    );
    // 16 steps at 120 bpm (2 s) and 16 at 60 bpm (4 s), then the tail.
    let seconds = reader.duration() as f64 / 44_100.0;
    assert!(
        (seconds - (6.0 + render::wav::TAIL_SECONDS)).abs() < 1e-3,
        "{seconds} s"
    );
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(peak > 3000, "audible: peak {peak}");
    // Sound during the music (at 1 s), silence at the very end.
    let at = |sec: f64| samples[(sec * 44_100.0) as usize * 2].unsigned_abs();
    assert!((0..100).any(|k| at(1.0 + k as f64 / 44_100.0) > 100));
    assert_eq!(*samples.last().unwrap(), 0);

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!(
        (info.width, info.height),
        (render::png::WIDTH, render::png::HEIGHT)
    );

    // Each part's colour is in the picture.
    let bytes = render::png::render(&read(&out)).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut buf).unwrap();
    for i in 0..4 {
        let (r, g, b) = render::png::colour(i);
        assert!(buf.chunks(3).any(|p| p == [r, g, b]), "colour of part {i}");
    }
}

/// `continue` plays a shipped piano-roll model through the sequencer: the
/// primer heard as frames on the model's grid (eighths for Nottingham,
/// quarters for JSB), then frames of the model's own. The file the command
/// writes is the library's, and its continuation is note for note what a
/// session through the sequencer plays, in buffers of any size.
#[test]
fn continue_plays_piano_roll_models_through_the_sequencer() {
    use bach_engine::sequencer::session::voice_notes;
    use bach_engine::token::MAX_VOICES;
    let dir = temp_dir("continue-roll");
    let primer = score_of(
        vec![
            Part::new("Tune", 0, tune()),
            Part::new("Bass", 1, vec![note(0, 16, 48), note(20, 12, 43)]),
        ],
        vec![meter(0, 4, 4)],
        vec![],
    );
    let path = write_midi(&dir, "primer.mid", &primer);
    for name in [
        "nottingham-pianoroll-gru-nade.safetensors",
        "jsb-pianoroll-lstm-nade.safetensors",
    ] {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models")
            .join(name);
        let out = dir.join(format!("{name}.mid"));
        let (code, o, e) = run(&[
            "continue",
            "--model",
            s(&file),
            "--input",
            s(&path),
            "--bars",
            "2",
            "--temperature",
            "0.8",
            "--seed",
            "4",
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{name}: {o}{e}");

        let AnyModel::PianoRoll(model) = AnyModel::load(&file).unwrap() else {
            panic!("{name} is a piano roll");
        };
        let step_beats = model.meta().step_beats;
        let score = midi::read_file(&path, step_beats).unwrap();
        let opts = Options {
            temperature: 0.8,
            seed: 4,
            ..Options::default()
        };
        let r = offline::continue_piano_roll(&mut model.clone(), &score, 2, &opts).unwrap();
        // The command's file also carries the chords as markers.
        let chords = r.chords();
        let markers = offline::chords::markers(&chords);
        assert_eq!(
            midi::write_with_markers(&r.score, &markers).unwrap(),
            std::fs::read(&out).unwrap(),
            "{name}: the command writes the library's result"
        );
        // One part after the primer's, on the model's grid, inside the turn.
        assert_eq!(r.score.parts.len(), 3);
        assert_eq!(r.score.step_beats, step_beats);
        let continued = &r.score.parts[2].notes;
        assert!(!continued.is_empty(), "{name}: the model plays");
        let bar = (4.0 / step_beats) as u32;
        let (start, end) = (r.score.len - 2 * bar, r.score.len);
        let primer_end = score.parts.iter().map(Part::end).max().unwrap();
        assert!(start > primer_end, "{name}: the model waits for a silence");
        for n in continued {
            assert!(n.start >= start && n.end() <= end, "{name}: {n:?}");
        }
        for step in start..end {
            let sounding = continued
                .iter()
                .filter(|n| n.start <= step && step < n.end())
                .count();
            assert!(sounding <= 8, "{name}: {sounding} notes at step {step}");
        }
        // A session through the sequencer, as a plugin plays it.
        let settings = Settings {
            mode: Mode::Continue,
            temperature: 0.8,
            seed: 4,
            silence_beats: (start - primer_end) as f64 * step_beats,
            continue_bars: 2,
            ..Settings::default()
        };
        for size in [1u32, 333, 4096] {
            let mut m = AnyModel::PianoRoll(model.clone());
            let events = r
                .session
                .run(&mut Sequencer::new(), &mut m, &settings, size, |p| p())
                .unwrap();
            let events = voice_events(&events);
            assert_eq!(events, r.events, "{name}: buffers of {size}");
            for e in &events {
                let step = r.timeline.step_at(e.sample);
                assert_eq!(e.sample, r.timeline.sample_of_step(step), "{name}: {e:?}");
            }
            let mut notes: Vec<Note> = voice_notes(&events, &r.timeline, MAX_VOICES, end)
                .into_iter()
                .flatten()
                .collect();
            notes.sort_by_key(|n| (n.start, n.pitch));
            assert_eq!(&notes, continued, "{name}: note for note");
        }
        // The session ends where the turn does; a step longer, every note
        // the model played has ended there.
        let mut longer = r.session.clone();
        longer.length = r.timeline.sample_of_step(end + 1);
        let mut m = AnyModel::PianoRoll(model.clone());
        let events = longer
            .run(&mut Sequencer::new(), &mut m, &settings, 512, |p| p())
            .unwrap();
        assert!(
            bach_engine::sequencer::session::hanging(&events).is_empty(),
            "{name}: notes left on"
        );
        let turn_end = r.timeline.sample_of_step(end);
        let events = voice_events(&events);
        assert!(events.iter().all(|e| e.sample <= turn_end));
        let (before, after): (Vec<_>, Vec<_>) =
            events.into_iter().partition(|e| e.sample < turn_end);
        assert_eq!(before, r.events, "{name}: the same session, a step longer");
        assert!(
            after.iter().all(|e| !e.on),
            "{name}: only ends at the turn's end"
        );
    }
}
