//! Batches: pieces of unequal length side by side, cut into chunks of steps,
//! encoded exactly as the engine encodes a step's input.
//!
//! Inputs are built as one tensor per step straight from the data, so no
//! gradient-carrying tensor is ever sliced along time (candle's backward for
//! such slices costs O(T²)). Rows are ordered `b * steps + t`.

use bach_engine::model::context;
use bach_engine::model::pairs::{self, PAIR_FEATURES};
use bach_engine::model::sounding::{self, Sounding};
use bach_engine::pianoroll::KEYS;
use bach_engine::{
    Ahead, BarPosition, Feature, ModelKind, ModelMeta, StepContext, Token, VoiceRange,
};
use candle_core::{Device, Result, Tensor};

use crate::dataset::Piece;
use crate::lone::Silenced;

/// What the model is asked to predict in a chunk.
pub enum Targets {
    /// `[B*T, 88]` multi-hot frames.
    Keys(Tensor),
    /// `onehot`: `[B*T, step_size]` one-hot tokens of every voice at step t
    /// (the heads' "voices above" input); `index[v]`: `[B*T]` u32 token index
    /// of voice v; `pairs[v]`: for a model with the voice-pair score, voice
    /// v's candidates' pair features `[B*T * vocab_v, v * PAIR_FEATURES]`.
    Voices {
        onehot: Tensor,
        index: Vec<Tensor>,
        pairs: Vec<Option<Tensor>>,
    },
}

/// A chunk of a batch: steps `start..start + steps` of every piece.
pub struct Chunk {
    pub batch: usize,
    pub steps: usize,
    /// One `[B, input_size]` tensor per step.
    pub inputs: Vec<Tensor>,
    pub targets: Targets,
    /// `[B*T]`: 1 where the step exists and is scored, else 0.
    pub mask: Tensor,
    /// Voices models with lone openings: per voice, `mask` less the steps
    /// where that voice was silenced ([`Silenced`]); `None` when nothing was.
    pub voice_masks: Option<Vec<Tensor>>,
    /// Number of scored steps (the sum of `mask`).
    pub scored: usize,
}

/// Token index of `token` in `range`, as the engine reads it.
fn index(range: &VoiceRange, token: Token) -> usize {
    range.index_folded(token)
}

/// The context of step `t` of a piece, as the engine's performer gives it
/// to the model: the bar position, the key, and the melody (voice 0) known
/// as far ahead as the piece's horizon, measured from the melody sounding now.
/// Pieces without context are 4/4 from their first step, key unknown.
pub fn step_context(piece: &Piece, t: usize, melody_now: Option<u8>) -> StepContext {
    let Piece::Voices {
        voices,
        tokens,
        context: Some(c),
    } = piece
    else {
        return StepContext::common(t);
    };
    let bar = bar_at(piece, t);
    let limit = c.horizon.steps(bar.beat_steps, bar.bar_steps);
    let mut ahead = Ahead::scan(c.horizon, limit, |k| tokens.get((t + k) * voices).copied());
    ahead.current = melody_now;
    StepContext {
        bar,
        key: Some(c.key),
        ahead,
    }
}

/// Where step `t` of a piece falls in its bar: from the data's meters, or
/// 4/4 from the first step for pieces without them.
pub fn bar_at(piece: &Piece, t: usize) -> BarPosition {
    match piece {
        Piece::Voices {
            context: Some(c), ..
        } => c.bars.get(t).copied(),
        _ => None,
    }
    .unwrap_or(BarPosition::common(t))
}

/// What each voice sounds going into each step `t` of a voices piece (after
/// steps `0..t`), `voices` entries per step, `len + 1` steps: as the
/// engine's voices model follows it.
pub fn sounding_states(piece: &Piece, ranges: &[VoiceRange]) -> Vec<Sounding> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return Vec::new();
    };
    let mut now = vec![Sounding::default(); *voices];
    let mut all = now.clone();
    for step in tokens.chunks(*voices) {
        for ((s, range), token) in now.iter_mut().zip(ranges).zip(step) {
            *s = s.after(range, *token);
        }
        all.extend_from_slice(&now);
    }
    all
}

/// The melody (voice 0) sounding at each step of a voices piece.
pub fn melody_line(piece: &Piece) -> Vec<Option<u8>> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return Vec::new();
    };
    bach_engine::token::sounding_line(tokens.iter().step_by((*voices).max(1)).copied())
}

