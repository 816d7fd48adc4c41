//! The forward pass: the chunk's outputs, and the gate activations the
//! backward needs.

use bach_engine::CoreKind;

use super::buffers::{give_back, saved_buffer, scratch_to_fill};
use super::cells;
use super::gemm::{gemm, Mat};
use super::op::{Dims, FusedRecurrence};
use super::threads::{each, row_groups, split_rows};

impl FusedRecurrence {
    /// Runs the chunk: returns the outputs `[B, T, S·H]` and what backward
    /// needs, with the batch split into `threads` groups.
    pub(super) fn forward(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        b: usize,
        d: Dims,
        threads: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (h, sh) = (self.hidden, self.sh());
        let groups = row_groups(b, threads);
        let mut out = vec![0f32; b * d.t * sh];
        let mut saved = if self.saves() {
            saved_buffer(b * d.t * 4 * h)
        } else {
            Vec::new()
        };
        let saved_width = if self.saves() { d.t * 4 * h } else { 0 };
        let work: Vec<_> = groups
            .iter()
            .cloned()
            .zip(split_rows(&mut out, &groups, d.t * sh))
            .zip(split_rows(&mut saved, &groups, saved_width))
            .collect();
        each(work, |((rows, out), saved)| {
            let x = &x[rows.start * d.t * d.i..rows.end * d.t * d.i];
            let s0 = &s0[rows.start * sh..rows.end * sh];
            self.forward_rows(x, s0, w, rows.len(), d, out, saved)
        });
        (out, saved)
    }

    /// [`FusedRecurrence::forward`] for a group of `bg` rows: `x`
    /// `[bg, T, I]`, `s0` `[bg, S·H]`; writes `out` `[bg, T, S·H]` and, when
    /// not empty, `saved` `[bg, T, 4·H]`.
    #[allow(clippy::too_many_arguments)]
    fn forward_rows(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        bg: usize,
        d: Dims,
        out: &mut [f32],
        saved: &mut [f32],
    ) {
        let (h, gn, sh, t) = (self.hidden, self.gn(), self.sh(), d.t);
        let save = !saved.is_empty();
        let gx = self.input_projection(x, w, bg, d);
        let h_bias = self.recurrent_bias(w, d);
        let w_hh_t_data = self.w_hh_transposed(w, d);
        let w_hh_t = Mat::rows(&w_hh_t_data, gn);
        let mut gh = scratch_to_fill(bg * gn);
        // The state before and after the step, rows contiguous for the product.
        let mut prev = scratch_to_fill(bg * sh);
        prev.copy_from_slice(s0);
        let mut cur = scratch_to_fill(bg * sh);
        // Where a row's gate activations go when nothing is kept for backward.
        let mut unsaved = vec![0f32; 4 * h];
        for step in 0..t {
            // gh = [0 | 0 | b_hn] + h_prev · W_hhᵀ
            for row in gh.chunks_mut(gn) {
                row.copy_from_slice(&h_bias);
            }
            let h_prev = Mat {
                data: &prev,
                rs: sh,
                cs: 1,
            };
            gemm(bg, gn, h, &mut gh, gn, true, h_prev, w_hh_t);
            for r in 0..bg {
                let at = r * t + step;
                let x = &gx[at * gn..][..gn];
                let g = &gh[r * gn..][..gn];
                let p = &prev[r * sh..][..sh];
                let o = &mut cur[r * sh..][..sh];
                let sv = if save {
                    &mut saved[at * 4 * h..][..4 * h]
                } else {
                    &mut unsaved[..]
                };
                match self.core {
                    CoreKind::Tanh => cells::tanh_step(h, x, g, o),
                    CoreKind::Gru => cells::gru_step(h, x, g, p, o, sv),
                    CoreKind::Lstm => cells::lstm_step(h, x, g, p, o, sv),
                }
                out[at * sh..][..sh].copy_from_slice(o);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        for v in [gx, gh, prev, cur, w_hh_t_data] {
            give_back(v);
        }
    }

    /// The input side of every step's gates, `[bg·T, G·H]`: gx = x·W_ihᵀ +
    /// b_ih + b_hh, except the GRU's n block, where b_hn stays with W_hn·h
    /// inside r·(…) (see [`FusedRecurrence::recurrent_bias`]). One product
    /// for all the group's steps.
    fn input_projection(&self, x: &[f32], w: &[f32], bg: usize, d: Dims) -> Vec<f32> {
        let (h, gn, t) = (self.hidden, self.gn(), d.t);
        let wr = h + 2 + d.i;
        let gru = self.core == CoreKind::Gru;
        let mut gx = scratch_to_fill(bg * t * gn);
        let x_bias: Vec<f32> = (0..gn)
            .map(|j| {
                w[j * wr + h + 1]
                    + if gru && j >= 2 * h {
                        0.0
                    } else {
                        w[j * wr + h]
                    }
            })
            .collect();
        for row in gx.chunks_mut(gn) {
            row.copy_from_slice(&x_bias);
        }
        // W_ihᵀ: element (k, j) is W_ih[j, k].
        let w_ih_t = Mat {
            data: &w[h + 2..],
            rs: 1,
            cs: wr,
        };
        let xs = Mat {
            data: x,
            rs: d.i,
            cs: 1,
        };
        gemm(bg * t, gn, d.i, &mut gx, gn, true, xs, w_ih_t);
        gx
    }

    /// The bias the recurrent side of the gates starts from: b_hn in the
    /// GRU's n block, 0 elsewhere (b_hh is on the input side there).
    fn recurrent_bias(&self, w: &[f32], d: Dims) -> Vec<f32> {
        let (h, gn) = (self.hidden, self.gn());
        let wr = h + 2 + d.i;
        let gru = self.core == CoreKind::Gru;
        (0..gn)
            .map(|j| {
                if gru && j >= 2 * h {
                    w[j * wr + h]
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// W_hhᵀ, copied row-major ([H, G·H]) once for all steps: the GEMM reads
    /// it in place, where the strided view of W_hh inside `w` made it repack
    /// the whole matrix for every step's product.
    fn w_hh_transposed(&self, w: &[f32], d: Dims) -> Vec<f32> {
        let (h, gn) = (self.hidden, self.gn());
        let wr = h + 2 + d.i;
        let mut w_hh_t = scratch_to_fill(h * gn);
        for (j, row) in w.chunks(wr).enumerate().take(gn) {
            for (k, &v) in row[..h].iter().enumerate() {
                w_hh_t[k * gn + j] = v;
            }
        }
        w_hh_t
    }
}
