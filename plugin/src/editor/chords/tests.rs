//! The window's chord naming, step by step and from played notes.

use super::*;

fn c_major() -> Key {
    Key::parse("C major").unwrap()
}

/// A chord held for a beat (four 16ths) from step `at` in 4/4.
fn beat(at: usize, satb: [u8; 4]) -> Vec<Step> {
    (at..at + 4)
        .map(|t| Step {
            pitches: satb.map(Some),
            key: Some(c_major()),
            position: BarPosition::common(t),
        })
        .collect()
}

fn names(labels: &[Label]) -> Vec<(i64, String, String)> {
    labels
        .iter()
        .map(|l| (l.step, l.symbol.to_string(), l.numeral.to_string()))
        .collect()
}

#[test]
fn a_cadence_in_c_is_labelled_chord_by_chord() {
    let mut steps = beat(0, [72, 67, 64, 48]);
    steps.extend(beat(4, [72, 69, 65, 53]));
    steps.extend(beat(8, [71, 67, 65, 55]));
    steps.extend(beat(12, [72, 67, 64, 48]));
    let labels = labels(0, &steps);
    assert_eq!(
        names(&labels),
        [
            (0, "C".into(), "I".into()),
            (4, "F".into(), "IV".into()),
            (8, "G7".into(), "V7".into()),
            (12, "C".into(), "I".into()),
        ]
    );
    // The key is shown at the first label only.
    assert_eq!(labels[0].key, Some(c_major()));
    assert!(labels[1..].iter().all(|l| l.key.is_none()));
}

#[test]
fn a_passing_sixteenth_keeps_the_label() {
    // C major, the soprano's E a dotted 8th, then D passing to C.
    let mut steps = beat(0, [76, 67, 60, 48]);
    steps[3].pitches[0] = Some(74);
    steps.extend(beat(4, [72, 67, 64, 48]));
    assert_eq!(names(&labels(0, &steps)), [(0, "C".into(), "I".into())]);
}

#[test]
fn a_key_change_labels_again_and_names_the_key() {
    let mut steps = beat(0, [74, 67, 62, 55]);
    let g_major = Key::parse("G major").unwrap();
    let mut in_g = beat(4, [74, 67, 62, 55]);
    in_g.iter_mut().for_each(|s| s.key = Some(g_major));
    steps.extend(in_g);
    let labels = labels(0, &steps);
    assert_eq!(
        names(&labels),
        [(0, "G".into(), "V".into()), (4, "G".into(), "I".into())]
    );
    assert_eq!(labels[1].key, Some(g_major));
}

#[test]
fn rests_and_unknown_keys_have_no_label() {
    let mut steps = beat(0, [72, 67, 64, 48]);
    steps[3].pitches = [None; 4];
    steps[2].key = None;
    // After the rest the same chord is labelled again, with its key.
    let labels = labels(0, &steps);
    assert_eq!(names(&labels), [(0, "C".into(), "I".into())]);
    let again = super::labels(0, &[steps[2], steps[3], steps[0]]);
    assert_eq!(names(&again), [(2, "C".into(), "I".into())]);
    assert_eq!(again[0].key, Some(c_major()));
}

#[test]
fn the_window_names_played_notes_on_the_host_grid() {
    // 120 bpm at 48 kHz: a beat is 24,000 samples, a 16th 6,000.
    let note = |start: i64, end: i64, pitch: u8, voice: u8| Played {
        start,
        end: Some(end),
        pitch,
        voice,
        key: c_major().index() as i8,
    };
    let mut notes = Vec::new();
    for (beat, satb) in [
        (0, [72, 67, 64, 48]),
        (1, [72, 69, 65, 53]),
        (2, [71, 67, 65, 55]),
        (3, [72, 67, 64, 48]),
    ] {
        for (v, p) in satb.into_iter().enumerate() {
            notes.push(note(beat * 24_000, (beat + 1) * 24_000, p, v as u8));
        }
    }
    let window = 4 * 4 * 24_000;
    let cadence = [
        (0, "C".to_string(), "I".to_string()),
        (24_000, "F".into(), "IV".into()),
        (48_000, "G7".into(), "V7".into()),
        (72_000, "C".into(), "I".into()),
    ];
    // The transport playing from 0, stopped at beat 8 (its beats stand
    // still), and none; each step is named once whatever the frames.
    let playing: fn(i64) -> f64 = |now| now as f64 / 24_000.0;
    let stopped: fn(i64) -> f64 = |_| 8.0;
    let none: fn(i64) -> f64 = |_| f64::NAN;
    for beats in [playing, stopped, none] {
        let mut chords = Chords::default();
        // The window draws every 800 samples or so.
        for now in (800..=96_000).step_by(800) {
            let clock = Clock {
                now,
                beats: beats(now),
                samples_per_beat: 24_000.0,
                meter: Meter::COMMON,
            };
            chords.update(|| notes.iter(), &clock, window);
        }
        let got: Vec<_> = chords
            .labels()
            .map(|l| (l.sample, l.symbol.to_string(), l.numeral.to_string()))
            .collect();
        assert_eq!(got, cadence);
    }
}

#[test]
fn a_loop_names_the_roll_afresh_without_doubling_labels() {
    let notes: Vec<Played> = [72, 67, 64, 48]
        .into_iter()
        .enumerate()
        .map(|(v, pitch)| Played {
            start: 0,
            end: None,
            pitch,
            voice: v as u8,
            key: c_major().index() as i8,
        })
        .collect();
    let mut chords = Chords::default();
    let clock = |now: i64, beats: f64| Clock {
        now,
        beats,
        samples_per_beat: 24_000.0,
        meter: Meter::COMMON,
    };
    let window = 4 * 4 * 24_000;
    chords.update(|| notes.iter(), &clock(48_000, 2.0), window);
    chords.update(|| notes.iter(), &clock(49_000, 2.0 + 1.0 / 24.0), window);
    // Back to beat 0 (a loop): the roll is named again on the new grid.
    chords.update(|| notes.iter(), &clock(50_000, 0.0), window);
    let got: Vec<_> = chords.labels().map(|l| l.symbol.to_string()).collect();
    assert_eq!(got, ["C"], "{:?}", chords.labels().collect::<Vec<_>>());
}
