//! The sequencer driven like a host would drive it: a session (transport
//! segments and input notes on an absolute sample timeline) cut into buffers
//! of various sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bach_engine::file::{random_tensors, to_bytes};
use bach_engine::model::{Heads, StepContext, VoicesModel};
use bach_engine::sequencer::session::{
    hanging, notes as keys, play, samples_per_beat, stop, HostNote, Segment, Session, Timed,
    SAMPLE_RATE,
};
use bach_engine::sequencer::{
    Block, EventBuffer, InputEvent, Mode, Sequencer, Settings, Source, Transport, Velocity,
    VoiceStepper,
};
use bach_engine::token::{Token, VoiceRange, MAX_VOICES};
use bach_engine::{CoreKind, ModelMeta};

// ---------------------------------------------------------------- allocations

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------- models

const SR: f64 = SAMPLE_RATE;

fn random_model(seed: u64) -> VoicesModel {
    let meta = ModelMeta::satb(CoreKind::Gru, 1, 32);
    let bytes = to_bytes(&meta, &random_tensors(&meta, seed, 0.5)).unwrap();
    VoicesModel::from_bytes(&bytes).unwrap()
}

/// A model whose free voices start a new note on every step, so every step
/// is visible in the output.
struct Busy {
    ranges: [VoiceRange; 4],
    steps: usize,
    tokens: [Token; 4],
    positions: Vec<usize>,
    resets: usize,
}

impl Busy {
    fn new() -> Self {
        Self {
            ranges: [
                VoiceRange::new(54, 87),
                VoiceRange::new(46, 80),
                VoiceRange::new(40, 75),
                VoiceRange::new(30, 72),
            ],
            steps: 0,
            tokens: [Token::Rest; 4],
            positions: Vec::with_capacity(1 << 16),
            resets: 0,
        }
    }
}

impl VoiceStepper for Busy {
    fn voice_count(&self) -> usize {
        4
    }
    fn voice_range(&self, v: usize) -> VoiceRange {
        self.ranges[v]
    }
    fn step_beats(&self) -> f64 {
        0.25
    }
    fn bar_steps(&self) -> usize {
        16
    }
    fn reset(&mut self) {
        self.steps = 0;
        self.resets += 1;
    }
    fn step(
        &mut self,
        ctx: &StepContext,
        clamp: &[Option<Token>],
        _: &mut dyn FnMut(&mut dyn Heads, &mut [Token]),
    ) -> &[Token] {
        if self.positions.len() < self.positions.capacity() {
            self.positions.push(ctx.bar.step);
        }
        for (v, token) in self.tokens.iter_mut().enumerate() {
            *token = clamp[v].unwrap_or(Token::Onset(
                self.ranges[v].low + 10 + ((self.steps + v) % 5) as u8,
            ));
        }
        self.steps += 1;
        &self.tokens
    }
}

// ---------------------------------------------------------------- a host

/// Plays `session` in buffers of `size` frames through a fresh sequencer
/// (the engine's pretend host), counting allocations inside `process` only.
fn run<M: VoiceStepper>(
    session: &Session,
    model: &mut M,
    settings: &Settings,
    size: u32,
) -> (Vec<Timed>, Sequencer) {
    let mut seq = Sequencer::new();
    let events = session
        .run(&mut seq, model, settings, size, |process| {
            COUNTING.with(|c| c.set(true));
            process();
            COUNTING.with(|c| c.set(false));
        })
        .expect("no events dropped");
    (events, seq)
}

fn generated(events: &[Timed]) -> Vec<Timed> {
    events
        .iter()
        .copied()
        .filter(|e| matches!(e.event.source, Source::Voice(_)))
        .collect()
}

fn voice_ons(events: &[Timed], v: u8) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.event.on && e.event.source == Source::Voice(v))
        .map(|e| e.sample)
        .collect()
}

/// Equal event lists, or a short report of the first difference.
fn assert_same(a: &[Timed], b: &[Timed], what: &str) {
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        let lo = i.saturating_sub(2);
        panic!(
            "{what}: first difference at event {i} of {}/{}:\n  {:?}\nvs\n  {:?}",
            a.len(),
            b.len(),
            &a[lo.min(a.len())..(i + 2).min(a.len())],
            &b[lo.min(b.len())..(i + 2).min(b.len())]
        );
    }
}

/// Every key that was turned on is off after its last event.
fn assert_nothing_hangs(events: &[Timed]) {
    let left = hanging(events);
    assert!(left.is_empty(), "notes left on (channel, pitch): {left:?}");
}

