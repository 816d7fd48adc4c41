//! Lookahead in the sequencer: the latency it reports, that it plays what
//! the offline harmonizer plays, that input passes through as late as the
//! latency says, and that loops, seeks, stops, tempo and setting changes
//! leave nothing hanging and do not depend on the buffer size. Also the
//! host's meter (3/4, 6/8) and a key set by hand reach the model.

use bach_engine::ahead::Horizon;
use bach_engine::file::{random_tensors, to_bytes};
use bach_engine::meter::BarPosition;
use bach_engine::perform::line::harmonize_line;
use bach_engine::perform::{user_sampler, KeyChoice, Performer};
use bach_engine::sequencer::session::{
    hanging, notes, play, samples_per_beat, stop, Segment, Session, Timed, SAMPLE_RATE,
};
use bach_engine::sequencer::{
    Block, EventBuffer, InputEvent, Sequencer, Settings, Source, Transport,
};
use bach_engine::{CoreKind, Feature, Key, Meter, Mode as KeyMode, ModelMeta, Token, VoicesModel};

/// A model that hears the meter, knows keys and looks ahead, with random weights.
fn context_model(seed: u64) -> VoicesModel {
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 24);
    meta.features = vec![
        Feature::PreviousStep,
        Feature::Meter,
        Feature::KeyMode,
        Feature::Ahead { notes: 4 },
    ];
    meta.format_version = meta.needed_version();
    let bytes = to_bytes(&meta, &random_tensors(&meta, seed, 0.8)).unwrap();
    VoicesModel::from_bytes(&bytes).unwrap()
}

fn settings(lookahead: Horizon, key: KeyChoice) -> Settings {
    Settings {
        lookahead,
        key,
        ..Settings::default()
    }
}

const STEP: i64 = 6000; // a 16th at 120 bpm and 48 kHz

/// A melody on the grid: (step, length in steps, pitch), with a rest.
const TUNE: [(i64, i64, u8); 9] = [
    (0, 4, 74),
    (4, 2, 76),
    (6, 2, 78),
    (8, 4, 79),
    (12, 4, 78),
    (16, 8, 76),
    // a rest of two steps: a phrase ends
    (26, 4, 74),
    (30, 2, 73),
    (32, 8, 74),
];

fn tune_notes() -> Vec<(i64, bool, u8, u8)> {
    let mut n = Vec::new();
    for (step, len, pitch) in TUNE {
        n.push((step * STEP, true, pitch, 90));
        n.push(((step + len) * STEP, false, pitch, 0));
    }
    n.sort();
    n
}

/// The tune as melody tokens, one per step.
fn tune_tokens() -> Vec<Token> {
    let end = TUNE.iter().map(|(s, l, _)| s + l).max().unwrap() as usize;
    let mut t = vec![Token::Rest; end];
    for (step, len, pitch) in TUNE {
        t[step as usize] = Token::Onset(pitch);
        for k in 1..len {
            t[(step + k) as usize] = Token::Hold;
        }
    }
    t
}

fn session(meter: Meter, extra: i64) -> Session {
    let mut seg = play(0, 120.0, 0.0);
    seg.meter = meter;
    let len = TUNE.iter().map(|(s, l, _)| s + l).max().unwrap();
    Session {
        segments: vec![seg],
        notes: notes(tune_notes()),
        length: (len + extra) * STEP,
    }
}

