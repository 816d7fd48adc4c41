//! Piano-roll models in the sequencer, driven by the pretend host with the
//! shipped models: continue mode hears the player as frames on the model's
//! own grid and plays frames back under the held-keys rule; harmonize
//! passes the input through.

use std::path::PathBuf;

use bach_engine::perform::user_sampler;
use bach_engine::score::{Note, Score};
use bach_engine::sequencer::session::{
    hanging, host_notes, play, stop, voice_events, voice_notes, Segment, Session, Timed, Timeline,
};
use bach_engine::sequencer::{Mode, Playable, Sequencer, Settings, Source};
use bach_engine::token::MAX_VOICES;
use bach_engine::{AnyModel, KeyFrame, Performer, PianoRollModel};

/// The shipped piano-roll models: Nottingham on eighths, JSB on quarters.
const MODELS: [&str; 2] = [
    "nottingham-pianoroll-gru-nade.safetensors",
    "jsb-pianoroll-lstm-nade.safetensors",
];

fn shipped(name: &str) -> PianoRollModel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name);
    PianoRollModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A primer on the model's grid: a tune over held chords, in steps.
fn primer() -> Vec<Note> {
    let note = |start, len, pitch| Note {
        start,
        len,
        pitch,
        velocity: 80,
    };
    let mut notes = vec![
        note(0, 4, 48),
        note(0, 4, 55),
        note(4, 4, 53),
        note(4, 4, 57),
    ];
    for (i, p) in [72u8, 74, 76, 72, 77, 76, 74, 72].into_iter().enumerate() {
        notes.push(note(i as u32, 1, p));
    }
    notes
}

const PRIMER_STEPS: u32 = 8;
const BARS: u32 = 2;

fn settings() -> Settings {
    Settings {
        mode: Mode::Continue,
        temperature: 0.8,
        silence_beats: 1.0,
        continue_bars: BARS,
        seed: 5,
        ..Settings::default()
    }
}

/// Steps the model waits, and the steps of its turn (4/4 bars).
fn turn(step_beats: f64) -> (u32, u32) {
    let silence = (settings().silence_beats / step_beats).round() as u32;
    let bar = (4.0 / step_beats).round() as u32;
    (silence, BARS * bar)
}

/// The primer played at 120 bpm from song position 0, long enough for the
/// model's turn and a bar after it.
fn session(step_beats: f64) -> (Session, Timeline) {
    let timeline = Timeline::constant(step_beats, 0.0, 120.0);
    let (silence, steps) = turn(step_beats);
    let end = PRIMER_STEPS + silence + steps + (4.0 / step_beats) as u32;
    let length = timeline.sample_of_step(end);
    (
        timeline.session(host_notes(&primer(), &timeline), length),
        timeline,
    )
}

fn run<M: Playable + ?Sized>(
    session: &Session,
    model: &mut M,
    settings: &Settings,
    size: u32,
) -> Vec<Timed> {
    session
        .run(&mut Sequencer::new(), model, settings, size, |p| p())
        .expect("no events dropped")
}

fn generated(events: &[Timed]) -> Vec<Timed> {
    events
        .iter()
        .copied()
        .filter(|e| matches!(e.event.source, Source::Voice(_)))
        .collect()
}

/// The generated notes, merged over the slots, by start and pitch.
fn notes_of(events: &[Timed], timeline: &Timeline, end_step: u32) -> Vec<Note> {
    let slots = voice_notes(&voice_events(events), timeline, MAX_VOICES, end_step);
    let mut notes: Vec<Note> = slots.into_iter().flatten().collect();
    notes.sort_by_key(|n| (n.start, n.pitch));
    notes
}

