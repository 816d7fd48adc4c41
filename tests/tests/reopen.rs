//! A project reopened in a host sends nothing Bach did not receive or play,
//! and no burst of host events makes the plugin allocate.
//!
//! nice-plug logs "Input event buffer filled up! This will cause an
//! allocation." when a block brings more events than its queues hold; the
//! tests point its log (`NICE_LOG`) at a file and read it back, since that
//! allocation is one nice-plug permits even under `assert_process_allocs`.

use std::path::PathBuf;
use std::sync::Once;

use bach_e2e::vst3_host::{process_context, Vst3Bach};
use bach_e2e::{hanging, transport_event, ClapBach, Input};
use bach_engine::sequencer::Transport;

/// The file both plugin libraries log to, set before either is loaded
/// (each reads `NICE_LOG` once, when its first instance is made).
fn log_file() -> PathBuf {
    static SET: Once = Once::new();
    let path = std::env::temp_dir().join(format!("bach-reopen-{}.log", std::process::id()));
    SET.call_once(|| {
        let _ = std::fs::remove_file(&path);
        // SAFETY: set once, before any plugin (the only other reader) loads.
        unsafe { std::env::set_var("NICE_LOG", &path) };
    });
    path
}

/// Lines of the plugins' log that announce an allocation.
fn allocations() -> Vec<String> {
    std::fs::read_to_string(log_file())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("filled up"))
        .map(str::to_owned)
        .collect()
}

fn stopped() -> Transport {
    Transport {
        playing: false,
        tempo: Some(120.0),
        ..Transport::default()
    }
}

/// Ardour reopens a VST3 project by setting every parameter the plugin lists
/// (2,080 of them nice-plug's hidden MIDI controllers, which read back 0.5):
/// no controller, pitch bend or note comes out, nothing allocates, and a
/// pedal the player then presses still reaches the instrument.
#[test]
fn a_vst3_project_reopened_as_ardour_does_sends_no_controller() {
    log_file();
    let mut saved = Vst3Bach::load(4096);
    let pedal = saved.param("MIDI Ch. 1 CC 64");
    let bend = saved.param("MIDI Ch. 2 Pitch Bend");
    let mut context = process_context(&stopped(), 0, bach_e2e::SR);
    let mut notes = Vec::new();
    saved.process(
        512,
        &mut context,
        &[],
        &[(pedal, 1.0), (bend, 0.75)],
        0,
        &mut notes,
    );
    assert_eq!(
        saved.controllers_out,
        [(0, 64, 0, 127, 0), (0, 129, 1, 127, 95)],
        "a player's pedal and bend pass on"
    );
    let state = saved.get_state();

    let mut reopened = Vst3Bach::load(4096);
    assert!(reopened.parameter_count() > 2080);
    notes.extend(reopened.reopen(&state));
    // It plays on, stopped then playing, with no input.
    for k in 1..40i64 {
        let t = Transport {
            playing: k > 10,
            pos_beats: (k > 10).then_some((k - 10) as f64 * 512.0 / 24_000.0),
            ..stopped()
        };
        let mut context = process_context(&t, k * 512, bach_e2e::SR);
        reopened.process(512, &mut context, &[], &[], k * 512, &mut notes);
    }
    assert_eq!(reopened.controllers_out, [], "sent with no input");
    assert_eq!(notes, [], "notes with no input");
    assert_eq!(allocations(), Vec::<String>::new());

    let mut context = process_context(&stopped(), 0, bach_e2e::SR);
    reopened.process(
        512,
        &mut context,
        &[],
        &[(pedal, 1.0)],
        40 * 512,
        &mut notes,
    );
    assert_eq!(reopened.controllers_out, [(40 * 512, 64, 0, 127, 0)]);
}

/// A block that brings 4,000 events at once (a melody of 700 notes, each
/// with a mod-wheel move, a bend and pressure; a host chasing every
/// controller): read without allocating, the controllers pass in order, and
/// every note ends.
#[test]
fn a_flood_of_input_in_one_block_allocates_nothing() {
    log_file();
    let mut plugin = ClapBach::load(4096);
    let mut events = Vec::new();
    for i in 0..700u32 {
        let time = i * 5;
        let pitch = 60 + (i % 24) as u8;
        events.push(Input::Note {
            time,
            on: true,
            channel: 0,
            pitch,
        });
        events.push(Input::Note {
            time: time + 4,
            on: false,
            channel: 0,
            pitch,
        });
        let v = (i % 128) as u8;
        events.push(Input::Midi {
            time: time + 1,
            data: [0xB0, 1, v],
        });
        events.push(Input::Midi {
            time: time + 2,
            data: [0xE0, 0, v],
        });
        events.push(Input::Midi {
            time: time + 3,
            data: [0xD0, v, 0],
        });
    }
    // Every other controller of the 16 channels, as a host chases them.
    for c in 0..16u8 {
        for n in 2..33u8 {
            events.push(Input::Midi {
                time: 4095,
                data: [0xB0 | c, n, 1],
            });
        }
    }
    assert!(events.len() >= 3900, "{}", events.len());
    let mut out = Vec::new();
    let playing = |beats| transport_event(true, 120.0, beats, None);
    plugin.process_raw(4096, &playing(0.0), &events, &mut out);
    let sent = plugin.midi_out.len();
    assert!(sent > 1400, "the controllers passed on ({sent})");
    assert!(
        plugin.midi_out.windows(2).all(|w| w[0].0 <= w[1].0),
        "in time order"
    );
    for k in 1..4 {
        plugin.process_raw(4096, &playing(k as f64 * 4096.0 / 24_000.0), &[], &mut out);
    }
    let notes: Vec<_> = out.iter().map(|(_, n)| *n).collect();
    assert!(hanging(&notes).is_empty(), "{:?}", hanging(&notes));
    assert_eq!(allocations(), Vec::<String>::new());
}
