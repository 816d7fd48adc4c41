//! The backward pass: back-propagation through the chunk's steps, then the
//! weights' and the inputs' gradients from what it gathered.

use bach_engine::CoreKind;

use super::buffers::{give_back, scratch, scratch_to_fill};
use super::cells;
use super::gemm::{gemm, Mat};
use super::op::{Dims, FusedRecurrence};
use super::threads::{each, row_groups, split_rows};

/// A row group's share of a backward call: its slices of the inputs, the
/// outputs, their gradient and the saved activations; the weights are
/// everyone's.
struct Rows<'a> {
    x: &'a [f32],
    s0: &'a [f32],
    w: &'a [f32],
    out: &'a [f32],
    grad: &'a [f32],
    saved: &'a [f32],
    /// Rows in the group.
    bg: usize,
    d: Dims,
}

/// What the steps gather going back through a row group's chunk.
struct Back {
    /// The gradient of the gate pre-activations on the input side, `[bg·T, G·H]`.
    d_gx: Vec<f32>,
    /// On the recurrent side: the GRU's n block reaches W_hn·h through r, so
    /// its recurrent gradient differs from its input gradient; the other
    /// cells share `d_gx` (and leave this empty).
    d_gh: Vec<f32>,
    /// The state's gradient carried to the step before, `[bg, H]`: h's, and
    /// the LSTM's c's (empty for the others).
    dh_next: Vec<f32>,
    dc_next: Vec<f32>,
}

impl Back {
    /// The recurrent side's gate gradient, whichever buffer holds it.
    fn d_g(&self, core: CoreKind) -> &[f32] {
        if core == CoreKind::Gru {
            &self.d_gh
        } else {
            &self.d_gx
        }
    }
}

