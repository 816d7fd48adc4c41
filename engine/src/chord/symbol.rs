//! Chord qualities, their templates, and the chord symbol (`A7/C#`).

use core::fmt;

use super::spelling::{letters_above_root, NoteName};

/// What a chord is above its root: the ten templates the analysis matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    Major,
    Minor,
    Diminished,
    Augmented,
    /// Major triad and minor seventh (V7).
    Dominant7,
    Major7,
    Minor7,
    /// Diminished triad and minor seventh (viiø7, `m7b5`).
    HalfDiminished7,
    Diminished7,
    /// Root, fourth and fifth: a 4–3 suspension held over its chord.
    Sus4,
}

/// A chord tone's part in its template; a missing tone costs by its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Root,
    Third,
    Fifth,
    Seventh,
    /// The suspended fourth of [`Quality::Sus4`].
    Fourth,
}

impl Quality {
    /// Every quality, simplest first (ties keep the earlier one).
    pub const ALL: [Quality; 10] = [
        Quality::Major,
        Quality::Minor,
        Quality::Diminished,
        Quality::Augmented,
        Quality::Sus4,
        Quality::Dominant7,
        Quality::Minor7,
        Quality::Major7,
        Quality::HalfDiminished7,
        Quality::Diminished7,
    ];

    /// The chord tones as (semitones above the root, role), root first.
    pub(crate) fn tones(self) -> &'static [(u8, Role)] {
        use Role::*;
        match self {
            Quality::Major => &[(0, Root), (4, Third), (7, Fifth)],
            Quality::Minor => &[(0, Root), (3, Third), (7, Fifth)],
            Quality::Diminished => &[(0, Root), (3, Third), (6, Fifth)],
            Quality::Augmented => &[(0, Root), (4, Third), (8, Fifth)],
            Quality::Sus4 => &[(0, Root), (5, Fourth), (7, Fifth)],
            Quality::Dominant7 => &[(0, Root), (4, Third), (7, Fifth), (10, Seventh)],
            Quality::Minor7 => &[(0, Root), (3, Third), (7, Fifth), (10, Seventh)],
            Quality::Major7 => &[(0, Root), (4, Third), (7, Fifth), (11, Seventh)],
            Quality::HalfDiminished7 => &[(0, Root), (3, Third), (6, Fifth), (10, Seventh)],
            Quality::Diminished7 => &[(0, Root), (3, Third), (6, Fifth), (9, Seventh)],
        }
    }

    /// The pitch classes of the chord on `root`, as a 12-bit set.
    pub fn pitch_classes(self, root: u8) -> u16 {
        self.tones()
            .iter()
            .fold(0, |set, &(i, _)| set | 1 << ((root + i) % 12))
    }

    /// Whether the chord has a seventh.
    pub fn is_seventh(self) -> bool {
        self.tones().len() == 4
    }

    /// The triad under it: a seventh chord's triad; a sus4 chord has none
    /// of its own and reads as the triad its fourth resolves to, which the
    /// caller knows (the key's), so it is returned as is.
    pub fn triad(self) -> Quality {
        match self {
            Quality::Dominant7 | Quality::Major7 => Quality::Major,
            Quality::Minor7 => Quality::Minor,
            Quality::HalfDiminished7 | Quality::Diminished7 => Quality::Diminished,
            q => q,
        }
    }

    /// The suffix a chord symbol writes after the root.
    pub fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "",
            Quality::Minor => "m",
            Quality::Diminished => "dim",
            Quality::Augmented => "aug",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "m7",
            Quality::HalfDiminished7 => "ø7",
            Quality::Diminished7 => "dim7",
            Quality::Sus4 => "sus4",
        }
    }
}

/// A chord: its root, quality and bass (pitch classes), with the root's
/// name (spelled by the key and the chord's function).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    pub root: u8,
    pub quality: Quality,
    /// The lowest sounding pitch class; usually a chord tone.
    pub bass: u8,
    /// The root's spelling; the other tones are spelled from it.
    pub root_name: NoteName,
    /// The bass's spelling when it is not a chord tone (then it is spelled
    /// as the key reads it).
    pub(crate) foreign_bass: Option<NoteName>,
}

impl Chord {
    /// The chord tone the bass sounds: 0 = root, 1 = third (or the fourth
    /// of a sus4), 2 = fifth, 3 = seventh; `None` for a bass outside the
    /// chord.
    pub fn inversion(self) -> Option<u8> {
        let interval = (self.bass + 12 - self.root) % 12;
        self.quality
            .tones()
            .iter()
            .position(|&(i, _)| i == interval)
            .map(|p| p as u8)
    }

    /// The name of a chord tone `interval` semitones above the root.
    pub fn tone_name(self, interval: u8) -> NoteName {
        NoteName::with_letter(
            self.root_name.letter + letters_above_root(interval),
            self.root + interval,
        )
    }

    /// The bass's name.
    pub fn bass_name(self) -> NoteName {
        match self.foreign_bass {
            Some(name) => name,
            None => self.tone_name((self.bass + 12 - self.root) % 12),
        }
    }

    /// Writes the chord symbol: root, quality suffix and, when the bass is
    /// not the root, `/bass` (`A7/C#`, `F#dim/A`, `Bø7`).
    pub fn write_symbol(self, w: &mut impl fmt::Write) -> fmt::Result {
        self.root_name.write_to(w)?;
        w.write_str(self.quality.suffix())?;
        if self.bass != self.root {
            w.write_char('/')?;
            self.bass_name().write_to(w)?;
        }
        Ok(())
    }
}