/// Voice note-ons (voice, sample, pitch) of the generated voices.
fn ons(events: &[Timed]) -> Vec<(u8, i64, u8)> {
    let mut v: Vec<_> = events
        .iter()
        .filter_map(|e| match e.event.source {
            Source::Voice(v) if e.event.on => Some((v, e.sample, e.event.pitch)),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_latency_is_the_lookahead_at_the_hosts_tempo_and_meter() {
    let cases = [
        (Horizon::Off, Meter::COMMON, 0),
        (Horizon::Beat, Meter::COMMON, 4 * STEP),
        (Horizon::Bar, Meter::COMMON, 16 * STEP),
        (Horizon::Bar, Meter::new(3, 4), 12 * STEP),
        (Horizon::Beat, Meter::new(6, 8), 6 * STEP),
        (Horizon::Bar, Meter::new(6, 8), 12 * STEP),
    ];
    for (horizon, meter, want) in cases {
        let mut model = context_model(1);
        let mut seq = Sequencer::new();
        session(meter, 4)
            .run(
                &mut seq,
                &mut model,
                &settings(horizon, KeyChoice::Auto),
                512,
                |p| p(),
            )
            .unwrap();
        assert_eq!(seq.latency() as i64, want, "{horizon:?} in {meter:?}");
    }
    // A model that cannot look ahead adds no latency for nothing.
    let meta = ModelMeta::satb(CoreKind::Gru, 1, 8);
    let bytes = to_bytes(&meta, &random_tensors(&meta, 1, 0.5)).unwrap();
    let mut plain = VoicesModel::from_bytes(&bytes).unwrap();
    let mut seq = Sequencer::new();
    session(Meter::COMMON, 4)
        .run(
            &mut seq,
            &mut plain,
            &settings(Horizon::Bar, KeyChoice::Auto),
            512,
            |p| p(),
        )
        .unwrap();
    assert_eq!(seq.latency(), 0);
}

/// With lookahead the plugin plays, note for note, what the offline
/// harmonizer plays with the same lookahead, once the host has moved the
/// output back by the reported latency; in 4/4, 3/4 and 6/8, with the key
/// followed or set by hand.
#[test]
fn the_plugin_with_lookahead_plays_what_offline_plays() {
    let d_major = Key {
        tonic: 2,
        mode: KeyMode::Major,
    };
    let melody = tune_tokens();
    for meter in [Meter::COMMON, Meter::new(3, 4), Meter::new(6, 8)] {
        for horizon in [Horizon::Off, Horizon::Beat, Horizon::Bar] {
            for key in [KeyChoice::Auto, KeyChoice::Fixed(d_major)] {
                let s = settings(horizon, key);
                let mut model = context_model(7);
                let played = session(meter, 4).play(&mut model, &s).unwrap();
                let plugin: Vec<(u8, i64, u8)> = {
                    let mut v: Vec<_> = played
                        .iter()
                        .filter(|e| e.on)
                        .map(|e| (e.voice, e.sample, e.pitch))
                        .collect();
                    v.sort();
                    v
                };
                let mut model = context_model(7);
                let mut performer = Performer::new(user_sampler(s.temperature, s.strict), s.seed);
                performer.restart(&mut model, s.seed);
                let bars: Vec<BarPosition> = (0..melody.len())
                    .map(|t| BarPosition::new(t, meter, 0.25))
                    .collect();
                let tokens =
                    harmonize_line(&mut model, &mut performer, &melody, &bars, key, horizon);
                let mut offline = Vec::new();
                for (t, step) in tokens.chunks(4).enumerate() {
                    for (v, tok) in step.iter().enumerate().skip(1) {
                        if let Token::Onset(p) = tok {
                            offline.push((v as u8, t as i64 * STEP, *p));
                        }
                    }
                }
                offline.sort();
                assert!(offline.len() > 20, "the model harmonized");
                assert_eq!(
                    plugin, offline,
                    "{horizon:?} in {meter:?}, key {key:?}: plugin vs offline"
                );
            }
        }
    }
}

/// The lookahead makes different music: the model is told where the melody goes.
#[test]
fn lookahead_changes_the_harmony() {
    let run = |h| {
        let mut model = context_model(3);
        let played = session(Meter::COMMON, 4)
            .play(&mut model, &settings(h, KeyChoice::Auto))
            .unwrap();
        played
            .iter()
            .filter(|e| e.on)
            .map(|e| (e.voice, e.sample, e.pitch))
            .collect::<Vec<_>>()
    };
    assert_ne!(run(Horizon::Off), run(Horizon::Bar));
}

/// Input passes through `latency` samples late, so that after the host's
/// compensation the melody lines up with its harmony.
#[test]
fn the_melody_passes_through_as_late_as_the_latency() {
    let mut model = context_model(1);
    let mut seq = Sequencer::new();
    let events = session(Meter::COMMON, 4)
        .run(
            &mut seq,
            &mut model,
            &settings(Horizon::Beat, KeyChoice::Auto),
            256,
            |p| p(),
        )
        .unwrap();
    let d = seq.latency() as i64;
    assert_eq!(d, 4 * STEP);
    let passed: Vec<(i64, bool, u8)> = events
        .iter()
        .filter(|e| e.event.source == Source::Input)
        .map(|e| (e.sample - d, e.event.on, e.event.pitch))
        .collect();
    let sent: Vec<(i64, bool, u8)> = tune_notes()
        .into_iter()
        .map(|(s, on, p, _)| (s, on, p))
        .collect();
    assert_eq!(passed, sent);
    assert!(hanging(&events).is_empty());
}

/// A session with a loop, a tempo change, a stop and a seek, played with
/// lookahead in buffers of several sizes: the same output each time, and
/// nothing left hanging.
#[test]
fn loops_seeks_stops_and_tempo_changes_with_lookahead() {
    let spb = samples_per_beat(120.0);
    let mut looped = play(0, 120.0, 0.0);
    looped.looped = Some((0.0, 4.0));
    let faster = Segment {
        start: (10.0 * spb) as i64,
        ..play((10.0 * spb) as i64, 150.0, 2.0)
    };
    let stopped = stop((14.0 * spb) as i64, 150.0);
    let seek = play((16.0 * spb) as i64, 150.0, 32.0);
    let mut notes_ = Vec::new();
    for i in 0..40 {
        let on = (i as f64 * 0.5 * spb) as i64;
        notes_.push((on, true, 72 + (i % 5) as u8, 90));
        notes_.push((on + (0.4 * spb) as i64, false, 72 + (i % 5) as u8, 0));
    }
    notes_.sort();
    let session = Session {
        segments: vec![looped, faster, stopped, seek],
        notes: notes(notes_),
        length: (22.0 * spb) as i64,
    };
    for horizon in [Horizon::Beat, Horizon::Bar] {
        let mut outputs = Vec::new();
        for size in [64, 333, 1024] {
            let mut model = context_model(5);
            let mut seq = Sequencer::new();
            // A host that never restarts the plugin: its own restarts for
            // the tempo change's latency fall at the end of a host buffer.
            let events = session
                .run_unrestarted(
                    &mut seq,
                    &mut model,
                    &settings(horizon, KeyChoice::Auto),
                    size,
                    |p| p(),
                )
                .unwrap();
            assert!(
                hanging(&events).is_empty(),
                "{horizon:?}, buffers of {size}: {:?}",
                hanging(&events)
            );
            assert!(ons(&events).len() > 20, "the model played");
            outputs.push(events);
        }
        assert_eq!(outputs[0], outputs[1], "{horizon:?}: 64 vs 333 frames");
        assert_eq!(outputs[0], outputs[2], "{horizon:?}: 64 vs 1024 frames");
    }
}

/// Turning lookahead on and off while playing changes the latency, ends
/// every note and loses no input.
#[test]
fn changing_the_lookahead_while_playing_leaves_nothing_hanging() {
    let mut model = context_model(2);
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(2048);
    let mut all: Vec<(i64, bool, u8, Source, u8)> = Vec::new();
    let horizons = [Horizon::Off, Horizon::Bar, Horizon::Beat, Horizon::Off];
    let frames = 480u32;
    let mut latencies = Vec::new();
    for b in 0..410i64 {
        let start = b * frames as i64;
        // The last blocks: the transport stops, which ends every voice.
        let playing = b < 400;
        let s = settings(horizons[(b / 100).min(3) as usize], KeyChoice::Auto);
        let beat = start as f64 / samples_per_beat(120.0);
        let mut input = Vec::new();
        // A note every half beat, held a little under.
        let half = (0.5 * samples_per_beat(120.0)) as i64;
        for k in 0..frames as i64 {
            let at = start + k;
            if at % half == 0 && playing {
                input.push(InputEvent::note(
                    k as u32,
                    true,
                    0,
                    70 + ((at / half) % 7) as u8,
                    80,
                ));
            }
            if at % half == half - 600 {
                input.push(InputEvent::note(
                    k as u32,
                    false,
                    0,
                    70 + ((at / half) % 7) as u8,
                    0,
                ));
            }
        }
        let block = Block {
            sample_rate: SAMPLE_RATE,
            frames,
            transport: Transport {
                playing,
                tempo: Some(120.0),
                pos_beats: Some(beat),
                ..Transport::default()
            },
            bypassed: false,
        };
        seq.process(&mut model, &s, &block, &input, &mut out);
        latencies.push(seq.latency());
        for e in out.events() {
            all.push((start + e.offset as i64, e.on, e.pitch, e.source, e.channel));
        }
    }
    assert_eq!(latencies[50], 0);
    assert_eq!(latencies[150], 16 * STEP as u32);
    assert_eq!(latencies[250], 4 * STEP as u32);
    assert_eq!(latencies[350], 0);
    let timed: Vec<Timed> = all
        .iter()
        .map(|&(sample, on, pitch, source, channel)| Timed {
            sample,
            event: bach_engine::sequencer::NoteEvent {
                offset: 0,
                on,
                channel,
                pitch,
                velocity: 1,
                source,
            },
        })
        .collect();
    let input_ons = all.iter().filter(|e| e.3 == Source::Input && e.1).count();
    let input_offs = all.iter().filter(|e| e.3 == Source::Input && !e.1).count();
    assert_eq!(input_ons, input_offs, "every passed note ends");
    let voices: Vec<Timed> = timed
        .into_iter()
        .filter(|e| matches!(e.event.source, Source::Voice(_)))
        .collect();
    assert!(hanging(&voices).is_empty(), "{:?}", hanging(&voices));
}

/// A reset (the plugin deactivated, or its model replaced) with input still
/// waiting in the delay line: the next block plays the waiting input at once
/// and ends every voice, so nothing hangs though the time does not follow on.
#[test]
fn a_reset_plays_out_the_delay_line_and_ends_every_voice() {
    let mut model = context_model(4);
    let mut seq = Sequencer::new();
    let mut out = EventBuffer::with_capacity(2048);
    let s = settings(Horizon::Bar, KeyChoice::Auto);
    let mut all: Vec<Timed> = Vec::new();
    let frames = 512u32;
    let collect = |start: i64, out: &EventBuffer, all: &mut Vec<Timed>| {
        all.extend(out.events().iter().map(|e| Timed {
            sample: start + e.offset as i64,
            event: *e,
        }));
    };
    for b in 0..200i64 {
        let start = b * frames as i64;
        let mut input = Vec::new();
        if b % 20 == 0 {
            input.push(InputEvent::note(0, true, 0, 72 + (b / 20 % 5) as u8, 90));
        }
        if b % 20 == 15 {
            input.push(InputEvent::note(0, false, 0, 72 + (b / 20 % 5) as u8, 0));
        }
        let block = Block {
            sample_rate: SAMPLE_RATE,
            frames,
            transport: Transport {
                playing: true,
                tempo: Some(120.0),
                pos_beats: Some(start as f64 / samples_per_beat(120.0)),
                ..Transport::default()
            },
            bypassed: false,
        };
        seq.process(&mut model, &s, &block, &input, &mut out);
        collect(start, &out, &mut all);
    }
    assert!(seq.latency() > 0);
    assert!(!hanging(&all).is_empty(), "notes sound before the reset");
    seq.reset();
    let block = Block {
        sample_rate: SAMPLE_RATE,
        frames,
        transport: Transport {
            playing: false,
            tempo: Some(120.0),
            ..Transport::default()
        },
        bypassed: false,
    };
    seq.process(&mut model, &s, &block, &[], &mut out);
    collect(200 * frames as i64, &out, &mut all);
    assert!(hanging(&all).is_empty(), "{:?}", hanging(&all));
}
