//! What a saved project plays must not change with an update of Bach. Within
//! one build the same model, seed, settings and melody give the same notes
//! (sequencer.rs); these tests hold that across builds, against values stored
//! in the repository:
//!
//! - the random stream behind every sampled note, as literals;
//! - golden performances: a small fixed model (`fixtures/golden-voices.safetensors`,
//!   not a shipped model, which gets retrained), a fixed melody and fixed
//!   settings in each mode, played through the sequencer as a host plays it;
//!   the exact notes are in `fixtures/golden-performances.json`, which the
//!   end-to-end test `tests/tests/golden.rs` plays through the built plugin;
//! - the logits of the fixed models over fixed inputs, with a tolerance, so a
//!   harmless change of summation order passes while any changed note fails;
//! - a model file of every format version still loads and computes the same.
//!
//! To change the stored notes and logits on purpose (and say so in the
//! changelog, with the reason):
//! `BACH_UPDATE_GOLDEN=1 cargo test -p bach-engine --test golden`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bach_engine::ahead::Upcoming;
use bach_engine::file::{random_tensors, save, write_atomic, ModelFile, NamedTensor};
use bach_engine::meta::{FrameOutput, FORMAT_VERSION};
use bach_engine::model::{AnyModel, PianoRollModel, VoicesModel};
use bach_engine::sampling::Rng;
use bach_engine::sequencer::session::{
    hanging, notes as host_notes, play, samples_per_beat, stop, Session, Timed, SAMPLE_RATE as SR,
};
use bach_engine::sequencer::{Mode, Settings, Source, Velocity};
use bach_engine::sequencer::{Sequencer, VoiceStepper};
use bach_engine::token::{Token, VoiceSpec};
use bach_engine::{
    Ahead, BarPosition, CoreKind, Feature, Horizon, Key, KeyFrame, Mode as KeyMode, ModelMeta,
    Provenance, StepContext,
};

