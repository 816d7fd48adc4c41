//! The offline commands give the notes the built plugin plays: the same
//! session is sent to `target/bundled/bach-plugin.clap` through its CLAP ABI
//! (the end-to-end tests' host), and its output is compared note for note.
//!
//! Needs the bundle (`cargo xtask bundle bach-plugin --release`, which
//! `scripts/test` runs first); without it, or when it is older than the
//! default model it embeds, the test fails and says how to build it: it
//! must never pass by skipping.

use bach_cli::offline::{self, Offline, Options, VoiceEvent};
use bach_e2e::{ClapBach, Instance, Note as HostOut};
use bach_engine::midi::PlayedNote;
use bach_engine::model::VoicesModel;
use bach_engine::perform::KeyChoice;
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use bach_engine::sequencer::session::{voice_notes, BLOCK_FRAMES};
use bach_engine::Meter;
use bach_engine::{Horizon, Key, DEFAULT_MODEL};

/// Checks the bundle is there and up to date; panics with how to build it.
fn bundle_ready() {
    bach_e2e::fresh_bundle("bach-plugin.clap");
}

fn note(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 90,
    }
}

/// A pickup, a rest, repeated notes, a tempo change.
fn input() -> Score {
    let mut score = Score::new(0.25);
    let notes = vec![
        note(0, 4, 67),
        note(4, 4, 72),
        note(8, 4, 72),
        note(12, 2, 74),
        note(14, 2, 76),
        note(16, 4, 77),
        note(24, 4, 76),
        note(28, 8, 74),
        note(36, 4, 72),
    ];
    score.parts = vec![Part::new("Tune", 0, notes)];
    score.meters = vec![
        MeterChange {
            step: 0,
            meter: Meter::new(1, 4),
        },
        MeterChange {
            step: 4,
            meter: Meter::new(4, 4),
        },
    ];
    score.tempos = vec![
        TempoChange {
            step: 0,
            bpm: 120.0,
        },
        TempoChange {
            step: 20,
            bpm: 90.0,
        },
    ];
    score.len = 40;
    score
}

/// Plays the offline result's session (the very blocks the offline command
/// sent its sequencer) through the plugin (`params` as CLAP
/// values: nice-plug sends continuous parameters normalised to 0..1 and
/// stepped ones as steps from their minimum); returns the voices'
/// events (channel = voice by the plugin's default channels).
fn through_plugin(result: &Offline, params: &[(&str, f64)], continue_from: i64) -> Vec<VoiceEvent> {
    through_plugin_with(result, params, &[], continue_from)
}

/// [`through_plugin`] with choices given by their text too (("Key", "A
/// minor"), say). The notes are moved back by the latency the plugin
/// reports, as a host compensates it and as the offline command does.
fn through_plugin_with(
    result: &Offline,
    params: &[(&str, f64)],
    texts: &[(&str, &str)],
    continue_from: i64,
) -> Vec<VoiceEvent> {
    through_plugin_playing(None, result, params, texts, continue_from)
}

/// [`through_plugin_with`] with the plugin set to play the built-in model
/// `embedded` (as a project naming it does), when given.
fn through_plugin_playing(
    embedded: Option<&str>,
    result: &Offline,
    params: &[(&str, f64)],
    texts: &[(&str, &str)],
    continue_from: i64,
) -> Vec<VoiceEvent> {
    let mut plugin = ClapBach::load(4096);
    if let Some(name) = embedded {
        let choice = serde_json::json!({"type": "embedded", "value": name});
        let state = bach_e2e::with_model(&plugin.save_state(), choice);
        plugin.restore(&state);
    }
    let mut params: Vec<_> = params
        .iter()
        .map(|&(name, value)| (plugin.param(name), value))
        .collect();
    for &(name, text) in texts {
        let id = plugin.param(name);
        params.push((id, plugin.value_of(id, text)));
    }
    let out = plugin.run_compensated(&result.session, BLOCK_FRAMES, &params);
    voice_events(out, continue_from)
}

/// The plugin's notes as voice events (channel = voice), without velocity.
/// Channel 0 is the melody passing through, except on the model's turn in
/// continue mode (from `continue_from`).
fn voice_events(out: Vec<HostOut>, continue_from: i64) -> Vec<VoiceEvent> {
    out.into_iter()
        .filter(|n| n.channel > 0 || n.sample >= continue_from)
        .map(|n| VoiceEvent {
            sample: n.sample,
            on: n.on,
            voice: n.channel,
            pitch: n.pitch,
            velocity: 0,
        })
        .collect()
}

