//! Tests of [`super`].

use super::*;

fn key(tonic: u8, mode: Mode) -> Key {
    Key { tonic, mode }
}

/// Up and down the scale from the tonic, in quarter notes, ending on it.
fn scale_tune(degrees: &[u8], tonic: u8) -> Vec<(u8, f32)> {
    let mut notes: Vec<(u8, f32)> = degrees.iter().map(|d| (60 + tonic + d, 4.0)).collect();
    notes.extend(degrees.iter().rev().skip(1).map(|d| (60 + tonic + d, 4.0)));
    notes
}

const MAJOR: [u8; 8] = [0, 2, 4, 5, 7, 9, 11, 12];
const HARMONIC_MINOR: [u8; 8] = [0, 2, 3, 5, 7, 8, 11, 12];

#[test]
fn a_scale_names_its_key_offline_and_as_heard() {
    for (degrees, tonic, expected) in [
        (&MAJOR, 0, key(0, Mode::Major)),
        (&HARMONIC_MINOR, 9, key(9, Mode::Minor)),
    ] {
        let tune = scale_tune(degrees, tonic);
        assert_eq!(estimate_key(tune.iter().copied()), Some(expected));
        let mut heard = KeyEstimator::new();
        for &(pitch, steps) in &tune {
            for _ in 0..steps as usize {
                heard.hear(pitch, 1.0);
            }
        }
        heard.phrase_end();
        assert_eq!(heard.key(), Some(expected), "{}", expected.name());
        // The same notes given whole give the same key.
        let mut whole = KeyEstimator::new();
        for &(pitch, steps) in &tune {
            whole.hear(pitch, steps);
        }
        whole.phrase_end();
        assert_eq!(whole.key(), Some(expected));
    }
}

#[test]
fn no_key_until_enough_is_heard_and_none_after_reset() {
    let mut e = KeyEstimator::new();
    assert_eq!(e.key(), None);
    e.hear(60, 4.0);
    e.hear(62, 3.0);
    assert_eq!(e.key(), None, "7 steps are not enough");
    e.hear(64, 1.0);
    assert!(e.key().is_some(), "8 steps are");
    e.reset();
    assert_eq!(e.key(), None);
    e.phrase_end();
    assert_eq!(
        e.key(),
        None,
        "a phrase end with nothing heard names no key"
    );
    assert_eq!(estimate_key([]), None);
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        e.hear(60, bad);
    }
    assert_eq!(e.key(), None, "bad durations are ignored");
}

/// One 16-step phrase of quarter notes per call, step by step.
fn phrase(e: &mut KeyEstimator, pitches: [u8; 4], trace: &mut Vec<Option<Key>>) {
    for p in pitches {
        for _ in 0..4 {
            e.hear(p, 1.0);
            trace.push(e.key());
        }
    }
    e.phrase_end();
    trace.push(e.key());
}

const C_PHRASES: [[u8; 4]; 4] = [
    [60, 64, 67, 65],
    [64, 62, 59, 60],
    [67, 69, 65, 64],
    [62, 65, 71, 72],
];
// Cadencing on E♭ or (a half cadence) on B♭, through its leading tone D.
const E_FLAT_PHRASES: [[u8; 4]; 4] = [
    [63, 65, 67, 63],
    [68, 67, 65, 70],
    [72, 70, 62, 63],
    [67, 65, 62, 63],
];

#[test]
fn a_long_modulation_is_followed_at_a_phrase_end() {
    let c = key(0, Mode::Major);
    let e_flat = key(3, Mode::Major);
    let mut e = KeyEstimator::new();
    let mut trace = Vec::new();
    for p in C_PHRASES {
        phrase(&mut e, p, &mut trace);
    }
    assert_eq!(e.key(), Some(c));
    let before = trace.len();
    for _ in 0..3 {
        for p in E_FLAT_PHRASES {
            phrase(&mut e, p, &mut trace);
        }
    }
    assert_eq!(e.key(), Some(e_flat), "twelve phrases in E♭ are followed");
    // Only at phrase ends (the entry after each phrase's 16 steps), and
    // at most by way of C minor: the E♭ phrases keep C's tonic and
    // fifth, and the parallel minor is the nearer key while C's notes
    // fade.
    let changes: Vec<_> = trace[before..]
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(at, w)| (at + 1, w[1]))
        .collect();
    assert!(changes.len() <= 2, "{changes:?}");
    for &(at, k) in &changes {
        assert_eq!(at % 17, 16, "changed inside a phrase, at step {at}");
        assert!(k == Some(e_flat) || k == Some(key(0, Mode::Minor)), "{k:?}");
    }
}

#[test]
fn a_single_chromatic_note_does_not_flip_the_key() {
    let c = key(0, Mode::Major);
    let mut e = KeyEstimator::new();
    let mut trace = Vec::new();
    phrase(&mut e, C_PHRASES[0], &mut trace);
    phrase(&mut e, [64, 66, 67, 62], &mut trace); // F♯ as a passing note
    phrase(&mut e, C_PHRASES[1], &mut trace);
    phrase(&mut e, [61, 62, 63, 64], &mut trace); // a chromatic run
    phrase(&mut e, C_PHRASES[3], &mut trace);
    let first = trace.iter().position(Option::is_some).unwrap();
    assert!(first <= 8, "first estimate after {first} steps");
    assert!(trace[first..].iter().all(|k| *k == Some(c)), "{trace:?}");
}