/// A melody of quarter and eighth notes, some placed off the grid, at 120 bpm.
fn melody(start_beat: f64, tempo: f64) -> Vec<(i64, bool, u8, u8)> {
    let spb = samples_per_beat(tempo);
    let notes = [
        (0.0, 1.0, 72u8),
        (1.0, 0.5, 74),
        (1.5, 0.5, 76),
        (2.03, 0.9, 77), // a little late
        (2.98, 1.0, 76), // a little early
        (4.0, 2.0, 74),
        (6.0, 1.9, 72),
    ];
    let mut out = Vec::new();
    for (beat, len, pitch) in notes {
        let on = ((start_beat + beat) * spb).round() as i64;
        let off = ((start_beat + beat + len) * spb).round() as i64;
        out.push((on, true, pitch, 90));
        out.push((off, false, pitch, 0));
    }
    out.sort_by_key(|n| (n.0, n.1));
    out
}

const SIZES: [u32; 4] = [1, 37, 512, 4096];

// ---------------------------------------------------------------- tests

#[test]
fn harmony_sounds_at_each_melody_onset() {
    let session = Session {
        segments: vec![play(0, 120.0, 0.0), stop(10 * 24_000, 120.0)],
        notes: keys(melody(1.0, 120.0)),
        length: 11 * 24_000,
    };
    let (events, seq) = run(&session, &mut Busy::new(), &Settings::default(), 512);
    for &HostNote {
        sample: t,
        on,
        pitch,
        ..
    } in session.notes.iter().filter(|n| n.on)
    {
        let at: Vec<_> = events
            .iter()
            .filter(|e| e.sample == t && e.event.on)
            .collect();
        assert!(
            at.iter()
                .any(|e| e.event.source == Source::Input && e.event.pitch == pitch && on),
            "melody {pitch} passed through at {t}"
        );
        for v in 1..4u8 {
            assert!(
                at.iter().any(|e| e.event.source == Source::Voice(v)),
                "voice {v} starts with the melody note {pitch} at sample {t}: {at:?}"
            );
        }
    }
    // Voice 0 is the melody itself and is never generated in harmonize mode.
    assert!(voice_ons(&events, 0).is_empty());
    assert!(!seq.generating());
    assert_nothing_hangs(&events);
}

#[test]
fn steps_land_on_exact_grid_samples_between_onsets() {
    // One long melody note: the free voices move on every 16th.
    let spb = samples_per_beat(120.0);
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([(0, true, 72, 100), (4 * 24_000, false, 72, 0)]),
        length: 4 * 24_000 + 100,
    };
    let (events, _) = run(&session, &mut Busy::new(), &Settings::default(), 37);
    let expected: Vec<i64> = (0..16)
        .map(|k| (k as f64 * 0.25 * spb).ceil() as i64)
        .collect();
    assert_eq!(voice_ons(&events, 1), expected);
    assert_eq!(voice_ons(&events, 3), expected);
    // The harmony ends with the melody (the next step rests).
    let off = events
        .iter()
        .rfind(|e| !e.event.on && e.event.source == Source::Voice(1))
        .unwrap();
    assert_eq!(off.sample, 4 * 24_000);
}

#[test]
fn off_grid_onsets_belong_to_their_step_without_latency() {
    let spb = samples_per_beat(120.0);
    // 0.2 beats (a 16th is 0.25): 25 ms early for step 1, which runs at once.
    let early = (0.2 * spb) as i64;
    // 0.55 beats: 25 ms late for step 2, inside the 40 ms tolerance.
    let late = (0.55 * spb) as i64;
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([
            (early, true, 72, 100),
            (late, true, 74, 100),
            (late + 2000, false, 72, 0),
            (late + 3000, false, 74, 0),
        ]),
        length: 24_000,
    };
    let mut model = Busy::new();
    let (events, _) = run(&session, &mut model, &Settings::default(), 512);
    let ons = voice_ons(&events, 1);
    assert_eq!(ons[0], early, "step 1 runs at the early onset");
    // No second onset at step 1's boundary: the early onset took it.
    assert!(!ons.contains(&((0.25 * spb).ceil() as i64)));
    // The early note showed a player: step 2 waits for its late note
    // instead of deciding without it at its boundary.
    assert!(!ons.contains(&((0.5 * spb).ceil() as i64)));
    assert_eq!(ons[1], late, "step 2 sounds with its late note");
    // Each step is taken once; the model is not stepped while no melody
    // sounds (step 0 before it, step 3 after).
    assert_eq!(model.positions, [1, 2]);
    let settings = Settings {
        timing_ms: 0.0,
        ..Settings::default()
    };
    let mut model = Busy::new();
    let (events, _) = run(&session, &mut model, &settings, 512);
    let ons = voice_ons(&events, 1);
    assert!(
        ons.contains(&((0.5 * spb).ceil() as i64)),
        "Timing 0: step 2 on its boundary"
    );
    assert_eq!(
        model.positions,
        [1, 2, 3],
        "Timing 0: the late note is the next step's, never a step taken twice"
    );
}