fn without_velocity(events: &[VoiceEvent]) -> Vec<VoiceEvent> {
    events
        .iter()
        .map(|e| VoiceEvent { velocity: 0, ..*e })
        .collect()
}

/// Equal event lists, or a failure that shows where they part.
fn assert_same(plugin: &[VoiceEvent], offline: &[VoiceEvent]) {
    let first = plugin.iter().zip(offline).position(|(a, b)| a != b);
    let at = first.unwrap_or(plugin.len().min(offline.len()));
    assert!(
        plugin.len() == offline.len() && first.is_none(),
        "plugin {} events, offline {}; first difference at {at}: plugin {:?}, offline {:?}",
        plugin.len(),
        offline.len(),
        plugin.get(at.saturating_sub(2)..(at + 3).min(plugin.len())),
        offline.get(at.saturating_sub(2)..(at + 3).min(offline.len())),
    );
}

#[test]
fn harmonize_gives_the_plugins_notes() {
    bundle_ready();
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let opts = Options {
        temperature: 1.0,
        seed: 42,
        ..Options::default()
    };
    let result = offline::harmonize(&mut model, &input(), &opts).unwrap();
    assert!(result.events.len() > 10, "{} events", result.events.len());
    let plugin = through_plugin(
        &result,
        &[("Temperature", 1.0 / 2.0), ("Seed", 42.0)],
        i64::MAX,
    );
    assert_same(&plugin, &without_velocity(&result.events));
    // And so the written voices are the plugin's.
    let notes = voice_notes(&plugin, &result.timeline, 4, 40);
    for (v, part) in result.score.parts.iter().enumerate().skip(1) {
        let written: Vec<_> = part
            .notes
            .iter()
            .map(|n| (n.start, n.len, n.pitch))
            .collect();
        let played: Vec<_> = notes[v].iter().map(|n| (n.start, n.len, n.pitch)).collect();
        assert_eq!(written, played, "voice {v}");
    }
}

/// Every lookahead the plugin offers (off, a beat, a bar), with the key
/// followed or set by hand: the offline harmonizer's notes are the plugin's
/// once the host has taken off the latency it reports (which changes with
/// the tempo here, from 120 to 90 bpm, and so mid-song).
#[test]
fn harmonize_gives_the_plugins_notes_for_every_lookahead_and_key() {
    bundle_ready();
    let a_minor = Key::parse("A minor").unwrap();
    let mut seen = Vec::new();
    for (lookahead, ahead_text) in [
        (Horizon::Off, "Off"),
        (Horizon::Beat, "1 beat"),
        (Horizon::Bar, "1 bar"),
    ] {
        for (key, key_text) in [
            (KeyChoice::Auto, "Auto"),
            (KeyChoice::Fixed(a_minor), "A minor"),
        ] {
            let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
            let opts = Options {
                temperature: 1.0,
                seed: 42,
                key,
                lookahead,
                ..Options::default()
            };
            let result = offline::harmonize(&mut model, &input(), &opts).unwrap();
            assert!(result.events.len() > 10, "{} events", result.events.len());
            let plugin = through_plugin_with(
                &result,
                &[("Temperature", 1.0 / 2.0), ("Seed", 42.0)],
                &[("Lookahead", ahead_text), ("Key", key_text)],
                i64::MAX,
            );
            eprintln!("lookahead {ahead_text}, key {key_text}");
            assert_same(&plugin, &without_velocity(&result.events));
            seen.push(plugin);
        }
    }
    // The settings reached the model: no two of the six play alike.
    for i in 0..seen.len() {
        for j in i + 1..seen.len() {
            assert_ne!(seen[i], seen[j], "settings {i} and {j}");
        }
    }
}

/// The melody of [`input`] as a player timed it: each note-on and note-off
/// a few milliseconds off its step, early or late.
fn played_by_hand() -> Vec<PlayedNote> {
    // In quarter notes: 0.03 is 15 ms at 120 bpm, 20 ms at 90.
    let offsets = [0.03, -0.02, 0.05, 0.01, -0.04, 0.05, 0.02, -0.03, 0.04];
    input().parts[0]
        .notes
        .iter()
        .zip(offsets.iter().cycle())
        .map(|(n, off)| PlayedNote {
            start: n.start as f64 * 0.25 + off,
            end: (n.start + n.len) as f64 * 0.25 - off / 2.0,
            pitch: n.pitch,
            velocity: n.velocity,
        })
        .collect()
}

