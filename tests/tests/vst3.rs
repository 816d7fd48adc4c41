//! The built `.vst3` through the VST3 ABI (a minimal host on the raw `vst3`
//! bindings): harmony with the melody, voices in range, output independent of
//! buffer size, transport changes, parameters and state; and the same notes
//! as the CLAP build.

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{
    hanging, held_through_loop_seek_stop, keys, play, stop, ClapBach, Note, Segment, Session,
};
use bach_engine::{CoreKind, ModelMeta};

/// Melody of quarter notes and eighths (some off the grid) at 120 bpm, from beat 1.
fn melody() -> Vec<(i64, bool, u8)> {
    let spb = 24_000.0;
    let notes = [
        (1.0, 1.0, 72u8),
        (2.0, 0.5, 74),
        (2.5, 0.5, 76),
        (3.03, 0.9, 77),
        (3.98, 1.0, 76),
        (5.0, 2.0, 74),
        (7.0, 1.9, 72),
    ];
    let mut out = Vec::new();
    for (beat, len, pitch) in notes {
        out.push(((beat * spb) as i64, true, pitch));
        out.push((((beat + len) * spb) as i64, false, pitch));
    }
    out.sort_by_key(|n| (n.0, n.1));
    out
}

fn session() -> Session {
    Session {
        segments: vec![play(0, 120.0, 0.0), stop(10 * 24_000, 120.0)],
        notes: keys(melody()),
        length: 11 * 24_000,
    }
}

/// Generated voices are on channels 2..4 by default (1-based), the melody on 1.
fn voice_of(n: &Note) -> Option<usize> {
    (1..=3).contains(&n.channel).then_some(n.channel as usize)
}

#[test]
fn harmony_sounds_at_the_melody_sample_offsets() {
    let mut plugin = Vst3Bach::load(4096);
    let temperature = plugin.param("Temperature");
    let out = plugin.run(&session(), 512, &[(temperature, 0.0)]);
    for &(t, _, pitch) in melody().iter().filter(|n| n.1) {
        assert!(
            out.iter()
                .any(|n| n.sample == t && n.on && n.pitch == pitch && n.channel == 0),
            "melody note {pitch} passes through at {t}: {out:?}"
        );
    }
    // From silence every voice starts with the first melody note.
    for v in 1..=3u8 {
        assert!(
            out.iter()
                .any(|n| n.sample == 24_000 && n.on && n.channel == v),
            "voice on channel {} starts with the melody at 24000: {out:?}",
            v + 1
        );
    }
    // On a melody onset, a grid step, or the Timing's 40 ms after a step
    // that waited for a player's late note (the melody is off the grid).
    let onsets: Vec<i64> = melody().iter().filter(|n| n.1).map(|n| n.0).collect();
    for n in out.iter().filter(|n| n.on && voice_of(n).is_some()) {
        assert!(
            onsets.contains(&n.sample) || [0, 1920].contains(&(n.sample % 6000)),
            "generated note off the grid and off the melody: {n:?}"
        );
    }
    assert!(hanging(&out).is_empty(), "hanging: {:?}", hanging(&out));
}

#[test]
fn three_voices_in_their_ranges() {
    let mut plugin = Vst3Bach::load(4096);
    let out = plugin.run(&session(), 512, &[]);
    let meta = ModelMeta::satb(CoreKind::Gru, 1, 1);
    let mut seen = [false; 4];
    for n in out.iter().filter(|n| n.on) {
        if let Some(v) = voice_of(n) {
            seen[v] = true;
            let r = meta.voices[v].range();
            assert!(
                r.contains(n.pitch),
                "voice {v} pitch {} outside {r:?}",
                n.pitch
            );
        }
    }
    assert_eq!(
        &seen[1..],
        &[true, true, true],
        "alto, tenor and bass sound"
    );
}

fn transport_session() -> Session {
    let mut notes = melody();
    notes.extend(melody().into_iter().map(|(t, on, p)| (t + 300_017, on, p)));
    notes.sort_by_key(|n| (n.0, n.1));
    Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 8.0)),
                ..play(0, 120.0, 0.0)
            },
            play(300_000, 100.0, 32.0), // seek, new tempo
            play(420_000, 140.0, 32.0 + 120_000.0 * 100.0 / (60.0 * 48_000.0)), // tempo change
            stop(560_000, 140.0),
        ],
        notes: keys(notes),
        length: 600_000,
    }
}

#[test]
fn output_is_the_same_for_every_buffer_size() {
    let full = transport_session();
    let mut plugin = Vst3Bach::load(4096);
    let seed = plugin.param("Seed");
    let reference = plugin.run(&full, 1, &[(seed, 7.0)]);
    // The melody alone is 28 note events; the rest is harmony to compare
    // (the shipped model makes 96 events in all here).
    assert!(reference.len() > 80, "{} notes", reference.len());
    for size in [37, 512, 4096] {
        let mut plugin = Vst3Bach::load(4096);
        let out = plugin.run(&full, size, &[(seed, 7.0)]);
        if let Some(i) =
            (0..out.len().max(reference.len())).find(|&i| out.get(i) != reference.get(i))
        {
            panic!(
                "buffer size {size}: first difference at note {i}: {:?} vs {:?}",
                out.get(i),
                reference.get(i)
            );
        }
    }
    assert!(hanging(&reference).is_empty());
}