#[test]
fn output_does_not_depend_on_buffer_size() {
    let spb = samples_per_beat(120.0);
    let mut notes = melody(0.0, 120.0);
    // A second phrase after a seek back, with a chord under a held melody note.
    let seek_at = (8.5 * spb) as i64;
    notes.extend(
        melody(0.0, 96.0)
            .into_iter()
            .map(|(t, on, p, v)| (t + seek_at + 1234, on, p, v)),
    );
    notes.push((seek_at + 1234 + 100, true, 60, 70));
    notes.push((seek_at + 1234 + 9000, false, 60, 0));
    notes.sort_by_key(|n| (n.0, n.1));
    let tempo_change = seek_at + 4 * 24_000;
    let session = Session {
        segments: vec![
            play(0, 120.0, 0.0),
            play(seek_at, 120.0, 2.0),
            // Tempo change at the position the previous segment reached.
            play(tempo_change, 96.0, 2.0 + 4.0),
            Segment {
                looped: Some((8.0, 12.0)),
                ..play(tempo_change + 4 * 30_000, 96.0, 10.0)
            },
            stop(tempo_change + 4 * 30_000 + 8 * 30_000, 96.0),
        ],
        notes: keys(notes),
        length: tempo_change + 4 * 30_000 + 9 * 30_000,
    };
    let settings = Settings {
        temperature: 1.0,
        ..Settings::default()
    };
    let reference = run(&session, &mut random_model(7), &settings, SIZES[0]).0;
    assert!(
        generated(&reference).len() > 40,
        "the model plays: {}",
        reference.len()
    );
    for size in &SIZES[1..] {
        let (events, _) = run(&session, &mut random_model(7), &settings, *size);
        assert_same(&events, &reference, &format!("buffer size {size}"));
    }
    let busy = run(&session, &mut Busy::new(), &settings, 1).0;
    for size in &SIZES[1..] {
        assert_same(
            &run(&session, &mut Busy::new(), &settings, *size).0,
            &busy,
            &format!("busy, size {size}"),
        );
    }
    assert_nothing_hangs(&reference);
}

#[test]
fn tempo_change_bends_the_grid_without_ending_notes() {
    let change = 2 * 24_000; // beat 2 at 120 bpm
    let session = Session {
        segments: vec![play(0, 120.0, 0.0), play(change, 60.0, 2.0)],
        notes: keys([(0, true, 72, 100), (change + 4 * 48_000, false, 72, 0)]),
        length: change + 4 * 48_000 + 10,
    };
    let (events, _) = run(&session, &mut Busy::new(), &Settings::default(), 512);
    let ons = voice_ons(&events, 2);
    let before: Vec<i64> = (0..8).map(|k| k * 6000).collect();
    let after: Vec<i64> = (0..16).map(|k| change + k * 12_000).collect();
    assert_eq!(ons, [before, after].concat());
    // The held melody note is never cut: no step after the change restarted the model.
    assert!(events
        .iter()
        .all(|e| e.event.source != Source::Input || e.event.on || e.sample == change + 4 * 48_000));
}

