//! Voice-separated JSON (Coconet's `Jsb16thSeparated.json`): each step lists
//! one pitch per voice from the top down, -1 for a rest; a pitch equal to the
//! same voice's pitch on the previous step is a hold.

use bach_engine::{CoreKind, ModelKind, ModelMeta, Token, VoiceSpec};

use super::{pitch_of, Dataset, Piece, RawSplits};

/// Semitones added to each end of the data's ranges so every piece can be
/// transposed into all twelve keys.
pub const RANGE_MARGIN: u8 = 6;

/// Tokens for one piece of `voices` voices.
pub fn tokens_of(raw: &[Vec<f64>], voices: usize) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::with_capacity(raw.len() * voices);
    let mut previous: Vec<Option<u8>> = vec![None; voices];
    for (t, step) in raw.iter().enumerate() {
        if step.len() != voices {
            return Err(format!(
                "step {t} has {} voices, expected {voices}",
                step.len()
            ));
        }
        for (v, &x) in step.iter().enumerate() {
            let pitch = if x < 0.0 { None } else { Some(pitch_of(x)?) };
            tokens.push(match pitch {
                None => Token::Rest,
                Some(p) if previous[v] == Some(p) => Token::Hold,
                Some(p) => Token::Onset(p),
            });
            previous[v] = pitch;
        }
    }
    Ok(tokens)
}

/// Voice names for `voices` voices: SATB for four, numbered otherwise.
fn voice_name(v: usize, voices: usize) -> String {
    if voices == 4 {
        ["S", "A", "T", "B"][v].to_owned()
    } else {
        format!("V{}", v + 1)
    }
}

/// The voices of a model for these pieces: the standard SATB layout when the
/// data fit it, otherwise the data's own ranges widened by [`RANGE_MARGIN`].
pub fn voice_specs(pieces: &[&Piece], voices: usize) -> Vec<VoiceSpec> {
    let mut lo = vec![u8::MAX; voices];
    let mut hi = vec![0u8; voices];
    for piece in pieces {
        if let Piece::Voices { tokens, .. } = piece {
            for (i, t) in tokens.iter().enumerate() {
                if let Some(p) = t.onset() {
                    let v = i % voices;
                    lo[v] = lo[v].min(p);
                    hi[v] = hi[v].max(p);
                }
            }
        }
    }
    let widened: Vec<VoiceSpec> = (0..voices)
        .map(|v| {
            let (l, h) = if lo[v] > hi[v] {
                (60, 60)
            } else {
                (lo[v], hi[v])
            };
            VoiceSpec {
                name: voice_name(v, voices),
                low: l.saturating_sub(RANGE_MARGIN),
                high: h.saturating_add(RANGE_MARGIN).min(127),
            }
        })
        .collect();
    if voices == 4 {
        let satb = ModelMeta::satb(CoreKind::Gru, 1, 1).voices;
        let fits = (0..4).all(|v| lo[v] > hi[v] || (satb[v].low <= lo[v] && hi[v] <= satb[v].high));
        if fits {
            return satb;
        }
    }
    widened
}

fn pieces(raw: &[Vec<Vec<f64>>], voices: usize) -> Result<Vec<Piece>, String> {
    raw.iter()
        .enumerate()
        .map(|(i, p)| {
            tokens_of(p, voices)
                .map(|tokens| Piece::voices(voices, tokens))
                .map_err(|e| format!("piece {i}: {e}"))
        })
        .collect()
}

pub fn from_raw(name: &str, raw: RawSplits) -> Result<Dataset, String> {
    let voices = raw
        .train
        .iter()
        .flatten()
        .next()
        .map(Vec::len)
        .ok_or("the train split is empty")?;
    if voices == 0 || voices > bach_engine::token::MAX_VOICES {
        return Err(format!(
            "steps have {voices} voices, expected 1 to {}",
            bach_engine::token::MAX_VOICES
        ));
    }
    let train = pieces(&raw.train, voices).map_err(|e| format!("train {e}"))?;
    let valid = pieces(&raw.valid, voices).map_err(|e| format!("valid {e}"))?;
    let test = pieces(&raw.test, voices).map_err(|e| format!("test {e}"))?;
    let all: Vec<&Piece> = train.iter().chain(&valid).chain(&test).collect();
    let voices = voice_specs(&all, voices);
    Ok(Dataset {
        name: name.to_owned(),
        sha256: None,
        kind: ModelKind::Voices,
        step_beats: 0.25,
        voices,
        train,
        valid,
        test,
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    })
}
