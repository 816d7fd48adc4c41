//! The NADE frame output (Larochelle & Murray 2011, conditioned on a
//! recurrent state as in Boulanger-Lewandowski et al. 2012): the keys of a
//! frame are decided lowest first, and key k's logit is
//! `b_k + V_k · σ(c + Σ_{j<k sounding} W_j)`, where the state sets `b` and `c`.
//! Adding a sounding key's column to `c` as the walk goes up keeps each key
//! O(N), the whole frame O(88·N), with no allocation; the sigmoids are only
//! recomputed after a key sounds.

use super::{dot, matvec_add, sigmoid};
use crate::pianoroll::KEYS;

#[derive(Clone, Debug)]
pub struct Nade {
    /// `[N, H]` row-major: the hidden biases from the state.
    cond: Vec<f32>,
    cond_bias: Vec<f32>,
    /// `[88, N]`: row `j` is what key `j` adds to the hidden pre-activation.
    input: Vec<f32>,
    /// `[88, N]` row-major: hidden units to key `k`'s logit.
    output: Vec<f32>,
    /// The running hidden pre-activation and its sigmoid.
    pre: Vec<f32>,
    act: Vec<f32>,
    /// `act` is out of date: a key sounded since it was computed. Most keys
    /// are silent, so the sigmoids run a handful of times per frame, not 88.
    stale: bool,
}

impl Nade {
    /// From the file's tensors: `cond` `[N, H]`, `cond_bias` `[N]`,
    /// `input` `[N, 88]` and `output` `[88, N]`, all row-major.
    pub fn new(cond: Vec<f32>, cond_bias: Vec<f32>, input: &[f32], output: Vec<f32>) -> Self {
        let n = cond_bias.len();
        let mut by_key = vec![0.0; n * KEYS];
        for (i, row) in input.chunks_exact(KEYS).enumerate() {
            for (j, w) in row.iter().enumerate() {
                by_key[j * n + i] = *w;
            }
        }
        Self {
            cond,
            cond_bias,
            input: by_key,
            output,
            pre: vec![0.0; n],
            act: vec![0.0; n],
            stale: true,
        }
    }

    /// Starts a frame from the core's top state `h`: no key sounds yet.
    pub fn begin(&mut self, h: &[f32]) {
        self.pre.copy_from_slice(&self.cond_bias);
        matvec_add(&self.cond, h, &mut self.pre);
        self.stale = true;
    }

    /// Key `k`'s logit given the keys below it made to sound since [`Self::begin`];
    /// `bias` is its visible bias from the state. Keys go in rising order.
    pub fn logit(&mut self, k: usize, bias: f32) -> f32 {
        if self.stale {
            for (a, p) in self.act.iter_mut().zip(&self.pre) {
                *a = sigmoid(*p);
            }
            self.stale = false;
        }
        let n = self.act.len();
        bias + dot(&self.output[k * n..(k + 1) * n], &self.act)
    }

    /// Key `k` sounds: the keys above it will hear it.
    pub fn sound(&mut self, k: usize) {
        let n = self.pre.len();
        for (p, w) in self.pre.iter_mut().zip(&self.input[k * n..(k + 1) * n]) {
            *p += w;
        }
        self.stale = true;
    }
}