#[test]
fn loop_wrap_seek_and_stop_end_every_generated_note() {
    let spb = samples_per_beat(120.0);
    // Loop beats 0..2; the melody is held across the loop end.
    let session = Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 2.0)),
                ..play(0, 120.0, 0.0)
            },
            play(5 * 24_000 + 77, 120.0, 40.0), // seek
            stop(7 * 24_000 + 5, 120.0),
        ],
        notes: keys([(0, true, 72, 100), (8 * 24_000, false, 72, 0)]),
        length: 9 * 24_000,
    };
    for size in SIZES {
        let (events, seq) = run(&session, &mut Busy::new(), &Settings::default(), size);
        let wraps = [2 * 24_000, 4 * 24_000];
        for cut in wraps.iter().chain(&[5 * 24_000 + 77, 7 * 24_000 + 5]) {
            for v in 1..4u8 {
                let sounding = events
                    .iter()
                    .rfind(|e| e.sample < *cut && e.event.source == Source::Voice(v))
                    .is_some_and(|e| e.event.on);
                let ended_here = events
                    .iter()
                    .any(|e| e.sample == *cut && !e.event.on && e.event.source == Source::Voice(v));
                assert!(
                    !sounding || ended_here,
                    "size {size}: voice {v} not ended at {cut}"
                );
            }
        }
        // After the stop the held melody is still harmonized on the internal clock.
        let stopped_ons = voice_ons(&events, 1)
            .into_iter()
            .filter(|&t| t >= 7 * 24_000 + 5)
            .count();
        assert!(
            stopped_ons >= 4,
            "internal clock steps while stopped: {stopped_ons}"
        );
        // The loop restarts the model: both passes play the same notes.
        let pass = |from: i64| -> Vec<(i64, u8)> {
            generated(&events)
                .iter()
                .filter(|e| e.event.on && e.sample >= from && e.sample < from + (2.0 * spb) as i64)
                .map(|e| (e.sample - from, e.event.pitch))
                .collect()
        };
        assert_eq!(pass(0), pass(2 * 24_000));
        assert!(!seq.generating(), "the melody ended, so does the harmony");
        assert_nothing_hangs(&events);
    }
}

#[test]
fn stopped_transport_harmonizes_live_input_on_the_players_time() {
    let session = Session {
        segments: vec![stop(0, 100.0)],
        notes: keys([
            (12_345, true, 67, 80),
            (40_000, false, 67, 0),
            (50_001, true, 69, 80),
            (60_000, false, 69, 0),
        ]),
        length: 80_000,
    };
    let (events, seq) = run(&session, &mut Busy::new(), &Settings::default(), 256);
    let ons = voice_ons(&events, 1);
    assert_eq!(ons[0], 12_345);
    // The pace of a phrase's first note is unknown: the voices hold under
    // it rather than move on a grid the player has not shown.
    assert_eq!(ons[1], 50_001);
    assert!(!seq.generating());
    assert_nothing_hangs(&events);
}

/// A melody of `beats` (each note's length in beats) played freely with the
/// transport stopped at `bpm` while the host says 120, from sample 10 000,
/// each note released a tenth of a beat before the next.
fn free_melody(bpm: f64, beats: &[f64]) -> Session {
    let spb = samples_per_beat(bpm);
    let pitches = [72u8, 74, 76, 77, 79, 77, 76, 74];
    let mut notes = Vec::new();
    let mut at = 0.0;
    for (i, len) in beats.iter().enumerate() {
        let pitch = pitches[i % pitches.len()];
        notes.push((10_000 + (at * spb) as i64, true, pitch, 90));
        notes.push((10_000 + ((at + len - 0.1) * spb) as i64, false, pitch, 0));
        at += len;
    }
    Session {
        segments: vec![stop(0, 120.0)],
        notes: keys(notes),
        length: 10_000 + ((at + 1.0) * spb) as i64,
    }
}

/// Quarter notes played freely ([`free_melody`]).
fn free_quarters(bpm: f64, count: usize) -> Session {
    free_melody(bpm, &vec![1.0; count])
}

#[test]
fn stopped_transport_follows_a_player_slower_or_faster_than_the_host() {
    for bpm in [96.0, 120.0, 144.0] {
        let session = free_quarters(bpm, 12);
        let mut model = Busy::new();
        let (events, _) = run(&session, &mut model, &Settings::default(), 128);
        // Every quarter is four 16ths of the model's grid, the first note a
        // one-beat pickup: positions run 12, 13, 14, 15, then 0, 1, 2, ...
        // through the bars.
        let expected: Vec<usize> = (0..44).map(|i| (12 + i) % 16).collect();
        assert_eq!(model.positions[..44], expected[..], "{bpm} bpm");
        // And every melody note is harmonized the moment it comes.
        let ons = voice_ons(&events, 1);
        for n in session.notes.iter().filter(|n| n.on) {
            assert!(ons.contains(&n.sample), "{bpm} bpm: note at {}", n.sample);
        }
        assert_nothing_hangs(&events);
    }
}

