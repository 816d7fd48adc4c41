//! An output head: a linear layer from the top hidden state (and, for a
//! voice, the tokens of the voices above it) to logits, and optionally a
//! hidden layer on the same input whose output adds to them.

use crate::nn::{add_columns, matvec_add};

/// An output head. Voice `v`'s logits are
/// `b + W_h · h + sum over voices u < v of W_u[:, token_u]`,
/// the linear layer on `[h, one-hot(tokens above)]` with the one-hot part
/// done as column sums; a head with a [`HiddenLayer`] adds
/// `W_out · relu(c + V_h · h + sum of V_u[:, token_u])`.
#[derive(Clone, Debug)]
pub(crate) struct Head {
    pub vocab: usize,
    /// Row-major `[vocab, H]`.
    w_hidden: Vec<f32>,
    /// Column-major `[above, vocab]`: one column per token of the voices above.
    w_above: Vec<f32>,
    bias: Vec<f32>,
    layer: Option<HiddenLayer>,
}

/// A head's hidden layer of ReLU units on the head's input: what lets a
/// voice's odds depend on the state and the voices above together, not
/// only on each one apart.
#[derive(Clone, Debug)]
pub(crate) struct HiddenLayer {
    /// Row-major `[D, H]`.
    w_state: Vec<f32>,
    /// Column-major `[above, D]`.
    w_above: Vec<f32>,
    bias: Vec<f32>,
    /// Row-major `[vocab, D]`.
    w_out: Vec<f32>,
}

/// Splits a row-major `[rows, hidden + above]` matrix into its row-major
/// `[rows, hidden]` part and its `[above, rows]` column-major part.
fn split(rows: usize, hidden: usize, weight: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let cols = weight.len() / rows;
    let above = cols - hidden;
    let mut w_hidden = Vec::with_capacity(rows * hidden);
    let mut w_above = vec![0.0; rows * above];
    for (r, row) in weight.chunks_exact(cols).enumerate() {
        w_hidden.extend_from_slice(&row[..hidden]);
        for (j, w) in row[hidden..].iter().enumerate() {
            w_above[j * rows + r] = *w;
        }
    }
    (w_hidden, w_above)
}

impl HiddenLayer {
    /// From `head.{v}.hidden.weight` `[D, H + above]`, its bias `[D]` and
    /// `head.{v}.out.weight` `[vocab, D]`.
    pub fn new(hidden: usize, weight: &[f32], bias: Vec<f32>, w_out: Vec<f32>) -> Self {
        let (w_state, w_above) = split(bias.len(), hidden, weight);
        Self {
            w_state,
            w_above,
            bias,
            w_out,
        }
    }

    fn units(&self) -> usize {
        self.bias.len()
    }
}

impl Head {
    pub fn new(vocab: usize, hidden: usize, weight: &[f32], bias: Vec<f32>) -> Self {
        let (w_hidden, w_above) = split(vocab, hidden, weight);
        Self {
            vocab,
            w_hidden,
            w_above,
            bias,
            layer: None,
        }
    }

    pub fn with_layer(mut self, layer: HiddenLayer) -> Self {
        self.layer = Some(layer);
        self
    }

    /// The hidden layer's size (0 without one).
    pub fn units(&self) -> usize {
        self.layer.as_ref().map_or(0, HiddenLayer::units)
    }

    /// Length of a state part ([`Head::state_part`]): the logits' and the
    /// hidden layer's.
    pub fn state_part_len(&self) -> usize {
        self.vocab + self.units()
    }

    /// The logits of a head without voices above (a piano roll's).
    pub fn forward(&self, h: &[f32], out: &mut [f32]) {
        debug_assert!(self.layer.is_none(), "a piano roll's head is linear");
        self.state_part(h, out);
    }

    /// The part of the logits, and of the hidden layer's pre-activations,
    /// that reads the state: `b + W_h · h` then `c + V_h · h`. It is the
    /// same for every choice of the voices above, so a step computes it
    /// once however many chords it weighs. `out` holds
    /// [`Head::state_part_len`] numbers.
    pub fn state_part(&self, h: &[f32], out: &mut [f32]) {
        let (logits, units) = out.split_at_mut(self.vocab);
        logits.copy_from_slice(&self.bias);
        matvec_add(&self.w_hidden, h, logits);
        if let Some(layer) = &self.layer {
            let units = &mut units[..layer.units()];
            units.copy_from_slice(&layer.bias);
            matvec_add(&layer.w_state, h, units);
        }
    }

    /// The logits given the state part (from [`Head::state_part`]) and the
    /// active above-columns; `units` is scratch of [`Head::units`] numbers.
    pub fn forward_from(
        &self,
        state_part: &[f32],
        above: &[usize],
        units: &mut [f32],
        out: &mut [f32],
    ) {
        let out = &mut out[..self.vocab];
        out.copy_from_slice(&state_part[..self.vocab]);
        add_columns(&self.w_above, above, out);
        if let Some(layer) = &self.layer {
            let units = &mut units[..layer.units()];
            units.copy_from_slice(&state_part[self.vocab..][..layer.units()]);
            add_columns(&layer.w_above, above, units);
            for u in units.iter_mut() {
                *u = u.max(0.0);
            }
            matvec_add(&layer.w_out, units, out);
        }
    }
}
