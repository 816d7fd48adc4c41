//! Roman numerals in the key, written as RomanText (the When in Rome
//! corpus's notation, which music21 reads): `I`, `V6/5`, `viio7`, `viiø7`,
//! `IVmaj7`, `III+`, `V7/V`, `bVI`, `N6`.
//!
//! In minor keys the numerals follow RomanText's default for the sixth and
//! seventh degrees: an upper-case `VI` or `VII` stands on the natural
//! (lowered) degree, a lower-case `vi`/`vii` on the raised one, so the
//! leading-tone chord is `viio` and the subtonic triad `VII`.

use core::fmt;

use super::spelling::semitones_above_tonic;
use super::symbol::Quality;
use crate::key::{Key, Mode};

/// How a chord belongs to the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// Built from the key's scale (in minor either form of the 6th and
    /// 7th); dominant sevenths only on V and diminished sevenths only on
    /// the leading tone.
    Diatonic,
    /// The V, V7, viio, viio7 or viiø7 of another degree of the key (its
    /// scale degree 0..7 here, never the tonic): `V7/V`, `viio7/ii`.
    Secondary { target: u8 },
    /// Borrowed from the parallel mode: `bVI`, `iv` and `iio` in major,
    /// the major tonic (a Picardy third) in minor.
    Mixture,
    /// The major triad on the lowered second degree: `N`, `N6`.
    Neapolitan,
    /// A chromatic chord none of the above explains (augmented sixths
    /// among them): written `?`, its symbol still given.
    Other,
}

/// A chord read in a key: its function, the root's scale degree and the
/// figures. `Display` writes the RomanText numeral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Numeral {
    pub key: Key,
    /// The root's pitch class.
    pub root: u8,
    pub function: Function,
    /// The root's scale degree in the key, 0 (tonic) to 6.
    pub degree: u8,
    pub quality: Quality,
    /// The chord tone in the bass: 0 root, 1 third, 2 fifth, 3 seventh
    /// (a bass outside the chord is written as root position).
    pub inversion: u8,
    /// A tonic six-four over the dominant on a strong beat. It is still
    /// written `I6/4` (`i6/4`), as the When in Rome analysts write it; the
    /// flag lets a caller show it as a cadential six-four.
    pub cadential: bool,
}

/// The semitones above the tonic of each degree's usual form: the major
/// scale, and in minor the natural minor with the sixth and seventh
/// raised under lower-case numerals (RomanText's default).
fn reference(key: Key, degree: u8, upper: bool) -> u8 {
    const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
    const MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 10];
    let d = degree as usize % 7;
    match key.mode {
        Mode::Major => MAJOR[d],
        Mode::Minor if d >= 5 && !upper => MINOR[d] + 1,
        Mode::Minor => MINOR[d],
    }
}

/// The degrees a secondary chord may point at: those with a major or
/// minor diatonic triad, tonic aside (semitones above the tonic).
fn is_target(key: Key, semitones: u8) -> bool {
    match key.mode {
        Mode::Major => matches!(semitones, 2 | 4 | 5 | 7 | 9),
        Mode::Minor => matches!(semitones, 3 | 5 | 7 | 8 | 10),
    }
}

/// The upper-case numeral of a diatonic triad on each degree (for the
/// target of a secondary chord and the case of a sus4 chord).
fn diatonic_triad_is_major(key: Key, semitones: u8) -> bool {
    match key.mode {
        Mode::Major => matches!(semitones, 0 | 5 | 7),
        Mode::Minor => matches!(semitones, 3 | 7 | 8 | 10),
    }
}

/// The scale degree (0..7) of a target semitone count (one of
/// [`is_target`]'s, or the tonic).
fn degree_of(semitones: u8) -> u8 {
    const DEGREE: [u8; 12] = [0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6];
    DEGREE[semitones as usize % 12]
}

/// Whether a secondary reading is open: a V-type (major, dominant 7th)
/// or vii-type (diminished triad, diminished or half-diminished 7th)
/// chord whose resolution is a target degree. Returns the target degree.
fn secondary_target(key: Key, semitones: u8, quality: Quality) -> Option<u8> {
    let target = match quality {
        Quality::Major | Quality::Dominant7 => (semitones + 5) % 12,
        Quality::Diminished | Quality::Diminished7 | Quality::HalfDiminished7 => {
            (semitones + 1) % 12
        }
        _ => return None,
    };
    is_target(key, target).then(|| degree_of(target))
}

/// The other mode on the same tonic.
fn parallel(key: Key) -> Key {
    Key {
        tonic: key.tonic,
        mode: match key.mode {
            Mode::Major => Mode::Minor,
            Mode::Minor => Mode::Major,
        },
    }
}