#[test]
fn stopped_transport_finds_the_bar_from_the_first_long_note() {
    // Played freely at the host's 120 bpm: quarter, quarter, half, then
    // quarters. The first note is taken as a one-beat pickup, which puts
    // the half note on the bar's second beat; a long note there says the
    // melody began on a downbeat, and the bar moves a beat from the next
    // note on. A melody whose half note falls on a strong beat keeps it.
    let mut model = Busy::new();
    let session = free_melody(120.0, &[1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0]);
    let (events, _) = run(&session, &mut model, &Settings::default(), 128);
    let expected: Vec<usize> = (0..28)
        .map(|k| if k < 16 { (12 + k) % 16 } else { k % 16 })
        .collect();
    assert_eq!(model.positions[..28], expected[..]);
    assert_nothing_hangs(&events);

    let mut model = Busy::new();
    let session = free_melody(120.0, &[1.0, 2.0, 1.0, 1.0, 1.0, 1.0]);
    run(&session, &mut model, &Settings::default(), 128);
    let expected: Vec<usize> = (0..24).map(|k| (12 + k) % 16).collect();
    assert_eq!(model.positions[..24], expected[..], "a pickup stays one");
}

#[test]
fn same_seed_same_notes_other_seed_other_notes() {
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys(melody(0.0, 120.0)),
        length: 9 * 24_000,
    };
    let settings = Settings {
        temperature: 1.5,
        ..Settings::default()
    };
    let a = run(&session, &mut random_model(3), &settings, 512).0;
    let b = run(&session, &mut random_model(3), &settings, 4096).0;
    assert_same(&a, &b, "512 vs 4096");
    let other = Settings {
        seed: 99,
        ..settings
    };
    let c = run(&session, &mut random_model(3), &other, 512).0;
    assert_ne!(generated(&a), generated(&c));
}

#[test]
fn voices_channels_and_velocity_follow_settings() {
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([(0, true, 72, 33), (24_000, false, 72, 0)]),
        length: 30_000,
    };
    let mut settings = Settings::default();
    settings.voices[2] = false;
    settings.channels[1] = 9;
    settings.channels[3] = 9;
    settings.pass_through = false;
    let (events, _) = run(&session, &mut Busy::new(), &settings, 100);
    assert!(
        events.iter().all(|e| e.event.source != Source::Input),
        "no pass-through"
    );
    assert!(voice_ons(&events, 2).is_empty(), "tenor off");
    assert!(events
        .iter()
        .filter(|e| e.event.on)
        .all(|e| e.event.channel == 9 && e.event.velocity == 33));
    settings.velocity = Velocity::Fixed(101);
    let (events, _) = run(&session, &mut Busy::new(), &settings, 100);
    assert!(events
        .iter()
        .filter(|e| e.event.on)
        .all(|e| e.event.velocity == 101));
    assert_nothing_hangs(&events);
}

#[test]
fn generated_voices_stay_in_their_ranges() {
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys(melody(0.0, 120.0)),
        length: 9 * 24_000,
    };
    let settings = Settings {
        temperature: 1.0,
        ..Settings::default()
    };
    let model = random_model(11);
    let ranges: Vec<VoiceRange> = (0..4).map(|v| model.range(v).unwrap()).collect();
    let (events, _) = run(&session, &mut model.clone(), &settings, 512);
    for e in events.iter().filter(|e| e.event.on) {
        if let Source::Voice(v) = e.event.source {
            assert!(ranges[v as usize].contains(e.event.pitch), "{e:?}");
        }
    }
}

#[test]
fn continue_mode_listens_then_plays_then_listens() {
    let bar = 4 * 24_000; // 120 bpm
    let mut notes = Vec::new();
    for (i, pitch) in [60u8, 62, 64, 65, 67, 65, 64, 62].into_iter().enumerate() {
        let t = i as i64 * 12_000;
        notes.push((t, true, pitch, 90));
        notes.push((t + 11_000, false, pitch, 0));
    }
    let settings = Settings {
        mode: Mode::Continue,
        silence_beats: 1.0,
        continue_bars: 1,
        temperature: 0.0,
        ..Settings::default()
    };
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys(notes),
        length: 4 * bar,
    };
    let (events, seq) = run(&session, &mut Busy::new(), &settings, 512);
    let gen_ons: Vec<i64> = generated(&events)
        .iter()
        .filter(|e| e.event.on)
        .map(|e| e.sample)
        .collect();
    // Last input ends at 95_000; one beat of silence after the last step
    // with the note held brings the model in on the grid.
    let first = *gen_ons.first().expect("the model plays");
    assert!(
        first > 95_000 && first < 95_000 + 2 * 24_000 && first % 6000 == 0,
        "{first}"
    );
    // It plays one bar (16 steps), then stops and listens.
    let last_off = generated(&events)
        .iter()
        .filter(|e| !e.event.on)
        .map(|e| e.sample)
        .max()
        .unwrap();
    assert_eq!(last_off, first + bar);
    assert!(gen_ons.iter().all(|&t| t < first + bar));
    assert!(!seq.model_playing());
    assert_nothing_hangs(&events);
}