const GOLDEN_MODEL: &str = "golden-voices.safetensors";
const PERFORMANCES: &str = "golden-performances.json";
/// Velocity of every input note (the end-to-end CLAP host's too).
const INPUT_VELOCITY: u8 = 90;
/// Logits may move this much, relative to `1 + |logit|`: well above what a
/// changed summation order does to sums of a few dozen f32 terms (about
/// 1e-7), well below a changed weight or formula. Notes are compared exactly.
const LOGIT_TOLERANCE: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn updating() -> bool {
    std::env::var("BACH_UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

// ---------------------------------------------------------------- the stream

/// The PCG32 stream for a few seeds, and the floats built from it. Every
/// sampled note comes from this stream: if a dependency update or a change
/// to the float construction moves a single value, every user's project
/// plays other notes.
#[test]
fn the_random_stream_is_pinned() {
    type Stream = (u64, [u32; 4], [f32; 3], [f64; 2]);
    let pinned: [Stream; 4] = [
        (
            0,
            [298703107, 4236525527, 336081875, 1056616254],
            [0.069547236, 0.9863929, 0.07825011],
            [0.06954724331492901, 0.07825015668580404],
        ),
        (
            1,
            [866585574, 2109535214, 3403630417, 296513984],
            [0.20176762, 0.4911644, 0.79246944],
            [0.2017676792380544, 0.7924694573062475],
        ),
        (
            42,
            [3400036912, 3349765444, 515166382, 4224707908],
            [0.7916328, 0.779928, 0.11994648],
            [0.7916327847535017, 0.11994652437896625],
        ),
        (
            u64::MAX,
            [2553256318, 1362994822, 3759657484, 3366838333],
            [0.5944763, 0.31734693, 0.87536347],
            [0.594476307312749, 0.8753634749643737],
        ),
    ];
    let now: Vec<Stream> = pinned
        .iter()
        .map(|&(seed, ..)| {
            let mut ints = Rng::new(seed);
            let mut floats = Rng::new(seed);
            let mut doubles = Rng::new(seed);
            (
                seed,
                std::array::from_fn(|_| ints.next_u32()),
                std::array::from_fn(|_| floats.next_f32()),
                std::array::from_fn(|_| doubles.next_f64()),
            )
        })
        .collect();
    assert_eq!(now, pinned);
}

// ---------------------------------------------------------------- fixture models

/// A model file kept under the tests: its name and how it was made.
struct FixtureModel {
    file: &'static str,
    make: fn() -> (ModelMeta, Vec<NamedTensor>),
}

/// The golden performances' model: the shipped harmonizer's layout (SATB
/// on 16ths, a two-layer GRU) with 20 hidden units (so the kernels' 16-wide
/// lanes and their scalar tail both run) and fixed pseudo-random weights,
/// the hold made likelier so that voices sustain as well as move.
const GOLDEN: FixtureModel = FixtureModel {
    file: GOLDEN_MODEL,
    make: || {
        let mut meta = ModelMeta::satb(CoreKind::Gru, 2, 20);
        meta.name = "golden-voices".into();
        meta.training = Some(provenance());
        let mut tensors = random_tensors(&meta, 2017, 0.6);
        for (name, _, values) in &mut tensors {
            if name.starts_with("head.") && name.ends_with(".bias") {
                values[1] += HOLD_BIAS;
            }
        }
        (meta, tensors)
    },
};
const HOLD_BIAS: f32 = 2.0;

/// One model file per format version, as that version wrote it; they stand
/// for files users already have, so they are never rewritten. When
/// `FORMAT_VERSION` moves on, add the new version's file here (made with the
/// new feature) and leave the older ones alone.
const VERSIONS: [FixtureModel; 7] = [
    // Version 1: voices models and independent-key piano rolls. Today's
    // writer gives the same JSON for it as the version-1 writer did (same
    // fields in the same order, no `frame`); checked against the version-1
    // models/chorale-satb.safetensors of commit 49d14a4^.
    FixtureModel {
        file: "format-v1.safetensors",
        make: || {
            let voice = |name: &str, low, high| VoiceSpec {
                name: name.into(),
                low,
                high,
            };
            let mut meta = ModelMeta::satb(CoreKind::Lstm, 1, 4);
            meta.format_version = 1;
            meta.name = "format-v1".into();
            meta.voices = vec![voice("S", 60, 71), voice("B", 48, 59)];
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 1, 0.8);
            (meta, tensors)
        },
    },
    // Version 2 added the NADE frame output of piano-roll models.
    FixtureModel {
        file: "format-v2.safetensors",
        make: || {
            let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 4, 0.5);
            meta.format_version = 2;
            meta.name = "format-v2".into();
            meta.frame = FrameOutput::Nade { hidden: 4 };
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 2, 0.8);
            (meta, tensors)
        },
    },
    // Version 3 added the musical context of voices models: the meter, the
    // key's mode (the model works in a key-normalised frame) and the melody ahead.
    FixtureModel {
        file: "format-v3.safetensors",
        make: || {
            let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
            meta.format_version = 3;
            meta.name = "format-v3".into();
            meta.features = vec![
                Feature::PreviousStep,
                Feature::Meter,
                Feature::KeyMode,
                Feature::Ahead { notes: 2 },
            ];
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 3, 0.8);
            (meta, tensors)
        },
    },
    // Version 4 added the voice-pair score of voices models' heads.
    FixtureModel {
        file: "format-v4.safetensors",
        make: || {
            let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
            meta.format_version = 4;
            meta.name = "format-v4".into();
            meta.features = vec![Feature::PreviousStep, Feature::Meter, Feature::KeyMode];
            meta.pair_score = true;
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 4, 0.8);
            (meta, tensors)
        },
    },
    // Version 5 added the heads' decision order (here outer voices first:
    // the bass's head reads the soprano, the alto's the soprano and the
    // bass) and pair intervals read by size.
    FixtureModel {
        file: "format-v5.safetensors",
        make: || {
            let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
            meta.format_version = 5;
            meta.name = "format-v5".into();
            meta.features = vec![Feature::PreviousStep, Feature::Meter, Feature::KeyMode];
            meta.pair_score = true;
            meta.order = vec![0, 3, 1, 2];
            meta.intervals_by_size = true;
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 5, 0.8);
            (meta, tensors)
        },
    },
    // Version 6 added what each voice sounds going into a step, and for
    // how long, to the core's input.
    FixtureModel {
        file: "format-v6.safetensors",
        make: || {
            let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
            meta.format_version = 6;
            meta.name = "format-v6".into();
            meta.features = vec![Feature::PreviousStep, Feature::Sounding, Feature::Meter];
            meta.pair_score = true;
            meta.order = vec![0, 3, 1, 2];
            meta.intervals_by_size = true;
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 6, 0.8);
            (meta, tensors)
        },
    },
    // Version 7 added a hidden layer to each head (its ReLU units read the
    // state and the voices decided before it).
    FixtureModel {
        file: "format-v7.safetensors",
        make: || {
            let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
            meta.format_version = 7;
            meta.name = "format-v7".into();
            meta.features = vec![Feature::PreviousStep, Feature::Sounding, Feature::Meter];
            meta.pair_score = true;
            meta.order = vec![0, 3, 1, 2];
            meta.intervals_by_size = true;
            meta.head_hidden = 5;
            meta.training = Some(provenance());
            let tensors = random_tensors(&meta, 7, 0.8);
            (meta, tensors)
        },
    },
];