#[test]
fn vst3_and_clap_builds_play_the_same_notes() {
    let full = transport_session();
    let mut vst3 = Vst3Bach::load(4096);
    let seed = vst3.param("Seed");
    let a = vst3.run(&full, 512, &[(seed, 11.0)]);
    let mut clap = ClapBach::load(4096);
    let seed = clap.param("Seed");
    let b = clap.run(&full, 512, &[(seed, 11.0)]);
    // 100 note events with the shipped model, 28 of them the melody.
    assert!(a.len() > 80, "{} notes", a.len());
    // CLAP sends the song position in 31-bit fixed point, VST3 as f64: a grid
    // step may land one sample apart. Everything else must match.
    assert_eq!(a.len(), b.len(), "same number of notes");
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x.on, x.channel, x.pitch) == (y.on, y.channel, y.pitch)
                && (x.sample - y.sample).abs() <= 1,
            "VST3 {x:?} vs CLAP {y:?}"
        );
    }
}

#[test]
fn loop_seek_and_stop_end_generated_notes() {
    // A melody note held through everything: only the transport can end the harmony.
    let s = held_through_loop_seek_stop(220_000);
    let mut plugin = Vst3Bach::load(4096);
    let out = plugin.run(&s, 333, &[]);
    // 48000 and 96000: loop wraps (2 beats at 120 bpm); then a seek and a stop.
    for cut in [48_000i64, 96_000, 130_007, 170_003] {
        for v in 1..=3u8 {
            let before = out.iter().rev().find(|n| n.sample < cut && n.channel == v);
            if before.is_some_and(|n| n.on) {
                assert!(
                    out.iter()
                        .any(|n| n.sample == cut && !n.on && n.channel == v),
                    "channel {v} note not ended at {cut}"
                );
            }
        }
    }
    // Stopped, the held note is still harmonized on the internal clock,
    // restarting at the stop itself.
    assert!(out
        .iter()
        .any(|n| n.on && n.channel == 1 && n.sample >= 170_003));
    assert!(hanging(&out).is_empty(), "hanging: {:?}", hanging(&out));
}

#[test]
fn deactivation_ends_generated_notes() {
    let mut plugin = Vst3Bach::load(4096);
    let s = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([(0, true, 72)]),
        length: 4096,
    };
    let mut out = plugin.run(&s, 4096, &[]);
    assert!(out.iter().any(|n| n.on && n.channel == 1));
    plugin.deactivate();
    plugin.activate();
    let after = Session {
        segments: vec![stop(0, 120.0)],
        notes: vec![],
        length: 512,
    };
    let rest = plugin.run(&after, 512, &[]);
    out.extend(rest.iter().map(|n| Note {
        sample: n.sample + 4096,
        ..*n
    }));
    let generated: Vec<_> = out
        .iter()
        .filter(|n| voice_of(n).is_some())
        .copied()
        .collect();
    assert!(hanging(&generated).is_empty(), "{generated:?}");
}

#[test]
fn parameters_and_state_survive_get_and_set_state() {
    let mut plugin = Vst3Bach::load(512);
    let (seed, tenor, temperature) = (
        plugin.param("Seed"),
        plugin.param("Tenor"),
        plugin.param("Temperature"),
    );
    let s = session();
    let first = plugin.run(&s, 512, &[(seed, 1234.0), (tenor, 0.0), (temperature, 1.3)]);
    assert!(first.iter().all(|n| n.channel != 2 || !n.on), "tenor off");
    assert!((plugin.param_value(seed) - 1234.0).abs() < 0.01);
    let state = plugin.get_state();
    let mut other = Vst3Bach::load(512);
    assert!((other.param_value(seed) - 1234.0).abs() > 0.5);
    other.restore(&state);
    assert!((other.param_value(seed) - 1234.0).abs() < 0.01);
    assert!(other.param_value(tenor).abs() < 1e-6);
    let t = other.param_value(temperature);
    assert!((t - 1.3).abs() < 1e-4, "temperature {t}");
    // The restored instance plays what the saved one played.
    let restored = other.run(&s, 512, &[]);
    assert_eq!(first, restored);
    let text = String::from_utf8_lossy(&state);
    assert!(text.contains("chorale-satb"), "model choice saved: {text}");
    // A broken state is refused with an error code, never a crash, and the
    // instance keeps its parameters.
    let mut third = Vst3Bach::load(512);
    third.deactivate();
    assert!(!third.try_set_state(b"{ not json"));
    assert!((third.param_value(seed) - 1.0).abs() < 0.01);
}
