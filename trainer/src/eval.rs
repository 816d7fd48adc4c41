//! The standard metric: NLL in nats per predicted step.
//!
//! As in the TCN paper's code, each piece x is scored on x[1:] given x[:-1]:
//! the first step is run (it primes the state) but not scored, and the total
//! over all scored steps of all pieces is divided by their number. For piano
//! rolls the NLL of a step is the sum over the 88 keys of the Bernoulli NLL
//! (with an NADE frame output, of each key given the keys below it, which is
//! the frame's exact NLL);
//! for voices, the sum over voices of the cross-entropy (also reported per voice).

use candle_core::Result;

use crate::batch;
use crate::dataset::Piece;
use crate::model::Network;

/// Pieces evaluated side by side.
const EVAL_BATCH: usize = 64;
/// Steps run per chunk (bounds memory on long pieces; the state carries over).
const EVAL_CHUNK: usize = 512;

/// Result of an evaluation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// Mean NLL per scored step (nats).
    pub nll: f64,
    /// Mean NLL per scored step of each voice (voices models only).
    pub per_voice: Vec<(String, f64)>,
    pub steps: usize,
    pub pieces: usize,
}

/// Evaluates `net` on `pieces` with the standard metric.
pub fn evaluate(net: &Network, pieces: &[Piece]) -> Result<Report> {
    let w = net.weights(false)?;
    let parts = net.meta.voices.len().max(1);
    let mut sums = vec![0f64; parts];
    let mut steps = 0usize;
    for group in pieces.chunks(EVAL_BATCH) {
        let refs: Vec<&Piece> = group.iter().collect();
        let longest = refs.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut state = net.zero_state(refs.len())?;
        let mut start = 0;
        while start < longest {
            let len = EVAL_CHUNK.min(longest - start);
            let chunk = batch::chunk(&net.meta, &refs, start, len, 1, &[], &net.device)?;
            let (top, next) = w.run(&chunk.inputs, &state, None)?;
            let (_, per) = w.nll(net.meta.kind, &top, &chunk, None)?;
            for (s, p) in sums.iter_mut().zip(&per) {
                *s += p.to_scalar::<f32>()? as f64;
            }
            steps += chunk.scored;
            state = next;
            start += len;
        }
    }
    let denom = steps.max(1) as f64;
    let per_voice = net
        .meta
        .voices
        .iter()
        .zip(&sums)
        .map(|(v, s)| (v.name.clone(), s / denom))
        .collect();
    Ok(Report {
        nll: sums.iter().sum::<f64>() / denom,
        per_voice,
        steps,
        pieces: pieces.len(),
    })
}
