//! Stepping a loaded model allocates nothing: a counting global allocator
//! watches 10,000 steps of each kind of model, sampling included, every
//! musical operation of a performer, and naming chords (the window's
//! labels).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bach_engine::ahead::Upcoming;
use bach_engine::chord::{analyze, ChordFollower, Text};
use bach_engine::file::{random_tensors, to_bytes};
use bach_engine::perform::{HarmonizeStep, Heard, MelodyNote};
use bach_engine::{
    Ahead, AnyModel, BarPosition, CoreKind, Feature, FrameOutput, Horizon, Key, KeyFrame, Meter,
    Mode, ModelMeta, Performer, PianoRollModel, Sampler, StepContext, Token, VoiceRange,
    VoicesModel,
};

struct Counting;

thread_local! {
    // Only this thread's allocations count: the test harness runs others.
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if WATCHING.with(|w| w.get()) {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_allocation();
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations, frees and reallocations it made.
fn count<F: FnOnce()>(f: F) -> usize {
    let before = ALLOCATIONS.with(|a| a.get());
    WATCHING.with(|w| w.set(true));
    f();
    WATCHING.with(|w| w.set(false));
    ALLOCATIONS.with(|a| a.get()) - before
}

fn model(meta: &ModelMeta) -> AnyModel {
    AnyModel::from_bytes(&to_bytes(meta, &random_tensors(meta, 1, 0.3)).unwrap()).unwrap()
}

fn voices(meta: &ModelMeta) -> VoicesModel {
    model(meta).into_voices().unwrap()
}

fn piano_roll(meta: &ModelMeta) -> PianoRollModel {
    model(meta).into_piano_roll().unwrap()
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a broken counter would pass every test below.
    assert!(count(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}

#[test]
fn voices_steps_do_not_allocate() {
    for core in [CoreKind::Gru, CoreKind::Lstm, CoreKind::Tanh] {
        let mut m = voices(&ModelMeta::satb(core, 2, 64));
        let mut sampler = Sampler::with_temperature(1.0);
        sampler.ranges[2] = Some(VoiceRange::new(48, 67));
        let mut performer = Performer::new(sampler, 7);
        let mut sampled_notes = 0usize;
        let n = count(|| {
            for t in 0..10_000 {
                // Harmonize: a melody note every four steps, held between.
                let melody = if t % 4 == 0 {
                    Token::Onset(60 + (t % 12) as u8)
                } else {
                    Token::Hold
                };
                let clamp = [Some(melody), None, None, None];
                let out = performer.step(&mut m, &StepContext::common(t % 16), &clamp);
                sampled_notes += out[1..].iter().filter(|t| t.onset().is_some()).count();
                if t % 2_500 == 0 {
                    performer.restart(&mut m, t as u64);
                }
            }
        });
        assert_eq!(n, 0, "{core:?}: {n} allocations in 10,000 steps");
        assert!(sampled_notes > 100, "{core:?}: the model sampled notes");
    }
}

#[test]
fn pianoroll_steps_do_not_allocate() {
    let mut nade = ModelMeta::pianoroll(CoreKind::Lstm, 1, 48, 0.5);
    nade.frame = FrameOutput::Nade { hidden: 32 };
    for meta in [ModelMeta::pianoroll(CoreKind::Gru, 2, 64, 0.5), nade] {
        let mut m = piano_roll(&meta);
        let mut performer = Performer::new(Sampler::with_temperature(0.8), 3);
        let mut notes = 0;
        let n = count(|| {
            for t in 0..10_000 {
                let observed = (t % 32 < 8).then(|| KeyFrame::from_pitches([60, 64, 67]));
                notes += performer.play_frame(&mut m, observed).len();
            }
        });
        assert_eq!(n, 0, "{:?}: {n} allocations in 10,000 frames", meta.frame);
        assert!(notes > 0);
    }
}

/// A model that hears the meter, knows keys and looks ahead.
fn context_meta() -> ModelMeta {
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 48);
    meta.features = vec![
        Feature::PreviousStep,
        Feature::Meter,
        Feature::KeyMode,
        Feature::Ahead { notes: 4 },
    ];
    meta.format_version = meta.needed_version();
    meta
}

/// The same, also hearing what each voice sounds and for how long, with
/// the pair score and the outer voices decided first.
fn sounding_meta() -> ModelMeta {
    let mut meta = context_meta();
    meta.features.insert(1, Feature::Sounding);
    meta.pair_score = true;
    meta.intervals_by_size = true;
    meta.order = vec![0, 3, 1, 2];
    meta.format_version = meta.needed_version();
    meta
}

/// The same with a hidden layer in each head.
fn head_hidden_meta() -> ModelMeta {
    let mut meta = sounding_meta();
    meta.head_hidden = 16;
    meta.format_version = meta.needed_version();
    meta
}

/// Step `t`'s context: the meter changes every 96 steps (4/4, 3/4, 6/8),
/// the key every 400 (so the performer moves its frame mid-phrase), and
/// the melody is known ahead on three of four stretches.
fn changing_context(t: usize) -> StepContext {
    let meters = [Meter::new(4, 4), Meter::new(3, 4), Meter::new(6, 8)];
    let key = Key {
        tonic: ((t / 400) * 7 % 12) as u8,
        mode: if (t / 400).is_multiple_of(2) {
            Mode::Major
        } else {
            Mode::Minor
        },
    };
    let horizon = Horizon::ALL[(t / 50) % 4];
    let mut ahead = Ahead {
        horizon,
        ..Ahead::default()
    };
    if horizon != Horizon::Off {
        ahead.notes[0] = Some(Upcoming {
            pitch: 60 + (t % 7) as u8,
            steps: 1 + (t % 5) as u16,
        });
    }
    StepContext {
        bar: BarPosition::new(t, meters[(t / 96) % 3], 0.25),
        key: (t % 1200 >= 100).then_some(key),
        ahead,
    }
}

#[test]
fn performer_operations_do_not_allocate() {
    for meta in [
        ModelMeta::satb(CoreKind::Gru, 1, 48),
        context_meta(),
        sounding_meta(),
        head_hidden_meta(),
    ] {
        performer_operations_do_not_allocate_with(&meta);
    }
}

fn performer_operations_do_not_allocate_with(meta: &ModelMeta) {
    let mut m = voices(meta);
    let mut performer = Performer::new(Sampler::with_temperature(0.7), 11);
    let (mut rests, mut voiced, mut played) = (0, 0, 0);
    let n = count(|| {
        for t in 0..10_000usize {
            match (t / 64) % 3 {
                // Harmonize a melody with a rest in every eight steps.
                0 => {
                    let melody = (t % 8 != 7).then_some(MelodyNote {
                        pitch: 60 + (t % 5) as u8,
                        struck: t % 2 == 0,
                    });
                    match performer.harmonize(&mut m, &changing_context(t), melody) {
                        HarmonizeStep::Rest => rests += 1,
                        HarmonizeStep::Voices(v) => voiced += v.len(),
                    }
                }
                // Listen to a chord, then let the model play on.
                1 => {
                    let chord = (1u128 << 48) | (1u128 << 64) | (1u128 << (67 + t % 3));
                    let heard = Heard {
                        keys: chord,
                        struck: if t % 4 == 0 { chord } else { 0 },
                    };
                    performer.listen(&mut m, &changing_context(t), heard);
                    if t % 64 == 63 {
                        performer.take_turn();
                    }
                }
                _ => played += performer.play(&mut m, &changing_context(t)).len(),
            }
            if t % 1_000 == 999 {
                performer.restart(&mut m, t as u64);
            }
        }
    });
    assert_eq!(n, 0, "{n} allocations in 10,000 performer steps");
    assert!(rests > 0 && voiced > 0 && played > 0);
}

/// A continue session through the sequencer with each shipped piano-roll
/// model: the player's frames observed, the model's turn sampled through its
/// NADE and sounded, a tempo change, a loop wrap and a stop, in odd-sized
/// blocks. Only the `process` calls are counted.
#[test]
fn piano_roll_continue_in_the_sequencer_does_not_allocate() {
    use bach_engine::sequencer::session::{notes, play, stop, Segment, Session};
    use bach_engine::sequencer::{Mode, Sequencer, Settings, Source};

    let spb = 24_000i64; // 120 bpm at 48 kHz
    let mut keys = Vec::new();
    for (i, pitch) in [60u8, 64, 67, 72, 71, 67].into_iter().enumerate() {
        let t = i as i64 * spb / 2 + 311;
        keys.push((t, true, pitch, 90));
        keys.push((t, true, pitch - 24, 70));
        keys.push((t + spb / 3, false, pitch, 0));
        keys.push((t + spb / 3, false, pitch - 24, 0));
    }
    // The player again after the model's first turn, in the loop's second pass.
    keys.push((20 * spb, true, 65, 90));
    keys.push((21 * spb, false, 65, 0));
    keys.sort_by_key(|k| (k.0, k.1));
    let session = Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 14.0)),
                ..play(0, 120.0, 0.0)
            },
            play(18 * spb, 100.0, 40.0),
            stop(30 * spb, 90.0),
        ],
        notes: notes(keys),
        length: 36 * spb,
    };
    let settings = Settings {
        mode: Mode::Continue,
        silence_beats: 1.0,
        continue_bars: 2,
        temperature: 1.0,
        ..Settings::default()
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    for name in [
        "nottingham-pianoroll-gru-nade.safetensors",
        "jsb-pianoroll-lstm-nade.safetensors",
    ] {
        let mut model = AnyModel::load(&dir.join(name)).unwrap();
        let mut seq = Sequencer::new();
        let mut allocations = 0;
        let events = session
            .run(&mut seq, &mut model, &settings, 37, |process| {
                allocations += count(process)
            })
            .unwrap();
        assert_eq!(allocations, 0, "{name}: process() allocated");
        let played = events
            .iter()
            .filter(|e| e.event.on && matches!(e.event.source, Source::Voice(_)))
            .count();
        assert!(played > 0, "{name}: the model played");
    }
}