/// What the sequencer must play, found without it: the performer hears the
/// primer frame by frame (a held key in every frame it sounds) and the
/// quiet steps, then samples the turn; the frames become notes as `bach
/// generate` writes them (a key in consecutive frames is one note).
fn expected(model: &mut PianoRollModel) -> Vec<Note> {
    let step_beats = model.meta().step_beats;
    let (silence, steps) = turn(step_beats);
    let s = settings();
    let mut performer = Performer::new(user_sampler(s.temperature, s.strict), s.seed);
    performer.restart_piano_roll(model, s.seed);
    let mut score = Score::new(step_beats);
    score.parts = vec![bach_engine::score::Part::new("primer", 0, primer())];
    score.len = PRIMER_STEPS + silence;
    for frame in score.to_frames() {
        performer.play_frame(model, Some(frame));
    }
    let frames: Vec<KeyFrame> = (0..steps)
        .map(|_| performer.play_frame(model, None))
        .collect();
    assert!(frames.iter().all(|f| f.len() <= MAX_VOICES));
    let mut notes = Score::from_frames(step_beats, "", &frames, 80).parts[0]
        .notes
        .clone();
    for n in &mut notes {
        n.start += PRIMER_STEPS + silence;
    }
    notes.sort_by_key(|n| (n.start, n.pitch));
    notes
}

#[test]
fn continue_plays_the_models_frames_on_its_grid_under_the_cap() {
    for name in MODELS {
        let mut model = shipped(name);
        let step_beats = model.meta().step_beats;
        let (session, timeline) = session(step_beats);
        let (silence, steps) = turn(step_beats);
        let reference = run(&session, &mut model.clone(), &settings(), 512);
        let events = generated(&reference);
        assert!(!events.is_empty(), "{name}: the model played");
        // Every generated note starts and ends on a step of the model's grid,
        // within its turn, after the primer and the silence.
        let step_samples = (step_beats * 24_000.0) as i64;
        let first = timeline.sample_of_step(PRIMER_STEPS + silence);
        let last = timeline.sample_of_step(PRIMER_STEPS + silence + steps);
        for e in &events {
            assert_eq!(e.sample % step_samples, 0, "{name}: {e:?} off the grid");
            assert!((first..=last).contains(&e.sample), "{name}: {e:?}");
        }
        // At most the note cap at once, on voice 0's channel.
        let mut sounding = 0usize;
        for e in &events {
            sounding = if e.event.on {
                sounding + 1
            } else {
                sounding - 1
            };
            assert!(sounding <= MAX_VOICES, "{name}: {sounding} notes at once");
            assert_eq!(e.event.channel, settings().channels[0]);
        }
        assert!(hanging(&reference).is_empty(), "{name}: notes left on");
        // The frames the performer samples alone, as notes: held keys are
        // held notes. The sequencer plays exactly those.
        let end = PRIMER_STEPS + silence + steps;
        let played = notes_of(&reference, &timeline, end);
        assert_eq!(played, expected(&mut model), "{name}: frames as notes");
        assert!(
            played.iter().any(|n| n.len > 1),
            "{name}: some key is held across frames"
        );
        // The buffer size changes nothing, and a model as loaded plays the same.
        for size in [7, 4096] {
            let other = run(&session, &mut model.clone(), &settings(), size);
            assert_eq!(other, reference, "{name}: blocks of {size}");
        }
        let mut any = AnyModel::PianoRoll(model.clone());
        assert_eq!(run(&session, &mut any, &settings(), 512), reference);
    }
}

#[test]
fn the_model_listens_again_after_its_turn_and_answers_again() {
    let mut model = shipped(MODELS[0]);
    let step_beats = model.meta().step_beats;
    let (_, timeline) = session(step_beats);
    let (silence, steps) = turn(step_beats);
    // The primer, then the same again after the model's turn.
    let again = PRIMER_STEPS + silence + steps + 2;
    let mut notes = primer();
    notes.extend(primer().into_iter().map(|n| Note {
        start: n.start + again,
        ..n
    }));
    let end = again + PRIMER_STEPS + silence + steps;
    let session = timeline.session(
        host_notes(&notes, &timeline),
        timeline.sample_of_step(end + 4),
    );
    let events = generated(&run(&session, &mut model, &settings(), 512));
    let ons = |from: u32, to: u32| {
        events
            .iter()
            .filter(|e| e.event.on)
            .filter(|e| {
                (timeline.sample_of_step(from)..timeline.sample_of_step(to)).contains(&e.sample)
            })
            .count()
    };
    assert!(ons(0, again) > 0, "the first answer");
    assert_eq!(ons(again, again + PRIMER_STEPS + silence), 0, "listening");
    assert!(
        ons(again + PRIMER_STEPS + silence, end) > 0,
        "the second answer"
    );
    assert!(hanging(&events).is_empty());
}

