//! Keys (tonic and mode) and estimating one from a melody.
//!
//! The harmonizer works in a key-normalised frame: the melody is moved so
//! that its key's tonic is C ([`Key::shift`]), harmonized by a model that
//! knows only the mode, and moved back. In the plugin's Auto mode the key
//! of the first bar comes from [`Opening`] (`key/opening.rs`), then from
//! [`KeyEstimator`] (`key/estimator.rs`), which hears the melody as it is
//! played; the command line and the harmony report use [`estimate_key`] on
//! a whole melody, and [`key_track`] (`key/track.rs`) for the passages of
//! a melody known in advance. This file holds the key itself: its names,
//! parsing, scale and frame.
//!
//! Both correlate a duration-weighted pitch-class histogram with the
//! Aarden–Essen key profiles (the method music21 uses by default, which is
//! how the chorale data's keys were analysed from all four voices), plus
//! small bonuses for the notes that chorale melodies place on the tonic
//! triad: the first note, and the notes that end phrases (in a whole melody,
//! its last note). On the 300 train and valid chorale sopranos, the profile
//! alone names the data's key for 75–80% of the pieces; with the bonuses for
//! 92%. `engine/tests/key.rs` measures both estimators on the test pieces.

mod estimator;
pub mod opening;
mod track;

pub use estimator::{estimate_key, KeyEstimator};
pub use opening::Opening;
pub use track::{
    key_track, TRACK_HOME_BONUS, TRACK_MIN_STEPS, TRACK_OPENING_STEPS, TRACK_RELATIVE_BONUS,
    TRACK_WINDOW,
};

/// The pitch class of a natural note's letter, `'C'` to `'B'` (upper case),
/// as both key names and note names (`cli`'s tunes) read it.
pub fn natural_pitch_class(letter: char) -> Option<u8> {
    Some(match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    })
}

/// Major or minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
}

/// A key: its tonic's pitch class (0..12, C = 0) and its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

const MAJOR_NAMES: [&str; 12] = [
    "C major",
    "D♭ major",
    "D major",
    "E♭ major",
    "E major",
    "F major",
    "F♯ major",
    "G major",
    "A♭ major",
    "A major",
    "B♭ major",
    "B major",
];
const MINOR_NAMES: [&str; 12] = [
    "C minor",
    "C♯ minor",
    "D minor",
    "E♭ minor",
    "E minor",
    "F minor",
    "F♯ minor",
    "G minor",
    "G♯ minor",
    "A minor",
    "B♭ minor",
    "B minor",
];

/// Scale degrees (semitones above the tonic) of [`Key::in_scale`].
const MAJOR_SCALE: u16 = bits(&[0, 2, 4, 5, 7, 9, 11]);
const MINOR_SCALE: u16 = bits(&[0, 2, 3, 5, 7, 8, 9, 10, 11]);

const fn bits(degrees: &[u8]) -> u16 {
    let mut set = 0;
    let mut i = 0;
    while i < degrees.len() {
        set |= 1 << degrees[i];
        i += 1;
    }
    set
}

impl Key {
    /// All 24 keys, ordered by tonic from C up, major before minor:
    /// C major, C minor, C♯/D♭ major, C♯ minor, …, B major, B minor. So
    /// `index = 2 * tonic + (1 if minor)`.
    pub const ALL: [Key; 24] = {
        let mut all = [Key {
            tonic: 0,
            mode: Mode::Major,
        }; 24];
        let mut i = 0;
        while i < 24 {
            all[i] = Key {
                tonic: (i / 2) as u8,
                mode: if i % 2 == 0 { Mode::Major } else { Mode::Minor },
            };
            i += 1;
        }
        all
    };

    /// The key's position in [`Key::ALL`]. A tonic above 11 is read modulo 12.
    pub fn index(self) -> usize {
        2 * (self.tonic % 12) as usize + (self.mode == Mode::Minor) as usize
    }

    /// The key at `i` in [`Key::ALL`], or `None` past its end.
    pub fn from_index(i: usize) -> Option<Key> {
        Key::ALL.get(i).copied()
    }