/// Encodes steps `start..start + steps` of `pieces`. Steps before `first_scored`
/// of a piece are run but not scored (evaluation skips the first step).
/// A model that knows keys sees each annotated piece in its key's frame
/// (tonic on C), as the engine's performer plays it.
pub fn chunk(
    meta: &ModelMeta,
    pieces: &[&Piece],
    start: usize,
    steps: usize,
    first_scored: usize,
    silenced: &[Silenced],
    device: &Device,
) -> Result<Chunk> {
    let framed: Vec<Piece> = pieces.iter().map(|p| p.in_frame(meta)).collect();
    let pieces: Vec<&Piece> = framed.iter().collect();
    let pieces = pieces.as_slice();
    let melodies: Vec<Vec<Option<u8>>> = pieces.iter().map(|p| melody_line(p)).collect();
    let b = pieces.len();
    let input_size = meta.input_size();
    let step_size = meta.step_size();
    let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
    let offsets: Vec<usize> = ranges
        .iter()
        .scan(0, |acc, r| {
            let o = *acc;
            *acc += r.vocab();
            Some(o)
        })
        .collect();

    let mut mask = vec![0f32; b * steps];
    let mut scored = 0;
    for (i, p) in pieces.iter().enumerate() {
        for t in 0..steps {
            let abs = start + t;
            if abs < p.len() && abs >= first_scored {
                mask[i * steps + t] = 1.0;
                scored += 1;
            }
        }
    }

    // The content of step `abs` of piece `p` as a one-/multi-hot block.
    let encode = |p: &Piece, abs: usize, out: &mut [f32]| match p {
        Piece::Keys(frames) => {
            for k in frames[abs].keys() {
                out[k] = 1.0;
            }
        }
        Piece::Voices { voices, tokens, .. } => {
            for v in 0..*voices {
                out[offsets[v] + index(&ranges[v], tokens[abs * voices + v])] = 1.0;
            }
        }
    };

    // What each voice sounds going into each step, for a model that hears
    // it or weighs its voice pairs by it (read once for both).
    let sounding_at = meta.feature_offset(&Feature::Sounding);
    let voices = ranges.len();
    let sounds: Vec<Vec<Sounding>> = match sounding_at.is_some() || meta.pair_score {
        true => pieces.iter().map(|p| sounding_states(p, &ranges)).collect(),
        false => Vec::new(),
    };

    let mut inputs = Vec::with_capacity(steps);
    for t in 0..steps {
        let abs = start + t;
        let mut x = vec![0f32; b * input_size];
        for (i, p) in pieces.iter().enumerate() {
            let row = &mut x[i * input_size..(i + 1) * input_size];
            if abs >= 1 && abs <= p.len() {
                encode(p, abs - 1, &mut row[..step_size]);
                if let Some(at) = sounding_at {
                    let now = &sounds[i][abs * voices..(abs + 1) * voices];
                    for k in sounding::indices(&ranges, now, at) {
                        row[k] = 1.0;
                    }
                }
            }
            // The engine's own encoding of the context (bar, key, melody ahead).
            let ctx = step_context(p, abs, melodies[i].get(abs).copied().flatten());
            context::encode(meta, &ctx, &mut |k| row[k] = 1.0);
        }
        inputs.push(Tensor::from_vec(x, (b, input_size), device)?);
    }

    // Each voice's mask, where a lone opening silenced some of its steps.
    let voice_masks = match silenced.iter().any(|s| *s != Silenced::default()) {
        false => None,
        true => Some(
            (0..ranges.len())
                .map(|v| {
                    let m: Vec<f32> = mask
                        .iter()
                        .enumerate()
                        .map(|(row, &m)| {
                            let (i, t) = (row / steps, row % steps);
                            let keep = silenced.get(i).is_none_or(|s| s.scores(v, start + t));
                            if keep {
                                m
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    Tensor::from_vec(m, b * steps, device)
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };

    let targets = match meta.kind {
        ModelKind::Pianoroll => {
            let mut y = vec![0f32; b * steps * KEYS];
            for (i, p) in pieces.iter().enumerate() {
                for t in 0..steps.min(p.len().saturating_sub(start)) {
                    let row = i * steps + t;
                    encode(p, start + t, &mut y[row * KEYS..(row + 1) * KEYS]);
                }
            }
            Targets::Keys(Tensor::from_vec(y, (b * steps, KEYS), device)?)
        }
        ModelKind::Voices => {
            let voices = ranges.len();
            let mut onehot = vec![0f32; b * steps * step_size];
            let mut idx = vec![vec![0u32; b * steps]; voices];
            for (i, p) in pieces.iter().enumerate() {
                for t in 0..steps.min(p.len().saturating_sub(start)) {
                    let row = i * steps + t;
                    encode(
                        p,
                        start + t,
                        &mut onehot[row * step_size..(row + 1) * step_size],
                    );
                    if let Piece::Voices {
                        voices: pv, tokens, ..
                    } = p
                    {
                        for (v, ix) in idx.iter_mut().enumerate().take(*pv) {
                            ix[row] = index(&ranges[v], tokens[(start + t) * pv + v]) as u32;
                        }
                    }
                }
            }
            let pairs = if meta.pair_score {
                pair_features(pieces, &sounds, meta, &ranges, start, steps, device)?
            } else {
                Vec::new()
            };
            Targets::Voices {
                onehot: Tensor::from_vec(onehot, (b * steps, step_size), device)?,
                index: idx
                    .into_iter()
                    .map(|ix| Tensor::from_vec(ix, b * steps, device))
                    .collect::<Result<_>>()?,
                pairs,
            }
        }
    };

    Ok(Chunk {
        batch: b,
        steps,
        inputs,
        targets,
        mask: Tensor::from_vec(mask, b * steps, device)?,
        voice_masks,
        scored,
    })
}

/// The voice-pair features of every candidate of every voice not decided
/// first, on steps `start..start + steps` of `pieces` (rows `b * steps + t`,
/// then the candidates of the voice's vocabulary): what the engine's
/// [`pairs::add_scores`] weighs, against the data's own voices decided
/// before it and what every voice sounded on the step before (`sounds`:
/// each piece's [`sounding_states`], read over the whole piece, so a
/// chunk's first step knows what sounded before it).
fn pair_features(
    pieces: &[&Piece],
    sounds: &[Vec<Sounding>],
    meta: &ModelMeta,
    ranges: &[VoiceRange],
    start: usize,
    steps: usize,
    device: &Device,
) -> Result<Vec<Option<Tensor>>> {
    let voices = ranges.len();
    let b = pieces.len();
    let earlier: Vec<Vec<usize>> = (0..voices).map(|v| meta.decided_before(v)).collect();
    let mut out: Vec<Vec<f32>> = (0..voices)
        .map(|v| vec![0f32; b * steps * ranges[v].vocab() * earlier[v].len() * PAIR_FEATURES])
        .collect();
    for (i, p) in pieces.iter().enumerate() {
        let Piece::Voices { voices: pv, .. } = p else {
            continue;
        };
        let stride = *pv;
        let pv = stride.min(voices);
        let states = &sounds[i];
        let mut now = vec![None; voices];
        let end = (start + steps).min(p.len());
        for abs in start..end {
            let before = &states[abs * stride..(abs + 1) * stride];
            // What the step sounds: what goes into the next one.
            for (n, after) in now.iter_mut().zip(&states[(abs + 1) * stride..]).take(pv) {
                *n = after.pitch;
            }
            let row = i * steps + (abs - start);
            let on_beat = bar_at(p, abs).in_beat() == 0;
            for (v, features) in out.iter_mut().enumerate().take(pv) {
                if earlier[v].is_empty() {
                    continue;
                }
                let pairing = pairs::Pairing {
                    earlier: &earlier[v],
                    by_size: meta.intervals_by_size,
                };
                let range = &ranges[v];
                let width = earlier[v].len() * PAIR_FEATURES;
                for c in 0..range.vocab() {
                    let Some(pitch) = pairs::sounds(range, range.token(c), before[v].pitch) else {
                        continue;
                    };
                    let at = (row * range.vocab() + c) * width;
                    let block = &mut features[at..at + width];
                    pairing.each_feature(v, pitch, &now, before, on_beat, |j, f| {
                        block[j * PAIR_FEATURES + f] = 1.0
                    });
                }
            }
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(v, data)| match earlier[v].len() {
            0 => Ok(None),
            k => {
                let width = k * PAIR_FEATURES;
                let rows = data.len() / width;
                Tensor::from_vec(data, (rows, width), device).map(Some)
            }
        })
        .collect()
}
