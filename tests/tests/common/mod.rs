//! The tests the CLAP and VST3 builds both pass (tests/clap.rs and
//! tests/vst3.rs run each through their own ABI's [`Instance`]), and the melody
//! and sessions they play.
#![allow(dead_code)]

use bach_e2e::{
    hanging, held_through_loop_seek_stop, keys, play, stop, Instance, Note, Segment, Session,
};
use bach_engine::{CoreKind, ModelMeta};

/// Melody of quarter notes and eighths (some off the grid) at 120 bpm, from beat 1.
pub fn melody() -> Vec<(i64, bool, u8)> {
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

pub fn session() -> Session {
    Session {
        segments: vec![play(0, 120.0, 0.0), stop(10 * 24_000, 120.0)],
        notes: keys(melody()),
        length: 11 * 24_000,
    }
}

/// The melody twice, through a loop, a seek with a new tempo, a tempo
/// change and a stop.
pub fn transport_session() -> Session {
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

/// Generated voices are on channels 2..4 by default (1-based), the melody on 1.
pub fn voice_of(n: &Note) -> Option<usize> {
    (1..=3).contains(&n.channel).then_some(n.channel as usize)
}

pub fn harmony_sounds_at_the_melody_sample_offsets<H: Instance>() {
    let mut plugin = H::load(4096);
    let temperature = plugin.param("Temperature");
    let out = plugin.run(&session(), 512, &[(temperature, 0.0)]);
    for &(t, _, pitch) in melody().iter().filter(|n| n.1) {
        assert!(
            out.iter()
                .any(|n| n.sample == t && n.on && n.pitch == pitch && n.channel == 0),
            "melody note {pitch} passes through at {t}: {out:?}"
        );
    }
    // At temperature 0 the model may still choose to hold a voice; at the
    // first melody note from silence every voice must start.
    for v in 1..=3u8 {
        assert!(
            out.iter()
                .any(|n| n.sample == 24_000 && n.on && n.channel == v),
            "voice on channel {} starts with the melody at 24000: {out:?}",
            v + 1
        );
    }
    // Every generated note-on sits on a melody onset or on a grid step, or
    // once the melody has shown a player's timing (notes off the grid), the
    // Timing's 40 ms (1920 samples) after a step that waited for a late note.
    let onsets: Vec<i64> = melody().iter().filter(|n| n.1).map(|n| n.0).collect();
    for n in out.iter().filter(|n| n.on && voice_of(n).is_some()) {
        assert!(
            onsets.contains(&n.sample) || [0, 1920].contains(&(n.sample % 6000)),
            "generated note off the grid and off the melody: {n:?}"
        );
    }
    assert!(hanging(&out).is_empty(), "hanging: {:?}", hanging(&out));
}

pub fn three_voices_in_their_ranges<H: Instance>() {
    let mut plugin = H::load(4096);
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
        "alto, tenor and bass all sound"
    );
}

pub fn output_is_the_same_for_every_buffer_size<H: Instance>() {
    let full = transport_session();
    let mut plugin = H::load(4096);
    let seed = plugin.param("Seed");
    let reference = plugin.run(&full, 1, &[(seed, 7.0)]);
    // The melody alone is 28 note events; the rest is harmony to compare
    // (the shipped model makes 96 events in all here).
    assert!(reference.len() > 80, "{} notes", reference.len());
    for size in [37, 512, 4096] {
        let mut plugin = H::load(4096);
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

pub fn loop_seek_and_stop_end_generated_notes<H: Instance>() {
    // A melody note held through everything: only the transport can end the harmony.
    let s = held_through_loop_seek_stop(220_000);
    let mut plugin = H::load(4096);
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
    let late: Vec<_> = out.iter().filter(|n| n.sample >= 170_003).collect();
    assert!(
        out.iter()
            .any(|n| n.on && n.channel == 1 && n.sample >= 170_003),
        "{late:?}"
    );
    assert!(hanging(&out).is_empty(), "hanging: {:?}", hanging(&out));
}

pub fn deactivation_ends_generated_notes<H: Instance>() {
    let mut plugin = H::load(4096);
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
