//! Bach Instrument through both ABIs: the MIDI effect's notes note for note,
//! and a preview organ that sounds exactly while notes do, the same for
//! every buffer size, silent when switched off, and never left ringing.

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{
    hanging, held_through_loop_seek_stop, keys, play, stop, ClapBach, Instance, Note, Session, SR,
};

/// The organ's release (0.15 s) and a little more: after this long with no
/// note sounding, the output must be exactly zero.
const DIES_AWAY: i64 = (0.16 * SR) as i64;

/// A chorale phrase's melody at 120 bpm: quarters and halves from beat 1.
fn session() -> Session {
    let spb = 24_000.0;
    let mut notes = Vec::new();
    for (beat, len, pitch) in [
        (1.0, 1.0, 72u8),
        (2.0, 1.0, 74),
        (3.0, 1.0, 76),
        (4.0, 2.0, 74),
        (6.0, 2.0, 72),
    ] {
        notes.push(((beat * spb) as i64, true, pitch));
        notes.push((((beat + len) * spb) as i64 - 1, false, pitch));
    }
    Session {
        segments: vec![play(0, 120.0, 0.0), stop(9 * 24_000, 120.0)],
        notes: keys(notes),
        length: 11 * 24_000,
    }
}

/// For each sample: whether a note sounds, and whether one sounded within
/// the organ's release.
fn sounding(notes: &[Note], len: usize) -> (Vec<bool>, Vec<bool>) {
    let mut count = vec![0i32; len + 1];
    let mut open = std::collections::HashMap::new();
    for n in notes {
        let key = (n.channel, n.pitch);
        if n.on {
            open.insert(key, n.sample);
        } else if let Some(start) = open.remove(&key) {
            count[(start as usize).min(len)] += 1;
            count[(n.sample as usize).min(len)] -= 1;
        }
    }
    let mut now = 0;
    let on: Vec<bool> = (0..len)
        .map(|i| {
            now += count[i];
            now > 0
        })
        .collect();
    let mut recent = vec![false; len];
    let mut last_on = i64::MIN / 2;
    for i in 0..len {
        if on[i] {
            last_on = i as i64;
        }
        recent[i] = i as i64 - last_on <= DIES_AWAY;
    }
    (on, recent)
}

/// The audio sounds where notes sound and is exactly silent where none has
/// for longer than the release; every sample was written.
fn check_audio(notes: &[Note], audio: &[Vec<f32>; 2]) {
    let len = audio[0].len();
    assert_eq!(audio[1].len(), len);
    let (on, recent) = sounding(notes, len);
    assert!(on.iter().any(|&x| x), "notes were played");
    for ch in audio {
        assert!(ch.iter().all(|s| s.is_finite()), "every sample written");
        for i in 0..len {
            assert!(
                recent[i] || ch[i] == 0.0,
                "sample {i} sounds ({}) with no note for {DIES_AWAY} samples",
                ch[i]
            );
        }
        // Every 10 ms while a note sounds (past its attack) is audible.
        for start in (0..len.saturating_sub(480)).step_by(480) {
            if on[start.saturating_sub(960)..start + 480]
                .iter()
                .all(|&x| x)
            {
                let peak = ch[start..start + 480]
                    .iter()
                    .fold(0f32, |m, s| m.max(s.abs()));
                assert!(peak > 1e-3, "silent at {start} while notes sound");
            }
        }
    }
}

#[test]
fn the_instrument_plays_the_effects_notes_and_sounds_the_same_for_every_buffer_size() {
    let s = session();
    let mut effect = ClapBach::load(4096);
    let seed = effect.param("Seed");
    let midi = effect.run(&s, 512, &[(seed, 5.0)]);
    assert!(midi.iter().any(|n| n.on && n.channel == 1), "harmony");
    assert!(effect.audio[0].is_empty(), "the MIDI effect has no audio");

    let mut reference: Option<[Vec<f32>; 2]> = None;
    for size in [4096, 512, 37, 1] {
        let mut instrument = ClapBach::load_instrument(4096);
        let seed = instrument.param("Seed");
        let notes = instrument.run(&s, size, &[(seed, 5.0)]);
        assert_eq!(
            notes, midi,
            "size {size}: the instrument's MIDI is the effect's"
        );
        assert!(hanging(&notes).is_empty());
        check_audio(&notes, &instrument.audio);
        match &reference {
            None => reference = Some(instrument.audio.clone()),
            Some(r) => {
                let first = (0..r[0].len()).find(|&i| {
                    r[0][i] != instrument.audio[0][i] || r[1][i] != instrument.audio[1][i]
                });
                assert_eq!(
                    first, None,
                    "size {size}: audio differs from the first sample shown"
                );
            }
        }
    }
    // Soprano left, bass right: the two channels differ.
    let r = reference.unwrap();
    assert!(r[0].iter().zip(&r[1]).any(|(l, r)| (l - r).abs() > 1e-4));
}