/// How the chord on `root` (a pitch class) of `quality` belongs to `key`,
/// and its root's scale degree.
pub fn classify(key: Key, root: u8, quality: Quality) -> (Function, u8) {
    let semitones = semitones_above_tonic(key, root);
    let set = quality.pitch_classes(root);
    let all_in = |k: Key| (0..12).all(|pc| set & (1 << pc) == 0 || k.in_scale(pc));
    let diatonic = match quality {
        // Whatever the scale, these two have one place each (and the
        // dominant seventh a second in minor: IV7 on the raised sixth).
        Quality::Dominant7 => semitones == 7 || (key.mode == Mode::Minor && semitones == 5),
        Quality::Diminished7 => semitones == 11,
        // Any note of an augmented triad could be its root; only III+ in
        // minor is the key's own.
        Quality::Augmented => key.mode == Mode::Minor && semitones == 3,
        // The major tonic in minor is a Picardy third, not V/iv.
        Quality::Major if key.mode == Mode::Minor && semitones == 0 => false,
        _ => all_in(key),
    };
    if diatonic {
        return (Function::Diatonic, degree_of(semitones));
    }
    if key.mode == Mode::Minor && semitones == 0 && quality == Quality::Major {
        return (Function::Mixture, 0);
    }
    if let Some(target) = secondary_target(key, semitones, quality) {
        let up = if quality.triad() == Quality::Major {
            4
        } else {
            6
        };
        return (Function::Secondary { target }, (target + up) % 7);
    }
    if quality != Quality::Sus4 && quality != Quality::Dominant7 && all_in(parallel(key)) {
        return (Function::Mixture, degree_of(semitones));
    }
    if quality == Quality::Major && semitones == 1 {
        return (Function::Neapolitan, 1);
    }
    (Function::Other, degree_of(semitones))
}

const UPPER: [&str; 7] = ["I", "II", "III", "IV", "V", "VI", "VII"];
const LOWER: [&str; 7] = ["i", "ii", "iii", "iv", "v", "vi", "vii"];

impl Numeral {
    /// Whether the numeral is written in upper case (a major third above
    /// the root); a sus4 chord takes the case of the key's triad on its
    /// degree, the chord its fourth resolves to.
    fn upper(&self) -> bool {
        match self.quality {
            Quality::Sus4 => {
                let semis = semitones_above_tonic(self.key, self.root);
                // V in minor: the fourth resolves to the raised third.
                semis == 7 || diatonic_triad_is_major(self.key, semis)
            }
            q => q.triad() == Quality::Major || q == Quality::Augmented,
        }
    }

    /// The triad a musician hears: the quality's triad, and for a sus4
    /// chord the triad its fourth resolves to (major or minor by case).
    pub fn triad(&self) -> Quality {
        match self.quality {
            Quality::Sus4 if self.upper() => Quality::Major,
            Quality::Sus4 => Quality::Minor,
            q => q.triad(),
        }
    }

    /// Writes the numeral (`?` for [`Function::Other`]).
    pub fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        let upper = self.upper();
        match self.function {
            Function::Other => return w.write_char('?'),
            Function::Neapolitan => w.write_char('N')?,
            Function::Secondary { .. } => {
                let numeral = if self.quality.triad() == Quality::Major {
                    "V"
                } else {
                    "vii"
                };
                w.write_str(numeral)?;
            }
            Function::Diatonic | Function::Mixture => {
                let usual = reference(self.key, self.degree, upper);
                let actual = semitones_above_tonic(self.key, self.root);
                match (actual + 12 - usual) % 12 {
                    11 => w.write_char('b')?,
                    1 => w.write_char('#')?,
                    _ => {}
                }
                let names = if upper { &UPPER } else { &LOWER };
                w.write_str(names[self.degree as usize % 7])?;
            }
        }
        if self.function != Function::Neapolitan {
            w.write_str(match self.quality {
                Quality::Diminished | Quality::Diminished7 => "o",
                Quality::HalfDiminished7 => "ø",
                Quality::Augmented => "+",
                Quality::Major7 => "maj",
                _ => "",
            })?;
        }
        let figures: &[&str] = if self.quality == Quality::Sus4 {
            &["sus4"; 3]
        } else if self.quality.is_seventh() {
            &["7", "6/5", "4/3", "4/2"]
        } else {
            &["", "6", "6/4"]
        };
        w.write_str(figures[(self.inversion as usize).min(figures.len() - 1)])?;
        if let Function::Secondary { target } = self.function {
            w.write_char('/')?;
            let semis = reference(self.key, target, true);
            let names = if diatonic_triad_is_major(self.key, semis) {
                &UPPER
            } else {
                &LOWER
            };
            w.write_str(names[target as usize % 7])?;
        }
        Ok(())
    }
}

impl fmt::Display for Numeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}