/// The model's turn lasts bars of the host's meter: in 3/4 and 6/8 a bar
/// is 12 steps, in 3/2 it is 24.
#[test]
fn the_models_turn_lasts_bars_of_the_hosts_meter() {
    for (meter, bar_steps) in [
        (bach_engine::Meter::new(3, 4), 12),
        (bach_engine::Meter::new(6, 8), 12),
        (bach_engine::Meter::new(3, 2), 24),
    ] {
        let mut notes = Vec::new();
        for (i, pitch) in [60u8, 62, 64, 65].into_iter().enumerate() {
            let t = i as i64 * 12_000;
            notes.push((t, true, pitch, 90));
            notes.push((t + 11_000, false, pitch, 0));
        }
        let settings = Settings {
            mode: Mode::Continue,
            silence_beats: 1.0,
            continue_bars: 2,
            temperature: 0.0,
            ..Settings::default()
        };
        let mut seg = play(0, 120.0, 0.0);
        seg.meter = meter;
        let session = Session {
            segments: vec![seg],
            notes: keys(notes),
            length: 8 * 96_000,
        };
        let (events, seq) = run(&session, &mut Busy::new(), &settings, 512);
        let generated = generated(&events);
        let first = generated
            .iter()
            .filter(|e| e.event.on)
            .map(|e| e.sample)
            .min()
            .expect("the model plays");
        let last_off = generated
            .iter()
            .filter(|e| !e.event.on)
            .map(|e| e.sample)
            .max()
            .unwrap();
        assert_eq!(
            last_off,
            first + 2 * bar_steps * 6000,
            "{meter:?}: two bars of {bar_steps} steps"
        );
        assert!(!seq.model_playing());
        assert_nothing_hangs(&events);
    }
}

#[test]
fn playing_over_the_model_takes_the_turn_back() {
    let settings = Settings {
        mode: Mode::Continue,
        silence_beats: 0.5,
        continue_bars: 4,
        ..Settings::default()
    };
    let interrupt = 3 * 24_000 + 999;
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([
            (0, true, 64, 90),
            (6000, false, 64, 0),
            (interrupt, true, 70, 90),
            (interrupt + 500, false, 70, 0),
        ]),
        length: 4 * 24_000,
    };
    let (events, _) = run(&session, &mut Busy::new(), &settings, 64);
    let generated = generated(&events);
    assert!(
        generated.iter().any(|e| e.event.on && e.sample < interrupt),
        "the model played"
    );
    // Quiet for the set silence after the player's note, then it may answer again.
    assert!(generated
        .iter()
        .all(|e| !e.event.on || e.sample < interrupt || e.sample >= interrupt + 12_000));
    assert!(
        generated
            .iter()
            .any(|e| !e.event.on && e.sample == interrupt),
        "its notes end at the interruption"
    );
}

#[test]
fn bypass_and_reset_end_generated_notes() {
    let mut model = Busy::new();
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(256);
    let settings = Settings::default();
    let transport = Transport {
        playing: true,
        tempo: Some(120.0),
        pos_beats: Some(0.0),
        loop_range: None,
        ..Transport::default()
    };
    let block = Block {
        sample_rate: SR,
        frames: 512,
        transport,
        bypassed: false,
    };
    let on = InputEvent::note(0, true, 0, 72, 100);
    seq.process(&mut model, &settings, &block, &[on], &mut out);
    assert!(seq.generating());
    let bypassed = Block {
        bypassed: true,
        ..block
    };
    seq.process(&mut model, &settings, &bypassed, &[], &mut out);
    assert!(!seq.generating());
    assert_eq!(
        out.events()
            .iter()
            .filter(|e| !e.on && matches!(e.source, Source::Voice(_)))
            .count(),
        3
    );
    // Back from bypass: the held melody sounds its harmony again on the next step.
    let back = Block {
        frames: 12_000,
        transport: Transport {
            pos_beats: Some(512.0 / 24_000.0 * 2.0),
            ..transport
        },
        ..block
    };
    seq.process(&mut model, &settings, &back, &[], &mut out);
    assert!(seq.generating());
    seq.reset();
    seq.process(&mut model, &settings, &block, &[], &mut out);
    let offs = out
        .events()
        .iter()
        .filter(|e| !e.on && e.offset == 0)
        .count();
    assert_eq!(
        offs, 3,
        "reset ends the notes at the next block's first sample"
    );
}