#[test]
fn the_preview_switched_off_is_silence_and_the_midi_is_unchanged() {
    let s = session();
    let mut on = ClapBach::load_instrument(4096);
    let with = on.run(&s, 512, &[]);
    let mut off = ClapBach::load_instrument(4096);
    let preview = off.param("Preview voice");
    let without = off.run(&s, 512, &[(preview, 0.0)]);
    assert_eq!(with, without);
    assert!(off.audio[0].iter().chain(&off.audio[1]).all(|&s| s == 0.0));
    // Quieter at a lower volume, in proportion.
    let mut quiet = ClapBach::load_instrument(4096);
    let volume = quiet.param("Preview volume");
    let minus_18 = quiet.value_of(volume, "-18.0 dB");
    quiet.run(&s, 512, &[(volume, minus_18)]);
    let peak = |a: &[f32]| a.iter().fold(0f32, |m, s| m.max(s.abs()));
    let ratio = peak(&quiet.audio[0]) / peak(&on.audio[0]);
    assert!((ratio - 0.25).abs() < 0.02, "-18 dB against -6 dB: {ratio}");
}

#[test]
fn loop_seek_stop_and_deactivation_leave_nothing_ringing() {
    // A melody note held through a loop, a seek and a stop, then released.
    let s = held_through_loop_seek_stop(240_000);
    let mut instrument = ClapBach::load_instrument(4096);
    let notes = instrument.run(&s, 333, &[]);
    assert!(hanging(&notes).is_empty(), "hanging: {:?}", hanging(&notes));
    check_audio(&notes, &instrument.audio);

    // Deactivated mid-chord: silent at once when it comes back.
    let mut instrument = ClapBach::load_instrument(4096);
    let held = Session {
        segments: vec![play(0, 120.0, 0.0)],
        notes: keys([(0, true, 72)]),
        length: 8192,
    };
    instrument.run(&held, 4096, &[]);
    assert!(instrument.audio[0][4096..].iter().any(|s| s.abs() > 1e-3));
    instrument.deactivate();
    instrument.activate();
    instrument.audio = [Vec::new(), Vec::new()];
    let after = Session {
        segments: vec![stop(0, 120.0)],
        notes: vec![],
        length: 2048,
    };
    instrument.run(&after, 512, &[]);
    assert!(instrument.audio[0].iter().all(|&s| s == 0.0));
}

#[test]
fn a_project_moves_between_the_effect_and_the_instrument() {
    let s = session();
    let mut effect = ClapBach::load(512);
    let (seed, tenor) = (effect.param("Seed"), effect.param("Tenor"));
    let played = effect.run(&s, 512, &[(seed, 4321.0), (tenor, 0.0)]);
    let state = effect.save_state();

    let mut instrument = ClapBach::load_instrument(512);
    instrument.restore(&state);
    assert!((instrument.param_value(seed) - 4321.0).abs() < 0.01);
    assert!(instrument.param_value(tenor).abs() < 1e-6);
    let preview = instrument.param("Preview voice");
    assert_eq!(
        instrument.param_value(preview),
        1.0,
        "its own stays as it was"
    );
    assert_eq!(instrument.run(&s, 512, &[]), played, "and plays the same");

    // And back: the instrument's state (preview off) in the effect.
    let mut instrument = ClapBach::load_instrument(512);
    let preview = instrument.param("Preview voice");
    let seed = instrument.param("Seed");
    instrument.run(&s, 512, &[(preview, 0.0), (seed, 77.0)]);
    let state = instrument.save_state();
    let mut again = ClapBach::load_instrument(512);
    again.restore(&state);
    assert_eq!(
        again.param_value(preview),
        0.0,
        "the preview's own setting is saved"
    );
    let mut effect = ClapBach::load(512);
    effect.restore(&state);
    let seed = effect.param("Seed");
    assert!((effect.param_value(seed) - 77.0).abs() < 0.01);
}

#[test]
fn the_vst3_instrument_matches_the_clap_one() {
    let s = session();
    let mut clap = ClapBach::load_instrument(4096);
    let clap_notes = clap.run(&s, 512, &[]);
    for size in [37, 4096] {
        let mut vst3 = Vst3Bach::load_instrument(4096);
        let notes = vst3.run(&s, size, &[]);
        assert_eq!(notes, clap_notes, "size {size}");
        check_audio(&notes, &vst3.audio);
        assert!(vst3.audio == clap.audio, "size {size}: the same sound");
    }
    // The effect still has no audio bus (checked on load) and plays the same MIDI.
    let mut effect = Vst3Bach::load(4096);
    assert_eq!(effect.run(&s, 512, &[]), clap_notes);
}

#[test]
fn bypassed_the_instrument_passes_the_melody_and_is_silent_in_both_abis() {
    let s = session();
    let melody_only = |notes: &[Note]| notes.iter().all(|n| n.channel == 0);
    let mut clap = ClapBach::load_instrument(4096);
    let bypass = clap.param("Bypass");
    let notes = clap.run(&s, 512, &[(bypass, 1.0)]);
    assert!(!notes.is_empty() && melody_only(&notes), "{notes:?}");
    assert!(clap.audio.iter().flatten().all(|&x| x == 0.0));

    let mut vst3 = Vst3Bach::load_instrument(4096);
    let bypass = vst3.param("Bypass");
    let notes = vst3.run(&s, 512, &[(bypass, 1.0)]);
    assert!(!notes.is_empty() && melody_only(&notes), "{notes:?}");
    assert!(vst3.audio.iter().flatten().all(|&x| x == 0.0));
}
