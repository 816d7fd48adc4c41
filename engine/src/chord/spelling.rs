//! Note names that follow the key: F♯ in D major, G♭ in D♭ major, G♯ (the
//! raised leading tone) in A minor.
//!
//! A chord's root takes the letter of its scale degree in the key (the
//! numeral decides the degree, so the root of V/V in C is D and its third
//! F♯, not G♭); every other chord tone takes the letter a third, fifth or
//! seventh above the root's, whatever accidental that needs.

use core::fmt;

use crate::key::{Key, Mode};

/// The pitch class of each letter, C D E F G A B.
const NATURAL: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
const LETTERS: [char; 7] = ['C', 'D', 'E', 'F', 'G', 'A', 'B'];

/// A note name: a letter and how far it is raised (`alter` > 0, sharps) or
/// lowered (flats). `Display` writes `C`, `F#`, `Bb`, `Fx` is written `F##`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoteName {
    /// 0 = C, 1 = D, … 6 = B.
    pub letter: u8,
    /// Semitones from the natural letter, -2..=2.
    pub alter: i8,
}

impl NoteName {
    /// The name with letter `letter` (taken modulo 7) for `pitch_class`
    /// (modulo 12), with whatever accidental makes them agree.
    pub fn with_letter(letter: u8, pitch_class: u8) -> NoteName {
        let letter = letter % 7;
        let up = (pitch_class % 12 + 12 - NATURAL[letter as usize]) % 12;
        // 0..=6 semitones up is a sharp side; above that, flats.
        let alter = if up > 6 { up as i8 - 12 } else { up as i8 };
        NoteName { letter, alter }
    }

    /// The pitch class the name sounds.
    pub fn pitch_class(self) -> u8 {
        (NATURAL[self.letter as usize % 7] as i8 + self.alter).rem_euclid(12) as u8
    }

    /// Writes the name with ASCII accidentals (`#`, `b`), as chord symbols
    /// are typed.
    pub fn write_to(self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_char(LETTERS[self.letter as usize % 7])?;
        let sign = if self.alter > 0 { '#' } else { 'b' };
        for _ in 0..self.alter.unsigned_abs() {
            w.write_char(sign)?;
        }
        Ok(())
    }
}

impl fmt::Display for NoteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// The letter of each tonic, as [`Key::name`] spells it: flats for the
/// flat-side keys, F♯ major, C♯, G♯ and E♭ minor.
const MAJOR_TONIC_LETTER: [u8; 12] = [0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6];
const MINOR_TONIC_LETTER: [u8; 12] = [0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6];

/// The tonic's name in `key`.
pub fn tonic_name(key: Key) -> NoteName {
    let tonic = key.tonic % 12;
    let letter = match key.mode {
        Mode::Major => MAJOR_TONIC_LETTER[tonic as usize],
        Mode::Minor => MINOR_TONIC_LETTER[tonic as usize],
    };
    NoteName::with_letter(letter, tonic)
}

/// The scale degree (0 = tonic … 6 = leading tone) a pitch class is read
/// as when nothing else decides: the diatonic degree where there is one;
/// the lowered 2nd, 3rd, 6th and 7th and the raised 4th otherwise (the
/// chromatic notes chorales use: Neapolitan, mixture, the leading tone
/// of V).
pub fn default_degree(key: Key, pitch_class: u8) -> u8 {
    const DEGREE: [u8; 12] = [0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6];
    DEGREE[semitones_above_tonic(key, pitch_class) as usize]
}

/// Semitones from the key's tonic up to a pitch class, 0..12.
pub fn semitones_above_tonic(key: Key, pitch_class: u8) -> u8 {
    (pitch_class % 12 + 12 - key.tonic % 12) % 12
}

/// The name of `pitch_class` read as scale degree `degree` (taken modulo
/// 7) of `key`.
pub fn spell_degree(key: Key, degree: u8, pitch_class: u8) -> NoteName {
    NoteName::with_letter(tonic_name(key).letter + degree % 7, pitch_class)
}

/// Letters from a chord's root up to a tone `interval` semitones above it:
/// thirds (3, 4) two letters, the fourth of a sus4 three, fifths (6, 7, 8)
/// four, sevenths (9, 10, 11; the diminished seventh too) six.
pub fn letters_above_root(interval: u8) -> u8 {
    const LETTERS_UP: [u8; 12] = [0, 1, 1, 2, 2, 3, 4, 4, 4, 6, 6, 6];
    LETTERS_UP[interval as usize % 12]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: NoteName) -> String {
        n.to_string()
    }

    #[test]
    fn tonics_follow_the_key_names() {
        for key in Key::ALL {
            let ours = name(tonic_name(key)).replace('#', "♯").replace('b', "♭");
            assert!(key.name().starts_with(&ours), "{} vs {}", key.name(), ours);
        }
    }

    #[test]
    fn letters_and_accidentals() {
        assert_eq!(name(NoteName::with_letter(3, 6)), "F#");
        assert_eq!(name(NoteName::with_letter(4, 6)), "Gb");
        assert_eq!(name(NoteName::with_letter(3, 7)), "F##");
        assert_eq!(name(NoteName::with_letter(6, 0)), "B#");
        assert_eq!(NoteName::with_letter(1, 1).pitch_class(), 1);
        assert_eq!(NoteName::with_letter(6, 0).pitch_class(), 0);
    }
}
