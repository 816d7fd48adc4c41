//! Naming the chord at a beat from the notes that follow it in the beat:
//! a suspension or appoggiatura sounds with the chord it resolves into,
//! and musicians name that chord (a 4–3 suspension over V is `V`, not
//! `Vsus4`; an appoggiatura G♯ over A minor's six-four is `i6/4`).

use super::matching::Sonority;
use super::{analyze_sonority, Analysis, Quality};
use crate::key::Key;
use crate::meter::BarPosition;

/// Names the chord sounding at `steps[0]`, the first of consecutive grid
/// steps (each the voices' MIDI pitches, S A T B order), hearing the rest
/// of `steps` (typically the rest of the beat) for resolutions.
///
/// When the first step does not read as a plain chord (a tone outside it,
/// a missing third, a sus4 or augmented reading, a seventh chord other
/// than V7 without its fifth), each voice whose note is
/// such a tone and moves by step (one or two semitones) later in the
/// window is heard at the note it moves to. That resolved sonority is
/// named instead when it reads as a plain chord that fits better.
pub fn analyze_window<const V: usize>(
    steps: &[[Option<u8>; V]],
    key: Key,
    position: Option<BarPosition>,
) -> Analysis {
    let Some(onset) = steps.first() else {
        return Analysis::NONE;
    };
    let first = analyze_sonority(Sonority::new(onset), key, position);
    let Some(chord) = first.chord else {
        return first;
    };
    let sonority = Sonority::new(onset);
    if plain(&first, sonority) {
        return first;
    }
    let tones = chord.quality.pitch_classes(chord.root);
    let fourth = (chord.root + 5) % 12;
    // The seventh of a seventh chord that is not plain may be a passing or
    // suspended tone over the triad.
    let seventh = chord
        .quality
        .tones()
        .get(3)
        .map(|&(i, _)| (chord.root + i) % 12);
    let mut resolved = *onset;
    let mut changed = false;
    for (voice, note) in onset.iter().enumerate() {
        let Some(p) = *note else { continue };
        let pc = p % 12;
        let decorating = tones & (1 << pc) == 0
            || (chord.quality == Quality::Sus4 && pc == fourth)
            || chord.quality == Quality::Augmented
            || seventh == Some(pc);
        if !decorating {
            continue;
        }
        // The voice's next different note in the window, if by step.
        let next = steps[1..]
            .iter()
            .map(|s| s[voice])
            .find(|&q| q != Some(p))
            .flatten();
        if let Some(q) = next.filter(|q| matches!(q.abs_diff(p), 1 | 2)) {
            resolved[voice] = Some(q);
            changed = true;
        }
    }
    if !changed {
        return first;
    }
    let after = Sonority::new(&resolved);
    let second = analyze_sonority(after, key, position);
    if second.score > first.score && plain(&second, after) {
        second
    } else {
        first
    }
}

/// A reading with every sounding tone in the chord, its third present, a
/// quality that is not a suspension or an augmented triad, and its fifth
/// present if it is a seventh chord other than a dominant seventh.
fn plain(a: &Analysis, sonority: Sonority) -> bool {
    let Some(chord) = a.chord else {
        return false;
    };
    if matches!(chord.quality, Quality::Sus4 | Quality::Augmented) {
        return false;
    }
    let tones = chord.quality.pitch_classes(chord.root);
    let sounds = |interval: u8| sonority.pitch_classes & (1 << ((chord.root + interval) % 12)) != 0;
    let [_, third, fifth, ..] = chord.quality.tones() else {
        return false;
    };
    // A seventh chord other than V7 without its fifth is more often a
    // triad with a passing or suspended tone.
    let thin_seventh =
        chord.quality.is_seventh() && chord.quality != Quality::Dominant7 && !sounds(fifth.0);
    sonority.pitch_classes & !tones == 0 && sounds(third.0) && !thin_seventh
}
