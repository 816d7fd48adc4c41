//! The key at each step of a melody known in advance ([`key_track`]): the
//! whole melody's key, except in passages clearly in a closely related key.

use super::estimator::{normalised_profiles, Evidence};
use super::{Key, Mode};

/// Steps each side of a step whose melody names its local key in
/// [`key_track`]: two bars of 4/4, about a chorale phrase each way.
pub const TRACK_WINDOW: usize = 32;
/// How much, in units of correlation, the home key is preferred locally: a
/// passage must sound clearly in another key to be heard in it. Chosen on
/// the valid sopranos, seeds 1-3, with the whole melody known (0, 0.03,
/// 0.05, 0.07 and 0.1 tried, with the cadence rule and the home opening):
/// the harmony's notes outside the piece's key came closest to Bach's
/// (3.2%; 2.7% at 0.1, his 4.2%) with consonance, phrase ends and the
/// opening as they were or nearer his.
pub const TRACK_HOME_BONUS: f32 = 0.03;
/// The steps at the start heard in the home key whatever the melody does
/// there: Bach opens in it (1.4% of the valid chorales' alto, tenor and
/// bass notes in the first bar lie outside it), and a window reaching into
/// the second phrase must not pull the first bar elsewhere. Two bars of 4/4.
pub const TRACK_OPENING_STEPS: usize = 32;
/// The same for the relative key (the same notes, another tonic), which a
/// melody alone tells apart only by what it dwells on: a plain tune must not
/// flip between them (0.2 to 0.3 leave the valid figures as they are).
pub const TRACK_RELATIVE_BONUS: f32 = 0.3;
/// The shortest stretch, in steps, heard in a key of its own: two bars of
/// 4/4, about a chorale phrase.
pub const TRACK_MIN_STEPS: usize = 32;

/// The key at each step of a melody known in advance (`melody[t]`: the pitch
/// sounding at step `t`, `None` in a rest): the whole melody's key
/// (`home`, from [`estimate_key`]), except where the melody around a step (its
/// [`TRACK_WINDOW`] steps each side) is clearly in a closely related key
/// (one sharp or flat apart, or the relative), as Bach's chorales modulate
/// to the dominant, the subdominant and the relatives at phrase ends.
/// The relative key needs clearer evidence ([`TRACK_RELATIVE_BONUS`]), and
/// stretches shorter than [`TRACK_MIN_STEPS`] keep the key before them, so
/// the key does not flicker; the first [`TRACK_OPENING_STEPS`] are always
/// home. `home` is the whole melody's key.
pub fn key_track(melody: &[Option<u8>], home: Key) -> Vec<Key> {
    let window = TRACK_WINDOW;
    let profiles = normalised_profiles();
    // Prefix sums of the pitch classes sounding, so each window is 12 subtractions.
    let mut prefix = vec![[0.0f32; 12]; melody.len() + 1];
    for (t, p) in melody.iter().enumerate() {
        prefix[t + 1] = prefix[t];
        if let Some(p) = p {
            prefix[t + 1][(p % 12) as usize] += 1.0;
        }
    }
    let mut keys: Vec<Key> = (0..melody.len())
        .map(|t| {
            let (lo, hi) = (t.saturating_sub(window), (t + window + 1).min(melody.len()));
            let mut evidence = Evidence::EMPTY;
            for (pc, h) in evidence.histogram.iter_mut().enumerate() {
                *h = prefix[hi][pc] - prefix[lo][pc];
            }
            let Some(scores) = evidence.scores(&profiles) else {
                return home;
            };
            // Each related key's score less what the home key is preferred by.
            let mut best = home;
            let mut best_score = scores[home.index()];
            for key in Key::ALL {
                if key == home || !related(home, key) {
                    continue;
                }
                let preferred = if same_signature(home, key) {
                    TRACK_RELATIVE_BONUS
                } else {
                    TRACK_HOME_BONUS
                };
                if scores[key.index()] - preferred > best_score {
                    best = key;
                    best_score = scores[key.index()] - preferred;
                }
            }
            best
        })
        .collect();
    let opening = TRACK_OPENING_STEPS.min(keys.len());
    keys[..opening].fill(home);
    // Short stretches keep the key before them: the opening is home, so a
    // stretch in another key always has one.
    let mut start = 0;
    while start < keys.len() {
        let mut end = start;
        while end < keys.len() && keys[end] == keys[start] {
            end += 1;
        }
        if end - start < TRACK_MIN_STEPS && keys[start] != home {
            let before = keys[start - 1];
            keys[start..end].fill(before);
        }
        start = end;
    }
    keys
}

/// A key's signature as fifths from C (mod 12): the place on the circle of
/// fifths of the major key with the same notes.
fn signature(k: Key) -> i32 {
    let major = match k.mode {
        Mode::Major => k.tonic,
        Mode::Minor => (k.tonic + 3) % 12,
    };
    (major as i32 * 7).rem_euclid(12)
}