fn provenance() -> Provenance {
    Provenance {
        dataset: "none: fixed pseudo-random weights for engine/tests/golden.rs".into(),
        split: "none".into(),
        date: "2026-11-30".into(),
        ..Provenance::default()
    }
}

/// Loads a fixture model. A missing file is written only while updating the
/// fixtures; otherwise it is an error (restore it from git).
fn load_fixture(model: &FixtureModel) -> ModelFile {
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let path = fixture(model.file);
    {
        let _one_writer = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        if !path.exists() {
            assert!(
                updating(),
                "{} is missing: restore it with `git checkout`, or create it with \
                 BACH_UPDATE_GOLDEN=1 (only for a new fixture)",
                path.display()
            );
            let (meta, tensors) = (model.make)();
            save(&path, &meta, &tensors).expect("write the fixture model");
        }
    }
    ModelFile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------- logits

/// The context of probe step `t`: 4/4 from bar position 12 (so the
/// position wraps), D minor, the next melody notes known a bar ahead.
/// Models without context features read only the bar position.
fn probe_context(t: usize) -> StepContext {
    let mut ahead = Ahead {
        horizon: Horizon::Bar,
        current: Some(72),
        ..Ahead::default()
    };
    ahead.notes[0] = Some(Upcoming {
        pitch: 74 + (t % 3) as u8,
        steps: 1 + t as u16,
    });
    ahead.notes[1] = t.is_multiple_of(2).then_some(Upcoming {
        pitch: 70,
        steps: 9,
    });
    StepContext {
        bar: BarPosition::common(12 + t),
        key: Some(Key {
            tonic: 2,
            mode: KeyMode::Minor,
        }),
        ahead,
    }
}

/// Logits of a fixture model over fixed inputs, by probe name.
type Probes = Vec<(String, Vec<f32>)>;

/// A voices model fed a fixed SATB sequence (with an onset outside the
/// soprano's range, which the model folds), from bar position 12 so the
/// position wraps; every voice's logits on three of the steps.
fn voice_probes(model: &mut VoicesModel) -> Probes {
    use Token::{Hold, Onset, Rest};
    let steps = [
        [Onset(72), Onset(67), Onset(64), Onset(48)],
        [Hold, Hold, Hold, Onset(50)],
        [Onset(74), Hold, Onset(65), Onset(52)],
        [Onset(76), Onset(67), Hold, Onset(53)],
        [Hold, Rest, Onset(67), Onset(55)],
        [Onset(90), Onset(69), Hold, Onset(41)],
        [Rest, Hold, Onset(60), Hold],
        [Onset(71), Onset(62), Onset(55), Onset(43)],
    ];
    let voices = model.voices();
    let mut probes = Vec::new();
    model.reset();
    for (t, step) in steps.iter().enumerate() {
        let previous = t.checked_sub(1).map(|p| &steps[p][..voices]);
        model.advance_voices(previous, &probe_context(t));
        if [0, 3, 7].contains(&t) {
            for v in 0..voices {
                let logits = model.voice_logits(v, &step[..voices]).to_vec();
                probes.push((format!("step {t} voice {v}"), logits));
            }
        }
    }
    probes
}

/// A piano-roll model fed fixed chords; the 88 logits of three frames,
/// each given that frame's keys (an NADE reads the keys below each key).
fn key_probes(model: &mut PianoRollModel) -> Probes {
    let frames = [
        KeyFrame::from_pitches([48, 60, 64, 67]),
        KeyFrame::from_pitches([50, 62, 65, 69]),
        KeyFrame::EMPTY,
        KeyFrame::from_pitches([43, 59, 62, 67, 74]),
        KeyFrame::from_pitches([21, 108]),
    ];
    let mut probes = Vec::new();
    model.reset();
    for (t, frame) in frames.iter().enumerate() {
        model.advance_keys(t.checked_sub(1).map(|p| &frames[p]));
        if [0, 2, 4].contains(&t) {
            probes.push((format!("frame {t}"), model.key_logits(frame).to_vec()));
        }
    }
    probes
}

fn probes(model: &mut AnyModel) -> Probes {
    match model {
        AnyModel::Voices(m) => voice_probes(m),
        AnyModel::PianoRoll(m) => key_probes(m),
    }
}

/// The stored logits of `model_file` (beside it, `.logits.json`), or, while
/// updating, the file rewritten with `probes`.
fn check_logits(model_file: &str, probes: &Probes) {
    let path = fixture(&model_file.replace(".safetensors", ".logits.json"));
    if updating() {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{{\n  \"about\": \"Logits of {model_file} over the fixed inputs of \
             engine/tests/golden.rs. Written by BACH_UPDATE_GOLDEN=1 cargo test -p \
             bach-engine --test golden; do not edit.\",\n  \"probes\": {{"
        );
        for (i, (name, logits)) in probes.iter().enumerate() {
            let values: Vec<String> = logits.iter().map(|x| format!("{x:?}")).collect();
            let comma = if i + 1 < probes.len() { "," } else { "" };
            let _ = writeln!(text, "    \"{name}\": [{}]{comma}", values.join(", "));
        }
        text.push_str("  }\n}\n");
        write_atomic(&path, text.as_bytes()).expect("write the logits fixture");
        return;
    }
    let stored = read_json(&path);
    let stored = stored["probes"].as_object().expect("a \"probes\" object");
    assert_eq!(
        stored.len(),
        probes.len(),
        "{}: stored probes {:?}",
        path.display(),
        stored.keys().collect::<Vec<_>>()
    );
    for (name, logits) in probes {
        let want: Vec<f64> = stored
            .get(name)
            .and_then(|v| v.as_array())
            .unwrap_or_else(|| panic!("{}: no probe {name:?}", path.display()))
            .iter()
            .map(|x| x.as_f64().expect("a number"))
            .collect();
        if let Err(e) = logits_match(logits, &want) {
            panic!("{model_file}, {name}: {e}");
        }
    }
}

/// Whether `got` is `want` up to [`LOGIT_TOLERANCE`].
fn logits_match(got: &[f32], want: &[f64]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} logits, {} stored", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let diff = (g as f64 - w).abs();
        if diff.is_nan() || diff > LOGIT_TOLERANCE * (1.0 + w.abs()) {
            return Err(format!("logit {i} is {g}, stored {w} (off by {diff:e})"));
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with BACH_UPDATE_GOLDEN=1 cargo test -p bach-engine --test golden)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_golden_models_logits_are_pinned() {
    let mut model = AnyModel::from_file(load_fixture(&GOLDEN));
    check_logits(GOLDEN.file, &probes(&mut model));
}

#[test]
fn a_model_file_of_every_format_version_still_loads() {
    assert_eq!(
        VERSIONS.len(),
        FORMAT_VERSION as usize,
        "every format version needs its fixture in VERSIONS"
    );
    for (i, fixture_model) in VERSIONS.iter().enumerate() {
        let file = load_fixture(fixture_model);
        assert_eq!(
            file.meta.format_version,
            i as u32 + 1,
            "{}",
            fixture_model.file
        );
        let mut model = AnyModel::from_file(file);
        check_logits(fixture_model.file, &probes(&mut model));
    }
}

#[test]
fn the_logit_tolerance_passes_rounding_and_fails_real_changes() {
    let want = [0.5f64, -3.25, 12.0];
    let got = |d: [f32; 3]| [0.5f32 + d[0], -3.25 + d[1], 12.0 + d[2]];
    assert!(logits_match(&got([3e-7, -1e-6, 4e-6]), &want).is_ok());
    assert!(logits_match(&got([0.0, 1e-3, 0.0]), &want).is_err());
    assert!(logits_match(&[0.5, -3.25, f32::NAN], &want).is_err());
    assert!(logits_match(&[0.5, -3.25], &want).is_err());
}

// ---------------------------------------------------------------- performances

/// A melody and settings played from the start of the song.
struct Performance {
    name: &'static str,
    settings: Settings,
    tempo: f64,
    /// (beat, length in beats, pitch); notes at one beat form a chord.
    notes: Vec<(f64, f64, u8)>,
    /// The transport stops here; the sequencer's internal clock runs on.
    stop_beat: f64,
    end_beat: f64,
}

/// The session played through a fresh sequencer in blocks of `size` frames.
fn run<M: VoiceStepper>(
    session: &Session,
    model: &mut M,
    settings: &Settings,
    size: u32,
) -> Vec<Timed> {
    session
        .run(&mut Sequencer::new(), model, settings, size, |process| {
            process()
        })
        .expect("no output event dropped")
}

impl Performance {
    fn samples(&self, beat: f64) -> i64 {
        (beat * samples_per_beat(self.tempo)).round() as i64
    }

    fn session(&self) -> Session {
        let mut notes = Vec::new();
        for &(beat, len, pitch) in &self.notes {
            notes.push((self.samples(beat), true, pitch, INPUT_VELOCITY));
            notes.push((self.samples(beat + len), false, pitch, 0));
        }
        // Stable: a note-off before a note-on at the same sample, chords in order.
        notes.sort_by_key(|n| (n.0, n.1));
        Session {
            segments: vec![
                play(0, self.tempo, 0.0),
                stop(self.samples(self.stop_beat), self.tempo),
            ],
            notes: host_notes(notes),
            length: self.samples(self.end_beat),
        }
    }
}

fn performances() -> Vec<Performance> {
    // Quarters and eighths, two early or late onsets, a phrase break, and a
    // last note held across the transport's stop.
    let harmonize = Performance {
        name: "harmonize",
        settings: Settings {
            temperature: 0.5,
            seed: 3,
            ..Settings::default()
        },
        tempo: 120.0,
        notes: vec![
            (0.0, 1.0, 72),
            (1.0, 0.5, 74),
            (1.5, 0.5, 76),
            (2.03, 0.9, 77),
            (2.98, 1.02, 76),
            (4.0, 1.0, 74),
            (5.0, 0.5, 72),
            (5.5, 0.5, 71),
            (6.0, 2.0, 72),
            (9.0, 1.0, 79),
            (10.0, 1.0, 77),
            (11.0, 0.75, 76),
            (11.75, 0.25, 74),
            (12.0, 1.0, 72),
            (13.0, 1.0, 74),
            (14.0, 1.5, 71),
            (15.5, 0.5, 69),
            (16.0, 2.5, 72),
        ],
        stop_beat: 17.25,
        end_beat: 19.0,
    };
    // The player plays a phrase with a few two-note chords, the model
    // answers after a beat of silence, the player cuts in, the model answers
    // again and the transport stops while it plays.
    let continuation = Performance {
        name: "continue",
        settings: Settings {
            mode: Mode::Continue,
            temperature: 1.0,
            strict: false,
            velocity: Velocity::Fixed(77),
            seed: 7,
            silence_beats: 1.0,
            continue_bars: 2,
            ..Settings::default()
        },
        tempo: 100.0,
        notes: vec![
            (0.0, 1.0, 60),
            (0.0, 2.0, 48),
            (1.0, 1.0, 64),
            (2.0, 0.5, 67),
            (2.5, 0.5, 65),
            (3.0, 1.0, 64),
            (3.0, 1.0, 55),
            (4.0, 1.5, 62),
            (12.1, 0.9, 72),
            (13.0, 1.0, 71),
            (14.0, 2.0, 69),
            (14.0, 2.0, 53),
        ],
        stop_beat: 24.0,
        end_beat: 26.0,
    };
    vec![harmonize, continuation]
}

const VOICE_NAMES: [&str; 4] = ["S", "A", "T", "B"];

/// The performances file: the inputs, the settings and every output event,
/// one per line, for readable diffs. The end-to-end test reads it as JSON.
fn render(played: &[(Performance, Vec<Timed>)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{{\n  \"about\": \"Golden performances of {GOLDEN_MODEL}, compared exactly by \
         engine/tests/golden.rs and tests/tests/golden.rs. Written by BACH_UPDATE_GOLDEN=1 \
         cargo test -p bach-engine --test golden; do not edit.\",\n  \"model\": \
         \"{GOLDEN_MODEL}\",\n  \"sample_rate\": {SR:?},\n  \"input_channel\": 0,\n  \
         \"input_velocity\": {INPUT_VELOCITY},\n  \"performances\": ["
    );
    for (p, (perf, events)) in played.iter().enumerate() {
        let st = &perf.settings;
        let session = perf.session();
        let velocity = match st.velocity {
            Velocity::FromInput => "\"input\"".to_string(),
            Velocity::Fixed(v) => v.to_string(),
        };
        let mode = match st.mode {
            Mode::Harmonize => "harmonize",
            Mode::Continue => "continue",
        };
        let _ = writeln!(
            s,
            "    {{\n      \"name\": \"{}\",\n      \"settings\": {{\"mode\": \"{mode}\", \
             \"temperature\": {:?}, \"strict\": {}, \"voices\": {:?}, \"channels\": {:?}, \
             \"pass_through\": {}, \"velocity\": {velocity}, \"seed\": {}, \
             \"silence_beats\": {:?}, \"continue_bars\": {}}},\n      \"tempo\": {:?},\n      \
             \"stop_at\": {},\n      \"length\": {},",
            perf.name,
            st.temperature,
            st.strict,
            &st.voices[..4],
            &st.channels[..4],
            st.pass_through,
            st.seed,
            st.silence_beats,
            st.continue_bars,
            perf.tempo,
            session.segments[1].start,
            session.length,
        );
        s.push_str("      \"input\": [\n");
        for (i, n) in session.notes.iter().enumerate() {
            let (t, on, pitch) = (n.sample, n.on, n.pitch);
            let comma = if i + 1 < session.notes.len() { "," } else { "" };
            let on = if on { "on" } else { "off" };
            let _ = writeln!(s, "        [{t}, \"{on}\", {pitch}]{comma}");
        }
        s.push_str("      ],\n      \"output\": [\n");
        for (i, e) in events.iter().enumerate() {
            let comma = if i + 1 < events.len() { "," } else { "" };
            let ev = e.event;
            let on = if ev.on { "on" } else { "off" };
            let source = match ev.source {
                Source::Input => "in",
                Source::Voice(v) => VOICE_NAMES[v as usize],
            };
            let _ = writeln!(
                s,
                "        [{}, \"{on}\", {}, {}, {}, \"{source}\"]{comma}",
                e.sample, ev.channel, ev.pitch, ev.velocity
            );
        }
        let comma = if p + 1 < played.len() { "," } else { "" };
        let _ = writeln!(s, "      ]\n    }}{comma}");
    }
    s.push_str("  ]\n}\n");
    s
}

/// Fails at the first line where `got` and `want` differ, with context.
fn assert_same_text(got: &str, want: &str, what: &str) {
    let (got, want): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) else {
        return;
    };
    let show = |lines: &[&str]| {
        lines[i.saturating_sub(3).min(lines.len())..(i + 3).min(lines.len())].join("\n")
    };
    panic!(
        "{what} changed at line {}:\n--- now\n{}\n--- stored\n{}\n\
         If the change is intended, update the fixtures with \
         BACH_UPDATE_GOLDEN=1 cargo test -p bach-engine --test golden \
         and say in the changelog why existing projects play other notes.",
        i + 1,
        show(&got),
        show(&want)
    );
}

#[test]
fn the_golden_performances_play_the_stored_notes() {
    let model = AnyModel::from_file(load_fixture(&GOLDEN))
        .into_voices()
        .expect("the golden model is a voices model");
    let mut played = Vec::new();
    for perf in performances() {
        let session = perf.session();
        let reference = run(&session, &mut model.clone(), &perf.settings, 1);
        for size in [97, 4096] {
            let events = run(&session, &mut model.clone(), &perf.settings, size);
            assert!(events == reference, "{}: buffer size {size}", perf.name);
        }
        let left = hanging(&reference);
        assert!(left.is_empty(), "{}: notes left on: {left:?}", perf.name);
        // Enough notes in every generated voice that any drift shows.
        let voices = match perf.settings.mode {
            Mode::Harmonize => 1..4,
            Mode::Continue => 0..4,
        };
        for v in voices {
            let ons = reference
                .iter()
                .filter(|e| e.event.on && e.event.source == Source::Voice(v))
                .count();
            assert!(ons >= 8, "{}: voice {v} starts only {ons} notes", perf.name);
        }
        played.push((perf, reference));
    }
    let text = render(&played);
    let path = fixture(PERFORMANCES);
    if updating() {
        write_atomic(&path, text.as_bytes()).expect("write the performances");
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with BACH_UPDATE_GOLDEN=1 cargo test -p bach-engine --test golden)",
            path.display()
        )
    });
    assert_same_text(&text, &stored, PERFORMANCES);
    // The file is what the end-to-end test reads.
    serde_json::from_str::<serde_json::Value>(&stored).expect("valid JSON");
}