#[test]
fn processing_never_allocates() {
    // Session::run counts allocations inside process(); run a busy session
    // with every feature and check the count.
    let session = Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 2.0)),
                ..play(0, 120.0, 0.0)
            },
            play(5 * 24_000, 140.0, 17.0),
            stop(7 * 24_000, 90.0),
        ],
        notes: keys(melody(0.5, 120.0)),
        length: 9 * 24_000,
    };
    for mode in [Mode::Harmonize, Mode::Continue] {
        let settings = Settings {
            mode,
            silence_beats: 0.5,
            ..Settings::default()
        };
        let mut model = random_model(5);
        ALLOCATIONS.with(|a| a.set(0));
        let (events, _) = run(&session, &mut model, &settings, 37);
        assert!(!events.is_empty());
        assert_eq!(
            ALLOCATIONS.with(|a| a.get()),
            0,
            "{mode:?}: process() allocated"
        );
    }
    // A model that hears the meter, knows keys and looks ahead, with the
    // lookahead's delay line, the key follower and a 3/4 host.
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 24);
    meta.features = vec![
        bach_engine::Feature::PreviousStep,
        bach_engine::Feature::Meter,
        bach_engine::Feature::KeyMode,
        bach_engine::Feature::Ahead { notes: 4 },
    ];
    meta.format_version = meta.needed_version();
    let bytes = to_bytes(&meta, &random_tensors(&meta, 4, 0.5)).unwrap();
    let mut three = session.clone();
    for seg in &mut three.segments {
        seg.meter = bach_engine::Meter::new(3, 4);
    }
    for lookahead in [
        bach_engine::Horizon::Off,
        bach_engine::Horizon::Beat,
        bach_engine::Horizon::Bar,
    ] {
        let settings = Settings {
            lookahead,
            ..Settings::default()
        };
        let mut model = VoicesModel::from_bytes(&bytes).unwrap();
        ALLOCATIONS.with(|a| a.set(0));
        let (events, _) = run(&three, &mut model, &settings, 37);
        assert!(!events.is_empty());
        assert_eq!(
            ALLOCATIONS.with(|a| a.get()),
            0,
            "lookahead {lookahead:?}: process() allocated"
        );
    }
}

#[test]
fn a_full_buffer_drops_note_ons_but_never_note_offs() {
    let mut model = Busy::new();
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(0);
    let cap = out.capacity();
    let settings = Settings::default();
    let transport = Transport {
        playing: true,
        tempo: Some(120.0),
        pos_beats: Some(0.0),
        loop_range: None,
        ..Transport::default()
    };
    let block = Block {
        sample_rate: SR,
        frames: 48_000,
        transport,
        bypassed: false,
    };
    let mut input = Vec::new();
    for i in 0..cap as u32 {
        input.push(InputEvent::note(i * 10, true, 1, 72, 100));
        input.push(InputEvent::note(i * 10 + 5, false, 1, 72, 0));
    }
    seq.process(&mut model, &settings, &block, &input, &mut out);
    assert!(out.dropped() > 0);
    let stopped = Block {
        transport: Transport {
            playing: false,
            ..transport
        },
        ..block
    };
    let mut all: Vec<Timed> = out
        .events()
        .iter()
        .map(|&event| Timed {
            sample: event.offset as i64,
            event,
        })
        .collect();
    seq.process(&mut model, &settings, &stopped, &[], &mut out);
    all.extend(out.events().iter().map(|&event| Timed {
        sample: 48_000 + event.offset as i64,
        event,
    }));
    assert!(!seq.generating());
    assert_nothing_hangs(&all);
    let _ = MAX_VOICES;
}

#[test]
fn forgetting_input_stops_harmonizing_a_key_the_host_dropped() {
    let mut model = Busy::new();
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(256);
    let settings = Settings::default();
    let stopped = Transport {
        playing: false,
        tempo: Some(120.0),
        pos_beats: None,
        loop_range: None,
        ..Transport::default()
    };
    let block = Block {
        sample_rate: SR,
        frames: 12_000,
        transport: stopped,
        bypassed: false,
    };
    let on = InputEvent::note(0, true, 0, 72, 100);
    seq.process(&mut model, &settings, &block, &[on], &mut out);
    assert!(seq.generating());
    seq.reset();
    seq.forget_input();
    seq.process(&mut model, &settings, &block, &[], &mut out);
    assert!(!seq.generating());
    assert!(out.events().iter().all(|e| !e.on));
}