/// A melody played by hand (off the grid) gives the plugin's notes, for
/// Timing on and off and with lookahead, and within the tolerance the
/// notes of the same melody on the grid.
#[test]
fn harmonize_a_melody_played_by_hand_gives_the_plugins_notes() {
    bundle_ready();
    for (lookahead, ahead_text) in [(Horizon::Off, "Off"), (Horizon::Beat, "1 beat")] {
        for timing in [40.0, 0.0] {
            let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
            let opts = Options {
                seed: 42,
                lookahead,
                timing_ms: timing,
                played: Some(vec![played_by_hand()]),
                ..Options::default()
            };
            let result = offline::harmonize(&mut model, &input(), &opts).unwrap();
            assert!(result.events.len() > 10, "{} events", result.events.len());
            let plugin = through_plugin_with(
                &result,
                &[("Seed", 42.0), ("Timing", timing / 80.0)],
                &[("Lookahead", ahead_text)],
                i64::MAX,
            );
            eprintln!("lookahead {ahead_text}, timing {timing}");
            assert_same(&plugin, &without_velocity(&result.events));
            if timing > 0.0 && lookahead == Horizon::Off {
                let on_grid = Options {
                    played: None,
                    ..opts.clone()
                };
                let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
                let grid = offline::harmonize(&mut model, &input(), &on_grid).unwrap();
                assert_eq!(result.score.parts, grid.score.parts, "as on the grid");
            }
        }
    }
}

#[test]
fn continue_gives_the_plugins_notes() {
    bundle_ready();
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let opts = Options {
        temperature: 0.9,
        seed: 7,
        ..Options::default()
    };
    let result = offline::continue_from(&mut model, &input(), 2, &opts).unwrap();
    // The primer's longest rest is 4 steps, so the model waits 5 (1.25 beats)
    // after it ends on step 40; two bars are two of the model's 16-step bars.
    let start = result.timeline.sample_of_step(45);
    assert!(result.events.iter().all(|e| e.sample >= start));
    assert!(result.events.len() > 10, "{} events", result.events.len());
    let plugin = through_plugin(
        &result,
        &[
            ("Mode", 1.0),
            ("Temperature", 0.9 / 2.0),
            ("Seed", 7.0),
            ("Continue after silence", (1.25 - 0.25) / 15.75),
            ("Continue length", 2.0 - 1.0),
        ],
        start,
    );
    assert_same(&plugin, &without_velocity(&result.events));
}

/// `bach continue` with each built-in piano roll plays what the plugin plays
/// with it: the same keys at the same samples.
#[test]
fn continue_with_a_piano_roll_gives_the_plugins_notes() {
    bundle_ready();
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    for name in ["nottingham-pianoroll-gru-nade", "jsb-pianoroll-lstm-nade"] {
        let file = models.join(format!("{name}.safetensors"));
        let mut model = bach_engine::AnyModel::load(&file)
            .unwrap()
            .into_piano_roll()
            .unwrap();
        let opts = Options {
            temperature: 1.0,
            seed: 3,
            ..Options::default()
        };
        let result = offline::continue_piano_roll(&mut model, &input(), 2, &opts).unwrap();
        let start = result.events.first().map_or(i64::MAX, |e| e.sample);
        assert!(
            result.events.len() >= 6,
            "{name}: {} events",
            result.events.len()
        );
        let plugin = through_plugin_playing(
            Some(name),
            &result,
            &[
                ("Mode", 1.0),
                ("Temperature", 1.0 / 2.0),
                ("Seed", 3.0),
                ("Continue after silence", (1.25 - 0.25) / 15.75),
                ("Continue length", 2.0 - 1.0),
            ],
            &[],
            start,
        );
        // A roll plays on one channel; its keys are compared, not its slots.
        let keys = |events: &[VoiceEvent]| -> Vec<(i64, bool, u8)> {
            events.iter().map(|e| (e.sample, e.on, e.pitch)).collect()
        };
        assert_eq!(keys(&plugin), keys(&result.events), "{name}");
    }
}