#[test]
fn playing_over_the_model_ends_its_notes_at_once() {
    let mut model = shipped(MODELS[1]);
    let step_beats = model.meta().step_beats;
    let (session, timeline) = session(step_beats);
    let (silence, _) = turn(step_beats);
    // A key struck off the grid, two steps into the model's turn.
    let at = timeline.sample_of_step(PRIMER_STEPS + silence + 2) + 777;
    let mut interrupted = session.clone();
    interrupted.notes.push((at, true, 64, 90).into());
    interrupted.notes.push((at + 3000, false, 64, 0).into());
    interrupted.notes.sort();
    // Long enough for the model's second answer to end.
    interrupted.length += 3 * 4 * 24_000;
    let events = run(&interrupted, &mut model, &settings(), 256);
    let before = generated(&events);
    assert!(before.iter().any(|e| e.event.on && e.sample < at));
    // Nothing generated sounds after the player's note.
    let mut on = std::collections::BTreeSet::new();
    for e in before.iter().filter(|e| e.sample <= at) {
        if e.event.on {
            on.insert(e.event.pitch);
        } else {
            on.remove(&e.event.pitch);
        }
    }
    assert!(
        on.is_empty(),
        "still sounding after the interruption: {on:?}"
    );
    assert!(hanging(&events).is_empty());
}

#[test]
fn a_seek_a_stop_or_a_loop_in_the_models_turn_leaves_nothing_hanging() {
    for name in MODELS {
        let mut model = shipped(name);
        let step_beats = model.meta().step_beats;
        let (base, timeline) = session(step_beats);
        let (silence, _) = turn(step_beats);
        // Three steps and a bit into the model's turn.
        let cut = timeline.sample_of_step(PRIMER_STEPS + silence + 3) + 1234;
        let cut_beat = cut as f64 / 24_000.0;
        let mut seek = base.clone();
        seek.segments.push(play(cut, 120.0, 64.0));
        let mut stopped = base.clone();
        stopped.segments.push(stop(cut, 120.0));
        let mut looped = base.clone();
        looped.segments[0] = Segment {
            looped: Some((0.0, cut_beat)),
            ..looped.segments[0]
        };
        for (what, s) in [("seek", seek), ("stop", stopped), ("loop", looped)] {
            for size in [64, 1000] {
                let events = run(&s, &mut model, &settings(), size);
                let generated = generated(&events);
                assert!(
                    generated.iter().any(|e| e.event.on && e.sample < cut),
                    "{name} {what}: the model played before the cut"
                );
                let mut on = std::collections::BTreeSet::new();
                for e in generated.iter().filter(|e| e.sample <= cut) {
                    if e.event.on {
                        on.insert(e.event.pitch);
                    } else {
                        on.remove(&e.event.pitch);
                    }
                }
                assert!(on.is_empty(), "{name} {what}: {on:?} sound past the cut");
                assert!(hanging(&events).is_empty(), "{name} {what}: notes left on");
            }
        }
    }
}

#[test]
fn harmonize_with_a_piano_roll_passes_the_input_through() {
    let model = shipped(MODELS[1]);
    let any = AnyModel::PianoRoll(model.clone());
    assert!(!any.can_harmonize(), "the window must offer continue only");
    assert!(AnyModel::from_bytes(bach_engine::DEFAULT_MODEL)
        .unwrap()
        .can_harmonize());
    let (session, _) = session(model.meta().step_beats);
    for pass_through in [true, false] {
        let s = Settings {
            mode: Mode::Harmonize,
            pass_through,
            ..settings()
        };
        let mut seq = Sequencer::new();
        let events = session
            .run(&mut seq, &mut model.clone(), &s, 512, |p| p())
            .unwrap();
        assert!(generated(&events).is_empty(), "nothing generated");
        assert_eq!(seq.steps_taken(), 0, "the model never steps");
        assert_eq!(seq.latency(), 0);
        // Every input note, as played, even with pass-through off.
        let input: Vec<(i64, bool, u8)> = session
            .notes
            .iter()
            .map(|n| (n.sample, n.on, n.pitch))
            .collect();
        let out: Vec<(i64, bool, u8)> = events
            .iter()
            .map(|e| (e.sample, e.event.on, e.event.pitch))
            .collect();
        assert_eq!(out, input);
    }
}
