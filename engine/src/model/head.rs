//! An output head: a linear layer from the top hidden state (and, for a
//! voice, the tokens of the voices above it) to logits.

use crate::nn::{add_columns, matvec_add};

/// An output head. Voice `v`'s logits are
/// `b + W_h · h + sum over voices u < v of W_u[:, token_u]`,
/// the linear layer on `[h, one-hot(tokens above)]` with the one-hot part
/// done as column sums.
#[derive(Clone, Debug)]
pub(crate) struct Head {
    pub vocab: usize,
    /// Row-major `[vocab, H]`.
    w_hidden: Vec<f32>,
    /// Column-major `[above, vocab]`: one column per token of the voices above.
    w_above: Vec<f32>,
    bias: Vec<f32>,
}

impl Head {
    pub fn new(vocab: usize, hidden: usize, weight: &[f32], bias: Vec<f32>) -> Self {
        let cols = weight.len() / vocab;
        let above = cols - hidden;
        let mut w_hidden = Vec::with_capacity(vocab * hidden);
        let mut w_above = vec![0.0; vocab * above];
        for (r, row) in weight.chunks_exact(cols).enumerate() {
            w_hidden.extend_from_slice(&row[..hidden]);
            for (j, w) in row[hidden..].iter().enumerate() {
                w_above[j * vocab + r] = *w;
            }
        }
        Self {
            vocab,
            w_hidden,
            w_above,
            bias,
        }
    }

    pub fn forward(&self, h: &[f32], above: &[usize], out: &mut [f32]) {
        self.state_part(h, out);
        add_columns(&self.w_above, above, &mut out[..self.vocab]);
    }

    /// The part of the logits that reads the state: `b + W_h · h`. It is
    /// the same for every choice of the voices above, so a step computes it
    /// once however many chords it weighs.
    pub fn state_part(&self, h: &[f32], out: &mut [f32]) {
        let out = &mut out[..self.vocab];
        out.copy_from_slice(&self.bias);
        matvec_add(&self.w_hidden, h, out);
    }

    /// The logits given the state part (from [`Head::state_part`]) and the
    /// active above-columns.
    pub fn forward_from(&self, state_part: &[f32], above: &[usize], out: &mut [f32]) {
        let out = &mut out[..self.vocab];
        out.copy_from_slice(&state_part[..self.vocab]);
        add_columns(&self.w_above, above, out);
    }
}
