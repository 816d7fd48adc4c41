//! A four-part file as a training piece with what the annotated chorales
//! carry besides their notes ([`PieceContext`]): the key, each step's place
//! in its bar, and the phrase ends.
//!
//! Conventions (docs/trainer.md, "MIDI folders"):
//! - The piece runs from the first note of any voice to the last note's
//!   end: leading silence, whole empty bars included, is cut, and the bar
//!   lines stay where the file put them, so leading rests inside a bar make
//!   a pickup. A short first bar (1/4 before 4/4) is a pickup heard in the
//!   meter after it, as [`Score::meter_regions`] reads it.
//! - The key is the file's first key signature when it comes at or before
//!   the first note (major or minor as its flag says); otherwise it is
//!   estimated from all voices' notes ([`estimate_key`]).
//! - Phrase ends (fermatas) are the soprano notes that text, marker, cue or
//!   lyric events containing "fermata" (any case) fall on (the note sounding
//!   there, or the one ending there). Where no such event falls on a soprano
//!   note: every soprano note of a half note or longer after which all
//!   voices rest (or the piece ends), and the last soprano note.

use bach_engine::key::estimate_key;
use bach_engine::score::Score;
use bach_engine::{Horizon, Key, MeterRegion, Mode, Token};

use crate::dataset::{Piece, PieceContext};

/// A file's piece and a line saying where its key and phrase ends came from.
pub struct FolderPiece {
    pub piece: Piece,
    pub about: String,
}

/// The piece of `score` with `voices` (indices into its parts, top down,
/// each with notes).
pub fn folder_piece(score: &Score, voices: &[usize]) -> FolderPiece {
    let parts: Vec<_> = voices.iter().map(|&p| &score.parts[p]).collect();
    let notes = || parts.iter().flat_map(|p| &p.notes);
    let first = notes().map(|n| n.start).min().unwrap_or(0);
    let end = notes().map(|n| n.end()).max().unwrap_or(0).min(score.len);
    let steps = end.saturating_sub(first) as usize;
    let v = parts.len();
    let lines: Vec<Vec<Token>> = parts.iter().map(|p| p.to_tokens(end)).collect();
    let mut tokens = Vec::with_capacity(steps * v);
    for t in first as usize..end as usize {
        tokens.extend(lines.iter().map(|line| line[t]));
    }

    let meters = trimmed_regions(&score.meter_regions(), first, end);
    let bars = MeterRegion::bar_positions(&meters, score.step_beats, steps as u32);
    let (key, key_from) = key_of(score, voices, first);
    let (fermatas, fermatas_from) = match marked_fermatas(score, &tokens, v, first) {
        marked if !marked.is_empty() => (marked, "fermata markers"),
        _ => (
            long_note_fermatas(&tokens, v, score.step_beats),
            "long soprano notes before rests",
        ),
    };
    let about = format!(
        "{}, {key_from}; {} phrase end(s) from {fermatas_from}",
        key.name(),
        fermatas.len()
    );
    let piece = Piece::Voices {
        voices: v,
        tokens,
        context: Some(Box::new(PieceContext {
            key,
            bars,
            meters,
            // Training draws each piece's horizon itself, as for the chorales.
            horizon: Horizon::Off,
            fermatas,
        })),
    };
    FolderPiece { piece, about }
}

/// The score's meter regions for the piece that starts at step `first` and
/// ends at `end`: the region in force at `first` starts at 0, its bar line
/// moved with it; later ones are shifted; none starts at or past the end.
pub fn trimmed_regions(regions: &[MeterRegion], first: u32, end: u32) -> Vec<MeterRegion> {
    let mut out: Vec<MeterRegion> = Vec::new();
    let here = MeterRegion::at(regions, first);
    out.push(MeterRegion {
        step: 0,
        meter: here.meter,
        bar_step: here.bar_step - first as i64,
    });
    out.extend(
        regions
            .iter()
            .filter(|r| r.step > first && r.step < end)
            .map(|r| MeterRegion {
                step: r.step - first,
                meter: r.meter,
                bar_step: r.bar_step - first as i64,
            }),
    );
    out
}

/// The key and where it came from.
fn key_of(score: &Score, voices: &[usize], first: u32) -> (Key, &'static str) {
    match score.keys.first() {
        Some(k) if k.step <= first => return (k.key, "from its key signature"),
        _ => {}
    }
    let why = if score.keys.is_empty() {
        "estimated from the notes (no key signature)"
    } else {
        "estimated from the notes (its first key signature comes after the first note)"
    };
    // All voices, in time order and top down on a step: the first note is the
    // soprano's, the last the bass's final note, which the estimator hears
    // as the final cadence.
    let mut notes: Vec<(u32, usize, u8, f32)> = voices
        .iter()
        .enumerate()
        .flat_map(|(v, &p)| {
            let sixteenths = (score.step_beats * 4.0) as f32;
            score.parts[p]
                .notes
                .iter()
                .map(move |n| (n.start, v, n.pitch, n.len as f32 * sixteenths))
        })
        .collect();
    notes.sort_by_key(|&(start, v, ..)| (start, v));
    match estimate_key(notes.into_iter().map(|(_, _, pitch, len)| (pitch, len))) {
        Some(key) => (key, why),
        None => (
            Key {
                tonic: 0,
                mode: Mode::Major,
            },
            "C major for want of evidence (the notes name no key)",
        ),
    }
}

