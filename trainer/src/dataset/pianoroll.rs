//! Piano-roll JSON (the Boulanger-Lewandowski benchmarks): each split is a
//! list of pieces, a piece a list of steps, a step the list of sounding MIDI pitches.

use bach_engine::pianoroll::key_of;
use bach_engine::{KeyFrame, ModelKind};

use super::{pitch_of, Dataset, Piece, RawSplits};

/// Step length of a roll, in quarter notes, guessed from the file name: the
/// JSB roll has a frame per quarter note, the other benchmarks per eighth.
pub fn step_beats_for(name: &str) -> f64 {
    let name = name.to_lowercase();
    if name.contains("16th") {
        0.25
    } else if name.contains("8th") {
        0.5
    } else if name.contains("quarter") || name.contains("jsb") {
        1.0
    } else {
        0.5
    }
}

fn piece(raw: &[Vec<f64>]) -> Result<Piece, String> {
    let mut frames = Vec::with_capacity(raw.len());
    for step in raw {
        let mut frame = KeyFrame::EMPTY;
        for &x in step {
            let p = pitch_of(x)?;
            if key_of(p).is_none() {
                return Err(format!("pitch {p} is off the 88-key keyboard (21-108)"));
            }
            frame.insert(p);
        }
        frames.push(frame);
    }
    Ok(Piece::Keys(frames))
}

fn pieces(raw: &[Vec<Vec<f64>>]) -> Result<Vec<Piece>, String> {
    raw.iter()
        .enumerate()
        .map(|(i, p)| piece(p).map_err(|e| format!("piece {i}: {e}")))
        .collect()
}

pub fn from_raw(name: &str, raw: RawSplits) -> Result<Dataset, String> {
    Ok(Dataset {
        name: name.to_owned(),
        sha256: None,
        kind: ModelKind::Pianoroll,
        step_beats: step_beats_for(name),
        voices: Vec::new(),
        train: pieces(&raw.train).map_err(|e| format!("train {e}"))?,
        valid: pieces(&raw.valid).map_err(|e| format!("valid {e}"))?,
        test: pieces(&raw.test).map_err(|e| format!("test {e}"))?,
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    })
}
