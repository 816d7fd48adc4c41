//! Which notes of a user's file are the melody.
//!
//! The MIDI reader has already put every note on the grid and dropped drums.
//! The melody is the part the user names with `--track` (its number as
//! listed, from 1, or its name), else the part with the highest mean pitch;
//! a part with chords gives its top voice.

use bach_engine::score::{Part, Score};

use super::OfflineError;

/// The melody line of `score`; see the module notes.
pub fn melody(score: &Score, track: Option<&str>) -> Result<Part, OfflineError> {
    melody_part(score, track).map(|(_, part)| part)
}

/// [`melody`], with the index of the part it comes from.
pub fn melody_part(score: &Score, track: Option<&str>) -> Result<(usize, Part), OfflineError> {
    let index = match track {
        Some(choice) => pick(score, choice)?,
        None => score
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.notes.is_empty())
            .max_by(|a, b| mean_pitch(a.1).total_cmp(&mean_pitch(b.1)))
            .map(|(i, _)| i)
            .ok_or(OfflineError::NoMelody)?,
    };
    let part = &score.parts[index];
    let line = if part.is_polyphonic() {
        part.split_by_pitch().into_iter().next().unwrap_or_default()
    } else {
        part.clone()
    };
    if line.notes.is_empty() {
        return Err(OfflineError::EmptyTrack(part.name.clone()));
    }
    Ok((
        index,
        Part {
            name: part.name.clone(),
            ..line
        },
    ))
}

fn mean_pitch(part: &Part) -> f64 {
    let sum: f64 = part.notes.iter().map(|n| n.pitch as f64).sum();
    sum / part.notes.len().max(1) as f64
}

/// The index of the part `choice` names: a number from 1, or a name (case
/// does not matter).
fn pick(score: &Score, choice: &str) -> Result<usize, OfflineError> {
    let choice = choice.trim();
    let found = match choice.parse::<usize>() {
        Ok(i) => i.checked_sub(1).filter(|&i| i < score.parts.len()),
        Err(_) => score
            .parts
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(choice)),
    };
    found.ok_or_else(|| OfflineError::NoSuchTrack {
        choice: choice.to_string(),
        available: score
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{} {:?}", i + 1, p.name))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::score::Note;

    fn note(start: u32, len: u32, pitch: u8) -> Note {
        Note {
            start,
            len,
            pitch,
            velocity: 80,
        }
    }

    fn score() -> Score {
        let mut s = Score::new(0.25);
        s.parts = vec![
            Part::new("Bass", 1, vec![note(0, 4, 40), note(4, 4, 43)]),
            Part::new("Tune", 0, vec![note(0, 2, 72), note(2, 2, 74)]),
            Part::new(
                "Chords",
                2,
                vec![note(0, 4, 60), note(0, 4, 64), note(0, 4, 67)],
            ),
        ];
        s.len = 8;
        s
    }

    #[test]
    fn highest_part_by_default_or_the_named_one() {
        assert_eq!(melody(&score(), None).unwrap().name, "Tune");
        assert_eq!(melody(&score(), Some("bass")).unwrap().notes[0].pitch, 40);
        assert_eq!(melody(&score(), Some("1")).unwrap().name, "Bass");
        let chords = melody(&score(), Some("3")).unwrap();
        assert_eq!(
            chords.notes,
            vec![note(0, 4, 67)],
            "top voice of the chords"
        );
        let err = melody(&score(), Some("9")).unwrap_err().to_string();
        assert!(err.contains("1 \"Bass\""), "{err}");
    }
}