/// A hymn-like tune in `meter` (numerator, denominator) at `bpm`: `bars`
/// full bars of notes on the meter's beats (dotted quarters in 6/8), a long
/// last note, after a pickup of one beat when `pickup`.
fn tune_in(meter: (u8, u8), bpm: f64, pickup: bool, bars: u32) -> Score {
    let (num, den) = meter;
    let beat_steps = match den {
        8 => 6,
        d => 16 / d as u32,
    };
    let bar_steps = num as u32 * 16 / den as u32;
    let pitches = [74u8, 76, 78, 79, 81, 79, 78, 76, 74, 73, 71, 73];
    let mut notes = Vec::new();
    let mut meters = Vec::new();
    let mut at = 0;
    if pickup {
        let pickup_num = if den == 8 { 3 } else { 1 };
        meters.push(MeterChange {
            step: 0,
            meter: Meter::new(pickup_num, den),
        });
        notes.push(note(0, beat_steps, 69));
        at = beat_steps;
    }
    meters.push(MeterChange {
        step: at,
        meter: Meter::new(num, den),
    });
    let mut k = 0;
    for bar in 0..bars {
        let last = bar + 1 == bars;
        let mut t = 0;
        while t < bar_steps {
            let len = if last { bar_steps - t } else { beat_steps };
            notes.push(note(at + t, len, pitches[k % pitches.len()]));
            k += 1;
            t += len;
        }
        at += bar_steps;
    }
    let mut score = Score::new(0.25);
    score.parts = vec![Part::new("Tune", 0, notes)];
    score.meters = meters;
    score.tempos = vec![TempoChange { step: 0, bpm }];
    score.len = at;
    score
}

/// [`through_plugin`] through the .vst3 (the end-to-end tests' VST3 host).
fn through_vst3(result: &Offline, params: &[(&str, f64)]) -> Vec<VoiceEvent> {
    let mut plugin = bach_e2e::vst3_host::Vst3Bach::load(4096);
    let params: Vec<_> = params
        .iter()
        .map(|&(name, value)| (plugin.param(name), value))
        .collect();
    let out = plugin.run_compensated(&result.session, BLOCK_FRAMES, &params);
    voice_events(out, i64::MAX)
}

/// The host's meter, as a DAW sends it for a file with these time
/// signatures (the time signature, the bar start, the song position, the
/// tempo): `bach harmonize` gives the notes the plugin plays through CLAP and
/// VST3 in 3/4, 6/8, 2/2 and 3/2, with and without a pickup (a bar of one
/// beat, as a MIDI file writes it), at tempos whose beats fall between
/// CLAP's fixed-point positions, and with the meter changing mid-piece.
#[test]
fn harmonize_gives_the_plugins_notes_in_every_meter() {
    bundle_ready();
    let mut pieces = Vec::new();
    for (meter, bpm) in [
        ((3, 4), 72.0),
        ((6, 8), 100.0),
        ((2, 2), 66.0),
        ((3, 2), 88.0),
    ] {
        for pickup in [false, true] {
            pieces.push((format!("{}/{}, pickup {pickup}", meter.0, meter.1), {
                tune_in(meter, bpm, pickup, 6)
            }));
        }
    }
    // 4/4, two bars of 3/4, 4/4 again.
    let mut changing = tune_in((4, 4), 96.0, true, 6);
    changing.meters.push(MeterChange {
        step: 4 + 16,
        meter: Meter::new(3, 4),
    });
    changing.meters.push(MeterChange {
        step: 4 + 16 + 24,
        meter: Meter::new(4, 4),
    });
    pieces.push(("4/4 with two bars of 3/4".into(), changing));
    for (what, score) in pieces {
        let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
        let opts = Options {
            seed: 42,
            ..Options::default()
        };
        let result = offline::harmonize(&mut model, &score, &opts).unwrap();
        let ons = result.events.iter().filter(|e| e.on).count();
        assert!(ons > 15, "{what}: {ons} harmony notes");
        let offline = without_velocity(&result.events);
        eprintln!("{what}: CLAP");
        assert_same(
            &through_plugin(&result, &[("Seed", 42.0)], i64::MAX),
            &offline,
        );
        eprintln!("{what}: VST3");
        assert_same(&through_vst3(&result, &[("Seed", 42.0)]), &offline);
    }
}