#[test]
fn naming_a_chord_allocates_nothing() {
    let keys = [
        Key::parse("C").unwrap(),
        Key::parse("a").unwrap(),
        Key::parse("Db").unwrap(),
        Key::parse("f#").unwrap(),
    ];
    let sonorities: [[Option<u8>; 4]; 6] = [
        [Some(72), Some(67), Some(64), Some(48)],
        [Some(77), Some(67), Some(62), Some(59)],
        [Some(75), Some(72), Some(69), Some(54)],
        [Some(74), Some(72), Some(67), Some(55)],
        [Some(72), Some(60), None, Some(48)],
        [Some(72), Some(66), Some(63), Some(56)],
    ];
    let mut written = 0;
    let mut follower = ChordFollower::new();
    let allocations = count(|| {
        for key in keys {
            for (i, pitches) in sonorities.iter().enumerate() {
                let position = BarPosition::new(i, Meter::COMMON, 0.25);
                let a = analyze(pitches, key, Some(position));
                let symbol: Text = a.symbol();
                let numeral: Text = a.numeral_text();
                written += symbol.as_str().len() + numeral.as_str().len();
                let mut fixed = Text::new();
                a.write_symbol(&mut fixed).unwrap();
                a.write_numeral(&mut fixed).unwrap();
                written += fixed.as_str().len();
                written += follower
                    .step(pitches, key, position)
                    .symbol()
                    .as_str()
                    .len();
            }
        }
    });
    assert_eq!(allocations, 0);
    assert!(written > 0);
}