/// Whether two keys have the same notes (a key and its relative).
fn same_signature(a: Key, b: Key) -> bool {
    signature(a) == signature(b)
}

/// Whether `other` is closely related to `home`: their key signatures are at
/// most one sharp or flat apart (the dominant, the subdominant, the
/// relatives of all three).
fn related(home: Key, other: Key) -> bool {
    let d = (signature(home) - signature(other)).rem_euclid(12);
    d <= 1 || d == 11
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::estimate_key;

    fn key(tonic: u8, mode: Mode) -> Key {
        Key { tonic, mode }
    }

    /// A line of quarter notes (4 steps each).
    fn quarters(pitches: &[u8]) -> Vec<Option<u8>> {
        pitches.iter().flat_map(|&p| [Some(p); 4]).collect()
    }

    /// Phrases of quarter notes, one after another.
    fn phrases(phrases: &[&[u8]]) -> Vec<Option<u8>> {
        phrases.iter().flat_map(|p| quarters(p)).collect()
    }

    const C_PHRASE: [u8; 16] = [
        60, 64, 67, 65, 64, 62, 60, 62, 64, 65, 67, 69, 67, 65, 64, 60,
    ];
    /// G major with its F sharps, cadencing on G.
    const G_PHRASE: [u8; 16] = [
        67, 71, 74, 72, 71, 69, 66, 67, 69, 71, 72, 74, 66, 69, 66, 67,
    ];

    #[test]
    fn a_whole_melody_modulating_to_the_dominant_is_heard_there_and_back() {
        let melody = phrases(&[
            &C_PHRASE, &C_PHRASE, &G_PHRASE, &G_PHRASE, &C_PHRASE, &C_PHRASE,
        ]);
        let c = key(0, Mode::Major);
        let g = key(7, Mode::Major);
        let track = key_track(&melody, c);
        assert_eq!(track.len(), melody.len());
        assert_eq!(track[0], c);
        assert_eq!(track[track.len() - 1], c);
        // The middle of the G major passage is heard in G.
        assert_eq!(track[128 + 64], g, "{track:?}");
        // The key changes at most twice: into G and back.
        let changes = track.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(changes, 2, "{track:?}");
    }

    #[test]
    fn the_opening_is_heard_in_the_home_key() {
        // A melody that begins with its dominant's phrases, in C: the
        // first two bars stay in C; the G passage after them is heard in G.
        let melody = phrases(&[&G_PHRASE, &G_PHRASE, &C_PHRASE, &C_PHRASE, &C_PHRASE]);
        let c = key(0, Mode::Major);
        let track = key_track(&melody, c);
        assert!(
            track[..TRACK_OPENING_STEPS].iter().all(|k| *k == c),
            "{track:?}"
        );
        assert_eq!(
            track[TRACK_OPENING_STEPS + 16],
            key(7, Mode::Major),
            "{track:?}"
        );
    }

    #[test]
    fn a_passing_chromatic_note_or_a_short_excursion_keeps_the_home_key() {
        let mut pitches: Vec<u8> = C_PHRASE.repeat(3);
        pitches[20] = 66; // one F sharp
        let c = key(0, Mode::Major);
        let track = key_track(&quarters(&pitches), c);
        assert!(track.iter().all(|k| *k == c), "{track:?}");
        // A rest names no key: it keeps the home key.
        assert!(key_track(&[None; 40], c).iter().all(|k| *k == c));
        assert!(key_track(&[], c).is_empty());
    }

    #[test]
    fn a_plain_tune_does_not_flip_to_its_relative_minor() {
        // A D major waltz that dwells on B, A and C sharp in its middle:
        // the same notes as B minor, and still one key throughout.
        let waltz = [
            74, 76, 78, 79, 78, 76, 74, 73, 71, 69, 71, 73, 74, 78, 81, 79, 76, 73, 74, 74, 74, 74,
            74,
        ];
        let melody = quarters(&waltz);
        let d = key(2, Mode::Major);
        // The waltz's whole-melody key is D major, the home of its track.
        let notes = waltz.iter().map(|&p| (p, 4.0));
        assert_eq!(estimate_key(notes), Some(d));
        let track = key_track(&melody, d);
        assert!(track.iter().all(|k| *k == d), "{track:?}");
    }

    #[test]
    fn only_closely_related_keys_are_followed() {
        let c = key(0, Mode::Major);
        for (other, close) in [
            (key(7, Mode::Major), true),  // dominant
            (key(5, Mode::Major), true),  // subdominant
            (key(9, Mode::Minor), true),  // relative
            (key(4, Mode::Minor), true),  // relative of the dominant
            (key(2, Mode::Minor), true),  // relative of the subdominant
            (key(2, Mode::Major), false), // two sharps
            (key(0, Mode::Minor), false), // three flats
        ] {
            assert_eq!(related(c, other), close, "{}", other.name());
        }
    }
}