    /// The conventional name, such as "C major", "F♯ minor" or "B♭ major":
    /// flats for the flat-side keys, sharps otherwise, F♯ major and E♭ minor
    /// for the six-accidental keys.
    pub fn name(self) -> &'static str {
        let names = match self.mode {
            Mode::Major => &MAJOR_NAMES,
            Mode::Minor => &MINOR_NAMES,
        };
        names[(self.tonic % 12) as usize]
    }

    /// Reads a key as a musician writes it: a letter A–G, optional
    /// accidentals (`#`, `♯`, `b`, `♭`, at most two), then optionally a mode:
    /// `major`, `maj`, `minor` or `min` in any case, or `M` or `m` (after a
    /// space, `-`, `_` or nothing).
    /// With no mode, an upper-case letter means major and a lower-case one
    /// minor, as in music21 and Humdrum ("D" is D major, "d" and "bb" are
    /// D minor and B♭ minor). So "F#m", "F# minor", "f♯ minor", "Bb",
    /// "B♭ major" and every [`Key::name`] parse.
    pub fn parse(s: &str) -> Option<Key> {
        let s = s.trim();
        let mut chars = s.chars();
        let letter = chars.next()?;
        let natural = natural_pitch_class(letter.to_ascii_uppercase())? as i32;
        let mut rest = chars.as_str();
        let mut alter: i32 = 0;
        let mut accidentals = 0;
        loop {
            // "b" is a flat only when it is not the start of the mode word;
            // no mode word starts with b, so any b here is a flat.
            let mut it = rest.chars();
            match it.next() {
                Some('#' | '♯') => alter += 1,
                Some('b' | '♭') => alter -= 1,
                _ => break,
            }
            rest = it.as_str();
            accidentals += 1;
        }
        if accidentals > 2 {
            return None;
        }
        let rest = rest.trim_start_matches([' ', '-', '_']).trim();
        let mode = if rest.is_empty() {
            if letter.is_ascii_uppercase() {
                Mode::Major
            } else {
                Mode::Minor
            }
        } else if rest == "m"
            || ["min", "minor"]
                .iter()
                .any(|w| rest.eq_ignore_ascii_case(w))
        {
            Mode::Minor
        } else if rest == "M"
            || ["maj", "major"]
                .iter()
                .any(|w| rest.eq_ignore_ascii_case(w))
        {
            Mode::Major
        } else {
            return None;
        };
        Some(Key {
            tonic: (natural + alter).rem_euclid(12) as u8,
            mode,
        })
    }

    /// The key a MIDI key signature names: `sharps` sharps (flats when
    /// negative, -7..=7) in major or minor, as the file wrote it. `None` for
    /// a count no key signature has.
    pub fn from_signature(sharps: i8, minor: bool) -> Option<Key> {
        if !(-7..=7).contains(&sharps) {
            return None;
        }
        // Each sharp moves the major tonic a fifth up; the minor tonic is a
        // minor third below its relative major's.
        let major = (sharps as i32 * 7).rem_euclid(12);
        Some(if minor {
            Key {
                tonic: ((major + 9) % 12) as u8,
                mode: Mode::Minor,
            }
        } else {
            Key {
                tonic: major as u8,
                mode: Mode::Major,
            }
        })
    }

    /// Whether a pitch class (or a MIDI pitch: it is read modulo 12) belongs
    /// to the key: for major the 7 diatonic pitch classes; for minor the
    /// natural minor scale plus the raised 6th and 7th (9 pitch classes).
    pub fn in_scale(self, pitch_class: u8) -> bool {
        let degree = (pitch_class % 12 + 12 - self.tonic % 12) % 12;
        let scale = match self.mode {
            Mode::Major => MAJOR_SCALE,
            Mode::Minor => MINOR_SCALE,
        };
        scale & (1 << degree) != 0
    }

    /// The semitones to add to move this key's tonic to C by the smaller
    /// motion, in -5..=6: G (7) gives +5, F (5) gives -5, and the tritone
    /// F♯ (6), where both motions are equal, gives +6. It depends on the
    /// tonic alone, so a key and its parallel key share a frame.
    pub fn shift(self) -> i32 {
        let up = (12 - (self.tonic % 12) as i32) % 12;
        if up > 6 {
            up - 12
        } else {
            up
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tonic: u8, mode: Mode) -> Key {
        Key { tonic, mode }
    }

    #[test]
    fn all_keys_round_trip_through_index_name_and_parse() {
        for (i, k) in Key::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(Key::from_index(i), Some(*k));
            assert_eq!(Key::parse(k.name()), Some(*k), "{}", k.name());
        }
        assert_eq!(Key::from_index(24), None);
        let mut names: Vec<_> = Key::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 24);
    }

    #[test]
    fn names_are_spelled_conventionally() {
        assert_eq!(key(0, Mode::Major).name(), "C major");
        assert_eq!(key(10, Mode::Major).name(), "B♭ major");
        assert_eq!(key(1, Mode::Major).name(), "D♭ major");
        assert_eq!(key(6, Mode::Major).name(), "F♯ major");
        assert_eq!(key(6, Mode::Minor).name(), "F♯ minor");
        assert_eq!(key(3, Mode::Minor).name(), "E♭ minor");
        assert_eq!(key(10, Mode::Minor).name(), "B♭ minor");
        assert_eq!(key(8, Mode::Minor).name(), "G♯ minor");
        assert_eq!(key(1, Mode::Minor).name(), "C♯ minor");
    }

    #[test]
    fn parses_what_musicians_type() {
        let cases = [
            ("D", key(2, Mode::Major)),
            ("d", key(2, Mode::Minor)),
            ("D major", key(2, Mode::Major)),
            ("d major", key(2, Mode::Major)),
            ("Dm", key(2, Mode::Minor)),
            ("F#m", key(6, Mode::Minor)),
            ("F# minor", key(6, Mode::Minor)),
            ("f♯ minor", key(6, Mode::Minor)),
            ("Bb", key(10, Mode::Major)),
            ("bb", key(10, Mode::Minor)),
            ("bb minor", key(10, Mode::Minor)),
            ("Bbm", key(10, Mode::Minor)),
            ("B♭ major", key(10, Mode::Major)),
            ("b", key(11, Mode::Minor)),
            ("Cb", key(11, Mode::Major)),
            ("E#", key(5, Mode::Major)),
            (" g Minor ", key(7, Mode::Minor)),
            ("A-maj", key(9, Mode::Major)),
            ("Eb min", key(3, Mode::Minor)),
        ];
        for (text, expected) in cases {
            assert_eq!(Key::parse(text), Some(expected), "{text:?}");
        }
        for bad in [
            "",
            "H",
            "X major",
            "C dorian",
            "C#b#b#",
            "C majorly",
            "Cbbb",
            "m",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn key_signatures_name_their_keys() {
        let name = |sharps, minor| Key::from_signature(sharps, minor).map(|k| k.name());
        assert_eq!(name(0, false), Some("C major"));
        assert_eq!(name(0, true), Some("A minor"));
        assert_eq!(name(2, false), Some("D major"));
        assert_eq!(name(-3, true), Some("C minor"));
        assert_eq!(name(-1, false), Some("F major"));
        assert_eq!(name(7, false), Some(key(1, Mode::Major).name()));
        assert_eq!(name(-7, true), Some(key(8, Mode::Minor).name()));
        assert_eq!(name(8, false), None);
        assert_eq!(name(i8::MIN, true), None);
    }

    #[test]
    fn shift_moves_the_tonic_to_c_by_the_smaller_motion() {
        for k in Key::ALL {
            let s = k.shift();
            assert!((-5..=6).contains(&s), "{}: {s}", k.name());
            assert_eq!((k.tonic as i32 + s).rem_euclid(12), 0, "{}", k.name());
            let other = key(
                k.tonic,
                if k.mode == Mode::Major {
                    Mode::Minor
                } else {
                    Mode::Major
                },
            );
            assert_eq!(other.shift(), s);
        }
        assert_eq!(key(7, Mode::Major).shift(), 5);
        assert_eq!(key(5, Mode::Major).shift(), -5);
        assert_eq!(key(6, Mode::Minor).shift(), 6);
        assert_eq!(key(11, Mode::Minor).shift(), 1);
        assert_eq!(key(2, Mode::Major).shift(), -2);
    }

    #[test]
    fn scales() {
        let c = key(0, Mode::Major);
        let a = key(9, Mode::Minor);
        let in_c: Vec<u8> = (0..12).filter(|&p| c.in_scale(p)).collect();
        assert_eq!(in_c, [0, 2, 4, 5, 7, 9, 11]);
        let in_a: Vec<u8> = (0..12).filter(|&p| a.in_scale(p)).collect();
        // A B C D E F F♯ G G♯.
        assert_eq!(in_a, [0, 2, 4, 5, 6, 7, 8, 9, 11]);
        // MIDI pitches read modulo 12.
        assert!(c.in_scale(60) && c.in_scale(71) && !c.in_scale(61));
        for k in Key::ALL {
            let n = (0..12).filter(|&p| k.in_scale(p)).count();
            assert_eq!(n, if k.mode == Mode::Major { 7 } else { 9 });
            assert!(k.in_scale(k.tonic) && k.in_scale((k.tonic + 7) % 12));
        }
    }
}
