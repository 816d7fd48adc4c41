//! Naming chords: from the four voices' sounding pitches and the key, the
//! chord symbol a musician writes (`A7/C#`, `F#dim/A`, `Bø7`, `N.C.`) and
//! the Roman numeral in the key (`V6/5`, `viio7/V`, `bVI`, `?` for a
//! chromatic chord it does not explain).
//!
//! Everything is time-free and allocation-free: an [`Analysis`] is a small
//! `Copy` value that writes its names into any [`core::fmt::Write`], such
//! as the fixed [`Text`] buffer, so a plugin's GUI or audio thread may
//! name chords freely.
//!
//! - `matching.rs` scores root × quality templates against the sonority;
//! - `numeral.rs` places the chord in the key (diatonic, secondary,
//!   borrowed, Neapolitan or other) and writes RomanText numerals, the
//!   notation of the When in Rome corpus (Gotham, Micchi, Nápoles López,
//!   Sailor et al., CC BY-SA 4.0), whose Bach chorale analyses
//!   `engine/tests/chord.rs` compares against;
//! - `spelling.rs` names notes the way the key and the numeral spell them;
//! - `window.rs` hears suspensions and appoggiaturas resolve within the
//!   beat and names the chord they resolve into;
//! - `follow.rs` keeps a chord through the passing notes that decorate it;
//! - `changes.rs` lists a written score's chord changes, for files.

mod changes;
mod follow;
mod matching;
mod numeral;
mod spelling;
mod symbol;
mod text;
mod window;

#[cfg(test)]
mod tests;

use core::fmt;

pub use changes::{labels_to_write, score_changes, ChangeFinder, ChordChange};
pub use follow::ChordFollower;
pub use matching::Sonority;
pub use numeral::{Function, Numeral};
pub use spelling::{tonic_name, NoteName};
pub use symbol::{Chord, Quality};
pub use text::Text;
pub use window::analyze_window;

use crate::key::Key;
use crate::meter::BarPosition;
use spelling::{default_degree, spell_degree};

/// A sonority named in a key: the chord (or none) and its numeral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Analysis {
    /// `None` where nothing forms a chord (`N.C.`).
    pub chord: Option<Chord>,
    /// The chord's numeral; `None` with the chord.
    pub numeral: Option<Numeral>,
    /// The reading's score (higher fits better); 0 for no chord.
    pub score: i32,
}

impl Analysis {
    /// No chord.
    pub const NONE: Analysis = Analysis {
        chord: None,
        numeral: None,
        score: 0,
    };

    /// Writes the chord symbol, or `N.C.`.
    pub fn write_symbol(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match self.chord {
            Some(chord) => chord.write_symbol(w),
            None => w.write_str("N.C."),
        }
    }

    /// Writes the Roman numeral, or `N.C.`.
    pub fn write_numeral(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match self.numeral {
            Some(numeral) => numeral.write_to(w),
            None => w.write_str("N.C."),
        }
    }

    /// The chord symbol in a fixed buffer.
    pub fn symbol(&self) -> Text {
        let mut text = Text::new();
        // Every symbol fits the buffer; a cut one would still be readable.
        let _ = self.write_symbol(&mut text);
        text
    }

    /// The Roman numeral in a fixed buffer.
    pub fn numeral_text(&self) -> Text {
        let mut text = Text::new();
        let _ = self.write_numeral(&mut text);
        text
    }

    /// Whether this names the same chord (root and quality) as `other`,
    /// whatever the bass.
    pub fn same_chord(&self, other: &Analysis) -> bool {
        match (self.chord, other.chord) {
            (Some(a), Some(b)) => a.root == b.root && a.quality == b.quality,
            (None, None) => true,
            _ => false,
        }
    }
}

/// Names the chord of the voices' sounding MIDI pitches (S A T B order,
/// `None` for a rest; any number of voices) in `key`. With a bar position,
/// a tonic six-four over the dominant on a strong beat is marked
/// [`Numeral::cadential`].
pub fn analyze(pitches: &[Option<u8>], key: Key, position: Option<BarPosition>) -> Analysis {
    analyze_sonority(Sonority::new(pitches), key, position)
}

/// [`analyze`] for a sonority already reduced to pitch classes.
pub fn analyze_sonority(sonority: Sonority, key: Key, position: Option<BarPosition>) -> Analysis {
    match matching::best(sonority, key) {
        Some(reading) => name(sonority, key, position, reading),
        None => Analysis::NONE,
    }
}

/// The chord `root` `quality` over the sonority's bass, named in `key`
/// whatever its score: what [`ChordFollower`] holds through decorations.
pub fn name_chord(
    pitches: &[Option<u8>],
    key: Key,
    root: u8,
    quality: Quality,
    position: Option<BarPosition>,
) -> Option<Analysis> {
    let sonority = Sonority::new(pitches);
    matching::read(sonority, key, root % 12, quality).map(|r| name(sonority, key, position, r))
}

fn name(
    sonority: Sonority,
    key: Key,
    position: Option<BarPosition>,
    reading: matching::Reading,
) -> Analysis {
    let root = reading.root;
    let bass = sonority.bass.unwrap_or(root);
    let root_name = spell_degree(key, reading.degree, root);
    let mut chord = Chord {
        root,
        quality: reading.quality,
        bass,
        root_name,
        foreign_bass: None,
    };
    let inversion = chord.inversion();
    if inversion.is_none() {
        chord.foreign_bass = Some(spell_degree(key, default_degree(key, bass), bass));
    }
    let inversion = inversion.unwrap_or(0);
    let cadential = reading.function == Function::Diatonic
        && reading.degree == 0
        && inversion == 2
        && !reading.quality.is_seventh()
        && position.is_some_and(|p| p.is_strong());
    Analysis {
        chord: Some(chord),
        numeral: Some(Numeral {
            key,
            root,
            function: reading.function,
            degree: reading.degree,
            quality: reading.quality,
            inversion,
            cadential,
        }),
        score: reading.score,
    }
}