/// The onset of the soprano note sounding at step `t`, or ending there.
fn soprano_onset(tokens: &[Token], voices: usize, t: usize) -> Option<usize> {
    let soprano = |s: usize| tokens.get(s * voices).copied();
    let mut s = match soprano(t) {
        Some(Token::Onset(_) | Token::Hold) => t,
        _ if t > 0 && matches!(soprano(t - 1), Some(Token::Onset(_) | Token::Hold)) => t - 1,
        _ => return None,
    };
    loop {
        match soprano(s)? {
            Token::Onset(_) => return Some(s),
            Token::Hold if s > 0 => s -= 1,
            _ => return None,
        }
    }
}

/// The soprano onsets that "fermata" text events fall on, ascending.
fn marked_fermatas(score: &Score, tokens: &[Token], voices: usize, first: u32) -> Vec<usize> {
    let mut out: Vec<usize> = score
        .markers
        .iter()
        .filter(|m| m.text.to_lowercase().contains("fermata"))
        .filter_map(|m| soprano_onset(tokens, voices, m.step.checked_sub(first)? as usize))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The phrase ends of a file without fermata markers: each soprano note of
/// a half note or more after which every voice rests (or the piece ends),
/// and the last soprano note.
fn long_note_fermatas(tokens: &[Token], voices: usize, step_beats: f64) -> Vec<usize> {
    let steps = tokens.len() / voices.max(1);
    let half = (2.0 / step_beats).round().max(1.0) as usize;
    let soprano = |t: usize| tokens[t * voices];
    let all_rest = |t: usize| {
        t >= steps
            || tokens[t * voices..(t + 1) * voices]
                .iter()
                .all(|x| *x == Token::Rest)
    };
    let mut out = Vec::new();
    let mut last = None;
    for t in 0..steps {
        if let Token::Onset(_) = soprano(t) {
            last = Some(t);
            let mut end = t + 1;
            while end < steps && soprano(end) == Token::Hold {
                end += 1;
            }
            if end - t >= half && all_rest(end) {
                out.push(t);
            }
        }
    }
    if let Some(l) = last {
        if out.last() != Some(&l) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bach_engine::score::{KeyChange, Marker, MeterChange, Note, Part};
    use bach_engine::Meter;

    use super::*;

    fn note(start: u32, len: u32, pitch: u8) -> Note {
        Note {
            start,
            len,
            pitch,
            velocity: 80,
        }
    }

    /// A whole empty bar and a beat of 4/4 before the first chord, then 3/4
    /// from step 32, silence after the last note: the piece is the music,
    /// its first chord on beat 2 and the 3/4 bar line where the file put it.
    /// A key signature after the first note is not the piece's key.
    #[test]
    fn leading_empty_bars_are_cut_and_bar_lines_kept() {
        let mut score = Score::new(0.25);
        score.meters = vec![
            MeterChange {
                step: 0,
                meter: Meter::COMMON,
            },
            MeterChange {
                step: 32,
                meter: Meter::new(3, 4),
            },
        ];
        for (v, pitch) in [72u8, 67, 64, 48].into_iter().enumerate() {
            let notes = vec![note(20, 12, pitch), note(32, 12, pitch)];
            score.parts.push(Part::new(format!("V{v}"), v as u8, notes));
        }
        score.len = 60;
        score.keys.push(KeyChange {
            step: 32,
            key: Key {
                tonic: 7,
                mode: Mode::Major,
            },
        });
        score.markers.push(Marker {
            step: 35,
            text: "FERMATA".into(),
        });
        let FolderPiece { piece, about } = folder_piece(&score, &[0, 1, 2, 3]);
        assert_eq!(piece.len(), 24);
        let c = piece.context().unwrap();
        assert_eq!(
            c.meters,
            [
                MeterRegion {
                    step: 0,
                    meter: Meter::COMMON,
                    bar_step: -20
                },
                MeterRegion {
                    step: 12,
                    meter: Meter::new(3, 4),
                    bar_step: 12
                },
            ]
        );
        assert_eq!((c.bars[0].step, c.bars[0].bar_steps), (4, 16));
        assert_eq!((c.bars[12].step, c.bars[12].bar_steps), (0, 12));
        assert_eq!(c.fermatas, [12], "the marker's soprano note");
        assert!(about.contains("its first key signature comes after the first note"));
        assert!(about.contains("C major"), "{about}");
    }

    fn onsets(line: &str) -> Vec<Token> {
        // One character per step and voice: a letter an onset, '-' a hold, '.' a rest.
        line.chars()
            .map(|c| match c {
                '-' => Token::Hold,
                '.' => Token::Rest,
                c => Token::Onset(c as u8),
            })
            .collect()
    }

    /// Two voices on 16ths: a half note before a common rest ends a
    /// phrase; a quarter before a rest, or a half note the other voice
    /// sings through, does not; the last note always does.
    #[test]
    fn long_notes_before_rests_end_phrases() {
        let s = "a---..b-------..c-------d---";
        let b = "x---..y-------..z---w-------";
        let tokens: Vec<Token> = onsets(s)
            .into_iter()
            .zip(onsets(b))
            .flat_map(|(s, b)| [s, b])
            .collect();
        assert_eq!(long_note_fermatas(&tokens, 2, 0.25), [6, 24]);
    }

    #[test]
    fn a_marker_finds_the_soprano_note_it_falls_on() {
        let tokens = onsets("a---b-------..c-");
        assert_eq!(soprano_onset(&tokens, 1, 0), Some(0));
        assert_eq!(soprano_onset(&tokens, 1, 7), Some(4));
        assert_eq!(
            soprano_onset(&tokens, 1, 12),
            Some(4),
            "the note ending there"
        );
        assert_eq!(soprano_onset(&tokens, 1, 13), None);
        assert_eq!(soprano_onset(&tokens, 1, 16), Some(14));
        assert_eq!(soprano_onset(&tokens, 1, 99), None);
    }
}
