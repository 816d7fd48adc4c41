//! The chord auxiliary target (`train --chord-aux W`): a second, training-only
//! head reads the core's top state before a step is decided and names the
//! chord the four voices will sound on it (root, quality and the chord tone
//! in the bass, or none), much as TonicNet's chord token does (Peracha
//! 2019). The chord is read from the data's own voices by the engine's chord
//! analysis (`bach_engine::chord`), so no labels are needed; the head is
//! dropped when the model is written.
//!
//! Its loss is added to the voices' with weight `W`: it asks the state to
//! hold the harmony the voices are about to share, not only each voice's
//! next note. It is a training signal only; the NLL reported is the voices'.

use bach_engine::chord::{analyze, Quality};
use bach_engine::key::Key;
use bach_engine::{ModelMeta, VoiceRange};
use candle_core::{DType, Device, Result, Tensor, Var, D};

use crate::batch::sounding_states;
use crate::dataset::Piece;
use crate::init::NamedTensor;

/// Chord qualities the target tells apart (`bach_engine::chord::Quality`).
const QUALITIES: usize = 10;

/// Which chord tone the bass sounds: root, third, fifth, or another
/// (a seventh, a suspension's fourth).
const POSITIONS: usize = 4;

/// Classes: no chord, then root × quality × the bass's chord tone.
pub const CLASSES: usize = 1 + 12 * QUALITIES * POSITIONS;

/// The names of the head's tensors in a checkpoint (never in a model file).
pub const WEIGHT: &str = "aux.chord.weight";
pub const BIAS: &str = "aux.chord.bias";

/// The head's tensors, `(name, shape)`, for a core of `hidden` units.
pub fn tensor_shapes(hidden: usize) -> [(String, Vec<usize>); 2] {
    [
        (WEIGHT.to_owned(), vec![hidden, CLASSES]),
        (BIAS.to_owned(), vec![CLASSES]),
    ]
}

fn quality_index(q: Quality) -> usize {
    match q {
        Quality::Major => 0,
        Quality::Minor => 1,
        Quality::Diminished => 2,
        Quality::Augmented => 3,
        Quality::Dominant7 => 4,
        Quality::Major7 => 5,
        Quality::Minor7 => 6,
        Quality::HalfDiminished7 => 7,
        Quality::Diminished7 => 8,
        Quality::Sus4 => 9,
    }
}

/// The bass's place in the chord, from its interval above the root.
fn position(root: u8, bass: u8) -> usize {
    match (bass % 12 + 12 - root % 12) % 12 {
        0 => 0,
        3 | 4 => 1,
        6..=8 => 2,
        _ => 3,
    }
}

/// The class of the chord the sounding `pitches` form: 0 for none, else
/// `1 + (root * QUALITIES + quality) * POSITIONS + the bass's chord tone`
/// (C major over C, E or G are three classes). The key only names
/// numerals, which the class does not use; C major stands in for every piece.
pub fn label(pitches: &[Option<u8>]) -> u32 {
    let key = Key::ALL[0];
    match analyze(pitches, key, None).chord {
        None => 0,
        Some(c) => {
            let chord = (c.root as usize % 12) * QUALITIES + quality_index(c.quality);
            (1 + chord * POSITIONS + position(c.root, c.bass)) as u32
        }
    }
}

/// The chord class of steps `start..start + steps` of each piece, rows
/// `b * steps + t` as the chunk's (0 past a piece's end, where the mask is 0).
pub fn targets(
    meta: &ModelMeta,
    pieces: &[&Piece],
    start: usize,
    steps: usize,
    device: &Device,
) -> Result<Tensor> {
    let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
    let mut labels = vec![0u32; pieces.len() * steps];
    let mut pitches = Vec::with_capacity(ranges.len());
    for (i, p) in pieces.iter().enumerate() {
        // The chunk's own frame, so the class matches the tokens it scores.
        let framed = p.in_frame(meta);
        let Piece::Voices { voices, .. } = &framed else {
            continue;
        };
        let states = sounding_states(&framed, &ranges);
        let end = (start + steps).min(framed.len());
        for abs in start..end {
            // What step `abs` sounds is what goes into the next one.
            let after = &states[(abs + 1) * voices..(abs + 2) * voices];
            pitches.clear();
            pitches.extend(after.iter().map(|s| s.pitch));
            labels[i * steps + (abs - start)] = label(&pitches);
        }
    }
    Tensor::from_vec(labels, pieces.len() * steps, device)
}

/// The auxiliary head: logits `top · weight + bias` over [`CLASSES`].
pub struct ChordHead {
    pub weight: Var,
    pub bias: Var,
}

impl ChordHead {
    /// A head of zeros: it starts by saying nothing (uniform), draws no
    /// random numbers (so the run's other draws stay as they were) and
    /// learns from its first update.
    pub fn new(hidden: usize, device: &Device) -> Result<Self> {
        let [(_, weight), (_, bias)] = tensor_shapes(hidden);
        Ok(Self {
            weight: Var::zeros(weight, DType::F32, device)?,
            bias: Var::zeros(bias, DType::F32, device)?,
        })
    }

    /// The head from a checkpoint's tensors.
    pub fn from_tensors(tensors: &[NamedTensor], device: &Device) -> Result<Self> {
        let find = |name: &str| {
            tensors
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| candle_core::Error::Msg(format!("the checkpoint has no {name}")))
        };
        let var = |(_, shape, data): &NamedTensor| {
            Var::from_tensor(&Tensor::from_vec(data.clone(), shape.as_slice(), device)?)
        };
        Ok(Self {
            weight: var(find(WEIGHT)?)?,
            bias: var(find(BIAS)?)?,
        })
    }

    /// `(name, var)` pairs, for the optimizer and the checkpoint.
    pub fn named(&self) -> [(String, Var); 2] {
        [
            (WEIGHT.to_owned(), self.weight.clone()),
            (BIAS.to_owned(), self.bias.clone()),
        ]
    }

    /// Summed cross-entropy (nats) of `labels` under the head, over the rows
    /// `mask` keeps.
    pub fn nll(&self, top: &Tensor, labels: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let logits = top
            .matmul(self.weight.as_tensor())?
            .broadcast_add(self.bias.as_tensor())?;
        let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let picked = logp.gather(&labels.unsqueeze(1)?, 1)?.squeeze(1)?;
        picked.mul(mask)?.sum_all()?.neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_root_quality_and_bass() {
        // C major in any voicing over C is one class, over E another; C
        // minor and G major are others; a rest everywhere is none.
        let c = label(&[Some(72), Some(67), Some(64), Some(48)]);
        let c_spread = label(&[Some(76), Some(72), Some(55), Some(36)]);
        let c6 = label(&[Some(72), Some(67), Some(60), Some(52)]);
        let cm = label(&[Some(72), Some(67), Some(63), Some(48)]);
        let g = label(&[Some(71), Some(67), Some(62), Some(55)]);
        assert_eq!(c, c_spread);
        assert_eq!(c6, c + 1, "the third in the bass");
        assert_ne!(c, cm);
        assert_ne!(c, g);
        let major = quality_index(Quality::Major);
        assert_eq!(c, 1 + (major * POSITIONS) as u32);
        assert_eq!(g, 1 + ((7 * QUALITIES + major) * POSITIONS) as u32);
        assert_eq!(label(&[None, None, None, None]), 0);
        assert!((c as usize) < CLASSES && (g as usize) < CLASSES);
    }
}