/// A keyboard or host may repeat a note-on for a key already held; its one
/// note-off must still end the pass-through note and the melody.
#[test]
fn a_repeated_note_on_is_ended_by_one_note_off() {
    let mut model = Busy::new();
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(256);
    let settings = Settings::default();
    let block = Block {
        sample_rate: SR,
        frames: 6_000,
        transport: Transport {
            playing: false,
            tempo: Some(120.0),
            pos_beats: None,
            loop_range: None,
            ..Transport::default()
        },
        bypassed: false,
    };
    let ev = |offset, on| InputEvent::note(offset, on, 0, 72, 100);
    let mut input_ons = 0;
    let mut input_offs = 0;
    let mut count = |out: &EventBuffer| {
        for e in out.events().iter().filter(|e| e.source == Source::Input) {
            if e.on {
                input_ons += 1;
            } else {
                input_offs += 1;
            }
        }
    };
    seq.process(
        &mut model,
        &settings,
        &block,
        &[ev(0, true), ev(3, true)],
        &mut out,
    );
    count(&out);
    out.clear();
    seq.process(&mut model, &settings, &block, &[ev(0, false)], &mut out);
    count(&out);
    assert_eq!(
        (input_ons, input_offs),
        (2, 1),
        "the retrigger passes, the off ends it"
    );
    // The melody is no longer held: the harmony stops with it.
    out.clear();
    for _ in 0..8 {
        seq.process(&mut model, &settings, &block, &[], &mut out);
    }
    assert!(!seq.generating(), "harmony went on after the melody ended");
}

/// All notes off (CC 123) releases the held melody and ends every generated
/// note at its own sample.
#[test]
fn all_notes_off_ends_the_melody_and_the_harmony() {
    let mut model = Busy::new();
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(256);
    let settings = Settings::default();
    let block = Block {
        sample_rate: SR,
        frames: 6_000,
        transport: Transport {
            playing: false,
            tempo: Some(120.0),
            pos_beats: None,
            loop_range: None,
            ..Transport::default()
        },
        bypassed: false,
    };
    let mut all = Vec::new();
    let on = InputEvent::note(0, true, 0, 72, 100);
    seq.process(&mut model, &settings, &block, &[on], &mut out);
    all.extend_from_slice(out.events());
    assert!(seq.generating());
    out.clear();
    seq.process(
        &mut model,
        &settings,
        &block,
        &[InputEvent::all_notes_off(1_234, 0)],
        &mut out,
    );
    let after: Vec<_> = out.events().iter().filter(|e| e.offset >= 1_234).collect();
    assert!(
        after.iter().all(|e| !e.on && e.offset == 1_234),
        "{after:?}"
    );
    assert!(after
        .iter()
        .any(|e| e.source == Source::Input && e.pitch == 72));
    assert!(after.iter().any(|e| matches!(e.source, Source::Voice(_))));
    all.extend_from_slice(out.events());
    out.clear();
    seq.process(&mut model, &settings, &block, &[], &mut out);
    assert!(out.events().iter().all(|e| !e.on), "nothing starts again");
    assert!(!seq.generating());
    // Every note-on has its note-off.
    let mut sounding = std::collections::HashMap::new();
    for e in &all {
        *sounding.entry((e.channel, e.pitch)).or_insert(0i32) += if e.on { 1 } else { -1 };
    }
    assert!(sounding.values().all(|&n| n <= 0), "{sounding:?}");
}

/// A phrase that starts after a silence is harmonized from a fresh model
/// state, as a chorale starts; while no melody sounds the model is not fed.
#[test]
fn a_phrase_after_silence_starts_afresh() {
    let spb = samples_per_beat(120.0) as i64;
    let session = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([
            (0, true, 72, 100),
            (spb, false, 72, 0),
            (3 * spb, true, 74, 100),
            (4 * spb, false, 74, 0),
        ]),
        length: 5 * spb,
    };
    let mut model = Busy::new();
    let (events, _) = run(&session, &mut model, &Settings::default(), 512);
    // One step per 16th while a melody sounds: beats 0-1 and 3-4.
    assert_eq!(model.positions, [0, 1, 2, 3, 12, 13, 14, 15]);
    let ons = voice_ons(&events, 1);
    assert!(
        ons.contains(&(3 * spb)),
        "the second phrase is harmonized at once"
    );
    assert!(
        model.resets >= 2,
        "each phrase starts afresh ({} resets)",
        model.resets
    );
    assert_nothing_hangs(&events);
}