impl FusedRecurrence {
    /// Back-propagation through the chunk. `out`: the forward's outputs;
    /// `grad`: their gradient. Returns the gradients of `x` (when it needs
    /// one), `state0` and the weights `[W_hh | b_hh | b_ih | W_ih]`, with the
    /// batch split into `threads` groups.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        out: &[f32],
        grad: &[f32],
        saved: &[f32],
        b: usize,
        d: Dims,
        threads: usize,
    ) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
        let (h, sh, t) = (self.hidden, self.sh(), d.t);
        let groups = row_groups(b, threads);
        let mut d_x = if self.x_grad {
            vec![0f32; b * t * d.i]
        } else {
            Vec::new()
        };
        let mut d_s0 = vec![0f32; b * sh];
        let dx_width = if self.x_grad { t * d.i } else { 0 };
        let saved_width = if saved.is_empty() { 0 } else { t * 4 * h };
        let work: Vec<_> = groups
            .iter()
            .cloned()
            .zip(split_rows(&mut d_x, &groups, dx_width))
            .zip(split_rows(&mut d_s0, &groups, sh))
            .collect();
        let parts = each(work, |((rows, d_x), d_s0)| {
            let span = |width: usize| rows.start * width..rows.end * width;
            let group = Rows {
                x: &x[span(t * d.i)],
                s0: &s0[span(sh)],
                w,
                out: &out[span(t * sh)],
                grad: &grad[span(t * sh)],
                saved: &saved[span(saved_width)],
                bg: rows.len(),
                d,
            };
            self.backward_rows(&group, d_x, d_s0)
        });
        // The groups' shares of the weights' gradient.
        let mut parts = parts.into_iter();
        let mut d_w = parts.next().expect("at least one group");
        for part in parts {
            for (a, v) in d_w.iter_mut().zip(&part) {
                *a += v;
            }
        }
        (self.x_grad.then_some(d_x), d_s0, d_w)
    }

    /// [`FusedRecurrence::backward`] for a group of rows: writes the
    /// gradients of `x` (when `d_x` is not empty) and `s0`, and returns the
    /// group's share of the weights'.
    fn backward_rows(&self, g: &Rows, d_x: &mut [f32], d_s0: &mut [f32]) -> Vec<f32> {
        let (h, gn, bg, t) = (self.hidden, self.gn(), g.bg, g.d.t);
        let mut back = Back {
            d_gx: scratch_to_fill(bg * t * gn),
            d_gh: scratch_to_fill(if self.core == CoreKind::Gru {
                bg * t * gn
            } else {
                0
            }),
            dh_next: scratch(bg * h),
            dc_next: scratch(if self.core == CoreKind::Lstm {
                bg * h
            } else {
                0
            }),
        };
        for step in (0..t).rev() {
            self.cells_back(g, step, &mut back);
            self.carry_back(g, step, &mut back);
        }
        self.state0_gradient(&back, bg, d_s0);
        let d_w = self.weight_gradients(g, &back);
        if !d_x.is_empty() {
            self.input_gradient(g, &back.d_gx, d_x);
        }
        for v in [back.d_gx, back.d_gh, back.dh_next, back.dc_next] {
            give_back(v);
        }
        d_w
    }

    /// Back through every row's cell at `step`: the gate pre-activations'
    /// gradients, from the output's and the one carried from the step after.
    fn cells_back(&self, g: &Rows, step: usize, back: &mut Back) {
        let (h, gn, sh, t) = (self.hidden, self.gn(), self.sh(), g.d.t);
        for r in 0..g.bg {
            let at = r * t + step;
            let p = if step == 0 {
                &g.s0[r * sh..][..sh]
            } else {
                &g.out[(at - 1) * sh..][..sh]
            };
            let o = &g.out[at * sh..][..sh];
            let dy = &g.grad[at * sh..][..sh];
            let dx = &mut back.d_gx[at * gn..][..gn];
            let dhn = &mut back.dh_next[r * h..][..h];
            match self.core {
                CoreKind::Tanh => cells::tanh_step_back(h, dy, o, dx, dhn),
                CoreKind::Gru => {
                    let sv = &g.saved[at * 4 * h..][..4 * h];
                    let dg = &mut back.d_gh[at * gn..][..gn];
                    cells::gru_step_back(h, dy, p, sv, dx, dg, dhn);
                }
                CoreKind::Lstm => {
                    let sv = &g.saved[at * 4 * h..][..4 * h];
                    let dcn = &mut back.dc_next[r * h..][..h];
                    cells::lstm_step_back(h, dy, p, o, sv, dx, dhn, dcn);
                }
            }
        }
    }

    /// dh_prev (+)= d_gh · W_hh, over the rows' entries at `step`: the
    /// gradient that reaches the step before through the recurrent weights
    /// (the GRU adds it to its direct path's share, the others start from it).
    fn carry_back(&self, g: &Rows, step: usize, back: &mut Back) {
        let (h, gn, t) = (self.hidden, self.gn(), g.d.t);
        let gru = self.core == CoreKind::Gru;
        // W_hh without its bias columns: element (j, k) is W_hh[j, k].
        let w_hh = Mat {
            data: g.w,
            rs: h + 2 + g.d.i,
            cs: 1,
        };
        let dg = Mat {
            data: if gru {
                &back.d_gh[step * gn..]
            } else {
                &back.d_gx[step * gn..]
            },
            rs: t * gn,
            cs: 1,
        };
        gemm(g.bg, h, gn, &mut back.dh_next, h, gru, dg, w_hh);
    }

    /// The initial state's gradient: what reached the step before the first.
    fn state0_gradient(&self, back: &Back, bg: usize, d_s0: &mut [f32]) {
        let (h, sh) = (self.hidden, self.sh());
        for r in 0..bg {
            d_s0[r * sh..r * sh + h].copy_from_slice(&back.dh_next[r * h..][..h]);
            if self.core == CoreKind::Lstm {
                d_s0[r * sh + h..r * sh + 2 * h].copy_from_slice(&back.dc_next[r * h..][..h]);
            }
        }
    }

    /// The group's share of `[W_hh | b_hh | b_ih | W_ih]`'s gradient.
    fn weight_gradients(&self, g: &Rows, back: &Back) -> Vec<f32> {
        let (h, gn, t) = (self.hidden, self.gn(), g.d.t);
        let wr = h + 2 + g.d.i;
        let dg_all = back.d_g(self.core);
        let mut d_w = vec![0f32; gn * wr];
        // d W_hh = Σ d_ghᵀ · h_prev: one product over all the rows' steps.
        let h_prev = self.previous_states(g);
        gemm(
            gn,
            h,
            g.bg * t,
            &mut d_w,
            wr,
            false,
            Mat::transposed(dg_all, gn),
            Mat::rows(&h_prev, h),
        );
        give_back(h_prev);
        // d W_ih = Σ d_gxᵀ · x.
        gemm(
            gn,
            g.d.i,
            g.bg * t,
            &mut d_w[h + 2..],
            wr,
            false,
            Mat::transposed(&back.d_gx, gn),
            Mat::rows(g.x, g.d.i),
        );
        // The biases: b_hh's gradient is the recurrent one's sum, b_ih's the input one's.
        // Summed into contiguous rows first (that vectorizes; the columns are strided).
        let column_sums = |m: &[f32]| {
            let mut acc = vec![0f32; gn];
            for row in m.chunks(gn) {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
            acc
        };
        for (j, (bh, bi)) in column_sums(dg_all)
            .into_iter()
            .zip(column_sums(&back.d_gx))
            .enumerate()
        {
            d_w[j * wr + h] = bh;
            d_w[j * wr + h + 1] = bi;
        }
        d_w
    }

    /// Every row's `h` before each step, `[bg·T, H]`, rows contiguous for
    /// the product: the initial state, then the outputs but the last.
    fn previous_states(&self, g: &Rows) -> Vec<f32> {
        let (h, sh, t) = (self.hidden, self.sh(), g.d.t);
        let mut h_prev = scratch_to_fill(g.bg * t * h);
        for r in 0..g.bg {
            for step in 0..t {
                let at = r * t + step;
                let src = if step == 0 {
                    &g.s0[r * sh..][..h]
                } else {
                    &g.out[(at - 1) * sh..][..h]
                };
                h_prev[at * h..][..h].copy_from_slice(src);
            }
        }
        h_prev
    }

    /// d x = d_gx · W_ih.
    fn input_gradient(&self, g: &Rows, d_gx: &[f32], d_x: &mut [f32]) {
        let (h, gn, i) = (self.hidden, self.gn(), g.d.i);
        let w_ih = Mat {
            data: &g.w[h + 2..],
            rs: h + 2 + i,
            cs: 1,
        };
        gemm(
            g.bg * g.d.t,
            i,
            gn,
            d_x,
            i,
            false,
            Mat::rows(d_gx, gn),
            w_ih,
        );
    }
}
